"""The demo agency ("Agence Immobilière Demo", 15 rue de la Paix, Paris) and ``demo reset``.

``seed_demo`` writes it; ``seed_if_empty`` does so on the first start in demo mode;
``reset_demo`` erases a demo database and writes it again, and refuses any other database.
"""

from core.demo.reset import DemoResetRefused, is_demo_database, reset_demo, seed_if_empty
from core.demo.seeder import DEFAULT_SEED, DEMO_MARKER, DEMO_TENANT, DemoSummary, seed_demo

__all__ = [
    "DEFAULT_SEED",
    "DEMO_MARKER",
    "DEMO_TENANT",
    "DemoResetRefused",
    "DemoSummary",
    "is_demo_database",
    "reset_demo",
    "seed_demo",
    "seed_if_empty",
]
