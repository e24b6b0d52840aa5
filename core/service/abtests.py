"""A/B tests: assign prospects to groups (seeded, reproducible), send, measure, decide."""

from __future__ import annotations

import builtins
import random
import secrets
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.abtests.measure import Outcome, outcomes
from core.abtests.model import ABResult, ABTest, GroupResult, Metric
from core.abtests.stats import ALPHA, Comparison, compare_cost_per_conversion, compare_proportions
from core.campaigns.dispatch import request_for, submit_rendered
from core.campaigns.render import Renderings, message_type_of
from core.config.settings import OrchestratorSettings
from core.domain.enums import Channel
from core.domain.tenant_settings import TenantSettings
from core.errors import InvalidInput, NotFound
from core.i18n.prospect import prospect_language
from core.orchestrator.loader import load_tenant_inputs
from core.pipeline import Kind
from core.storage import convert
from core.storage import tables as t
from core.storage.service_context import ServiceContext
from core.templates.message import render_message
from core.templates.render import TemplateRenderError
from core.templates.variables import standard_values

AB, AS = t.ABTestRow, t.ABAssignmentRow


def assign(prospect_ids: list[int], groups: list[str], seed: int) -> dict[int, str]:
    """Shuffle the prospects with ``seed`` and deal them to the groups in turn (balanced)."""
    ordered = sorted(set(prospect_ids))
    random.Random(seed).shuffle(ordered)
    return {pid: groups[i % len(groups)] for i, pid in enumerate(ordered)}


class ABTests:
    """The tenant's A/B tests."""

    def __init__(self, ctx: ServiceContext, settings: OrchestratorSettings | None = None) -> None:
        self.ctx = ctx
        self.settings = settings or OrchestratorSettings()

    async def run_ab_test(
        self,
        groups: dict[str, dict[str, Any]],
        metric: Metric | str,
        duration: int = 7,
        *,
        prospect_ids: list[int] | None = None,
        template: str | None = None,
        seed: int | None = None,
        name: str | None = None,
    ) -> ABTest:
        """Start a test: assign prospects to ``groups`` and, with ``template``, send it to each
        on their group's ``channel``.

        Args:
            groups: e.g. ``{"A": {"channel": "email"}, "B": {"channel": "sms"}}``; A is the control.
            metric: one of ``Metric``.
            duration: days the test lasts.
            prospect_ids: who takes part (default: every prospect of the tenant).
            template: template name sent to each prospect on their group's channel, through
                the orchestrator (opt-outs, limits and quiet hours apply; no fallback to another
                channel, which would blur the comparison).
            seed: makes the assignment reproducible (default: a random one, stored).

        Raises:
            InvalidInput: fewer than two groups, an unknown metric or channel, a bad duration.
        """
        metric = _metric(metric)
        _check_groups(groups)
        if not 1 <= duration <= 365:
            raise InvalidInput("duration", duration, "between 1 and 365 days")
        seed = secrets.randbits(31) if seed is None else seed
        now = self.ctx.now()
        async with self.ctx.write() as (session, events):
            ids = prospect_ids if prospect_ids is not None else await self._all_prospects(session)
            rows = await self._prospects(session, ids)
            test = AB(
                tenant_id=self.ctx.tenant_id,
                name=name or f"{metric} {' vs '.join(groups)}",
                metric=metric,
                groups=groups,
                seed=seed,
                duration_days=duration,
                status="running",
                started_at=now,
                ends_at=now + timedelta(days=duration),
            )
            session.add(test)
            await session.flush()
            assignment = assign(list(rows), list(groups), seed)
            settings = await _settings(session, self.ctx.tenant_id)
            for prospect_id, group in assignment.items():
                message_id = None
                if template:
                    message_id = await self._send(
                        session, events, test, rows[prospect_id], groups[group], template, settings
                    )
                session.add(
                    AS(
                        test_id=test.id,
                        prospect_id=prospect_id,
                        group_name=group,
                        message_id=message_id,
                        converted=False,
                        assigned_at=now,
                    )
                )
            await session.flush()
            return await self._test(session, test)

    async def list(self) -> list[ABTest]:
        """Every test of the tenant, newest first."""
        async with self.ctx.db.session() as session:
            query = select(AB).where(AB.tenant_id == self.ctx.tenant_id).order_by(AB.id.desc())
            rows = (await session.execute(query)).scalars().all()
            return [await self._test(session, row) for row in rows]

    async def get(self, test_id: int) -> ABTest:
        """One test with its assignment."""
        async with self.ctx.db.session() as session:
            return await self._test(session, await self._row(session, test_id))

    async def results(self, test_id: int, alpha: float = ALPHA) -> ABResult:
        """Each group's metric, each group against the control, the winner if significant."""
        now = self.ctx.now()
        async with self.ctx.db.session() as session:
            test = await self._row(session, test_id)
            assignments = await _assignments(session, test.id)
            end = min(now, test.ends_at) if test.ends_at else now
            found = await outcomes(session, assignments, test.started_at, end)
            for row in assignments:
                row.converted = found[row.prospect_id].success(Metric(test.metric))
        metric = Metric(test.metric)
        groups = _group_results(list(test.groups), assignments, found, metric)
        comparisons = {g.name: _compare(groups[0], g, metric, alpha) for g in groups[1:]}
        return ABResult(
            test_id=test.id,
            metric=metric,
            finished=test.ends_at is not None and now >= test.ends_at,
            groups=tuple(groups),
            comparisons=comparisons,
            winner=_winner(groups[0].name, comparisons, metric),
        )

    async def _send(self, session, events, test, prospect, group, template, settings) -> int | None:
        channel = Channel(group["channel"])
        domain = convert.prospect(prospect)
        to = domain.identifier(channel)
        if not to or channel in domain.opted_out_channels:
            return None
        T = t.MessageTemplateRow
        query = select(T).where(
            T.tenant_id == self.ctx.tenant_id,
            T.template_name == template,
            T.channel_type == channel,
        )
        candidates = {r.language: r for r in (await session.execute(query)).scalars()}
        language = prospect_language(domain.language, settings.language)
        row = candidates.get(language) or next(iter(candidates.values()), None)
        if row is None:
            raise InvalidInput("template", template, f"a template that exists for {channel}")
        values = await standard_values(
            session, prospect, settings, language=row.language, now=self.ctx.now()
        )
        values |= {k: str(v) for k, v in group.get("variables", {}).items()}
        try:
            rendered = render_message(
                convert.template(row), values, signature=settings.email_signature
            )
        except TemplateRenderError:
            return None
        # Only the group's channel: a fallback to another one would blur the comparison.
        renderings = Renderings({channel: rendered}, message_type_of(row.template_type))
        now = self.ctx.now()
        inputs = await load_tenant_inputs(session, self.ctx.tenant_id, self.settings, now)
        request = request_for(
            prospect,
            renderings,
            kind=Kind.ABTEST,
            key=f"abtest:{test.id}:{prospect.id}",
            purpose="ab_test",
            channel=channel,
            context={"ab_test": {"test_id": test.id}},
        )
        outcome = await submit_rendered(session, inputs, request, now, events)
        message = outcome.message
        if message is None:
            return None
        return message.id

    async def _all_prospects(self, session: AsyncSession) -> builtins.list[int]:
        P = t.ProspectRow
        query = select(P.id).where(P.tenant_id == self.ctx.tenant_id, P.merged_into_id.is_(None))
        return list((await session.execute(query)).scalars())

    async def _prospects(
        self, session: AsyncSession, ids: builtins.list[int]
    ) -> dict[int, t.ProspectRow]:
        rows: dict[int, t.ProspectRow] = {}
        for prospect_id in dict.fromkeys(ids):
            row = await session.get(t.ProspectRow, prospect_id)
            if row is None or row.tenant_id != self.ctx.tenant_id:
                raise NotFound("prospect", prospect_id)
            rows[prospect_id] = row
        if len(rows) < 2:
            raise InvalidInput("prospects", len(rows), "at least two prospects")
        return rows

    async def _row(self, session: AsyncSession, test_id: int) -> t.ABTestRow:
        row = await session.get(AB, test_id)
        if row is None or row.tenant_id != self.ctx.tenant_id:
            raise NotFound("A/B test", test_id)
        return row

    async def _test(self, session: AsyncSession, row: t.ABTestRow) -> ABTest:
        assigned: dict[str, list[int]] = {name: [] for name in row.groups}
        for a in await _assignments(session, row.id):
            assigned.setdefault(a.group_name, []).append(a.prospect_id)
        return ABTest(
            id=row.id,
            name=row.name,
            metric=row.metric,
            groups=row.groups,
            seed=row.seed,
            duration_days=row.duration_days,
            started_at=row.started_at,
            ends_at=row.ends_at,
            assignments={k: tuple(sorted(v)) for k, v in assigned.items()},
        )


