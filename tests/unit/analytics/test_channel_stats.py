"""Channel statistics against hand-computed values, with status events late, out of order and
duplicated, on SQLite and PostgreSQL.

The dataset (Monday 9 March 2026, UTC) and what each message contributes:

SMS (outgoing)
  s1 Marie 09:00  delivered(09:00:10) before sent(09:00), delivered again (duplicate)
                  → sent, delivered, 10 s to deliver, 0.05 €, 1 segment
  s2 Jean  10:00  sent, delivered(10:00:20), then failed(10:00:30): a failure outranks
                  "delivered" → sent, failed; no cost recorded, 1 segment
  s3 Léa   11:00  read(11:05) before delivered(11:00:20) before sent, then a late failed
                  (ignored: "read" outranks it) → delivered, opened, 20 s, 0.10 €, 2 segments,
                  an appointment reminder
  s4 Marie 12:00  still queued → not sent, not counted anywhere
  s5 Jean  13:00  sent twice (duplicate) → sent, 0.06 €, 1 segment
SMS (incoming): Marie 09:30 answers s1 (1 800 s); Léa 11:10 answers s3 (600 s), Léa 11:20
  answers nothing new; Jean 16:00 answers s5 (10 800 s: s5 replaced s2 as the one waiting).
Email (outgoing)
  e1 Marie 08:00  sent, read(09:00) before delivered(08:01), clicked → 60 s, 0.0006 €
  e2 Jean  08:00  delivered(08:00:30) before sent, delivered again → 30 s, 0.0006 €,
                  200 characters (2 SMS segments)
  e3 Marie 14:00  sent, delivered(14:00:30) → 30 s, 0.0006 €
Email (incoming): Marie 12:00 answers e1 (14 400 s).
Appointments: Léa's confirmed at 11:30 → credited to s3 (SMS). Jean's confirmed at 13:30, then
  cancelled → no conversion. Marie's confirmed on Thursday 12 March 10:00 → credited to e3.
Next day (Tuesday): s6 Léa 09:00, sent, 0.05 €.
"""

from __future__ import annotations

import importlib.util
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from core import i18n
from core.analytics import aggregate as aggregate_module
from core.analytics.aggregate import EXACT_TIMES, Counters
from core.analytics.engagement import load_engagement
from core.analytics.insights import best_channel_per_type
from core.analytics.period import Period
from core.analytics.rollups import EPOCH
from core.analytics.stats import ChannelStats
from core.booking.appointments import AppointmentDraft
from core.domain.enums import AppointmentStatus, Channel, Direction, MessageStatus, SenderType
from core.storage import migrate
from core.storage import tables as t
from core.storage.timeline import append_message, apply_status, conversation_for
from tests.factories import add_prospect

DAY = datetime(2026, 3, 9, tzinfo=UTC)
PERIOD = Period(DAY, DAY + timedelta(days=1))
S = MessageStatus
OUT, IN = Direction.OUTBOUND, Direction.INBOUND


def at(hour: int, minute: int = 0, second: int = 0, days: int = 0) -> datetime:
    return DAY.replace(hour=hour, minute=minute, second=second) + timedelta(days=days)


async def message(service, prospect_id, channel, direction, created, events=(), **fields):
    """A message and then its status events, applied in the order given (one per session)."""
    async with service.db.session() as session:
        prospect = await session.get(t.ProspectRow, prospect_id)
        conversation = await conversation_for(session, prospect, channel, None)
        row = await append_message(
            session,
            conversation,
            direction=direction,
            sender_type=SenderType.PROSPECT if direction == IN else SenderType.AGENT,
            content=fields.pop("content", "Bonjour"),
            status=S.RECEIVED if direction == IN else S.QUEUED,
            created_at=created,
            **fields,
        )
        message_id = row.id
    for status, moment in events:
        await set_status(service, message_id, status, moment)
    return message_id


async def set_status(service, message_id, status, moment):
    async with service.db.session() as session:
        apply_status(await session.get(t.MessageRow, message_id), status, at=moment)


