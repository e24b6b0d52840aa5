"""Observed preferred channels over short and long periods (two query plans on SQLite), on
SQLite and PostgreSQL: the channel a prospect writes on most, ties going to the latest."""

from __future__ import annotations

from datetime import timedelta

import pytest

from core.analytics.period import Period
from core.domain.enums import Channel, Direction, MessageKind
from core.service.analytics import LONG_PERIOD
from tests.factories import add_message, add_prospect

SMS, EMAIL, WHATSAPP = Channel.SMS, Channel.EMAIL, Channel.WHATSAPP


@pytest.fixture
async def writers(service, clock):
    """Who wrote what, days before now (outgoing messages never count)."""
    now = clock.now
    ids = {}
    plan = {
        "marie": [(SMS, 40), (EMAIL, 30), (EMAIL, 20)],  # email twice
        "jean": [(WHATSAPP, 50), (SMS, 10)],  # one each: SMS is the latest
        "lea": [(EMAIL, 2)],
    }
    for name, writes in plan.items():
        ids[name] = await add_prospect(service, name, phone=f"+336{len(ids)}0000000")
        for channel, days in writes:
            await add_message(
                service, ids[name], "Bonjour", channel=channel, at=now - timedelta(days=days)
            )
    # Outgoing messages to Léa on SMS do not make SMS hers.
    for days in (3, 4, 5):
        await add_message(
            service, ids["lea"], "Relance", channel=SMS, direction=Direction.OUTBOUND,
            at=now - timedelta(days=days),
        )  # fmt: skip
    return ids


@pytest.mark.parametrize("days", [LONG_PERIOD.days + 20, 365])
async def test_a_long_period_counts_every_incoming_message(service, clock, writers, days):
    period = Period.last_days(days, clock.now)
    assert await service.analytics.preferred_channels(period) == {
        writers["marie"]: EMAIL,
        writers["jean"]: SMS,
        writers["lea"]: EMAIL,
    }


async def test_a_short_period_sees_only_its_messages(service, clock, writers):
    period = Period.last_days(25, clock.now)
    assert await service.analytics.preferred_channels(period) == {
        writers["marie"]: EMAIL,
        writers["jean"]: SMS,
        writers["lea"]: EMAIL,
    }
    period = Period.last_days(15, clock.now)
    assert await service.analytics.preferred_channels(period) == {
        writers["jean"]: SMS,
        writers["lea"]: EMAIL,
    }


async def test_restricted_to_some_prospects(service, clock, writers):
    period = Period.last_days(365, clock.now)
    only = [writers["jean"], writers["lea"]]
    assert await service.analytics.preferred_channels(period, only) == {
        writers["jean"]: SMS,
        writers["lea"]: EMAIL,
    }


async def test_insights_without_prospects_on_several_channels_skip_that_finding(service, clock):
    prospect = await add_prospect(service, "Nina", phone="+33699999999")
    await add_message(service, prospect, "Bonjour", at=clock.now - timedelta(days=1))
    found = await service.analytics.insights(Period.last_days(30, clock.now))
    assert "faster_elsewhere" not in {insight.key for insight in found}


def test_calls_count_as_writing_and_notes_do_not():
    from core.storage.tables import INBOUND_COUNTED

    assert (
        f"'{MessageKind.MESSAGE}'" in INBOUND_COUNTED and f"'{MessageKind.CALL}'" in INBOUND_COUNTED
    )
    assert f"'{Direction.INBOUND}'" in INBOUND_COUNTED
