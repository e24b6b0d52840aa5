"""Inbound messages a machine sent are marked and left unanswered (relay, ingest, Sara)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from core.domain.enums import Channel, Provider
from core.service import InboxService
from core.storage import tables as t
from tests.conftest import FakeClock
from tests.integration.relay.test_sara import say
from tests.relay_harness import running_relay

OWN = "+33612999999"


@pytest.fixture
def clock() -> FakeClock:
    """03:00 in Paris: the out-of-hours reply would be due to anyone who writes."""
    return FakeClock(datetime(2026, 3, 10, 3, 0, tzinfo=ZoneInfo("Europe/Paris")).astimezone(UTC))


async def test_a_text_from_our_own_number_is_marked_and_not_answered(
    service: InboxService,
) -> None:
    await service.tenant_settings.save_channel(
        Channel.SMS, provider=Provider.TWILIO, config={"from_number": OWN}
    )
    async with running_relay(service) as relay:
        await say(relay, "Merci pour votre message !", "SM1", sender=OWN)
        await say(relay, "Bonjour, une question sur la visite", "SM2", sender="+33612345678")
    async with service.db.session() as session:
        messages = (await session.execute(select(t.MessageRow).order_by(t.MessageRow.id))).scalars()
        by_text = {m.content: m for m in messages}
        outbox = (await session.execute(select(t.OutboxRow))).scalars().all()
    assert by_text["Merci pour votre message !"].meta["automated"] == "own_number"
    assert "automated" not in by_text["Bonjour, une question sur la visite"].meta
    # only the person got the out-of-hours reply
    assert [row.payload["to"] for row in outbox] == ["+33612345678"]
