"""Writing the demo agency into a database, through the same write path as the product.

Prospects, agents, appointments, labels, priorities, assignments and statuses go through the
facade; thread items through ``core.storage.timeline`` (``append_message`` then ``apply_status``),
so every denormalised column is what real traffic would have left. Everything is drawn from
``random.Random(seed)`` and placed relative to ``now``: the same seed and ``now`` give the same
data, which is what tests and screenshots pin. Appointments follow the agency's booking rules
(working hours, holidays, no two at once for an agent), checked with the product's own
``check_slot``: a story's wished time moves to its agent's next free slot.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select

from core.booking.appointments import AppointmentDraft
from core.booking.slots import Busy, Calendar, check_slot
from core.channels.segments import count_segments
from core.credentials import credentials_ref
from core.demo import stories
from core.demo.campaigns import seed_campaigns
from core.demo.company import demo_settings_update
from core.demo.people import AGENTS, DemoPerson, demo_people
from core.demo.script import PARIS
from core.demo.stories import AGENT, PROSPECT, SARA, Beat, Booking, Kit, Story
from core.domain.availability import AppointmentType
from core.domain.enums import (
    DEFAULT_PROVIDER,
    AppointmentStatus,
    Channel,
    ConversationStatus,
    Direction,
    MessageKind,
    MessageStatus,
    Provider,
    SenderType,
)
from core.domain.models import Prospect
from core.domain.tenant_settings import DEFAULT_PRICES
from core.service import InboxService
from core.service.templates import seed_templates
from core.storage import tables as t
from core.storage.database import Database
from core.storage.tenants import DEMO_MARKER, DEMO_STARTED, ensure_tenant
from core.storage.timeline import append_message, apply_status, open_conversation
from core.storage.types import utcnow

DEFAULT_SEED = 20260310
DEMO_TENANT = "demo"
DEMO_COMPANY = "Agence Immobilière Demo"
#: The audit-log action that marks a tenant as demo data (``demo reset`` only erases those).

HISTORY_DAYS = 30
#: The demo's own appointment type, on top of the agency defaults (visit, valuation, signing…).
INVENTORY = AppointmentType(key="etat_des_lieux", minutes=60, buffer_minutes=15, where="property")
#: How far a wished appointment time may move to find its agent free.
_SEARCH = timedelta(days=21)
_STEP = timedelta(minutes=30)
#: "Now" for the booking rules' check: the demo's past appointments were booked back then.
_LONG_AGO = datetime(2000, 1, 1, tzinfo=UTC)

#: What each channel is set up with in the demo (sender addresses, never secrets).
DEMO_CHANNELS: dict[Channel, dict[str, Any]] = {
    Channel.SMS: {"from_number": "+33757000101", "credential_names": ["account_sid", "auth_token"]},
    Channel.WHATSAPP: {
        "from_number": "+33757000102",
        "credential_names": ["account_sid", "auth_token"],
    },
    Channel.EMAIL: {
        "from_email": "contact@agence-demo.fr",
        "from_name": DEMO_COMPANY,
        "credential_names": ["api_key"],
    },
    Channel.TELEGRAM: {"bot_username": "AgenceDemoSaraBot", "credential_names": ["bot_token"]},
    Channel.VOICE: {
        "phone_number_id": "pn-demo-0001",
        "assistant_id": "asst-sara-demo",
        "credential_names": ["api_key"],
    },
}
_DEFAULT_FINAL = {
    Channel.SMS: MessageStatus.DELIVERED,
    Channel.WHATSAPP: MessageStatus.READ,
    Channel.EMAIL: MessageStatus.DELIVERED,
    Channel.TELEGRAM: MessageStatus.SENT,
    Channel.VOICE: MessageStatus.DELIVERED,
}
_SENDER = {PROSPECT: SenderType.PROSPECT, AGENT: SenderType.AGENT, SARA: SenderType.SARA}


@dataclass(frozen=True)
class DemoSummary:
    """What the seeder wrote."""

    prospects: int
    conversations: int
    messages: int


@dataclass
class _Placed:
    """A story given to a prospect, with its sub-seed and when its last beat happens."""

    person: DemoPerson
    prospect: Prospect | None
    build: stories.StoryBuilder
    seed: int
    end: datetime


@dataclass
class _Agenda:
    """The agents' appointments booked so far, under the agency's booking rules."""

    calendar: Calendar
    busy: list[Busy] = field(default_factory=list)

    def book(self, booking: Booking, agent_id: int, wished: datetime, after: datetime) -> datetime:
        """The first start from ``wished`` (and after ``after``) the rules give ``agent_id``.

        A cancelled appointment keeps its time but frees the agent, as in the product.
        """
        item = self.type_of(booking.kind)
        start = self._free(item, agent_id, wished, after)
        if booking.status != AppointmentStatus.CANCELLED:
            end = self.calendar.occupied_until(item.key, start + timedelta(minutes=item.minutes))
            self.busy.append(Busy(agent_id, start, end))
        return start

    def alternatives(self, kind: str, agent_id: int, after: datetime, count: int = 2):
        """``count`` other free starts of ``agent_id`` after ``after`` (for a list of proposals)."""
        item = self.type_of(kind)
        found: list[datetime] = []
        while len(found) < count:
            found.append(self._free(item, agent_id, after + _STEP, after))
            after = found[-1]
        return tuple(found)

    def type_of(self, kind: str) -> AppointmentType:
        item = self.calendar.booking.type_of(kind)
        if item is None:  # pragma: no cover - a story with a kind the agency does not have
            raise RuntimeError(f"unknown appointment kind in a demo story: {kind}")
        return item

    def _free(
        self, item: AppointmentType, agent_id: int, wished: datetime, after: datetime
    ) -> datetime:
        start = wished
        while start <= after:
            start += _STEP
        for _ in range(int(_SEARCH / _STEP)):
            if check_slot(self.calendar, item, agent_id, start, self.busy, _LONG_AGO) is None:
                return start
            start += _STEP
        raise RuntimeError("no free slot for a demo appointment")  # pragma: no cover


async def seed_demo(
    db: Database,
    *,
    tenant: str = DEMO_TENANT,
    now: datetime | None = None,
    seed: int = DEFAULT_SEED,
) -> DemoSummary:
    """Write the demo agency into ``db`` (expected empty for ``tenant``) and mark it as demo."""
    moment = now or utcnow()
    rng = random.Random(seed)
    await ensure_tenant(db, tenant, DEMO_COMPANY)
    service = await InboxService.connect(db, tenant, clock=lambda: moment)
    # Marked first: a seeding cut short (the first start quit while it seeds) is still known as
    # demo data, so ``demo reset`` and the next start may erase it (``DEMO_MARKER`` when done).
    await _mark(db, service.ctx.tenant_id, seed, moment, DEMO_STARTED)
    settings = await service.tenant_settings.get()
    await service.tenant_settings.save(settings.model_copy(update=demo_settings_update()))
    await _channels(service, tenant)
    await seed_templates(service)
    agents = [(await service.agents.add(name, email)).id for name, email in AGENTS]
    by_name = {name.split()[0]: agent for (name, _), agent in zip(AGENTS, agents, strict=True)}
    agenda = _Agenda(await _booking_rules(service))
    placed = _place(rng, demo_people(rng), moment)
    created: dict[int, Prospect] = {}
    for item in placed:
        key = id(item.person)
        if key not in created:
            preferred = _probe(item).channel
            draft = item.person.draft.model_copy(update={"preferred_channel": preferred})
            created[key] = await service.prospects.create(draft)
        item.prospect = created[key]
    for index, item in enumerate(placed):
        await _write_story(service, item, index, (agents, by_name), agenda, rng, moment)
    await seed_campaigns(db, tenant, moment)
    await _mark(db, service.ctx.tenant_id, seed, moment)
    return await summary(db, service.ctx.tenant_id)


async def _channels(service: InboxService, tenant: str) -> None:
    for channel, config in DEMO_CHANNELS.items():
        await service.tenant_settings.save_channel(
            channel,
            enabled=True,
            provider=DEFAULT_PROVIDER[channel],
            config=dict(config),
            credentials_ref=credentials_ref(tenant, channel),
        )


async def _booking_rules(service: InboxService) -> Calendar:
    """The agency's booking rules with the demo's inventory-check type added."""
    settings = await service.tenant_settings.get()
    booking = settings.booking
    if booking.type_of(INVENTORY.key) is None:
        booking = booking.model_copy(update={"types": [*booking.types, INVENTORY]})
        await service.tenant_settings.save(settings.model_copy(update={"booking": booking}))
    return await service.booking.calendar()


def _place(rng: random.Random, people: list[DemoPerson], now: datetime) -> list[_Placed]:
    """Give every person a story on a channel they can be reached on, some a second one."""
    placed: list[_Placed] = []
    french = _cycle(stories.FRENCH_STORIES, stories.ONCE)
    english = _cycle(stories.ENGLISH_STORIES, stories.ONCE)
    for index, person in enumerate(people):
        pool = english if person.english else french
        builds = [_next_reachable(pool, person)]
        if index % 3 == 0 and not person.english:
            builds.append(_next_reachable(french, person, exclude=_channel_of(builds[0])))
        for build in builds:
            end = _daytime(now - _age(rng, len(placed)), now)
            placed.append(_Placed(person, None, build, rng.getrandbits(64), end))
    return placed


def _cycle(builders: tuple[stories.StoryBuilder, ...], once: frozenset[str]) -> Iterator[Any]:
    """The builders over and over, those named in ``once`` only the first time round."""
    yield from builders
    while True:
        yield from (b for b in builders if b.__name__ not in once)


def _channel_of(build: stories.StoryBuilder) -> Channel:
    return build(_probe_kit()).channel


def _probe_kit() -> Kit:
    return Kit(random.Random(0), "x", False, stories.PLACES[0], datetime(2026, 1, 1))


def _reachable(person: DemoPerson, channel: Channel) -> bool:
    draft = person.draft
    return {
        Channel.SMS: bool(draft.phone),
        Channel.VOICE: bool(draft.phone),
        Channel.WHATSAPP: bool(draft.whatsapp),
        Channel.EMAIL: bool(draft.email) and Channel.EMAIL not in draft.opted_out_channels,
        Channel.TELEGRAM: draft.telegram_chat_id is not None,
    }[channel]


def _next_reachable(pool, person: DemoPerson, exclude: Channel | None = None):
    for _ in range(50):
        build = next(pool)
        channel = _channel_of(build)
        if channel != exclude and _reachable(person, channel):
            return build
    raise RuntimeError("no story fits this prospect")  # pragma: no cover


def _daytime(moment: datetime, now: datetime) -> datetime:
    """``moment`` moved back into the agency's day (8:00–21:00, Paris) unless within the hour."""
    if now - moment < timedelta(hours=1):
        return moment
    local = moment.astimezone(PARIS)
    if 8 <= local.hour < 21:
        return moment
    hour = 9 + (local.hour * 7 + local.minute) % 11  # spread over the day, not all at 20:00
    moved = local.replace(hour=hour).astimezone(moment.tzinfo)
    return moved if moved < now - timedelta(hours=1) else moved - timedelta(days=1)


