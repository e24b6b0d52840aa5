"""The demo agency: what it holds, that it went through the write path, determinism, reset."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import delete, select

from core.config.settings import load_settings
from core.demo import DemoResetRefused, is_demo_database, reset_demo, seed_demo
from core.demo.people import AGENTS, mobile_number
from core.domain.enums import Channel, Direction, MessageKind, SenderType
from core.engine import open_service
from core.errors import NotADatabase
from core.service import InboxFilter, InboxService
from core.storage import tables as t
from core.storage.database import Database, sqlite_url
from core.storage.tenants import DEMO_STARTED
from core.storage.timeline import preview_of
from tests.conftest import PG_URL, PgSchema
from tests.factories import add_prospect

NOW = datetime(2026, 3, 10, 10, 0, tzinfo=UTC)


async def rows(db: Database, table: type) -> list:
    async with db.session() as session:
        return list((await session.execute(select(table))).scalars().all())


@pytest.fixture
async def demo_db(db: Database) -> Database:
    await seed_demo(db, now=NOW)
    return db


async def test_the_agency_has_prospects_agents_and_channels(demo_db) -> None:
    prospects = await rows(demo_db, t.ProspectRow)
    assert 55 <= len(prospects) <= 65
    assert len({p.phone for p in prospects}) == len(prospects)
    assert all(p.phone.startswith("+") for p in prospects)
    assert sum(p.phone.startswith(("+336", "+337")) for p in prospects) >= 50
    assert {p.language for p in prospects} == {"fr", "en"}
    assert {p.timezone for p in prospects} > {"Europe/Paris", "Europe/London"}
    assert any(p.telegram_chat_id for p in prospects)
    assert any(p.opted_out_channels for p in prospects)
    assert {p.preferred_channel for p in prospects} == set(Channel)
    assert len(await rows(demo_db, t.AgentRow)) == 3
    [tenant] = await rows(demo_db, t.TenantRow)
    assert (tenant.slug, tenant.name) == ("demo", "Agence Immobilière Demo")
    channels = await rows(demo_db, t.ChannelRow)
    assert {c.channel_type for c in channels} == set(Channel)
    assert all(
        c.enabled and c.credentials_ref == f"coccinelle:demo:{c.channel_type}" for c in channels
    )
    assert all(c.config["credential_names"] for c in channels)
    templates = await rows(demo_db, t.MessageTemplateRow)
    names = {(x.channel_type, x.template_name, x.language) for x in templates}
    assert {("sms", "rdv_reminder_24h", "fr"), ("sms", "rdv_reminder_24h", "en")} <= names
    assert "rdv_confirmation_fr" in {x.whatsapp_name for x in templates}


async def test_conversations_cover_every_channel_status_and_triage(demo_db) -> None:
    conversations = await rows(demo_db, t.ConversationRow)
    assert set(Counter(c.channel_type for c in conversations)) == set(Channel)
    assert {c.status for c in conversations} == {"open", "pending", "snoozed", "closed"}
    assert {c.priority for c in conversations} == {0, 1, 2, 3}
    assert any(c.assignee_id for c in conversations)
    assert any(c.assignee_id is None for c in conversations)
    assert any(c.unread_count for c in conversations)
    switched = [c for c in conversations if c.switched_from_id]
    assert switched and all(c.channel_type == "sms" for c in switched)
    labels = {r.label for r in await rows(demo_db, t.ConversationLabelRow)}
    assert {"vip", "estimation", "location", "achat"} <= labels
    snoozed = [c for c in conversations if c.status == "snoozed"]
    assert all(c.snoozed_until > NOW for c in snoozed)


async def test_messages_show_every_delivery_status_and_kind(demo_db) -> None:
    messages = await rows(demo_db, t.MessageRow)
    statuses = {m.status for m in messages}
    assert {
        "queued",
        "sent",
        "delivered",
        "read",
        "failed",
        "undelivered",
        "unknown",
        "received",
    } <= statuses
    errors = {m.error_code: m.error_message for m in messages if m.error_code}
    assert errors["21211"] == "Invalid 'To' Phone Number"
    assert errors["30003"] == "Unreachable destination handset"
    assert {m.sender_type for m in messages} == set(SenderType)
    calls = [m for m in messages if m.kind == MessageKind.CALL]
    assert calls and {m.direction for m in calls} == {"inbound", "outbound"}
    for call in calls:
        assert {
            "duration_seconds",
            "summary",
            "transcript",
            "recording_url",
            "ended_reason",
            "cost",
        } <= set(call.meta)
        assert call.channel_type == "voice" and call.content == call.meta["summary"]
    assert any("AI: " in c.meta["transcript"] for c in calls)
    media = [item for m in messages for item in m.meta.get("attachments", ())]
    assert any(i["content_type"] == "image/png" for i in media)
    assert any(i["content_type"] == "application/pdf" for i in media)
    assert all({"filename", "content_type", "size", "data"} <= set(i) for i in media)
    assert not any("media" in m.meta for m in messages)  # the timeline reads "attachments"
    assert any("location" in m.meta for m in messages)
    assert any(m.kind == MessageKind.NOTE for m in messages)
    assert any(
        m.meta.get("purpose") == "reminder" and m.meta.get("appointment_id") for m in messages
    )
    assert any("estimation" in m.content for m in messages)
    read = [m for m in messages if m.status == "read"]
    assert all(m.sent_at <= m.delivered_at <= m.read_at for m in read)
    ids = [(m.provider, m.provider_message_id) for m in messages if m.kind != MessageKind.NOTE]
    assert len(set(ids)) == len(ids) and all(pid for _, pid in ids)


async def test_what_the_demo_sent_reads_as_an_agency_would_write_it(demo_db) -> None:
    """No raw variable, and no "c'est <agency> de <agency>" where a template wants an agent's name
    (the campaign and the A/B test sign as the demo's Camille)."""
    tenant = (await rows(demo_db, t.TenantRow))[0]
    company = tenant.settings["company"]["name"]
    outbound = [m for m in await rows(demo_db, t.MessageRow) if m.direction == Direction.OUTBOUND]
    assert not [m.content for m in outbound if "[agent_name]" in m.content]
    assert not [m.content for m in outbound if f"{company} de {company}" in m.content]
    assert any("c'est Camille d'Agence" in m.content for m in outbound)  # elided


async def test_what_the_agents_wrote_to_english_speakers_is_in_english(demo_db) -> None:
    """The expat asking for a furnished flat is offered one in English, not a French listing
    for sale ("maison de 110 m²", "890 000 €") dropped into an English sentence."""
    english = {p.id for p in await rows(demo_db, t.ProspectRow) if p.language == "en"}
    conversations = {c.id: c for c in await rows(demo_db, t.ConversationRow)}
    written = [
        m.content
        for m in await rows(demo_db, t.MessageRow)
        if m.direction == Direction.OUTBOUND
        and m.sender_type == SenderType.AGENT
        and conversations[m.conversation_id].prospect_id in english
    ]
    assert written
    french = ("pièces", "maison", "appartement", "studio", " m²", "loyer", "Bonjour")
    assert not [text for text in written if any(word in text for word in french)]


async def test_times_are_spread_over_the_last_month_relative_to_now(demo_db) -> None:
    messages = await rows(demo_db, t.MessageRow)
    times = [m.created_at for m in messages]
    assert all(NOW - timedelta(days=31) <= at <= NOW for at in times)
    assert sum(at > NOW - timedelta(hours=1) for at in times) >= 4
    assert min(times) < NOW - timedelta(days=20)
    appointments = await rows(demo_db, t.AppointmentRow)
    assert {a.status for a in appointments} == {
        "proposed",
        "confirmed",
        "cancelled",
        "done",
        "no_show",
    }
    assert any(a.starts_at > NOW for a in appointments)
    assert any(a.starts_at < NOW for a in appointments)


async def test_denormalised_columns_match_the_messages(demo_db) -> None:
    messages = await rows(demo_db, t.MessageRow)
    by_conversation: dict[int, list[t.MessageRow]] = {}
    for m in sorted(messages, key=lambda m: (m.created_at, m.id)):
        by_conversation.setdefault(m.conversation_id, []).append(m)
    for c in await rows(demo_db, t.ConversationRow):
        items = [m for m in by_conversation[c.id] if m.kind not in ("note", "event")]
        assert c.message_count == len(items)
        assert c.last_message_at == items[-1].created_at
        assert c.last_message_preview == preview_of(items[-1].subject or items[-1].content)
        assert c.last_message_direction == items[-1].direction
        answered = [i for i, m in enumerate(items) if m.sender_type == SenderType.AGENT]
        unread = items[answered[-1] + 1 :] if answered else items
        assert c.unread_count == sum(m.direction == Direction.INBOUND for m in unread), c.id


async def test_the_facade_reads_the_demo(demo_db) -> None:
    service = await InboxService.connect(demo_db, "demo", clock=lambda: NOW)
    page = await service.conversations.page()
    assert page.items and page.next_cursor
    thread = await service.conversations.thread(page.items[0].id)
    assert thread.messages
    found = await service.conversations.page(InboxFilter(search="estimation"))
    assert found.items


async def dump(db: Database) -> list:
    messages = await rows(db, t.MessageRow)
    conversations = await rows(db, t.ConversationRow)
    prospects = await rows(db, t.ProspectRow)
    return [
        sorted(
            (m.content, m.status, m.created_at, m.provider_message_id, str(m.meta))
            for m in messages
        ),
        sorted(
            (c.prospect_name, c.status, c.unread_count, c.last_message_at, c.priority)
            for c in conversations
        ),
        sorted((p.display_name, p.phone, p.email, p.created_at) for p in prospects),
    ]


async def test_the_same_seed_and_now_give_the_same_data(tmp_path: Path) -> None:
    dumps = []
    for name, seed in (("a", 7), ("b", 7), ("c", 8)):
        db = await Database.open(sqlite_url(tmp_path / f"{name}.db"))
        try:
            await seed_demo(db, now=NOW, seed=seed)
            dumps.append(await dump(db))
        finally:
            await db.close()
    assert dumps[0] == dumps[1]
    assert dumps[0] != dumps[2]


async def test_reset_recreates_a_demo_database(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "demo.db")
    _, first = await reset_demo(url, now=NOW)
    db = await Database.open(url)
    try:
        assert await is_demo_database(db)
        service = await InboxService.connect(db, "demo", clock=lambda: NOW)
        await add_prospect(service, "Quelqu'un en trop")
    finally:
        await db.close()
    _, second = await reset_demo(url, now=NOW)
    assert first == second


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
async def real_db(request, tmp_path) -> AsyncIterator[tuple[Database, str, dict]]:
    """A real agency's database on either engine, with the URL and options that open it."""
    if request.param == "sqlite":
        url = sqlite_url(tmp_path / "real.db")
        db = await Database.open(url)
        yield db, url, {}
        await db.close()
        return
    if not PG_URL:
        pytest.skip("COCCINELLE_TEST_PG_URL is not set")
    schema = PgSchema(PG_URL)
    await schema.create()
    db = await schema.open()
    try:
        yield db, PG_URL, schema.engine_options
    finally:
        await db.close()
        await schema.drop()


async def test_reset_refuses_a_real_database_and_changes_nothing(real_db) -> None:
    db, url, options = real_db
    service = await InboxService.connect(db, "agence-reelle")
    await add_prospect(service, "Vraie Cliente", phone="06 12 34 56 78")
    assert not await is_demo_database(db)
    with pytest.raises(DemoResetRefused):
        await reset_demo(url, now=NOW, **options)
    assert [p.display_name for p in await rows(db, t.ProspectRow)] == ["Vraie Cliente"]


async def test_reset_refuses_another_programs_sqlite_file(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "notes.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE notes (body TEXT)")
        conn.execute("INSERT INTO notes VALUES ('courses')")
    before = path.read_bytes()
    with pytest.raises(DemoResetRefused):
        await reset_demo(sqlite_url(path), now=NOW)
    assert path.read_bytes() == before


async def test_reset_refuses_a_file_that_is_not_a_database(tmp_path: Path) -> None:
    path = tmp_path / "photo.db"
    path.write_bytes(b"\x89PNG not a database at all" * 100)
    before = path.read_bytes()
    with pytest.raises(NotADatabase):
        await reset_demo(sqlite_url(path), now=NOW)
    assert path.read_bytes() == before


async def test_the_first_start_in_demo_mode_seeds_and_later_starts_do_not(tmp_path) -> None:
    settings = load_settings()  # nothing configured: demo mode, database in the data dir
    assert settings.mode == "demo"
    service = await open_service(settings)
    try:
        first = len((await service.conversations.page(limit=500)).items)
        assert first > 30
    finally:
        await service.close()
    service = await open_service(settings)
    try:
        assert len(await rows(service.db, t.TenantRow)) == 1
        # no --agent: the demo is used as its first agent ("Mine", A, {{agent_name}} work)
        me = await service.agents.by_name(AGENTS[0][0])
        assert me is not None and service.ctx.agent_id == me.id
    finally:
        await service.close()
    local = await open_service(
        load_settings(database_url=sqlite_url(tmp_path / "local.db"), mode="local")
    )
    try:
        assert await rows(local.db, t.ProspectRow) == []
    finally:
        await local.close()


async def test_call_transcripts_name_each_speaker(tmp_path: Path) -> None:
    db = await Database.open(sqlite_url(tmp_path / "demo.db"))
    try:
        await seed_demo(db, now=NOW)
        calls = [r for r in await rows(db, t.MessageRow) if r.kind == MessageKind.CALL]
    finally:
        await db.close()
    agent_calls = [
        c for c in calls if c.sender_type == SenderType.AGENT and (c.meta or {}).get("transcript")
    ]
    assert agent_calls
    for call in agent_calls:  # the agent speaks first, the prospect answers: not all "User"
        speakers = [line.split(":", 1)[0] for line in call.meta["transcript"].splitlines()]
        assert speakers[0] == "Agent" and "User" in speakers


def test_a_mobile_number_for_a_region_without_numbers_says_so() -> None:
    """phonenumbers has no example for an unknown region: a clear error, not an AttributeError."""
    with pytest.raises(ValueError, match="'XX'"):
        mobile_number(random.Random(1), "XX")
    assert mobile_number(random.Random(1), "GB").startswith("+44")


async def test_the_demo_delivery_adapter_of_a_channel_accepts_every_message() -> None:
    """One adapter class per channel: name, provider and channel are class attributes."""
    from core.channels.adapter import OutgoingMessage
    from core.demo.delivery import DemoDelivery
    from core.domain.enums import DEFAULT_PROVIDER

    sms, email = DemoDelivery().adapter(Channel.SMS), DemoDelivery().adapter(Channel.EMAIL)
    assert (sms.name, sms.provider) == ("demo_sms", DEFAULT_PROVIDER[Channel.SMS])
    assert sms.channel == Channel.SMS
    assert (email.name, email.channel) == ("demo_email", Channel.EMAIL)
    assert type(sms) is type(DemoDelivery().adapter(Channel.SMS))
    message = OutgoingMessage(channel=Channel.SMS, to="+33612345678", text="x", reference="r1")
    sent = await sms.send(message)
    assert sent.provider_message_id == "demo-r1"


async def test_a_seeding_cut_short_is_seeded_again_at_the_next_start(
    tmp_path: Path, monkeypatch
) -> None:
    """The first start quit while it seeded (Ctrl+C, a closed terminal): the half-written agency
    is still demo data (``demo reset`` erases it) and the next start seeds it whole, where it
    used to stay half-seeded (no campaign) and refused by ``demo reset``."""
    from core.demo import reset as reset_module
    from core.demo import seeder

    class Quit(Exception):
        """Stands for the process ending midway."""

    async def quit_midway(*args, **kwargs) -> None:
        raise Quit

    url = sqlite_url(tmp_path / "demo.db")
    db = await Database.open(url)
    try:
        monkeypatch.setattr(seeder, "seed_campaigns", quit_midway)
        with pytest.raises(Quit):
            await reset_module.seed_if_empty(db)
        monkeypatch.undo()
        assert await is_demo_database(db)  # so `demo reset` may erase it
        assert await reset_module.unfinished_demo(db)
        assert not await rows(db, t.CampaignRow)
        summary = await reset_module.seed_if_empty(db)  # the next start
        assert summary is not None and summary.conversations
        assert not await reset_module.unfinished_demo(db)
        assert [c.name for c in await rows(db, t.CampaignRow)] == ["Relance visites"]
        assert await reset_module.seed_if_empty(db) is None  # whole: left as it is
        async with db.session() as session:  # seeded before the start mark existed: whole too
            log = t.AuditLogRow
            await session.execute(delete(log).where(log.action == DEMO_STARTED))
        assert not await reset_module.unfinished_demo(db)
    finally:
        await db.close()