async def appointment(service, clock, prospect_id, confirmed, then=None):
    """An appointment proposed, confirmed at ``confirmed`` (the service's clock), maybe changed."""
    draft = AppointmentDraft(
        prospect_id=prospect_id, starts_at=at(10, days=10), ends_at=at(11, days=10)
    )
    booked = await service.appointments.create(draft)
    clock.now = confirmed
    await service.appointments.set_status(booked.id, AppointmentStatus.CONFIRMED)
    if then is not None:
        await service.appointments.set_status(booked.id, then)
    return booked.id


@pytest.fixture
async def dataset(service, clock):
    """The messages and appointments of the module's docstring (Marie's confirmation aside)."""
    p1 = await add_prospect(service, "Marie", phone="+33611111111", email="m@x.fr")
    p2 = await add_prospect(service, "Jean", phone="+33622222222", email="j@x.fr")
    p3 = await add_prospect(service, "Léa", phone="+33633333333")
    sms, email = Channel.SMS, Channel.EMAIL
    ids = {}
    ids["s1"] = await message(
        service, p1, sms, OUT, at(9),
        [(S.DELIVERED, at(9, 0, 10)), (S.SENT, at(9)), (S.DELIVERED, at(9, 0, 40))],
        cost=Decimal("0.05"), segments=1,
    )  # fmt: skip
    ids["s2"] = await message(
        service, p2, sms, OUT, at(10),
        [(S.SENT, at(10)), (S.DELIVERED, at(10, 0, 20)), (S.FAILED, at(10, 0, 30))],
        segments=1,
    )  # fmt: skip
    ids["s3"] = await message(
        service, p3, sms, OUT, at(11),
        [(S.READ, at(11, 5)), (S.DELIVERED, at(11, 0, 20)), (S.SENT, at(11)),
         (S.FAILED, at(11, 6))],
        cost=Decimal("0.10"), segments=2, meta={"template": "rdv_reminder_24h"},
    )  # fmt: skip
    ids["s4"] = await message(service, p1, sms, OUT, at(12))
    ids["s5"] = await message(
        service, p2, sms, OUT, at(13), [(S.SENT, at(13)), (S.SENT, at(13, 0, 5))],
        cost=Decimal("0.06"), segments=1,
    )  # fmt: skip
    await message(service, p1, sms, IN, at(9, 30))
    await message(service, p3, sms, IN, at(11, 10))
    await message(service, p3, sms, IN, at(11, 20))
    await message(service, p2, sms, IN, at(16))
    ids["e1"] = await message(
        service, p1, email, OUT, at(8),
        [(S.SENT, at(8)), (S.READ, at(9)), (S.DELIVERED, at(8, 1))],
        cost=Decimal("0.0006"), meta={"clicked_at": at(9, 1).isoformat()},
    )  # fmt: skip
    ids["e2"] = await message(
        service, p2, email, OUT, at(8),
        [(S.DELIVERED, at(8, 0, 30)), (S.SENT, at(8)), (S.DELIVERED, at(8, 0, 50))],
        cost=Decimal("0.0006"), content="x" * 200,
    )  # fmt: skip
    ids["e3"] = await message(
        service, p1, email, OUT, at(14), [(S.SENT, at(14)), (S.DELIVERED, at(14, 0, 30))],
        cost=Decimal("0.0006"),
    )  # fmt: skip
    await message(service, p1, email, IN, at(12))
    await message(
        service, p3, sms, OUT, at(9, days=1), [(S.SENT, at(9, days=1))], cost=Decimal("0.05")
    )
    await appointment(service, clock, p3, at(11, 30))
    await appointment(service, clock, p2, at(13, 30), then=AppointmentStatus.CANCELLED)
    clock.now = at(10, days=3)
    return {"marie": p1, "jean": p2, "lea": p3, **ids}


async def confirm_marie(service, clock, dataset):
    await appointment(service, clock, dataset["marie"], at(10, days=3))


def by_channel(stats: list[ChannelStats]) -> dict[str, ChannelStats]:
    return {s.channel: s for s in stats}


