"""The demo's appointments follow the agency's booking rules, and its texts tell their times right.

Checked on the seeded data itself, independently of how the seeder places them: every
appointment has an agent, fits the agency's working hours in Paris, avoids public holidays,
never overlaps another of the same agent; every day and time a demo text names ("samedi 9h00",
"Tuesday at 11am") is one of the prospect's appointments in Europe/Paris time.
"""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from itertools import combinations
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from core.demo import seed_demo
from core.domain.enums import AppointmentStatus, SenderType
from core.holidays import holiday_on
from core.service import InboxService
from core.storage import tables as t
from core.storage.database import Database

PARIS = ZoneInfo("Europe/Paris")
FRENCH_DAYS = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")
ENGLISH_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
FRENCH_TIME = re.compile(rf"\b({'|'.join(FRENCH_DAYS)}) (\d{{1,2}})h(\d{{2}})\b")
ENGLISH_TIME = re.compile(rf"\b({'|'.join(ENGLISH_DAYS)}) at (\d{{1,2}})(?::(\d{{2}}))?(am|pm)\b")

#: The screenshots' "now" (a Tuesday in March, a few weeks before the spring clock change),
#: and one whose month ahead holds the clock change, Easter Monday and May Day.
NOWS = (datetime(2026, 3, 10, 10, 0, tzinfo=UTC), datetime(2026, 4, 20, 15, 0, tzinfo=UTC))


@pytest.fixture(params=NOWS, ids=["march", "april"])
async def demo(db: Database, request) -> tuple[Database, datetime]:
    await seed_demo(db, now=request.param)
    return db, request.param


async def rows(db: Database, table: type) -> list:
    async with db.session() as session:
        return list((await session.execute(select(table))).scalars().all())


def named_times(text: str) -> list[tuple[int, int, int]]:
    """(weekday, hour, minute) of every day-and-time the text names, in order."""
    found = [
        (m.start(), FRENCH_DAYS.index(m[1]), int(m[2]), int(m[3]))
        for m in FRENCH_TIME.finditer(text)
    ]
    for m in ENGLISH_TIME.finditer(text):
        hour = int(m[2]) % 12 + (12 if m[4] == "pm" else 0)
        found.append((m.start(), ENGLISH_DAYS.index(m[1]), hour, int(m[3] or 0)))
    return [tuple(item[1:]) for item in sorted(found)]


async def test_every_appointment_has_an_agent_and_keeps_the_booking_rules(demo) -> None:
    db, now = demo
    service = await InboxService.connect(db, "demo", clock=lambda: now)
    calendar = await service.booking.calendar()
    appointments = await rows(db, t.AppointmentRow)
    assert len(appointments) >= 10
    for item in appointments:
        assert item.agent_id is not None, item.id
        kind = calendar.booking.type_of(item.kind)
        assert kind is not None, item.kind  # a type the agency has, so the rules apply
        assert item.ends_at - item.starts_at == timedelta(minutes=kind.minutes)
        start, end = item.starts_at.astimezone(PARIS), item.ends_at.astimezone(PARIS)
        assert holiday_on("FR", start.date()) is None, (item.id, start)
        periods = calendar.booking.hours_of(item.agent_id).on(start.weekday())
        assert any(
            start.date() == end.date() and p.start <= start.time() and end.time() <= p.end
            for p in periods
        ), (item.id, item.kind, start, end)


async def test_no_agent_has_two_appointments_at_once(demo) -> None:
    db, now = demo
    service = await InboxService.connect(db, "demo", clock=lambda: now)
    calendar = await service.booking.calendar()
    live = [a for a in await rows(db, t.AppointmentRow) if a.status != AppointmentStatus.CANCELLED]
    by_agent = defaultdict(list)
    for item in live:
        by_agent[item.agent_id].append(item)
    assert len(by_agent) >= 2
    for items in by_agent.values():
        for a, b in combinations(items, 2):
            # The buffer after each one (rest, travel) is the agent's too.
            a_until = calendar.occupied_until(a.kind, a.ends_at)
            b_until = calendar.occupied_until(b.kind, b.ends_at)
            assert a_until <= b.starts_at or b_until <= a.starts_at, (a.id, b.id)


async def test_the_conversation_with_an_appointment_is_its_agents(demo) -> None:
    db, _ = demo
    conversations = await rows(db, t.ConversationRow)
    for item in await rows(db, t.AppointmentRow):
        assignees = {c.assignee_id for c in conversations if c.prospect_id == item.prospect_id}
        assert item.agent_id in assignees, item.id


async def test_agents_sign_only_their_own_conversations(demo) -> None:
    db, _ = demo
    agents = {a.id: a.name for a in await rows(db, t.AgentRow)}
    for message in await rows(db, t.MessageRow):
        if message.sender_type != SenderType.AGENT or not message.content:
            continue
        for agent_id, name in agents.items():
            if re.search(rf"\b{name.split()[0]}\b", message.content):
                assert message.sender_id == agent_id, message.content


async def test_every_time_a_text_names_is_an_appointment_in_paris_time(demo) -> None:
    db, _ = demo
    conversations = {c.id: c for c in await rows(db, t.ConversationRow)}
    appointments = defaultdict(list)
    for item in await rows(db, t.AppointmentRow):
        appointments[item.prospect_id].append(item)
    checked = 0
    for message in await rows(db, t.MessageRow):
        times = named_times(message.content or "")
        if not times:
            continue
        checked += 1
        prospect = conversations[message.conversation_id].prospect_id
        sent = message.created_at.replace(tzinfo=message.created_at.tzinfo or UTC)
        near = [
            a.starts_at.astimezone(PARIS)
            for a in appointments[prospect]
            if abs(a.starts_at - sent) < timedelta(days=7)
        ]
        named = {(s.weekday(), s.hour, s.minute) for s in near}
        # The first time named is the appointment; a list of proposals may add other slots.
        assert times[0] in named, (message.content, sorted(str(s) for s in near))
    assert checked >= 5
