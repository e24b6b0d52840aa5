"""A/B tests on the database: reproducible assignment, sending, metrics, winner."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from core.abtests.model import Metric
from core.booking.appointments import AppointmentDraft
from core.domain.enums import AppointmentStatus, MessageStatus
from core.errors import InvalidInput
from core.service.abtests import assign
from core.service.templates import seed_templates
from core.storage import tables as t
from core.storage.timeline import apply_status
from tests.factories import add_message, add_prospect

GROUPS = {"A": {"channel": "email"}, "B": {"channel": "sms"}}


def test_assignment_is_seeded_reproducible_and_balanced() -> None:
    ids = list(range(1, 101))
    first = assign(ids, ["A", "B"], seed=42)
    assert first == assign(list(reversed(ids)), ["A", "B"], seed=42)
    assert first != assign(ids, ["A", "B"], seed=43)
    assert sum(g == "A" for g in first.values()) == 50


async def templates_and_channels(service) -> None:
    """The library's templates, and the two channels the groups use switched on."""
    await seed_templates(service)
    for channel in GROUPS.values():
        await service.tenant_settings.save_channel(channel["channel"])


async def prospects(service, count: int) -> list[int]:
    return [
        await add_prospect(service, f"P{i}", phone=f"+336{i:08d}", email=f"p{i}@example.fr")
        for i in range(count)
    ]


async def test_run_ab_test_sends_each_group_on_its_channel(service, clock) -> None:
    await templates_and_channels(service)
    ids = await prospects(service, 6)
    test = await service.abtests.run_ab_test(
        GROUPS, "open_rate", 7, prospect_ids=ids, template="welcome", seed=7
    )
    expected = assign(ids, ["A", "B"], 7)
    assert set(test.assignments["A"]) == {p for p, g in expected.items() if g == "A"}
    assert test.ends_at == clock.now + timedelta(days=7)
    async with service.db.session() as session:
        rows = (await session.execute(select(t.OutboxRow))).scalars().all()
    by_prospect = {r.prospect_id: r.channel_type for r in rows}
    assert by_prospect == {p: GROUPS[g]["channel"] for p, g in expected.items()}
    assert {r.purpose for r in rows} == {"ab_test"}


async def test_confirmation_rate_results_and_winner(service, clock) -> None:
    ids = await prospects(service, 40)
    test = await service.abtests.run_ab_test(
        GROUPS, Metric.CONFIRMATION_RATE, 7, prospect_ids=ids, seed=1
    )
    group_a, group_b = test.assignments["A"], test.assignments["B"]
    # A: 2 of 20 confirm, B: 12 of 20 confirm.
    for prospect_id in group_a[:2] + group_b[:12]:
        start = clock.now + timedelta(days=3)
        rdv = await service.appointments.create(
            AppointmentDraft(
                prospect_id=prospect_id, starts_at=start, ends_at=start + timedelta(hours=1)
            )
        )
        await service.appointments.set_status(rdv.id, AppointmentStatus.CONFIRMED)
    clock.advance(days=2)
    result = await service.abtests.results(test.id)
    a, b = result.groups
    assert (a.size, a.successes, a.value) == (20, 2, 0.1)
    assert (b.size, b.successes, b.value) == (20, 12, 0.6)
    comparison = result.comparisons["B"]
    # pooled 14/40 = 0.35; SE = sqrt(0.35*0.65*0.1) = 0.150831; z = 0.5/0.150831 = 3.31497
    assert comparison.z == pytest.approx(3.31497, abs=1e-5)
    assert comparison.significant and result.winner == "B"
    assert not result.finished


async def test_response_rate_without_significance_has_no_winner(service, clock) -> None:
    ids = await prospects(service, 10)
    test = await service.abtests.run_ab_test(GROUPS, "response_rate", 3, prospect_ids=ids, seed=5)
    clock.advance(hours=1)
    await add_message(service, test.assignments["A"][0], "Bonjour")
    await add_message(service, test.assignments["B"][0], "Oui")
    await add_message(service, test.assignments["B"][1], "Oui")
    clock.advance(days=4)
    late = test.assignments["A"][1]
    await add_message(service, late, "trop tard")  # after the end: not counted
    result = await service.abtests.results(test.id)
    assert [g.successes for g in result.groups] == [1, 2]
    assert result.winner is None and result.finished