async def test_every_field_matches_the_hand_computed_values(service, clock, dataset):
    await confirm_marie(service, clock, dataset)
    stats = await service.analytics.channel_stats(PERIOD)
    assert [s.channel for s in stats] == ["sms", "email"]  # most sent first
    sms, email = stats

    assert (sms.sent, sms.delivered, sms.opened, sms.clicked, sms.failed) == (4, 2, 1, 0, 1)
    assert (sms.delivery_rate, sms.open_rate, sms.click_rate) == (0.5, 0.5, 0.0)
    assert sms.avg_delivery_time == 15
    assert (sms.received, sms.answered, sms.response_rate) == (4, 3, 0.75)
    assert sms.avg_first_response == 4400  # (1 800 + 600 + 10 800) / 3
    assert sms.median_first_response == 1800 and sms.median_exact
    assert (sms.conversions, sms.conversion_rate) == (1, 0.25)
    assert sms.total_cost == Decimal("0.21") and sms.avg_cost == Decimal("0.07")

    assert (email.sent, email.delivered, email.opened, email.clicked, email.failed) == (
        3, 3, 1, 1, 0,
    )  # fmt: skip
    assert email.delivery_rate == 1.0
    assert email.open_rate == pytest.approx(1 / 3) and email.click_rate == pytest.approx(1 / 3)
    assert email.avg_delivery_time == 40  # (60 + 30 + 30) / 3
    assert (email.received, email.answered) == (1, 1)
    assert email.response_rate == pytest.approx(1 / 3)
    assert email.avg_first_response == 14400 and email.median_first_response == 14400
    assert (email.conversions, email.conversion_rate) == (1, pytest.approx(1 / 3))
    assert email.total_cost == Decimal("0.0018") and email.avg_cost == Decimal("0.0006")


async def test_a_part_of_a_day_is_computed_from_the_messages(service, clock, dataset):
    await confirm_marie(service, clock, dataset)
    morning = Period(at(0), at(10, 30))  # s1, s2 and e1, e2; Marie's 09:30 answer
    sms, email = await service.analytics.channel_stats(morning)
    assert (sms.sent, sms.delivered, sms.failed, sms.received, sms.answered) == (2, 1, 1, 1, 1)
    assert sms.median_first_response == 1800 and sms.median_exact
    assert (email.sent, email.opened, email.clicked, email.answered) == (2, 1, 1, 1)
    assert email.conversions == 0  # Marie's confirmation goes to e3, sent in the afternoon


async def test_the_daily_series_and_the_observed_preferred_channels(service, dataset):
    points = await service.analytics.daily(Period(DAY, DAY + timedelta(days=2)))
    assert [
        (p.day, p.channel, p.sent, p.delivered, p.opened, p.failed, p.received, p.answered,
         p.conversions, p.cost)
        for p in points
    ] == [
        (DAY.date(), "email", 3, 3, 1, 0, 1, 1, 0, Decimal("0.0018")),
        (DAY.date(), "sms", 4, 2, 1, 1, 4, 3, 1, Decimal("0.21")),
        (DAY.date() + timedelta(days=1), "sms", 1, 0, 0, 0, 0, 0, 0, Decimal("0.05")),
    ]  # fmt: skip
    assert await service.analytics.preferred_channels(PERIOD) == {
        dataset["marie"]: Channel.EMAIL,  # one answer on each: email was the latest
        dataset["jean"]: Channel.SMS,
        dataset["lea"]: Channel.SMS,
    }


async def test_late_events_reach_days_already_stored(service, clock, dataset):
    sms, email = await service.analytics.channel_stats(PERIOD)
    assert (sms.failed, sms.delivered, sms.opened, email.conversions) == (1, 2, 1, 0)
    async with service.db.session() as session:
        marked = set((await session.scalars(select(t.AnalyticsStaleRow.day))).all())
        assert marked == {(DAY.date() - EPOCH).days + 1}  # Tuesday's s6, not read yet
        stored = await session.scalar(select(func.count()).select_from(t.ChannelAnalyticsRow))
    assert stored == 1 + 2  # the day's marker and one rollup per channel

    # Days later: the "failed" SMS turns out read, duplicated events arrive again, Marie
    # confirms (credited to e3, three days back) and Jean answers his email.
    await set_status(service, dataset["s2"], S.READ, at(15, days=2))
    await set_status(service, dataset["s1"], S.DELIVERED, at(15, days=2))
    await set_status(service, dataset["s1"], S.SENT, at(15, days=2))
    await confirm_marie(service, clock, dataset)
    await message(service, dataset["jean"], Channel.EMAIL, IN, at(7, days=1))
    async with service.db.session() as session:
        marked = set((await session.scalars(select(t.AnalyticsStaleRow.day))).all())
    assert (DAY.date() - EPOCH).days in marked

    sms, email = await service.analytics.channel_stats(PERIOD)
    assert (sms.sent, sms.failed, sms.delivered, sms.opened) == (4, 0, 3, 2)
    assert sms.avg_delivery_time == pytest.approx(50 / 3)  # s2 delivered in 20 s after all
    assert (email.conversions, email.answered) == (1, 2)
    assert email.avg_first_response == (14400 + 23 * 3600) / 2  # e2 08:00 → Tuesday 07:00


