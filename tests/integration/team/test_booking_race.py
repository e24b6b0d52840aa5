"""Two agents' apps booking the same agent's slot at the same moment on one PostgreSQL database:
exactly one gets it, the other is told the slot was just taken, and the diary holds one visit."""

from __future__ import annotations

import asyncio
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from core.booking import service as booking_module
from core.booking.errors import SlotTaken
from core.events import AppointmentChanged
from core.storage import tables as t
from tests.conftest import FakeClock
from tests.factories import add_prospect
from tests.integration.team.helpers import next_event, open_core

pytestmark = pytest.mark.postgres

SLOT = datetime(2026, 3, 11, 10, 0, tzinfo=ZoneInfo("Europe/Paris"))


async def test_two_cores_booking_one_slot_one_wins(pg_schema, monkeypatch) -> None:
    real_busy = booking_module._busy

    async def slow_busy(*args, **kwargs):
        # widen the race: both apps have read the diary as free before either writes
        found = await real_busy(*args, **kwargs)
        await asyncio.sleep(0.2)
        return found

    monkeypatch.setattr(booking_module, "_busy", slow_busy)
    cores = [await open_core(pg_schema), await open_core(pg_schema)]
    try:
        clock = FakeClock()  # Tuesday 10 March 2026: the slot is tomorrow morning
        for core in cores:
            core.ctx.clock = clock
        alice = await cores[0].agents.add("Alice Martin")
        marie = await add_prospect(cores[0], "Marie Dupont", phone="0612345678")
        paul = await add_prospect(cores[0], "Paul Durand", phone="0698765432")
        async with cores[0].bus.subscribe() as at_first, cores[1].bus.subscribe() as at_second:
            results = await asyncio.gather(
                cores[0].booking.book(marie, SLOT, agent_id=alice.id),
                cores[1].booking.book(paul, SLOT, agent_id=alice.id),
                return_exceptions=True,
            )
            booked = [r for r in results if not isinstance(r, BaseException)]
            refused = [r for r in results if isinstance(r, BaseException)]
            assert len(booked) == 1 and len(refused) == 1, results
            assert isinstance(refused[0], SlotTaken) and str(refused[0])
            # the app that lost hears of the booking that won, to show the slot as taken
            at_loser = at_second if results[1] is refused[0] else at_first
            await next_event(at_loser, lambda e: e == AppointmentChanged(booked[0].id))
        async with cores[0].db.session() as session:
            rows = (await session.execute(select(t.AppointmentRow))).scalars().all()
            count = await session.scalar(select(func.count()).select_from(t.AppointmentRow))
        assert count == 1 and rows[0].agent_id == alice.id
        assert rows[0].prospect_id == booked[0].prospect_id
    finally:
        for core in cores:
            await core.close()
