"""Sub-commands of ``coccinelle``: one module each, with ``register(subparsers)``.

A module's ``register`` adds its parser and sets ``handler`` to a function taking
``(args, settings) -> int``; handlers import what they need lazily, so that ``coccinelle --help``
and the headless commands never import Textual or a provider SDK.
"""

from __future__ import annotations

import importlib

#: Modules of this package that define sub-commands, in the order ``--help`` lists them.
COMMAND_MODULES = (
    "db",
    "demo",
    "credentials",
    "agent",
    "campaign",
    "sandbox",
    "relay",
    "serve",
    "events",
    "channel",
    "bench",
)


def modules() -> list[object]:
    """The imported command modules."""
    return [importlib.import_module(f"{__name__}.{name}") for name in COMMAND_MODULES]