async def test_open_rate_reads_the_test_messages(service, clock) -> None:
    await templates_and_channels(service)
    ids = await prospects(service, 4)
    test = await service.abtests.run_ab_test(
        GROUPS, "open_rate", 7, prospect_ids=ids, template="welcome", seed=3
    )
    async with service.db.session() as session:
        assignments = (await session.execute(select(t.ABAssignmentRow))).scalars().all()
        opened = next(a for a in assignments if a.group_name == "A")
        message = await session.get(t.MessageRow, opened.message_id)
        apply_status(message, MessageStatus.READ, at=clock.now)
    result = await service.abtests.results(test.id)
    assert [(g.name, g.successes, g.size) for g in result.groups] == [("A", 1, 2), ("B", 0, 2)]


async def test_bad_inputs_are_refused(service) -> None:
    ids = await prospects(service, 3)
    with pytest.raises(InvalidInput):
        await service.abtests.run_ab_test({"A": {}}, "open_rate", prospect_ids=ids)
    with pytest.raises(InvalidInput):
        await service.abtests.run_ab_test(GROUPS, "happiness", prospect_ids=ids)
    with pytest.raises(InvalidInput):
        await service.abtests.run_ab_test(
            {"A": {"channel": "fax"}, "B": {}}, "open_rate", prospect_ids=ids
        )
    with pytest.raises(InvalidInput):
        await service.abtests.run_ab_test(GROUPS, "open_rate", 0, prospect_ids=ids)


async def test_cost_per_conversion_from_the_messages(service, clock) -> None:
    await templates_and_channels(service)
    ids = await prospects(service, 4)
    test = await service.abtests.run_ab_test(
        GROUPS, "cost_per_conversion", 7, prospect_ids=ids, template="welcome", seed=11
    )
    async with service.db.session() as session:
        for assignment in (await session.execute(select(t.ABAssignmentRow))).scalars():
            message = await session.get(t.MessageRow, assignment.message_id)
            message.cost_micros = 600 if assignment.group_name == "A" else 50_000
    for prospect_id in test.assignments["A"] + test.assignments["B"][:1]:
        start = clock.now + timedelta(days=1)
        rdv = await service.appointments.create(
            AppointmentDraft(
                prospect_id=prospect_id, starts_at=start, ends_at=start + timedelta(hours=1)
            )
        )
        await service.appointments.set_status(rdv.id, AppointmentStatus.CONFIRMED)
    result = await service.abtests.results(test.id)
    a, b = result.groups
    # A: 2 × 0.0006 € for 2 confirmations; B: 2 × 0.05 € for 1 confirmation.
    assert a.value == pytest.approx(0.0006) and b.value == pytest.approx(0.1)
    assert result.comparisons["B"].difference == pytest.approx(0.1 - 0.0006)


async def test_a_confirmation_counts_only_after_the_test_message(service, clock) -> None:
    """An appointment confirmed before the prospect's test message went out is not a success
    of that message; one confirmed after it is (``confirmed_at``, as analytics credits it)."""
    await templates_and_channels(service)
    ids = await prospects(service, 4)
    appointments = {}
    for prospect_id in ids:
        start = clock.now + timedelta(days=3)
        rdv = await service.appointments.create(
            AppointmentDraft(
                prospect_id=prospect_id, starts_at=start, ends_at=start + timedelta(hours=1)
            )
        )
        appointments[prospect_id] = rdv.id
    early = ids[0]
    await service.appointments.set_status(appointments[early], AppointmentStatus.CONFIRMED)
    clock.advance(hours=1)
    test = await service.abtests.run_ab_test(
        GROUPS, Metric.CONFIRMATION_RATE, 7, prospect_ids=ids, template="welcome", seed=3
    )
    clock.advance(hours=1)
    later = [p for p in ids if p != early]
    for prospect_id in later:
        await service.appointments.set_status(
            appointments[prospect_id], AppointmentStatus.CONFIRMED
        )
    result = await service.abtests.results(test.id)
    groups = {g.name: g for g in result.groups}
    group_of = {p: name for name, members in test.assignments.items() for p in members}
    expected = {name: sum(group_of[p] == name for p in later) for name in groups}
    assert {name: g.successes for name, g in groups.items()} == expected
    assert sum(g.successes for g in groups.values()) == 3  # the early one is not counted


async def test_list_gives_the_tenants_tests_newest_first(service) -> None:
    assert await service.abtests.list() == []
    ids = await prospects(service, 4)
    first = await service.abtests.run_ab_test(GROUPS, "open_rate", prospect_ids=ids, name="un")
    second = await service.abtests.run_ab_test(GROUPS, "click_rate", prospect_ids=ids, name="deux")
    listed = await service.abtests.list()
    assert [test.id for test in listed] == [second.id, first.id]
    assert listed[1] == await service.abtests.get(first.id)
