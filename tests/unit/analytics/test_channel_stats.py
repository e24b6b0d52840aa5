"""Channel statistics against hand-computed values, with status events out of order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from core import i18n
from core.analytics.aggregate import Counters
from core.analytics.insights import best_channel_per_type
from core.analytics.period import Period
from core.domain.enums import (
    AppointmentStatus,
    Channel,
    Direction,
    MessageStatus,
    SenderType,
)
from core.service.appointments import AppointmentDraft
from core.service.timeline import append_message, apply_status, conversation_for
from core.storage import tables as t
from tests.factories import add_prospect

DAY = datetime(2026, 3, 9, tzinfo=UTC)
PERIOD = Period(DAY, DAY + timedelta(days=1))
S = MessageStatus


def at(hour: int, minute: int = 0, second: int = 0) -> datetime:
    return DAY.replace(hour=hour, minute=minute, second=second)


async def message(service, prospect_id, channel, direction, created, events=(), **fields):
    """A message and then its status events, applied in the order given."""
    async with service.db.session() as session:
        prospect = await session.get(t.ProspectRow, prospect_id)
        conversation = await conversation_for(session, prospect, channel, None)
        inbound = direction == Direction.INBOUND
        row = await append_message(
            session,
            conversation,
            direction=direction,
            sender_type=SenderType.PROSPECT if inbound else SenderType.AGENT,
            content=fields.pop("content", "Bonjour"),
            status=S.RECEIVED if inbound else S.QUEUED,
            created_at=created,
            **fields,
        )
        for status, moment in events:
            apply_status(row, status, at=moment)
        return row.id


@pytest.fixture
async def dataset(service):
    """Three prospects, one day of SMS and email (see the expected values in each test)."""
    p1 = await add_prospect(service, "Marie", phone="+33611111111", email="m@x.fr")
    p2 = await add_prospect(service, "Jean", phone="+33622222222", email="j@x.fr")
    p3 = await add_prospect(service, "Léa", phone="+33633333333")
    out, inb = Direction.OUTBOUND, Direction.INBOUND
    # SMS. s1: "delivered" arrives before "sent".
    await message(
        service,
        p1,
        Channel.SMS,
        out,
        at(9),
        [(S.DELIVERED, at(9, 0, 10)), (S.SENT, at(9))],
        cost=Decimal("0.05"),
        segments=1,
    )
    # s2: sent then failed, no cost recorded.
    await message(
        service,
        p2,
        Channel.SMS,
        out,
        at(10),
        [(S.SENT, at(10)), (S.FAILED, at(10, 0, 5))],
        segments=1,
    )
    # s3: "read" first, then "delivered", then "sent"; two segments; an appointment reminder.
    await message(
        service,
        p3,
        Channel.SMS,
        out,
        at(11),
        [(S.READ, at(11, 5)), (S.DELIVERED, at(11, 0, 20)), (S.SENT, at(11))],
        cost=Decimal("0.10"),
        segments=2,
        meta={"template": "rdv_reminder_24h"},
    )
    await message(service, p1, Channel.SMS, out, at(12))  # still queued: not sent
    await message(service, p1, Channel.SMS, inb, at(9, 30))  # answers s1 after 1800 s
    await message(service, p3, Channel.SMS, inb, at(11, 10))  # answers s3 after 600 s
    await message(service, p3, Channel.SMS, inb, at(11, 20))  # a second message, no new answer
    # Email. e1: read before delivered, and clicked.
    await message(
        service,
        p1,
        Channel.EMAIL,
        out,
        at(8),
        [(S.SENT, at(8)), (S.READ, at(9)), (S.DELIVERED, at(8, 1))],
        cost=Decimal("0.0006"),
        meta={"clicked_at": at(9, 1).isoformat()},
    )
    await message(
        service,
        p2,
        Channel.EMAIL,
        out,
        at(8),
        [(S.DELIVERED, at(8, 0, 30)), (S.SENT, at(8))],
        cost=Decimal("0.0006"),
    )
    await message(service, p1, Channel.EMAIL, inb, at(12))  # answers e1 after 14400 s
    # Léa's appointment is confirmed at 11:30, after s3 (SMS).
    rdv = await service.appointments.create(
        AppointmentDraft(
            prospect_id=p3, starts_at=at(12) + timedelta(days=3), ends_at=at(13) + timedelta(days=3)
        )
    )
    await service.appointments.set_status(rdv.id, AppointmentStatus.CONFIRMED)
    async with service.db.session() as session:
        (await session.get(t.AppointmentRow, rdv.id)).updated_at = at(11, 30)
    return p1, p2, p3


async def test_channel_stats_match_the_hand_computed_values(service, dataset):
    sms, email = await service.analytics.channel_stats(PERIOD)
    assert sms.channel == "sms" and email.channel == "email"
    assert (sms.sent, sms.delivered, sms.opened, sms.clicked, sms.failed, sms.received) == (
        3,
        2,
        1,
        0,
        1,
        3,
    )
    assert sms.delivery_rate == pytest.approx(2 / 3)
    assert sms.open_rate == pytest.approx(1 / 2)
    assert (sms.answered, sms.response_rate) == (2, pytest.approx(2 / 3))
    assert sms.avg_first_response == 1200 and sms.median_first_response == 1200
    assert sms.median_exact
    assert sms.avg_delivery_time == 15
    assert sms.total_cost == Decimal("0.15") and sms.avg_cost == Decimal("0.075")
    assert (sms.conversions, sms.conversion_rate) == (1, pytest.approx(1 / 3))

    assert (email.sent, email.delivered, email.opened, email.clicked, email.failed) == (
        2,
        2,
        1,
        1,
        0,
    )
    assert (email.received, email.answered) == (1, 1)
    assert email.open_rate == 0.5 and email.click_rate == 0.5
    assert email.avg_first_response == 14400 and email.median_first_response == 14400
    assert email.avg_delivery_time == 45
    assert email.total_cost == Decimal("0.0012") and email.avg_cost == Decimal("0.0006")
    assert email.conversions == 0


async def test_a_late_status_event_is_counted(service, dataset):
    async with service.db.session() as session:
        query = select(t.MessageRow).where(t.MessageRow.status == S.FAILED)
        failed = (await session.execute(query)).scalar_one()
        apply_status(failed, S.SENT, at=at(10))  # late and lower: ignored
        apply_status(failed, S.READ, at=at(15))  # the prospect read it after all
    sms = (await service.analytics.channel_stats(PERIOD))[0]
    assert (sms.failed, sms.delivered, sms.opened) == (0, 3, 2)


async def test_settled_days_are_rolled_up_once_and_rebuilt_on_demand(service, dataset, clock):
    clock.now = datetime(2026, 3, 20, tzinfo=UTC)
    week = Period(DAY - timedelta(days=3), DAY + timedelta(days=4))
    sms, email = await service.analytics.channel_stats(week)
    assert (sms.sent, sms.delivered, sms.received, sms.answered, sms.conversions) == (3, 2, 3, 2, 1)
    assert not sms.median_exact
    assert sms.median_first_response == pytest.approx(1200, rel=0.05)
    assert email.median_first_response == pytest.approx(14400, rel=0.05)
    async with service.db.session() as session:
        stored = await session.scalar(select(func.count()).select_from(t.ChannelAnalyticsRow))
    assert stored == 7 + 2  # a marker per day, a rollup per channel with messages

    async with service.db.session() as session:
        query = select(t.MessageRow).where(t.MessageRow.status == S.FAILED)
        apply_status((await session.execute(query)).scalar_one(), S.READ, at=at(15))
    assert (await service.analytics.channel_stats(week))[0].failed == 1  # the stored day
    await service.analytics.rebuild(week)
    assert (await service.analytics.channel_stats(week))[0].failed == 0


async def test_daily_series_and_observed_preferences(service, dataset):
    p1, _, p3 = dataset
    points = await service.analytics.daily(Period(DAY - timedelta(days=1), DAY + timedelta(days=1)))
    assert [(p.day, p.channel, p.sent, p.received) for p in points] == [
        (DAY.date(), "email", 2, 1),
        (DAY.date(), "sms", 3, 3),
    ]
    assert await service.analytics.preferred_channels(PERIOD) == {
        p1: Channel.EMAIL,  # one message on each; email was the latest
        p3: Channel.SMS,
    }


@pytest.fixture
def english():
    previous = i18n.language()
    i18n.set_language("en")
    yield
    i18n.set_language(previous)


async def test_insights_measure_the_cost_and_spot_faster_channels(service, dataset, english):
    insights = {i.key: i for i in await service.analytics.insights(PERIOD)}
    # As SMS: 1 + 1 + 2 segments (SMS) + 1 + 1 (short emails) = 6 × 0.05 = 0.30.
    # Actual: 0.15 recorded + s2's unpriced segment 0.05 + emails 0.0012 = 0.2012.
    cost = insights["cost_vs_sms"]
    assert cost.data["all_sms"] == Decimal("0.30")
    assert cost.data["actual"] == Decimal("0.2012")
    assert cost.data["saving_ratio"] == pytest.approx(0.0988 / 0.30)
    assert cost.text == (
        "This period cost €0.20; sending every message by SMS would have cost €0.30: 32.9% saved."
    )
    faster = insights["faster_elsewhere"]
    assert faster.data["prospects"] == [dataset[0]]
    assert "Marie answers in 30 minutes on SMS, against 4 hours on Email" in faster.text


def test_the_best_converting_channel_per_message_type(english) -> None:
    sms, email = Counters(), Counters()
    sms.by_type = {"appointment": [20, 8], "marketing": [5, 5]}
    email.by_type = {"appointment": [40, 4], "marketing": [50, 1]}
    (finding,) = best_channel_per_type({"sms": sms, "email": email})
    assert finding.data == {
        "type": "appointment",
        "channel": "sms",
        "rate": 0.4,
        "runner_up": "email",
    }
    assert finding.text.startswith("For appointment messages, SMS converts best: 40.0%")


def test_a_period_must_end_after_it_starts() -> None:
    with pytest.raises(ValueError):
        Period(DAY, DAY)
    with pytest.raises(ValueError):
        Period(datetime(2026, 3, 9), datetime(2026, 3, 10))
