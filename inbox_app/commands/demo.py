"""``coccinelle demo reset``: erase the demo database and write the demo agency again."""

from __future__ import annotations

import argparse
import asyncio
import sys

from core.config.settings import Settings
from core.i18n import t


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``demo`` and its sub-commands."""
    parser = subparsers.add_parser("demo", help=t("cli.demo_help"))
    actions = parser.add_subparsers(dest="demo_action", required=True)
    reset = actions.add_parser("reset", help=t("cli.demo_reset_help"))
    reset.set_defaults(handler=reset_command)


def reset_command(args: argparse.Namespace, settings: Settings) -> int:
    """Recreate the demo data; refuse (exit 2) a database that is not a demo database."""
    from core.demo import DemoResetRefused, reset_demo

    try:
        location, summary = asyncio.run(
            reset_demo(settings.effective_database_url, tenant=settings.tenant)
        )
    except DemoResetRefused as refused:
        refusal = t("cli.demo_reset_refused", location=refused.location)
        print(t("cli.error", message=refusal), file=sys.stderr)
        return 2
    print(
        t(
            "cli.demo_reset_done",
            location=location,
            prospects=summary.prospects,
            conversations=summary.conversations,
            messages=summary.messages,
        )
    )
    return 0
