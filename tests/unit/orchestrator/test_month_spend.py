"""The month's spending from the running totals (``spend_daily``, kept by triggers) equals the
sum over the messages, whatever is inserted, priced later, moved or deleted (both engines)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import delete, func, select

from core.domain.enums import Channel, Direction
from core.orchestrator.loader import month_spending, month_start
from core.service import InboxService
from core.storage import tables as t
from tests.factories import add_message, add_prospect

M = t.MessageRow


async def summed(service: InboxService, now: datetime, timezone: str) -> Decimal:
    """The definition: every outgoing message's cost since the local month start."""
    async with service.db.session() as session:
        total = await session.scalar(
            select(func.coalesce(func.sum(M.cost_micros), 0)).where(
                M.tenant_id == service.ctx.tenant_id,
                M.direction == Direction.OUTBOUND,
                M.created_at >= month_start(now, timezone),
            )
        )
    return Decimal(int(total)) / 1_000_000


async def test_running_total_equals_the_sum_over_messages(service: InboxService) -> None:
    now = datetime(2026, 3, 10, 10, 0, tzinfo=UTC)
    pid = await add_prospect(service, "Marie", phone="+33612345678")
    # Around the Paris month start (28 Feb 23:00 UTC), in the partial day, and later.
    moments = [
        datetime(2026, 2, 28, 22, 59, tzinfo=UTC),
        datetime(2026, 2, 28, 23, 30, tzinfo=UTC),
        datetime(2026, 3, 1, 0, 10, tzinfo=UTC),
        datetime(2026, 3, 5, 12, 0, tzinfo=UTC),
    ]
    ids = []
    for at in moments:
        _, mid = await add_message(service, pid, "offre", direction=Direction.OUTBOUND, at=at)
        ids.append(mid)
    await add_message(service, pid, "merci", at=moments[2])  # inbound: never counted
    for zone_name in ("Europe/Paris", "America/New_York", "Asia/Kolkata", "UTC"):
        await check(service, now, zone_name)
    async with service.db.session() as session:  # costs arrive later (send result, callback)
        for n, mid in enumerate(ids):
            (await session.get(M, mid)).cost_micros = 75_000 * (n + 1)
    await check(service, now, "Europe/Paris")
    async with service.db.session() as session:
        moved = await session.get(M, ids[3])
        moved.cost_micros, moved.created_at = 1_000, moved.created_at - timedelta(days=40)
        await session.execute(delete(M).where(M.id == ids[2]))
        (await session.get(M, ids[1])).direction = Direction.INBOUND
    for zone_name in ("Europe/Paris", "America/New_York", "Asia/Kolkata"):
        await check(service, now, zone_name)
    # Only the first is left, counted where the month started before it (a partial day).
    assert await summed(service, now, "Asia/Kolkata") == Decimal("0.075")


async def check(service: InboxService, now: datetime, timezone: str) -> None:
    async with service.db.session() as session:
        running = await month_spending(session, service.ctx.tenant_id, timezone, now)
    assert running == await summed(service, now, timezone), timezone


async def test_channel_is_irrelevant_and_other_tenants_apart(service: InboxService) -> None:
    now = datetime(2026, 3, 10, 10, 0, tzinfo=UTC)
    pid = await add_prospect(service, "Paul", email="p@example.fr")
    _, mid = await add_message(
        service, pid, "mail", channel=Channel.EMAIL, direction=Direction.OUTBOUND, at=now
    )
    async with service.db.session() as session:
        (await session.get(M, mid)).cost_micros = 1_000
        rows = (await session.execute(select(t.SpendDailyRow))).scalars().all()
    assert [(r.tenant_id, r.spent_micros) for r in rows] == [(service.ctx.tenant_id, 1_000)]
    await check(service, now, "Europe/Paris")