def _metric(value: Metric | str) -> Metric:
    try:
        return Metric(value)
    except ValueError:
        raise InvalidInput("metric", value, f"one of {', '.join(Metric)}") from None


def _check_groups(groups: dict[str, dict[str, Any]]) -> None:
    if len(groups) < 2:
        raise InvalidInput("groups", len(groups), "at least two groups")
    for name, config in groups.items():
        if not name or len(name) > 20:
            raise InvalidInput("group", name, "a name of 1 to 20 characters")
        channel = config.get("channel")
        if channel is not None and channel not in set(Channel):
            raise InvalidInput("channel", channel, f"one of {', '.join(Channel)}")


async def _assignments(session: AsyncSession, test_id: int) -> list[t.ABAssignmentRow]:
    query = select(AS).where(AS.test_id == test_id).order_by(AS.id)
    return list((await session.execute(query)).scalars())


async def _settings(session: AsyncSession, tenant_id: int) -> TenantSettings:
    tenant = await session.get(t.TenantRow, tenant_id)
    return TenantSettings.model_validate((tenant.settings if tenant else None) or {})


def _group_results(
    names: list[str], assignments: list[t.ABAssignmentRow], found: dict[int, Outcome], metric
) -> list[GroupResult]:
    results = []
    for name in names:
        members = [found[a.prospect_id] for a in assignments if a.group_name == name]
        successes = sum(o.success(metric) for o in members)
        cost = sum(o.cost_micros for o in members) / 1_000_000
        if metric is Metric.COST_PER_CONVERSION:
            value = cost / successes if successes else None
        else:
            value = successes / len(members) if members else None
        results.append(
            GroupResult(name=name, size=len(members), successes=successes, cost=cost, value=value)
        )
    return results


def _compare(control: GroupResult, other: GroupResult, metric: Metric, alpha: float) -> Comparison:
    if metric is Metric.COST_PER_CONVERSION:
        return compare_cost_per_conversion(
            control.cost,
            control.successes,
            control.size,
            other.cost,
            other.successes,
            other.size,
            alpha,
        )
    return compare_proportions(control.successes, control.size, other.successes, other.size, alpha)


def _winner(control: str, comparisons: dict[str, Comparison], metric: Metric) -> str | None:
    better: list[tuple[float, str]] = []
    for name, comparison in comparisons.items():
        if not comparison.significant or comparison.difference is None:
            continue
        b_better = (comparison.difference < 0) == metric.lower_is_better
        if b_better:
            better.append((comparison.difference, name))
        elif len(comparisons) == 1:
            return control
    if not better:
        return None
    return (min if metric.lower_is_better else max)(better)[1]