async def test_statistics_agree_with_criterion_8(service, dataset):
    async with service.db.session() as session:
        marie = await load_engagement(session, dataset["marie"])
        jean = await load_engagement(session, dataset["jean"])
    assert (marie[Channel.SMS].sent, marie[Channel.SMS].replied) == (1, 1)  # s4 is queued
    assert marie[Channel.SMS].median_response_seconds == 1800
    assert (marie[Channel.EMAIL].sent, marie[Channel.EMAIL].replied) == (2, 1)
    assert (jean[Channel.SMS].sent, jean[Channel.SMS].replied) == (2, 1)
    assert jean[Channel.SMS].median_response_seconds == 10800
    sms, email = await service.analytics.channel_stats(PERIOD)
    lea = 1  # Léa: s3 answered; she has one more SMS on Tuesday, outside the period
    assert sms.answered == marie[Channel.SMS].replied + jean[Channel.SMS].replied + lea
    assert email.answered == marie[Channel.EMAIL].replied + jean[Channel.EMAIL].replied


def test_rollups_keep_exact_times_only_while_few() -> None:
    few, many = Counters(), Counters()
    for seconds in (10.0, 20.0, 40.0):
        few.add_response(seconds)
    for seconds in range(EXACT_TIMES + 1):
        many.add_response(float(seconds))
    assert Counters.from_json(few.to_json()).response_times == [10.0, 20.0, 40.0]
    back = Counters.from_json(many.to_json())
    assert back.response_times is None
    stats = ChannelStats.from_counters("sms", back)
    assert not stats.median_exact
    assert stats.median_first_response == pytest.approx(EXACT_TIMES / 2, rel=0.05)