def _age(rng: random.Random, index: int) -> timedelta:
    """How long ago a conversation's last beat was: a few within the hour, most over 30 days."""
    if index % 19 == 3:
        return timedelta(minutes=rng.uniform(4, 55))
    # Skewed towards recent days, as a real inbox is.
    return timedelta(hours=1 + (HISTORY_DAYS * 24 - 1) * rng.random() ** 1.6)


def _kit(item: _Placed, visit_at: datetime, alternatives: tuple[datetime, ...] = ()) -> Kit:
    rng = random.Random(item.seed)
    place = stories.PLACES[rng.randrange(len(stories.PLACES))]
    return Kit(rng, item.person.first_name, item.person.english, place, visit_at, alternatives)


def _probe(item: _Placed) -> Story:
    """The story's shape (channel, beats, booking), before its appointment has a time."""
    return item.build(_kit(item, item.end))


def _story(
    item: _Placed, probe: Story, agent_id: int | None, agenda: _Agenda, now: datetime
) -> tuple[Story, Kit]:
    """Build the story with its appointment's time, booked in ``agenda`` for ``agent_id``."""
    if any(b.status == MessageStatus.QUEUED for b in probe.beats):
        item.end = now - timedelta(minutes=2 + item.seed % 40)
    if probe.booking is None or agent_id is None:
        kit = _kit(item, item.end)
        return item.build(kit), kit
    booking = probe.booking
    wished = stories.visit_time(random.Random(item.seed), item.end + timedelta(days=booking.days))
    after = item.end if booking.days > 0 else wished - _STEP  # proposed after the talk
    visit = agenda.book(booking, agent_id, wished, after)
    kit = _kit(item, visit, agenda.alternatives(booking.kind, agent_id, visit))
    return item.build(kit), kit


