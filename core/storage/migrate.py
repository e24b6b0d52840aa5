"""Schema migrations with Alembic, driven from code (no alembic.ini needed).

``upgrade(connection)`` refuses a database whose revision this version does not know: it was
written by a newer version, and migrating it down or over it would lose data.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

from core.errors import SchemaTooNew

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic configuration pointing at our migrations, bound to ``connection`` if given."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def current_revision(connection: Connection) -> str | None:
    """The revision the database is at (None for an empty database)."""
    return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str:
    """The newest revision this version knows."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def upgrade(connection: Connection) -> None:
    """Bring the schema at ``connection`` up to the newest revision.

    Raises:
        SchemaTooNew: the database is at a revision this version does not know.
    """
    config = alembic_config(connection)
    revision = current_revision(connection)
    scripts = ScriptDirectory.from_config(config)
    known = {script.revision for script in scripts.walk_revisions()}
    if revision is not None and revision not in known:
        raise SchemaTooNew(_too_new(connection, revision))
    command.upgrade(config, "head")


def _too_new(connection: Connection, revision: str) -> str:
    where = connection.engine.url.database or "the database"
    return (
        f"{where} was written by a newer version of Coccinelle (schema {revision}). "
        "Nothing was changed. Upgrade Coccinelle (pip install -U coccinelle-inbox) to open it."
    )
