"""The time a thread item's header shows: a scheduled message says when it goes out, and once
sent, when it went out (not when it was queued)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from core import i18n
from core.domain.enums import Channel, Direction, MessageStatus, SenderType
from core.domain.models import Message
from inbox_app.widgets.conversation.timeline import _header

QUEUED = datetime(2026, 12, 7, 17, 32, tzinfo=UTC)  # booked on Monday evening
DUE = datetime(2026, 12, 8, 6, 0, tzinfo=UTC)  # the reminder's moment, Tuesday morning


@pytest.fixture(autouse=True)
def french():
    before = i18n.language()
    i18n.set_language("fr")
    yield
    i18n.set_language(before)


def reminder(status: MessageStatus, sent_at: datetime | None = None) -> Message:
    return Message(
        id=1,
        conversation_id=1,
        prospect_id=1,
        channel=Channel.SMS,
        direction=Direction.OUTBOUND,
        sender_type=SenderType.SARA,
        content="Bonjour Camille, votre RDV est dans 2 h.",
        status=status,
        metadata={"scheduled_for": DUE.isoformat(), "purpose": "reminder"},
        created_at=QUEUED,
        sent_at=sent_at,
    )


def test_a_scheduled_reminder_says_when_it_goes_out() -> None:
    header = _header(reminder(MessageStatus.SCHEDULED), "Europe/Paris").plain
    assert "prévu le 08/12/2026 07:00" in header


def test_a_sent_reminder_says_when_it_went_out_not_when_it_was_queued() -> None:
    sent = reminder(MessageStatus.DELIVERED, sent_at=DUE + timedelta(seconds=4))
    header = _header(sent, "Europe/Paris").plain
    assert "08/12/2026 07:00" in header
    assert "07/12/2026" not in header
    assert "délivré" in header


def test_a_received_message_keeps_its_own_time() -> None:
    inbound = Message(
        id=2,
        conversation_id=1,
        prospect_id=1,
        channel=Channel.SMS,
        direction=Direction.INBOUND,
        sender_type=SenderType.PROSPECT,
        content="OUI",
        status=MessageStatus.RECEIVED,
        created_at=QUEUED,
    )
    assert "07/12/2026 18:32" in _header(inbound, "Europe/Paris").plain