def _assignee(
    story: Story, agents: tuple[list[int], dict[str, int]], rng: random.Random
) -> int | None:
    """Who the conversation is for: the agent who signs it, else anyone if an agent speaks or
    an appointment is booked (its agent), else now and then."""
    ids, by_name = agents
    if story.agent is not None:
        return by_name[story.agent]
    has_agent = any(b.who == AGENT for b in story.beats + (story.follow_up or story).beats)
    if has_agent or story.booking is not None or rng.random() < 0.4:
        return rng.choice(ids)
    return None


def _duration(story: Story) -> timedelta:
    return timedelta(minutes=sum(b.after for b in story.beats[1:]))


async def _write_story(
    service: InboxService,
    item: _Placed,
    index: int,
    agents: tuple[list[int], dict[str, int]],
    agenda: _Agenda,
    rng: random.Random,
    now: datetime,
) -> None:
    probe = _probe(item)
    assignee = _assignee(probe, agents, rng)
    story, kit = _story(item, probe, assignee, agenda, now)
    assert item.prospect is not None
    appointment = await _book(service, item.prospect.id, story, assignee, kit, agenda)
    end = item.end
    if story.follow_up:
        end -= _duration(story.follow_up) + timedelta(minutes=story.follow_up.beats[0].after)
    start = end - _duration(story)
    first = await _write_thread(service, item.prospect.id, story, start, assignee, appointment)
    await _triage(service, first, story, index, assignee, rng, now)
    if story.follow_up:
        follow_start = end + timedelta(minutes=story.follow_up.beats[0].after)
        follow = await _write_thread(
            service, item.prospect.id, story.follow_up, follow_start, assignee, None, first
        )
        await _triage(service, follow, story.follow_up, index, assignee, rng, now)
    if story.opt_out:
        await service.prospects.set_opt_out(item.prospect.id, story.channel, True)


