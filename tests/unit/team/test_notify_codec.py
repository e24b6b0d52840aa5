"""What a notification carries, the bus's forwarder, and the bridge on SQLite (a no-op)."""

from __future__ import annotations

import json

import pytest

from core.domain.models import ProspectDraft
from core.events import (
    Alert,
    ConnectionState,
    ConversationChanged,
    EventBus,
    MessageChanged,
    PresenceChanged,
    ProspectChanged,
)
from core.team.pg_listen import MAX_PAYLOAD, decode_event, encode_event, pack


def test_shared_events_survive_the_trip() -> None:
    for event in (ConversationChanged(3), MessageChanged(7, 3), ProspectChanged(9)):
        assert decode_event(json.loads(json.dumps(encode_event(event)))) == event


@pytest.mark.parametrize(
    "item",
    [
        ["ConversationChanged", {"conversation_id": "3"}],
        ["ConversationChanged", {"conversation_id": True}],
        ["ConversationChanged", {"conversation_id": 3, "extra": 1}],
        ["MessageChanged", {"message_id": 1}],
        ["Alert", {"key": "k", "message": "m"}],
        ["Resync", {}],
        ["__import__", {}],
        "ConversationChanged",
        None,
    ],
)
def test_anything_else_in_a_payload_is_ignored(item) -> None:
    assert decode_event(item) is None


def test_large_batches_are_split_under_the_postgres_limit() -> None:
    events = [MessageChanged(10**12 + i, 10**12) for i in range(500)]
    payloads = pack("origin", events)
    assert len(payloads) > 1
    assert all(len(p.encode()) <= MAX_PAYLOAD for p in payloads)
    back = [decode_event(item) for p in payloads for item in json.loads(p)["e"]]
    assert back == events


async def test_the_bus_forwards_only_what_is_asked() -> None:
    bus = EventBus()
    forwarded = []
    bus.forwarder = forwarded.append
    async with bus.subscribe() as queue:
        bus.publish_all([ConversationChanged(1), ConversationChanged(1)])
        bus.publish(ConversationChanged(2), forward=False)
        assert [queue.get_nowait() for _ in range(2)] == [
            ConversationChanged(1),
            ConversationChanged(2),
        ]
    assert forwarded == [ConversationChanged(1)]


async def test_on_sqlite_the_team_part_does_nothing(sqlite_db) -> None:
    from core.service import InboxService

    service = await InboxService.connect(sqlite_db, "acme")
    await service.team.start()
    assert service.team.online is None and service.bus.forwarder is None
    await service.team.presence.viewing(1)
    assert service.team.presence.others_in(1) == []
    async with service.bus.subscribe() as queue:
        await service.prospects.create(ProspectDraft(display_name="X"))
        assert isinstance(queue.get_nowait(), ProspectChanged)
    await service.team.close()


def test_local_only_events_are_not_shared() -> None:
    from core.team.pg_listen import SHARED_EVENTS

    for cls in (Alert, ConnectionState, PresenceChanged):
        assert cls.__name__ not in SHARED_EVENTS