def test_the_triggers_look_back_as_far_as_the_aggregation() -> None:
    path = migrate.MIGRATIONS / "versions" / "0003_analytics_freshness.py"
    spec = importlib.util.spec_from_file_location("migration_0003", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert timedelta(days=module.LOOKBACK_DAYS) == aggregate_module.LOOKBACK


@pytest.fixture
def english():
    previous = i18n.language()
    i18n.set_language("en")
    yield
    i18n.set_language(previous)


async def test_insights_measure_the_cost_and_spot_faster_channels(service, clock, dataset, english):
    await confirm_marie(service, clock, dataset)
    stats = await service.analytics.channel_stats(PERIOD)
    insights = {i.key: i for i in await service.analytics.insights(PERIOD)}
    cost = insights["cost_vs_sms"]
    # An SMS segment cost 0.21 € / 4 priced segments (s2 has no cost) = 0.0525 €.
    # All by SMS: the SMS as they were (0.21) + emails 1 + 2 + 1 segments × 0.0525 = 0.42.
    assert cost.data["segment_price"] == Decimal("0.0525")
    assert cost.data["actual"] == sum(s.total_cost for s in stats) == Decimal("0.2118")
    assert cost.data["all_sms"] == Decimal("0.42")
    assert cost.data["saving"] == Decimal("0.2082")
    assert cost.text == (
        "This period cost €0.21; sending every message by SMS would have cost €0.42: 49.6% saved."
    )
    # Marie is written to mostly by email (2 sent, 1 SMS) but answers faster by SMS.
    faster = insights["faster_elsewhere"]
    assert faster.data["prospects"] == [dataset["marie"]]
    assert "Marie answers in 30 minutes on SMS, against 4 hours on Email" in faster.text


async def test_the_best_converting_channel_per_message_type_on_real_messages(
    service, clock, english
):
    """Ten appointment reminders by SMS (4 confirmed) and ten by email (1 confirmed)."""
    converted = {Channel.SMS: 4, Channel.EMAIL: 1}
    for channel, confirmed in converted.items():
        for n in range(10):
            prospect = await add_prospect(
                service, f"P{channel}{n}", phone=f"+3361000{n:04d}", email=f"p{n}@{channel}.fr"
            )
            meta = {"message_type": "appointment"}
            await message(
                service, prospect, channel, OUT, at(9, n), [(S.SENT, at(9, n))], meta=meta
            )
            if n < confirmed:
                await appointment(service, clock, prospect, at(12, n))
    found = {i.key: i for i in await service.analytics.insights(PERIOD)}["best_channel"]
    assert found.data == {
        "type": "appointment",
        "channel": "sms",
        "rate": 0.4,
        "runner_up": "email",
    }
    assert found.text.startswith("For appointment messages, SMS converts best: 40.0%")


def test_the_best_channel_needs_enough_messages_on_two_channels(english) -> None:
    sms, email = Counters(), Counters()
    sms.by_type = {"appointment": [20, 8], "marketing": [5, 5]}
    email.by_type = {"appointment": [40, 4], "marketing": [50, 1]}
    (finding,) = best_channel_per_type({"sms": sms, "email": email})
    assert finding.data["type"] == "appointment"  # marketing: only 5 SMS, not compared


def test_a_period_must_end_after_it_starts() -> None:
    with pytest.raises(ValueError):
        Period(DAY, DAY)
    with pytest.raises(ValueError):
        Period(datetime(2026, 3, 9), datetime(2026, 3, 10))


async def test_messages_without_a_cost_do_not_make_savings_up(service, english):
    marie = await add_prospect(service, "Marie", phone="+33611111111", email="m@x.fr")
    await message(service, marie, Channel.SMS, OUT, at(9), [(S.SENT, at(9))], cost=Decimal("0.05"))
    await message(service, marie, Channel.EMAIL, OUT, at(10), [(S.SENT, at(10))])  # no cost
    (cost,) = [i for i in await service.analytics.insights(PERIOD) if i.key == "cost_vs_sms"]
    assert cost.data["actual"] == cost.data["all_sms"] == Decimal("0.05")  # the email: unknown
    assert cost.data["saving"] == 0


async def stale_days(service) -> set:
    async with service.db.session() as session:
        marked = (await session.scalars(select(t.AnalyticsStaleRow.day))).all()
    return {EPOCH + timedelta(days=n) for n in marked}


async def test_the_triggers_mark_exactly_the_days_a_write_can_change(service, clock, dataset):
    monday, wednesday = DAY.date(), DAY.date() + timedelta(days=2)
    three_days = Period(DAY, DAY + timedelta(days=3))
    await service.analytics.channel_stats(three_days)
    assert await stale_days(service) == set()
    # Jean answers on Wednesday: his day and Monday's messages to him (the answer may be theirs).
    await message(service, dataset["jean"], Channel.EMAIL, IN, at(7, days=2))
    assert await stale_days(service) == {monday, wednesday}
    stats = by_channel(await service.analytics.channel_stats(three_days))
    assert (stats["email"].answered, stats["email"].received) == (2, 2)
    assert await stale_days(service) == set()
    # Léa's confirmed appointment is cancelled: Monday, when her last SMS before it was sent.
    (lea,) = await service.appointments.for_prospect(dataset["lea"])
    await service.appointments.set_status(lea.id, AppointmentStatus.CANCELLED)
    assert await stale_days(service) == {monday}
    assert by_channel(await service.analytics.channel_stats(PERIOD))["sms"].conversions == 0


def test_a_channel_without_receipts_has_unknown_rates_not_zero() -> None:
    """Telegram reports no delivery or read: its delivery and open rates are unknown."""
    counters = Counters()
    counters.sent, counters.answered, counters.response_seconds = 4, 1, 60.0
    counters.response_times = [60.0]
    telegram = ChannelStats.from_counters("telegram", counters)
    assert not telegram.receipts
    assert telegram.delivery_rate is None and telegram.open_rate is None
    assert telegram.response_rate == 0.25
    sms = ChannelStats.from_counters("sms", counters)
    assert sms.receipts and sms.delivery_rate == 0.0
