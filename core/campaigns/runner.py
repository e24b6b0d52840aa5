"""Running campaigns: every due enrolment advances by one step, state kept in the database.

``CampaignRunner.run_due(now)`` may be called as often as wanted, by several processes, and
after a crash: each enrolment is advanced in its own transaction, re-checked once locked, and its
step's outbox key is unique, so nothing is sent twice and nothing due is forgotten.

For each due enrolment, in order:

1. the prospect leaves if they opted out (of a channel a remaining step names, or by answering
   STOP since enrolling), or if they replied since enrolling — unless a remaining step is
   conditioned on ``replied`` (the campaign then expects replies); an "OUI" that confirmed
   their appointment (Sara) is not such a reply;
2. the step's condition is evaluated; if it does not hold the step is skipped;
3. otherwise the template is rendered on every channel it exists for and the orchestrator
   decides ("auto": its choice among them; else the step's channel), exactly as for any send:
   the step is queued in the outbox, held until the end of quiet hours if need be, with the
   other channels as fallbacks (``core.campaigns.dispatch``). When no channel can take it the
   prospect leaves (opted out, unreachable), unless only a daily limit stands in the way: the
   step is then tried again the next day;
4. the enrolment moves to the next step, due ``delay_seconds`` after this one goes out (after
   the end of the quiet hours for a held step), or completes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from core.campaigns import dispatch
from core.campaigns.conditions import answers, condition_met
from core.campaigns.model import AUTO, Condition, LeaveCampaign, LeftReason, PostponeStep
from core.campaigns.render import Renderings, render_step
from core.config.settings import OrchestratorSettings
from core.domain.decision import Decision
from core.domain.enums import CampaignStatus, Channel, EnrolmentStatus
from core.events import Event
from core.orchestrator.hours import zone
from core.orchestrator.loader import contacts_of, load_tenant_inputs
from core.pipeline import Kind
from core.storage import tables as t
from core.storage.rows_changed import execute_changes
from core.storage.service_context import ServiceContext

E, C, S = t.CampaignEnrolmentRow, t.CampaignRow, t.CampaignStepRow
BATCH = 500
_DAILY_LIMIT = "orchestrator.blocked.daily_limit"
#: Refusals of a prospect who has an address: said as such rather than "unreachable".
_REFUSED = {
    "orchestrator.blocked.too_expensive": LeftReason.TOO_EXPENSIVE,
    "orchestrator.blocked.whatsapp_window": LeftReason.WHATSAPP_WINDOW,
    "pipeline.left_out.no_template": LeftReason.WHATSAPP_WINDOW,
    "pipeline.left_out.missing_parameter": LeftReason.WHATSAPP_WINDOW,
}
#: Sara's intents (``core.intents.recognize.Intent``) on a STOP and on an "OUI" to a proposal.
OPT_OUT, CONFIRM = "opt_out", "confirm"


@dataclass
class RunReport:
    """What one ``run_due`` did.

    ``sent`` counts steps queued in the outbox (``held`` of them wait for the end of quiet
    hours); ``postponed`` steps stay due the next day (a daily limit was reached).
    """

    sent: int = 0
    held: int = 0
    skipped: int = 0
    left: int = 0
    completed: int = 0
    postponed: int = 0

    @property
    def processed(self) -> int:
        """Enrolments advanced."""
        return self.sent + self.skipped + self.left


class CampaignRunner:
    """Advances the tenant's due enrolments."""

    def __init__(self, ctx: ServiceContext, settings: OrchestratorSettings | None = None) -> None:
        self.ctx = ctx
        self.settings = settings or OrchestratorSettings()

    async def run_due(self, now: datetime | None = None) -> RunReport:
        """Advance every enrolment of a running campaign whose next step is due at ``now``."""
        now = now or self.ctx.now()
        report = RunReport()
        for enrolment_id in await self._due_ids(now):
            try:
                async with self.ctx.write() as (session, events):
                    await self._advance(session, events, enrolment_id, now, report)
            except IntegrityError:
                continue  # another runner queued this step meanwhile; nothing to redo

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
        # Claim the enrolment first: the write locks it (the row on PostgreSQL, the database on
        # SQLite), so a second runner waits, then finds nothing due and leaves it alone.
        claim = (
            update(E)
            .where(E.id == enrolment_id, E.status == EnrolmentStatus.ACTIVE, E.next_run_at <= now)
            .where(E.campaign_id.in_(select(C.id).where(C.status == CampaignStatus.RUNNING)))
            .values(next_run_at=None)
        )
        if await execute_changes(session, claim) != 1:
            return
        enrolment = (await session.execute(select(E).where(E.id == enrolment_id))).scalar_one()
        campaign = await session.get_one(C, enrolment.campaign_id)
        steps = await _steps(session, campaign.id)
        step = steps[enrolment.current_step]
        try:
            sent_at = await self._run_step(session, events, campaign, steps, enrolment, step, now)
        except LeaveCampaign as leave:
            enrolment.status, enrolment.left_reason = EnrolmentStatus.LEFT, leave.reason
            enrolment.next_run_at = None
            report.left += 1
            return
        except PostponeStep as postpone:
            enrolment.next_run_at = postpone.until
            report.postponed += 1
            return
        report.sent += sent_at is not None
        report.held += sent_at is not None and sent_at > now
        report.skipped += sent_at is None
        enrolment.current_step += 1
        if enrolment.current_step >= len(steps):
            enrolment.status, enrolment.next_run_at = EnrolmentStatus.COMPLETED, None
            report.completed += 1
        else:
            delay = steps[enrolment.current_step].delay_seconds
            enrolment.next_run_at = max(now, sent_at or now) + timedelta(seconds=delay)

    async def _run_step(
        self,
        session: AsyncSession,
        events: list[Event],
        campaign: t.CampaignRow,
        steps: list[t.CampaignStepRow],
        enrolment: t.CampaignEnrolmentRow,
        step: t.CampaignStepRow,
        now: datetime,
    ) -> datetime | None:
        """Queue the step; returns when it goes out, or None when its condition skips it."""
        prospect = await session.get(t.ProspectRow, enrolment.prospect_id)
        if prospect is None or prospect.merged_into_id is not None:
            raise LeaveCampaign(LeftReason.REMOVED)
        remaining = steps[enrolment.current_step :]
        _check_opt_out(prospect, remaining)
        _check_answers(await answers(session, enrolment), remaining)
        condition = Condition(step.condition) if step.condition else None
        if not await condition_met(session, enrolment, condition):
            return None
        name = await _template_name(session, step)
        renderings = await render_step(
            session, prospect, name, step.channel_type, campaign.variables or {}, now
        )
        inputs = await load_tenant_inputs(session, self.ctx.tenant_id, self.settings, now)
        fixed = None if step.channel_type == AUTO else Channel(step.channel_type)
        request = dispatch.request_for(
            prospect,
            renderings,
            kind=Kind.CAMPAIGN_STEP,
            key=dispatch.idempotency_key(enrolment.id, step.position),
            purpose="campaign",
            channel=fixed,
            campaign_enrolment_id=enrolment.id,
            context={"campaign": {"enrolment_id": enrolment.id, "step": step.position}},
        )
        outcome = await dispatch.submit_rendered(session, inputs, request, now, events)
        row = outcome.row
        if row is None:
            assert outcome.decision is not None
            raise _refusal(outcome.decision, prospect, renderings, inputs.settings.timezone, now)
        return row.not_before or now


