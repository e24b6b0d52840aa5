"""``coccinelle db upgrade``: bring the database schema up to date."""

from __future__ import annotations

import argparse
import asyncio

from core.config.settings import Settings
from core.i18n import t


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``db`` and its sub-commands."""
    parser = subparsers.add_parser("db", help=t("cli.db_help"))
    actions = parser.add_subparsers(dest="db_action", required=True)
    upgrade = actions.add_parser("upgrade", help=t("cli.db_upgrade_help"))
    upgrade.set_defaults(handler=upgrade_command)


def upgrade_command(args: argparse.Namespace, settings: Settings) -> int:
    """Migrate the configured database to the newest schema."""
    from core.storage.database import Database

    async def main() -> str:
        db = await Database.open(settings.effective_database_url)
        try:
            return db.location
        finally:
            await db.close()

    location = asyncio.run(main())
    print(t("cli.db_upgraded", location=location))
    return 0
