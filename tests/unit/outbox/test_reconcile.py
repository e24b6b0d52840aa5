"""Asking the provider whether an interrupted or unanswered send reached it."""

from __future__ import annotations

from datetime import timedelta

from core.channels.adapter import OutgoingMessage
from core.domain.enums import Channel
from core.outbox.reconcile import LISTED, ask_provider
from tests.conftest import FakeClock
from tests.unit.outbox.conftest import PHONE
from tests.unit.outbox.fakes import FakeAdapter


async def _accepted(sms: FakeAdapter, count: int, text: str = "other") -> None:
    for i in range(count):
        await sms.send(OutgoingMessage(channel=Channel.SMS, to=PHONE, text=text, reference=f"o{i}"))


async def test_a_full_page_of_later_messages_proves_nothing() -> None:
    """Our message may be past the page: 'not listed' is no proof it was not sent."""
    clock = FakeClock()
    sms = FakeAdapter(Channel.SMS, recent=True, clock=clock)
    since = clock.now - timedelta(minutes=1)
    await _accepted(sms, LISTED)
    answer = await ask_provider(sms, "ours", PHONE, "ours", since)
    assert answer.found is None and not answer.surely_absent


async def test_a_page_reaching_before_the_send_proves_it_absent() -> None:
    clock = FakeClock()
    sms = FakeAdapter(Channel.SMS, recent=True, clock=clock)
    await _accepted(sms, 1)
    clock.advance(minutes=10)
    since = clock.now
    await _accepted(sms, LISTED - 1)
    answer = await ask_provider(sms, "ours", PHONE, "ours", since)
    assert answer.surely_absent
    assert (await ask_provider(sms, "ours", PHONE, "other", since)).found is not None
