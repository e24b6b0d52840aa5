"""The database: migrations, full-text search, uniqueness, clear errors on bad files."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from core.errors import NotADatabase, SchemaTooNew
from core.storage import migrate
from core.storage.database import Database, sqlite_url
from core.storage.search import fts5_query, search_message_ids, search_prospect_ids, tsquery
from tests.factories import add_message, add_prospect

EXPECTED_TABLES = {
    "tenants",
    "agents",
    "prospects",
    "channels",
    "conversations",
    "conversation_labels",
    "messages",
    "message_templates",
    "appointments",
    "outbox",
    "inbound_events",
    "campaigns",
    "campaign_steps",
    "campaign_enrolments",
    "ab_tests",
    "ab_assignments",
    "channel_analytics",
    "audit_log",
}


async def test_migrations_create_every_table_from_empty(db: Database) -> None:
    async with db.engine.connect() as conn:
        tables = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
        revision = await conn.run_sync(migrate.current_revision)
    assert tables >= EXPECTED_TABLES
    assert revision == migrate.head_revision()


def test_the_known_head_is_the_newest_migration() -> None:
    # Starts skip Alembic when the database is at HEAD_REVISION: it must name the real head.
    assert migrate.head_revision() == migrate.HEAD_REVISION


async def test_upgrade_twice_is_harmless(db: Database) -> None:
    await db.upgrade()
    await db.upgrade()
    async with db.engine.connect() as conn:
        assert await conn.run_sync(migrate.stored_revision) == migrate.HEAD_REVISION


@pytest.mark.parametrize(
    ("stored", "query"),
    [
        ("Votre Rendez-Vous est confirmé", "rendez-vous"),
        ("Une élève a appelé", "eleve"),
        ("Une élève a appelé", "ÉLÈVE"),
        ("Estimation gratuite de votre appartement", "estim"),
    ],
)
async def test_search_ignores_case_accents_and_finds_prefixes(service, stored, query) -> None:
    prospect = await add_prospect(service, "Paul Martin", phone="0612345678")
    _, message_id = await add_message(service, prospect, stored)
    async with service.db.session() as session:
        found = await search_message_ids(session, service.ctx.tenant_id, query)
    assert [m for m, _ in found] == [message_id]


async def test_search_does_not_match_other_words(service) -> None:
    prospect = await add_prospect(service, "Paul Martin", phone="0612345678")
    await add_message(service, prospect, "Bonjour, je souhaite un RDV")
    async with service.db.session() as session:
        assert await search_message_ids(session, service.ctx.tenant_id, "appartement") == []
        assert await search_message_ids(session, service.ctx.tenant_id, "  ,;  ") == []


async def test_search_is_newest_first_and_tenant_scoped(service, clock) -> None:
    prospect = await add_prospect(service, "Paul Martin", phone="0612345678")
    ids = []
    for i in range(3):
        clock.advance(minutes=1)
        ids.append((await add_message(service, prospect, f"visite numéro {i}"))[1])
    async with service.db.session() as session:
        found = await search_message_ids(session, service.ctx.tenant_id, "visite")
        other = await search_message_ids(session, service.ctx.tenant_id + 999, "visite")
    assert [m for m, _ in found] == list(reversed(ids))
    assert other == []


async def test_search_finds_prospects_by_name_without_accents(service) -> None:
    prospect = await add_prospect(service, "Hélène Lefèvre", email="helene@example.fr")
    async with service.db.session() as session:
        assert await search_prospect_ids(session, service.ctx.tenant_id, "helene lefe") == [
            prospect
        ]


async def test_one_and_two_letter_prefixes_find_messages_and_prospects(service) -> None:
    prospect = await add_prospect(service, "Élodie Marchand", email="elodie@example.fr")
    _, kept = await add_message(service, prospect, "Mardi matin, visite du local")
    _, edited = await add_message(service, prospect, "Bonjour")
    async with service.db.session() as session:
        await session.execute(
            text("UPDATE messages SET content = 'Lundi soir' WHERE id = :id"), {"id": edited}
        )
    tenant = service.ctx.tenant_id
    async with service.db.session() as session:
        for query in ("m", "ma", "V", "vi"):
            assert [m for m, _ in await search_message_ids(session, tenant, query)] == [kept]
        found = await search_message_ids(session, tenant, "l")  # "local", the edited "Lundi"
        assert [m for m, _ in found] == [edited, kept]
        assert [m for m, _ in await search_message_ids(session, tenant, "lu")] == [edited]
        assert await search_message_ids(session, tenant, "b") == []  # "Bonjour" was edited away
        assert await search_message_ids(session, tenant, "ma x") == []
        for query in ("e", "É", "el", "m", "ma"):
            assert await search_prospect_ids(session, tenant, query) == [prospect]


async def test_sqlite_search_keeps_prefix_indexes_for_short_prefixes(sqlite_db: Database) -> None:
    # "m*" after the first key: without a prefix index FTS5 merges every word starting with m.
    async with sqlite_db.engine.begin() as conn:
        for table in ("messages_fts", "prospects_fts"):
            sql = (
                await conn.execute(
                    text("SELECT sql FROM sqlite_master WHERE name = :t"), {"t": table}
                )
            ).scalar()
            assert "prefix='1 2'" in sql, table
        await conn.run_sync(lambda c: _alembic(c, "downgrade", "0011"))
        sql = (
            await conn.execute(text("SELECT sql FROM sqlite_master WHERE name = 'messages_fts'"))
        ).scalar()
        assert "prefix" not in sql
        await conn.run_sync(lambda c: _alembic(c, "upgrade", "head"))
        assert await conn.run_sync(migrate.current_revision) == migrate.HEAD_REVISION


def _alembic(connection, action: str, revision: str) -> None:
    from alembic import command

    getattr(command, action)(migrate.alembic_config(connection), revision)


async def test_the_prefix_index_migration_indexes_existing_rows(service) -> None:
    # Upgrading a database that already holds messages rebuilds its index from them.
    prospect = await add_prospect(service, "Paul Martin", phone="0612345678")
    _, message_id = await add_message(service, prospect, "Mardi matin")
    async with service.db.engine.begin() as conn:
        await conn.run_sync(lambda c: _alembic(c, "downgrade", "0011"))
        await conn.run_sync(lambda c: _alembic(c, "upgrade", "head"))
    async with service.db.session() as session:
        found = await search_message_ids(session, service.ctx.tenant_id, "m")
        names = await search_prospect_ids(session, service.ctx.tenant_id, "p")
    assert [m for m, _ in found] == [message_id]
    assert names == [prospect]


def test_user_text_never_reaches_the_query_language() -> None:
    assert fts5_query('a" OR b NEAR(c') == '"a" "or" "b" "near"* "c"*'
    assert tsquery("x & !y | z:*") == "x & y & z:*"


def test_short_words_before_the_last_match_whole() -> None:
    assert fts5_query("compromis de vente") == '"compromis"* "de" "vente"*'
    assert fts5_query("rdv dem") == '"rdv" "dem"*'
    assert tsquery("compromis de ven") == "compromis:* & de & ven:*"


async def test_provider_message_id_is_unique_per_provider(service) -> None:
    prospect = await add_prospect(service, phone="0612345678")
    await add_message(service, prospect, "un", provider_message_id="SM123")
    with pytest.raises(IntegrityError):
        await add_message(service, prospect, "deux", provider_message_id="SM123")


async def test_a_file_that_is_not_a_database_is_named_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_bytes(b"these are my notes, not a database" * 50)
    before = path.read_bytes()
    with pytest.raises(NotADatabase) as caught:
        await Database.open(sqlite_url(path))
    assert str(path) in str(caught.value)
    assert path.read_bytes() == before


async def test_a_database_from_a_newer_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "future.db"
    db = await Database.open(sqlite_url(path))
    async with db.session() as session:
        await session.execute(text("UPDATE alembic_version SET version_num = '9999_future'"))
    await db.close()
    with pytest.raises(SchemaTooNew) as caught:
        await Database.open(sqlite_url(path))
    assert "newer version" in str(caught.value)
    db = await Database.open(sqlite_url(path), upgrade=False)
    async with db.session() as session:
        version = (await session.execute(text("SELECT version_num FROM alembic_version"))).scalar()
    await db.close()
    assert version == "9999_future"


async def test_sqlite_runs_in_wal_mode_with_foreign_keys(sqlite_db: Database) -> None:
    async with sqlite_db.engine.connect() as conn:
        assert (await conn.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
        assert (await conn.execute(text("PRAGMA foreign_keys"))).scalar() == 1


async def test_only_a_mapped_sqlite_database_reads_its_file_through_a_memory_map(
    tmp_path: Path,
) -> None:
    """The interactive app's connections map the file (a search's page reads hop between pages
    of a large table: read in place, not copied page by page into SQLite's small cache); the
    others read as before (the mapped pages count in the process's resident size)."""
    from core.storage.database import MMAP_BYTES

    for mapped, expected in ((True, MMAP_BYTES), (False, 0)):
        db = await Database.open(sqlite_url(tmp_path / f"{mapped}.db"), mapped=mapped)
        try:
            async with db.engine.connect() as conn:
                assert (await conn.execute(text("PRAGMA mmap_size"))).scalar() == expected
        finally:
            await db.close()


async def test_timestamps_come_back_aware_in_utc(service, clock) -> None:
    prospect = await add_prospect(service, phone="0612345678")
    conversation_id, _ = await add_message(service, prospect, "bonjour")
    conversation = await service.conversations.get(conversation_id)
    assert conversation.last_message_at == clock.now
    assert conversation.last_message_at.utcoffset() == timedelta(0)


async def test_migrations_and_models_never_drift_apart(db: Database) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from core.storage.tables import Base

    def diff(conn):
        context = MigrationContext.configure(conn, opts={"compare_type": False})
        changes = compare_metadata(context, Base.metadata)
        return [c for c in changes if "_fts" not in str(c) and "search_vector" not in str(c)]

    async with db.engine.connect() as conn:
        assert await conn.run_sync(diff) == []
