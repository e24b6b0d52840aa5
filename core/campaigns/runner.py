"""Running campaigns: every due enrolment advances by one step, state kept in the database.

``CampaignRunner.run_due(now)`` may be called as often as wanted, by several processes, and
after a crash: each enrolment is advanced in its own transaction, re-checked once locked, and its
step's outbox key is unique, so nothing is sent twice and nothing due is forgotten.

For each due enrolment, in order:

1. the prospect leaves if they opted out (of a channel a remaining step names, or of every
   channel they could be reached on for an "auto" step), or if they replied since enrolling —
   unless a remaining step is conditioned on ``replied`` (the campaign then expects replies);
2. the step's condition is evaluated; if it does not hold the step is skipped;
3. otherwise the channel is chosen ("auto": the prospect's preferred channel, then SMS,
   WhatsApp, email, Telegram, among those they can be reached on and that have the template),
   the template is rendered and the step queued through ``core.campaigns.dispatch``;
4. the enrolment moves to the next step, due ``delay_seconds`` later, or completes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.campaigns import dispatch
from core.campaigns.conditions import condition_met, replied
from core.campaigns.model import AUTO, Condition, LeftReason
from core.domain.enums import CampaignStatus, Channel, EnrolmentStatus
from core.domain.settings import TenantSettings
from core.events import Event
from core.service.context import ServiceContext
from core.storage import convert
from core.storage import tables as t
from core.templates.message import RenderedMessage, render_message
from core.templates.render import TemplateRenderError
from core.templates.variables import standard_values

E, C, S = t.CampaignEnrolmentRow, t.CampaignRow, t.CampaignStepRow
AUTO_ORDER = (Channel.SMS, Channel.WHATSAPP, Channel.EMAIL, Channel.TELEGRAM)
BATCH = 500


@dataclass
class RunReport:
    """What one ``run_due`` did."""

    sent: int = 0
    skipped: int = 0
    left: int = 0
    completed: int = 0

    @property
    def processed(self) -> int:
        """Enrolments advanced."""
        return self.sent + self.skipped + self.left


class _Leave(Exception):
    def __init__(self, reason: str) -> None:
        self.reason = reason


class CampaignRunner:
    """Advances the tenant's due enrolments."""

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    async def run_due(self, now: datetime | None = None) -> RunReport:
        """Advance every enrolment of a running campaign whose next step is due at ``now``."""
        now = now or self.ctx.now()
        report = RunReport()
        for enrolment_id in await self._due_ids(now):
            async with self.ctx.write() as (session, events):
                await self._advance(session, events, enrolment_id, now, report)
        return report

    async def _due_ids(self, now: datetime) -> list[int]:
        query = (
            select(E.id)
            .join(C, C.id == E.campaign_id)
            .where(C.tenant_id == self.ctx.tenant_id, C.status == CampaignStatus.RUNNING)
            .where(E.status == EnrolmentStatus.ACTIVE, E.next_run_at <= now)
            .order_by(E.next_run_at, E.id)
            .limit(BATCH)
        )
        async with self.ctx.db.session() as session:
            return list((await session.execute(query)).scalars())

    async def _advance(
        self,
        session: AsyncSession,
        events: list[Event],
        enrolment_id: int,
        now: datetime,
        report: RunReport,
    ) -> None:
        query = select(E).where(E.id == enrolment_id)
        if self.ctx.db.dialect == "postgresql":
            query = query.with_for_update(skip_locked=True)
        enrolment = (await session.execute(query)).scalar_one_or_none()
        if enrolment is None or enrolment.status != EnrolmentStatus.ACTIVE:
            return
        if enrolment.next_run_at is None or enrolment.next_run_at > now:
            return  # another runner got there first
        campaign = await session.get(C, enrolment.campaign_id)
        if campaign is None or campaign.status != CampaignStatus.RUNNING:
            return
        steps = await _steps(session, campaign.id)
        step = steps[enrolment.current_step]
        try:
            sent = await self._run_step(session, events, campaign, steps, enrolment, step, now)
        except _Leave as leave:
            enrolment.status, enrolment.left_reason = EnrolmentStatus.LEFT, leave.reason
            enrolment.next_run_at = None
            report.left += 1
            return
        report.sent += sent
        report.skipped += not sent
        enrolment.current_step += 1
        if enrolment.current_step >= len(steps):
            enrolment.status, enrolment.next_run_at = EnrolmentStatus.COMPLETED, None
            report.completed += 1
        else:
            delay = steps[enrolment.current_step].delay_seconds
            enrolment.next_run_at = now + timedelta(seconds=delay)

    async def _run_step(
        self,
        session: AsyncSession,
        events: list[Event],
        campaign: t.CampaignRow,
        steps: list[t.CampaignStepRow],
        enrolment: t.CampaignEnrolmentRow,
        step: t.CampaignStepRow,
        now: datetime,
    ) -> bool:
        prospect = await session.get(t.ProspectRow, enrolment.prospect_id)
        if prospect is None or prospect.merged_into_id is not None:
            raise _Leave(LeftReason.REMOVED)
        remaining = steps[enrolment.current_step :]
        _check_opt_out(prospect, remaining)
        expects_replies = any(s.condition == Condition.REPLIED for s in remaining)
        if not expects_replies and await replied(session, enrolment):
            raise _Leave(LeftReason.REPLIED)
        condition = Condition(step.condition) if step.condition else None
        if not await condition_met(session, enrolment, condition):
            return False
        template_name = await _template_name(session, step)
        channel, to, rendered = await self._render(
            session, prospect, step, template_name, campaign, now
        )
        await dispatch.enqueue_step(
            session,
            prospect=prospect,
            channel=channel,
            to=to,
            rendered=rendered,
            enrolment_id=enrolment.id,
            step=step.position,
            now=now,
            events=events,
        )
        return True

    async def _render(
        self,
        session: AsyncSession,
        prospect: t.ProspectRow,
        step: t.CampaignStepRow,
        template_name: str,
        campaign: t.CampaignRow,
        now: datetime,
    ) -> tuple[Channel, str, RenderedMessage]:
        domain = convert.prospect(prospect)
        templates = await _templates_named(session, self.ctx.tenant_id, template_name)
        candidates = _candidate_channels(domain, step.channel_type)
        usable = [c for c in candidates if c not in domain.opted_out_channels]
        if not usable:
            opted_out = bool(candidates) and _all_opted_out(domain, candidates)
            raise _Leave(LeftReason.OPTED_OUT if opted_out else LeftReason.UNREACHABLE)
        for channel in usable:
            template = _pick_language(templates, channel, domain.language)
            if template is not None:
                break
        else:
            raise _Leave(LeftReason.NO_TEMPLATE)
        settings = await _tenant_settings(session, self.ctx.tenant_id)
        values = await standard_values(
            session, prospect, settings, language=template.language, now=now
        )
        values |= {k: str(v) for k, v in (campaign.variables or {}).items()}
        try:
            rendered = render_message(template, values, signature=settings.email_signature)
        except TemplateRenderError as exc:
            raise _Leave(f"{LeftReason.MISSING_VARIABLE}:{exc.value}"[:100]) from exc
        return channel, domain.identifier(channel) or "", rendered