def _refusal(
    decision: Decision,
    prospect: t.ProspectRow,
    renderings: Renderings,
    timezone: str,
    now: datetime,
) -> LeaveCampaign | PostponeStep:
    """Why no channel takes the step: a daily limit (try tomorrow), opt-outs, the cost cap or
    the WhatsApp window on every channel they have, or no address."""
    if any(reason.key == _DAILY_LIMIT for reason in decision.blocked):
        local = now.astimezone(zone(timezone))
        tomorrow = datetime.combine(local.date() + timedelta(days=1), time(0), local.tzinfo)
        return PostponeStep(tomorrow)
    reachable = set(contacts_of(prospect)) & renderings.channels
    opted_out = set(prospect.opted_out_channels or ())
    if reachable and reachable <= opted_out:
        return LeaveCampaign(LeftReason.OPTED_OUT)
    refused = [_REFUSED[r.key] for r in decision.blocked if r.key in _REFUSED]
    if reachable - opted_out and refused:
        return LeaveCampaign(refused[0])
    return LeaveCampaign(LeftReason.UNREACHABLE)


def _check_answers(said: list[str], remaining: list[t.CampaignStepRow]) -> None:
    """Leave on a STOP; leave on a reply unless a remaining step is conditioned on ``replied``
    (the campaign waits for replies). An "OUI" Sara took as the appointment's confirmation is
    an answer to the campaign, not a conversation: it keeps the prospect in."""
    if OPT_OUT in said:
        raise LeaveCampaign(LeftReason.OPTED_OUT)
    if any(intent != CONFIRM for intent in said) and not any(
        s.condition == Condition.REPLIED for s in remaining
    ):
        raise LeaveCampaign(LeftReason.REPLIED)


def _check_opt_out(prospect: t.ProspectRow, remaining: list[t.CampaignStepRow]) -> None:
    opted_out = set(prospect.opted_out_channels or ())
    if opted_out & {s.channel_type for s in remaining if s.channel_type != AUTO}:
        raise LeaveCampaign(LeftReason.OPTED_OUT)


async def _steps(session: AsyncSession, campaign_id: int) -> list[t.CampaignStepRow]:
    query = select(S).where(S.campaign_id == campaign_id).order_by(S.position)
    return list((await session.execute(query)).scalars())


async def _template_name(session: AsyncSession, step: t.CampaignStepRow) -> str:
    row = await session.get(t.MessageTemplateRow, step.template_id) if step.template_id else None
    if row is None:
        raise LeaveCampaign(LeftReason.NO_TEMPLATE)
    return row.template_name
