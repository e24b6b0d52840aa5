"""Schema migrations with Alembic, driven from code (no alembic.ini needed).

``upgrade(connection)`` refuses a database whose revision this version does not know: it was
written by a newer version, and migrating it down or over it would lose data.

Alembic itself is imported only when there is something to migrate: a start on an up-to-date
database reads the revision with one query and compares it with ``HEAD_REVISION`` (a test keeps
that constant equal to the newest migration).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

from core.errors import SchemaTooNew
from core.storage.revision import HEAD_REVISION

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).with_name("migrations")


def stored_revision(connection: Connection) -> str | None:
    """The revision recorded in the database, read without Alembic (None when there is none)."""
    if not inspect(connection).has_table("alembic_version"):
        return None
    return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


def upgrade_if_needed(connection: Connection) -> None:
    """``upgrade`` unless the database is already at ``HEAD_REVISION``."""
    if stored_revision(connection) != HEAD_REVISION:
        upgrade(connection)


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic configuration pointing at our migrations, bound to ``connection`` if given."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def current_revision(connection: Connection) -> str | None:
    """The revision the database is at (None for an empty database)."""
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str:
    """The newest revision this version knows."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def upgrade(connection: Connection) -> None:
    """Bring the schema at ``connection`` up to the newest revision.

    Raises:
        SchemaTooNew: the database is at a revision this version does not know.
    """
    from alembic import command
    from alembic.script import ScriptDirectory

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