def _check_opt_out(prospect: t.ProspectRow, remaining: list[t.CampaignStepRow]) -> None:
    opted_out = set(prospect.opted_out_channels or ())
    if opted_out & {s.channel_type for s in remaining if s.channel_type != AUTO}:
        raise _Leave(LeftReason.OPTED_OUT)


def _candidate_channels(prospect, channel: str) -> list[Channel]:
    if channel != AUTO:
        return [Channel(channel)] if prospect.identifier(Channel(channel)) else []
    order = list(AUTO_ORDER)
    if prospect.preferred_channel in order:
        order.remove(prospect.preferred_channel)
        order.insert(0, prospect.preferred_channel)
    return [c for c in order if prospect.identifier(c)]


def _all_opted_out(prospect, channels: list[Channel]) -> bool:
    return all(c in prospect.opted_out_channels for c in channels)


def _pick_language(templates, channel: Channel, language: str | None):
    by_language = {tpl.language: tpl for tpl in templates if tpl.channel == channel and tpl.enabled}
    for wanted in (language, "fr", "en"):
        if wanted in by_language:
            return by_language[wanted]
    return next(iter(by_language.values()), None)


async def _steps(session: AsyncSession, campaign_id: int) -> list[t.CampaignStepRow]:
    query = select(S).where(S.campaign_id == campaign_id).order_by(S.position)
    return list((await session.execute(query)).scalars())


async def _template_name(session: AsyncSession, step: t.CampaignStepRow) -> str:
    row = await session.get(t.MessageTemplateRow, step.template_id) if step.template_id else None
    if row is None:
        raise _Leave(LeftReason.NO_TEMPLATE)
    return row.template_name


async def _templates_named(session: AsyncSession, tenant_id: int, name: str):
    T = t.MessageTemplateRow
    query = select(T).where(T.tenant_id == tenant_id, T.template_name == name)
    return [convert.template(row) for row in (await session.execute(query)).scalars()]


async def _tenant_settings(session: AsyncSession, tenant_id: int) -> TenantSettings:
    tenant = await session.get(t.TenantRow, tenant_id)
    return TenantSettings.model_validate((tenant.settings if tenant else None) or {})
