"""The demo agency ("Agence Immobilière Demo", 15 rue de la Paix, Paris) and ``demo reset``.

``seed_demo`` writes it; ``seed_if_empty`` does so on the first start in demo mode;
``reset_demo`` erases a demo database and writes it again, and refuses any other database.

The names below load with their module on first use: a demo start on a database already seeded
reads only ``core.demo.people`` (the agents), not the seeder and its stories.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from core.demo.reset import DemoResetRefused, is_demo_database, reset_demo, seed_if_empty
    from core.demo.seeder import DEFAULT_SEED, DEMO_MARKER, DEMO_TENANT, DemoSummary, seed_demo

#: Each public name and the module that defines it.
_HOMES = {
    "DEFAULT_SEED": "core.demo.seeder",
    "DEMO_MARKER": "core.demo.seeder",
    "DEMO_TENANT": "core.demo.seeder",
    "DemoResetRefused": "core.demo.reset",
    "DemoSummary": "core.demo.seeder",
    "is_demo_database": "core.demo.reset",
    "reset_demo": "core.demo.reset",
    "seed_demo": "core.demo.seeder",
    "seed_if_empty": "core.demo.reset",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)


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