async def _book(
    service: InboxService,
    prospect_id: int,
    story: Story,
    agent_id: int | None,
    kit: Kit,
    agenda: _Agenda,
) -> int | None:
    if story.booking is None:
        return None
    item = agenda.type_of(story.booking.kind)
    location = stories.AGENCY[1] if item.where == "agency" else kit.address
    booked = await service.appointments.create(
        AppointmentDraft(
            prospect_id=prospect_id,
            starts_at=kit.visit_at,
            ends_at=kit.visit_at + timedelta(minutes=item.minutes),
            agent_id=agent_id,
            kind=story.booking.kind,
            location=location,
            status=story.booking.status,
            notes=f"{kit.what} — {kit.price}" if story.booking.kind == "visit" else None,
        )
    )
    return booked.id


async def _write_thread(
    service: InboxService,
    prospect_id: int,
    story: Story,
    start: datetime,
    assignee: int | None,
    appointment_id: int | None,
    switched_from: int | None = None,
) -> int:
    """Open the conversation and write every beat; returns the conversation id."""
    async with service.ctx.write() as (session, _events):
        prospect = await session.get(t.ProspectRow, prospect_id)
        assert prospect is not None
        prospect.created_at = min(prospect.created_at, start - timedelta(days=2))
        conversation = await open_conversation(
            session,
            prospect,
            story.channel,
            identifier=_identifier(prospect, story.channel),
            subject=story.subject,
            switched_from_id=switched_from,
            created_at=start,
        )
        at = start
        for position, beat in enumerate(story.beats):
            if position:
                at += timedelta(minutes=beat.after)
            await _write_beat(session, conversation, story, beat, at, assignee, appointment_id)
        if story.note:
            await append_message(
                session,
                conversation,
                direction=Direction.OUTBOUND,
                sender_type=SenderType.AGENT,
                sender_id=assignee,
                kind=MessageKind.NOTE,
                content=story.note,
                status=MessageStatus.SENT,
                created_at=at + timedelta(minutes=2),
            )
        return conversation.id


def _identifier(prospect: t.ProspectRow, channel: Channel) -> str | None:
    match channel:
        case Channel.EMAIL:
            return prospect.email
        case Channel.TELEGRAM:
            return str(prospect.telegram_chat_id)
        case Channel.WHATSAPP:
            return prospect.whatsapp
        case _:
            return prospect.phone


async def _write_beat(
    session: Any,
    conversation: t.ConversationRow,
    story: Story,
    beat: Beat,
    at: datetime,
    assignee: int | None,
    appointment_id: int | None,
) -> None:
    channel = story.channel
    inbound = beat.who == PROSPECT
    if beat.who == AGENT:
        conversation.unread_count = 0  # an agent answering has read the thread
    provider = DEFAULT_PROVIDER[channel]
    meta = dict(beat.meta)
    if appointment_id is not None and beat.reminder:
        meta.update(appointment_id=appointment_id, purpose="reminder")
    segments = count_segments(beat.text).segments if channel == Channel.SMS else None
    row = await append_message(
        session,
        conversation,
        direction=Direction.INBOUND if inbound else Direction.OUTBOUND,
        sender_type=_SENDER[beat.who],
        sender_id=assignee if beat.who == AGENT else None,
        kind=beat.kind,
        content=beat.text,
        subject=beat.subject,
        meta=meta,
        status=MessageStatus.RECEIVED if inbound else MessageStatus.QUEUED,
        provider=provider,
        provider_message_id=_provider_id(provider, conversation, at),
        segments=segments,
        cost=_cost(channel, beat, segments, inbound),
        created_at=at,
    )
    if not inbound:
        _deliver(row, beat.status or _DEFAULT_FINAL[channel], beat.error, at, channel)


