"""A chunk's history facts worked out in the database (``load_engagements``,
``unreachable_by_prospect``) equal what one prospect's history gives in Python
(``load_engagement`` → ``engagement_from_history``, ``unreachable_channels``), on generated
histories: ties in time, sends without ``sent_at`` or sent before they were created, answers
after the horizon, notes, unsent messages, more messages than the history limit, provider codes
in and out of the attempts."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import insert

from core.analytics.engagement import load_engagement
from core.domain.enums import Channel, Direction, MessageKind, MessageStatus, SenderType
from core.orchestrator.loader import (
    load_engagements,
    unreachable_by_prospect,
    unreachable_channels,
)
from core.service import InboxService
from core.storage import tables as t
from core.storage.timeline import conversation_for
from tests.factories import add_prospect

START = datetime(2026, 3, 1, 9, tzinfo=UTC)
CHANNELS = (Channel.SMS, Channel.EMAIL, Channel.WHATSAPP)
STATUSES = (
    MessageStatus.SENT,
    MessageStatus.DELIVERED,
    MessageStatus.FAILED,
    MessageStatus.QUEUED,
    MessageStatus.HELD,
)
#: A few instants only, so that messages often share their creation time.
MOMENTS = [START + timedelta(minutes=m) for m in (0, 0, 1, 5, 30, 61, 600, 10_079, 10_081)]


def _attempts(rng: random.Random) -> dict[str, Any] | None:
    if rng.random() < 0.2:
        return None
    attempts = [
        {
            "channel": rng.choice([*(str(c) for c in CHANNELS), "fax"]),
            "outcome": rng.choice(["sent", "permanent", "retry"]),
            "code": rng.choice(["21211", "21614", "63003", "30003", None, 21211]),
        }
        for _ in range(rng.randrange(3))
    ]
    meta: dict[str, Any] = {"attempts": attempts} if attempts else {}
    if rng.random() < 0.1:
        meta["note"] = "error 21610 mentioned outside the attempts"
    return meta


def _message(rng: random.Random, day: int) -> dict[str, Any]:
    outbound = rng.random() < 0.55
    at = MOMENTS[rng.randrange(len(MOMENTS))] + timedelta(days=day)
    sent_at = None
    if outbound and rng.random() < 0.7:
        sent_at = at + timedelta(seconds=rng.choice([-30, 0, 0.5, 20, 3600]))
    return {
        "channel_type": rng.choice(CHANNELS),
        "direction": Direction.OUTBOUND if outbound else Direction.INBOUND,
        "kind": rng.choice([MessageKind.MESSAGE] * 6 + [MessageKind.CALL, MessageKind.NOTE]),
        "sender_type": SenderType.AGENT if outbound else SenderType.PROSPECT,
        "status": rng.choice(STATUSES) if outbound else MessageStatus.RECEIVED,
        "created_at": at,
        "sent_at": sent_at,
        "meta": _attempts(rng) if outbound else {},
        "content": "",
    }


async def _histories(service: InboxService, seed: int, prospects: int) -> list[int]:
    rng = random.Random(seed)
    ids = [await add_prospect(service, f"P{n}", phone=f"+336{n:08d}") for n in range(prospects)]
    async with service.db.session() as session:
        rows = []
        for pid in ids:
            prospect = await session.get(t.ProspectRow, pid)
            assert prospect is not None
            threads = {c: await conversation_for(session, prospect, c, None) for c in CHANNELS}
            for n in range(rng.choice([0, 1, 3, 12, 40])):
                row = _message(rng, day=n // 6)
                row |= {
                    "tenant_id": prospect.tenant_id,
                    "prospect_id": pid,
                    "conversation_id": threads[row["channel_type"]].id,
                }
                rows.append(row)
        if rows:
            await session.execute(insert(t.MessageRow), rows)
    return ids


@pytest.mark.parametrize(("seed", "limit"), [(1, 500), (2, 7), (3, 2)])
async def test_engagement_in_sql_equals_the_history_in_python(
    service: InboxService, seed: int, limit: int
) -> None:
    ids = await _histories(service, seed, prospects=40)
    async with service.db.session() as session:
        batched = await load_engagements(session, ids, limit)
        one_by_one = {pid: await load_engagement(session, pid, limit) for pid in ids}
    assert {pid: batched.get(pid, {}) for pid in ids} == one_by_one
    assert any(e.replied for found in one_by_one.values() for e in found.values())


async def test_unreachable_channels_in_sql_equal_the_decoded_metadata(
    service: InboxService,
) -> None:
    ids = await _histories(service, seed=4, prospects=60)
    async with service.db.session() as session:
        batched = await unreachable_by_prospect(session, ids)
        one_by_one = {pid: await unreachable_channels(session, pid) for pid in ids}
    assert {pid: batched.get(pid, frozenset()) for pid in ids} == one_by_one
    assert any(one_by_one.values()) and not all(one_by_one.values())
