"""The service facade on both databases: prospects, the inbox list, threads and triage."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import ValidationError

from core.booking.appointments import AppointmentDraft
from core.domain.enums import Channel, ConversationStatus, Direction, Priority
from core.domain.models import ProspectDraft, TemplateDraft
from core.errors import InvalidInput, NotFound
from core.events import ConversationChanged
from core.service import InboxFilter, Sort, View
from core.storage import tables as t
from tests.factories import add_message, add_prospect
from tests.unit.outbox.test_query_plans import _plans, _recording


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("phone", "12"),
        ("phone", "not a number"),
        ("email", "marie@"),
        ("email", "a b@c.fr"),
        ("timezone", "Mars/Olympus"),
        ("preferred_channel", "fax"),
    ],
)
def test_bad_contact_details_are_refused_with_the_field_named(field, value) -> None:
    with pytest.raises(ValidationError) as caught:
        ProspectDraft(display_name="X", **{field: value})
    assert field in str(caught.value)


def test_phone_numbers_are_stored_in_e164_reading_french_numbers() -> None:
    draft = ProspectDraft(display_name="X", phone="06 12 34 56 78", whatsapp="+44 20 7946 0958")
    assert (draft.phone, draft.whatsapp) == ("+33612345678", "+442079460958")


async def test_prospects_are_found_by_any_identifier(service) -> None:
    pid = await add_prospect(
        service, phone="0612345678", email="Marie@Example.FR", telegram_chat_id=42
    )
    for channel, identifier in [
        (Channel.SMS, "+33 6 12 34 56 78"),
        (Channel.WHATSAPP, "whatsapp:+33612345678"),
        (Channel.VOICE, "0612345678"),
        (Channel.EMAIL, "Marie@example.fr"),
        (Channel.TELEGRAM, "42"),
    ]:
        found = await service.prospects.find(channel, identifier)
        assert found is not None and found.id == pid, channel


async def test_inbox_list_is_newest_first_and_pages_by_keyset(service, clock) -> None:
    ids = []
    for i in range(7):
        clock.advance(minutes=1)
        pid = await add_prospect(service, f"Prospect {i}", phone=f"061234560{i}")
        ids.append((await add_message(service, pid, f"message {i}"))[0])
    seen, cursor = [], None
    while True:
        page = await service.conversations.page(cursor=cursor, limit=3)
        seen += [c.id for c in page.items]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == list(reversed(ids))


async def test_waiting_sort_puts_the_oldest_unanswered_first(service, clock) -> None:
    a = await add_prospect(service, "A", phone="0612345601")
    b = await add_prospect(service, "B", phone="0612345602")
    conv_a, _ = await add_message(service, a, "first question")
    clock.advance(minutes=5)
    conv_b, _ = await add_message(service, b, "second question")
    clock.advance(minutes=5)
    await add_message(service, a, "again?")
    page = await service.conversations.page(InboxFilter(sort=Sort.WAITING))
    assert [c.id for c in page.items] == [conv_a, conv_b]
    await add_message(service, a, "answer", direction=Direction.OUTBOUND)
    page = await service.conversations.page(InboxFilter(sort=Sort.WAITING))
    assert [c.id for c in page.items] == [conv_b]


async def test_filters_combine_channel_label_status_and_search(service, clock) -> None:
    p = await add_prospect(service, "Luc Petit", phone="0612345678", email="luc@example.fr")
    sms, _ = await add_message(service, p, "Je confirme le rendez-vous")
    mail, _ = await add_message(service, p, "Estimation de mon appartement", channel=Channel.EMAIL)
    await service.conversations.set_labels(mail, ["Estimation", "vip"])
    await service.conversations.set_priority(mail, Priority.URGENT)

    async def ids(**kw):
        return [c.id for c in (await service.conversations.page(InboxFilter(**kw))).items]

    assert await ids(channel=Channel.SMS) == [sms]
    assert await ids(label="vip") == [mail]
    assert await ids(search="rendez vous") == [sms]
    assert set(await ids(search="luc")) == {sms, mail}
    assert await ids(search="luc", channel=Channel.EMAIL, label="estimation") == [mail]
    assert await ids(search="introuvable") == []
    assert (await ids(sort=Sort.PRIORITY))[0] == mail
    await service.conversations.set_status(sms, ConversationStatus.CLOSED)
    assert await ids() == [mail]
    assert await ids(view=View.CLOSED) == [sms]
    assert await ids(since=clock.now + timedelta(minutes=1)) == []


async def test_counts_per_channel_show_unread_and_total(service) -> None:
    p = await add_prospect(service, phone="0612345678", email="p@example.fr")
    sms, _ = await add_message(service, p, "un")
    await add_message(service, p, "deux", channel=Channel.EMAIL)
    await service.conversations.mark_read(sms)
    counts = await service.conversations.counts()
    assert counts["sms"] == (0, 1)
    assert counts["email"] == (1, 1)
    assert counts["all"] == (1, 2)


async def test_counts_seek_the_counts_index_per_channel_and_state(service) -> None:
    """The sidebar's counts (read before the first paint) seek the counts index by channel and
    state: by the tenant alone, SQLite walked every conversation, the closed ones too."""
    if service.db.dialect != "sqlite":
        pytest.skip("SQLite's planner")
    p = await add_prospect(service, phone="0612345678", email="p@example.fr")
    await add_message(service, p, "un")
    seen = _recording(service.db)
    assert (await service.conversations.counts())["all"] == (1, 1)
    plans = await _plans(service.db, seen)
    assert [plan for plan in plans.values() if "ix_conv_counts" in plan] == [
        "SEARCH conversations USING COVERING INDEX ix_conv_counts"
        " (tenant_id=? AND channel_type=? AND status=?)"
    ]


async def test_inbound_on_a_closed_conversation_reopens_it_and_counts_unread(service) -> None:
    p = await add_prospect(service, phone="0612345678")
    conv, _ = await add_message(service, p, "bonjour")
    await service.conversations.mark_read(conv)
    await service.conversations.set_status(conv, ConversationStatus.CLOSED)
    await add_message(service, p, "encore moi")
    got = await service.conversations.get(conv)
    assert got.status == ConversationStatus.OPEN and got.unread_count == 1
    assert got.last_message_preview == "encore moi"


async def test_thread_shows_the_prospect_timeline_across_channels(service, clock) -> None:
    p = await add_prospect(service, phone="0612345678", email="p@example.fr")
    sms, m1 = await add_message(service, p, "par SMS")
    clock.advance(minutes=1)
    _, m2 = await add_message(service, p, "par e-mail", channel=Channel.EMAIL, subject="Re: visite")
    note = await service.messages.add_note(sms, "rappeler demain")
    thread = await service.conversations.thread(sms)
    assert [m.id for m in thread.messages] == [m1, m2, note.id]
    assert [c.channel for c in thread.related] == [Channel.EMAIL]
    assert (await service.conversations.get(sms)).last_message_preview == "par SMS"


async def test_a_thread_read_in_part_is_its_newest_messages_and_says_there_are_older(
    service, clock
) -> None:
    p = await add_prospect(service, phone="0612345678", email="p@example.fr")
    ids = []
    for n in range(5):
        clock.advance(minutes=1)
        channel = Channel.EMAIL if n == 1 else Channel.SMS
        sms, m = await add_message(service, p, f"message {n}", channel=channel)
        ids.append(m)
    newest = await service.conversations.thread(sms, 3)
    assert [m.id for m in newest.messages] == ids[2:] and not newest.complete
    assert [c.channel for c in newest.related] == [Channel.EMAIL]  # all of them, still
    assert (await service.conversations.thread(sms, 4)).complete is False
    whole = await service.conversations.thread(sms, 5)
    assert [m.id for m in whole.messages] == ids and whole.complete
    assert (await service.conversations.thread(sms)).complete


async def test_thread_reads_labels_assignees_drafts_and_writers_of_every_conversation(
    service, clock
) -> None:
    # The thread is read set-based: it must say what get() and the inbox list say, one by one.
    p = await add_prospect(service, phone="0612345678", email="p@example.fr")
    other = await add_prospect(service, "Autre", phone="0698765432")
    sms, _ = await add_message(service, p, "par SMS")
    clock.advance(minutes=1)
    email, _ = await add_message(service, p, "par e-mail", channel=Channel.EMAIL, subject="Re")
    elsewhere, _ = await add_message(service, other, "ailleurs")
    claire = await service.agents.add("Claire Martin")
    paul = await service.agents.add("Paul Durand")
    await service.conversations.assign(sms, claire.id)
    await service.conversations.assign(email, paul.id)
    await service.conversations.set_labels(sms, ["vente", "urgent"])
    await service.conversations.set_labels(email, ["location"])
    await service.conversations.set_labels(elsewhere, ["ailleurs"])
    await service.drafts.keep(email, "brouillon")
    service.ctx.agent_id = paul.id
    note = await service.messages.add_note(sms, "rappeler demain")
    service.ctx.agent_id = None
    thread = await service.conversations.thread(sms)
    assert thread.conversation == await service.conversations.get(sms)
    listed = {c.id: c for c in (await service.conversations.page(InboxFilter())).items}
    assert thread.related == (listed[email],)
    assert thread.related[0].assignee_name == "Paul Durand" and thread.related[0].has_draft
    assert thread.conversation.labels == ("urgent", "vente")
    assert thread.conversation.assignee_name == "Claire Martin"
    assert [m.sender_name for m in thread.messages if m.id == note.id] == ["Paul Durand"]
    assert (await service.conversations.thread(email)).conversation.has_draft


async def test_a_thread_brings_the_prospects_appointments_soonest_first(service, clock) -> None:
    p = await add_prospect(service, phone="0612345678")
    other = await add_prospect(service, "Autre", phone="0698765432")
    sms, _ = await add_message(service, p, "bonjour")
    made = []
    for days in (3, 1, 2):
        start = clock.now + timedelta(days=days)
        draft = AppointmentDraft(prospect_id=p, starts_at=start, ends_at=start + timedelta(hours=1))
        made.append(await service.appointments.create(draft))
    start = clock.now + timedelta(days=1)
    await service.appointments.create(
        AppointmentDraft(prospect_id=other, starts_at=start, ends_at=start + timedelta(hours=1))
    )
    thread = await service.conversations.thread(sms)
    assert list(thread.appointments) == await service.appointments.for_prospect(p)
    assert [a.id for a in thread.appointments] == [made[1].id, made[2].id, made[0].id]
    with pytest.raises(NotFound):
        await service.conversations.thread(10**9)


async def test_snooze_until_a_time_then_wake(service, clock) -> None:
    p = await add_prospect(service, phone="0612345678")
    conv, _ = await add_message(service, p, "bonjour")
    with pytest.raises(InvalidInput):
        await service.conversations.snooze(conv, clock.now - timedelta(hours=1))
    await service.conversations.snooze(conv, clock.now + timedelta(hours=1))
    assert [
        c.id for c in (await service.conversations.page(InboxFilter(view=View.SNOOZED))).items
    ] == [conv]
    assert await service.conversations.wake_snoozed() == 0
    clock.advance(hours=2)
    assert await service.conversations.wake_snoozed() == 1
    assert (await service.conversations.get(conv)).status == ConversationStatus.OPEN


async def test_assign_and_views_mine_and_unassigned(service) -> None:
    agent = await service.agents.add("Claire Martin")
    p = await add_prospect(service, phone="0612345678")
    conv, _ = await add_message(service, p, "bonjour")
    assert [
        c.id for c in (await service.conversations.page(InboxFilter(view=View.UNASSIGNED))).items
    ] == [conv]
    await service.conversations.assign(conv, agent.id)
    mine = await service.conversations.page(InboxFilter(view=View.MINE, agent_id=agent.id))
    assert [c.assignee_name for c in mine.items] == ["Claire Martin"]
    with pytest.raises(NotFound):
        await service.conversations.assign(conv, 9999)


async def test_mine_without_a_current_agent_is_empty_not_the_unassigned(service) -> None:
    p = await add_prospect(service, phone="0612345678")
    await add_message(service, p, "bonjour")
    assert (await service.conversations.page(InboxFilter(view=View.UNASSIGNED))).items
    assert not (await service.conversations.page(InboxFilter(view=View.MINE))).items


async def test_bad_labels_and_unknown_records_get_clear_errors(service) -> None:
    p = await add_prospect(service, phone="0612345678")
    conv, _ = await add_message(service, p, "bonjour")
    with pytest.raises(InvalidInput, match="label"):
        await service.conversations.set_labels(conv, ["[bold]x[/]"])
    with pytest.raises(NotFound, match="conversation"):
        await service.conversations.thread(123456)
    with pytest.raises(InvalidInput, match="cursor"):
        await service.conversations.page(cursor="%%%")
    with pytest.raises(ValueError):
        await service.conversations.set_status(conv, "archived")


async def test_changes_are_published_after_commit(service) -> None:
    p = await add_prospect(service, phone="0612345678")
    conv, _ = await add_message(service, p, "bonjour")
    async with service.bus.subscribe() as queue:
        await service.conversations.mark_read(conv)
        assert queue.get_nowait() == ConversationChanged(conv)


async def test_merge_moves_conversations_and_identifiers(service) -> None:
    a = await add_prospect(service, "Marie", phone="0612345678")
    b = await add_prospect(service, "marie.d", email="marie@example.fr")
    conv, _ = await add_message(service, b, "mail", channel=Channel.EMAIL)
    merged = await service.prospects.merge(a, b)
    assert merged.email == "marie@example.fr"
    assert (await service.conversations.get(conv)).prospect_id == a
    assert (await service.prospects.find(Channel.EMAIL, "marie@example.fr")).id == a


async def test_merge_leaves_the_appointments_last_change_alone(service, clock) -> None:
    """Moving an appointment to the kept prospect does not change the appointment: its
    ``updated_at`` (when a cancellation happened, for Sara's echo guard; the SEQUENCE of its
    calendar event) stays, and is never the wall clock."""
    a = await add_prospect(service, "Marie", phone="0612345678")
    b = await add_prospect(service, "marie.d", email="marie@example.fr")
    start = clock.now + timedelta(days=1)
    draft = AppointmentDraft(prospect_id=b, starts_at=start, ends_at=start + timedelta(hours=1))
    appointment = await service.appointments.create(draft)
    clock.advance(hours=3)
    await service.prospects.merge(a, b)
    async with service.db.session() as session:
        row = await session.get(t.AppointmentRow, appointment.id)
    assert row is not None and row.prospect_id == a
    assert row.updated_at == start - timedelta(days=1)


async def test_appointments_refuse_backwards_times(service, clock) -> None:
    p = await add_prospect(service, phone="0612345678")
    start = clock.now + timedelta(days=1)
    with pytest.raises(ValidationError):
        AppointmentDraft(prospect_id=p, starts_at=start, ends_at=start - timedelta(hours=1))
    appt = await service.appointments.create(
        AppointmentDraft(prospect_id=p, starts_at=start, ends_at=start + timedelta(hours=1))
    )
    assert not hasattr(service.appointments, "move")  # one move path: service.booking.move
    assert [x.id for x in await service.appointments.for_prospect(p)] == [appt.id]


async def test_templates_crud_and_duplicate_names(service) -> None:
    draft = TemplateDraft(
        channel=Channel.SMS, name="rdv_reminder_24h", content="Bonjour {{prospect_name}}"
    )
    saved = await service.templates.save(draft)
    with pytest.raises(InvalidInput, match="name"):
        await service.templates.save(draft)
    updated = await service.templates.save(draft.model_copy(update={"content": "Salut"}), saved.id)
    assert updated.content == "Salut"
    assert [x.name for x in await service.templates.list(Channel.SMS)] == ["rdv_reminder_24h"]
    await service.templates.delete(saved.id)
    assert await service.templates.list() == []


async def test_settings_are_validated_whole_and_never_half_saved(service) -> None:
    settings = await service.tenant_settings.get()
    assert settings.quiet_hours.start.hour == 22
    raw = settings.model_dump(mode="json")
    raw["quiet_hours"]["start"] = "21:00"
    raw["timezone"] = "Nowhere/Town"
    with pytest.raises(InvalidInput, match="timezone"):
        await service.tenant_settings.save(raw)
    assert (await service.tenant_settings.get()).quiet_hours.start.hour == 22
    raw["timezone"] = "Europe/Paris"
    await service.tenant_settings.save(raw)
    assert (await service.tenant_settings.get()).quiet_hours.start.hour == 21


async def test_the_time_zone_is_read_alone_as_the_settings_would_read_it(service) -> None:
    """``timezone()`` (what the inbox reads before its first page) agrees with ``get()``: the
    default, a saved zone, and a stored zone the system does not know (``get`` refuses it)."""
    assert await service.tenant_settings.timezone() == "Europe/Paris"
    raw = (await service.tenant_settings.get()).model_dump(mode="json")
    await service.tenant_settings.save({**raw, "timezone": "America/Montreal"})
    assert await service.tenant_settings.timezone() == "America/Montreal"
    async with service.ctx.db.session() as session:
        tenant = await session.get(t.TenantRow, service.ctx.tenant_id)
        assert tenant is not None
        tenant.settings = {**raw, "timezone": "Nowhere/Town"}
    with pytest.raises(ValidationError, match="timezone"):
        await service.tenant_settings.timezone()


async def test_channel_config_keeps_a_keyring_reference_not_a_secret(service) -> None:
    saved = await service.tenant_settings.save_channel(
        Channel.SMS, config={"from_number": "+33700000000"}, credentials_ref="coccinelle/acme/sms"
    )
    assert saved.provider == "twilio" and saved.credentials_ref == "coccinelle/acme/sms"
    assert [c.channel for c in await service.tenant_settings.channels()] == [Channel.SMS]