def _provider_id(provider: Provider, conversation: t.ConversationRow, at: datetime) -> str:
    # Deterministic and unique: the conversation, the moment and a running number.
    count = conversation.message_count or 0
    key = f"{conversation.id:05d}{count:03d}{int(at.timestamp()) % 10**8:08d}"
    match provider:
        case Provider.TWILIO:
            return "SM" + key.ljust(32, "0")
        case Provider.SENDGRID:
            return f"sg{key}.filter0001"
        case Provider.VAPI:
            return f"call-{key}"
        case _:
            return f"tg-{key}"


def _cost(channel: Channel, beat: Beat, segments: int | None, inbound: bool) -> Decimal | None:
    if beat.kind == MessageKind.CALL:
        return Decimal(beat.meta.get("cost", "0"))
    if inbound:
        return None
    return DEFAULT_PRICES[channel] * (segments or 1)


def _deliver(
    row: t.MessageRow,
    final: MessageStatus,
    error: str | None,
    at: datetime,
    channel: Channel,
) -> None:
    """Walk an outbound item through the statuses a provider would report, up to ``final``."""
    if final == MessageStatus.QUEUED:
        return
    if final == MessageStatus.UNKNOWN:
        apply_status(row, MessageStatus.SENDING, at=at)
        apply_status(row, MessageStatus.UNKNOWN, at=at + timedelta(seconds=1))
        return
    if final == MessageStatus.FAILED and channel == Channel.EMAIL and error is None:
        apply_status(
            row,
            MessageStatus.FAILED,
            at=at + timedelta(seconds=20),
            error_code="bounce",
            error_message="550 5.1.1 The email account that you tried to reach does not exist",
        )
        return
    apply_status(row, MessageStatus.SENT, at=at + timedelta(seconds=2))
    if final in (MessageStatus.FAILED, MessageStatus.UNDELIVERED):
        code = error or "30005"
        apply_status(
            row,
            final,
            at=at + timedelta(seconds=9),
            error_code=code,
            error_message=stories.ERRORS.get(code),
        )
        return
    if final in (MessageStatus.DELIVERED, MessageStatus.READ):
        apply_status(row, MessageStatus.DELIVERED, at=at + timedelta(seconds=8))
    if final == MessageStatus.READ:
        apply_status(row, MessageStatus.READ, at=at + timedelta(minutes=1))


async def _triage(
    service: InboxService,
    conversation_id: int,
    story: Story,
    index: int,
    assignee: int | None,
    rng: random.Random,
    now: datetime,
) -> None:
    """Labels, priority, assignee and where the conversation stands, through the facade."""
    conversations = service.conversations
    if story.labels:
        await conversations.set_labels(conversation_id, list(story.labels))
    await conversations.set_priority(conversation_id, story.priority)
    if assignee is not None:
        await conversations.assign(conversation_id, assignee)
    answered = story.beats[-1].who != PROSPECT
    if story.opt_out or story.priority.rank == 3 or (index % 9 == 4 and answered):
        await conversations.set_status(conversation_id, ConversationStatus.CLOSED)
    elif index % 11 == 6:
        await conversations.snooze(conversation_id, now + timedelta(hours=rng.randrange(6, 72)))
    elif index % 7 == 2 and answered:
        await conversations.set_status(conversation_id, ConversationStatus.PENDING)


async def _mark(
    db: Database, tenant_id: int, seed: int, now: datetime, action: str = DEMO_MARKER
) -> None:
    async with db.session() as session:
        session.add(
            t.AuditLogRow(
                tenant_id=tenant_id,
                action=action,
                subject_type="tenant",
                subject_id=tenant_id,
                details={"seed": seed, "now": now.isoformat()},
                created_at=now,
            )
        )


async def summary(db: Database, tenant_id: int) -> DemoSummary:
    """How many prospects, conversations and thread items the tenant has."""
    async with db.session() as session:

        async def count(table: Any) -> int:
            query = select(func.count()).select_from(table).where(table.tenant_id == tenant_id)
            return int((await session.execute(query)).scalar_one())

        return DemoSummary(
            prospects=await count(t.ProspectRow),
            conversations=await count(t.ConversationRow),
            messages=await count(t.MessageRow),
        )
