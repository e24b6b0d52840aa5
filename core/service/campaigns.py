"""Campaigns: create, enrol prospects, start, pause, resume, run due steps, follow progress."""

from __future__ import annotations

import builtins
from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.campaigns.model import (
    AUTO,
    Campaign,
    CampaignDraft,
    CampaignProgress,
    CampaignStep,
    Enrolment,
    StepProgress,
)
from core.campaigns.runner import CampaignRunner, RunReport
from core.config.settings import OrchestratorSettings
from core.domain.enums import CampaignStatus, Channel, EnrolmentStatus, OutboxStatus
from core.errors import InvalidInput, NotFound
from core.storage import tables as t
from core.storage.service_context import ServiceContext

C, S, E = t.CampaignRow, t.CampaignStepRow, t.CampaignEnrolmentRow


class Campaigns:
    """The tenant's multi-step campaigns."""

    def __init__(self, ctx: ServiceContext, settings: OrchestratorSettings | None = None) -> None:
        self.ctx = ctx
        self.runner = CampaignRunner(ctx, settings)

    async def create(self, draft: CampaignDraft) -> Campaign:
        """Store a campaign (as a draft) after checking each step's template exists.

        Raises:
            InvalidInput: a step names a template the tenant does not have for its channel.
        """
        async with self.ctx.write() as (session, _):
            row = C(
                tenant_id=self.ctx.tenant_id,
                name=draft.name,
                status=CampaignStatus.DRAFT,
                variables=draft.variables,
                created_at=self.ctx.now(),
                updated_at=self.ctx.now(),
            )
            session.add(row)
            await session.flush()
            for position, step in enumerate(draft.steps):
                template_id = await self._template_id(session, step.template, step.channel)
                session.add(
                    S(
                        campaign_id=row.id,
                        position=position,
                        channel_type=str(step.channel),
                        delay_seconds=step.delay_seconds,
                        template_id=template_id,
                        condition=step.condition,
                    )
                )
            await session.flush()
            return await self._campaign(session, row)

    async def list(self) -> list[Campaign]:
        """Every campaign, newest first."""
        async with self.ctx.db.session() as session:
            query = select(C).where(C.tenant_id == self.ctx.tenant_id).order_by(C.id.desc())
            rows = (await session.execute(query)).scalars().all()
            return [await self._campaign(session, row) for row in rows]

    async def get(self, campaign_id: int) -> Campaign:
        """One campaign with its steps."""
        async with self.ctx.db.session() as session:
            return await self._campaign(session, await self._row(session, campaign_id))

    async def enrol(self, campaign_id: int, prospect_ids: builtins.list[int]) -> int:
        """Enrol prospects (those already enrolled are left as they are); return how many joined.

        Raises:
            NotFound: a prospect does not exist; nobody is enrolled then.
        """
        now = self.ctx.now()
        async with self.ctx.write() as (session, _):
            campaign = await self._row(session, campaign_id)
            if campaign.status == CampaignStatus.FINISHED:
                raise InvalidInput("campaign", campaign.name, "a campaign that is not finished")
            first = (await self._steps(session, campaign_id))[0]
            query = select(E.prospect_id).where(E.campaign_id == campaign_id)
            already = set((await session.execute(query)).scalars())
            added = 0
            for prospect_id in dict.fromkeys(prospect_ids):
                prospect = await session.get(t.ProspectRow, prospect_id)
                if prospect is None or prospect.tenant_id != self.ctx.tenant_id:
                    raise NotFound("prospect", prospect_id)
                if prospect_id in already:
                    continue
                session.add(
                    E(
                        campaign_id=campaign_id,
                        prospect_id=prospect_id,
                        current_step=0,
                        status=EnrolmentStatus.ACTIVE,
                        next_run_at=now + timedelta(seconds=first.delay_seconds),
                        enrolled_at=now,
                    )
                )
                added += 1
            return added

    async def start(self, campaign_id: int) -> Campaign:
        """Let a draft campaign run."""
        return await self._set_status(campaign_id, CampaignStatus.RUNNING, {CampaignStatus.DRAFT})

    async def pause(self, campaign_id: int) -> Campaign:
        """Stop sending; enrolments keep their place."""
        return await self._set_status(campaign_id, CampaignStatus.PAUSED, {CampaignStatus.RUNNING})

    async def resume(self, campaign_id: int) -> Campaign:
        """Run again; steps that fell due while paused run at the next ``run_due``."""
        return await self._set_status(campaign_id, CampaignStatus.RUNNING, {CampaignStatus.PAUSED})

    async def finish(self, campaign_id: int) -> Campaign:
        """End a campaign for good."""
        allowed = {CampaignStatus.DRAFT, CampaignStatus.RUNNING, CampaignStatus.PAUSED}
        return await self._set_status(campaign_id, CampaignStatus.FINISHED, allowed)

    async def run_due(self, now: datetime | None = None) -> RunReport:
        """Advance every due enrolment of the running campaigns (idempotent)."""
        return await self.runner.run_due(now)

    async def enrolments(self, campaign_id: int) -> builtins.list[Enrolment]:
        """The campaign's enrolments, in order of enrolment."""
        async with self.ctx.db.session() as session:
            await self._row(session, campaign_id)
            query = select(E).where(E.campaign_id == campaign_id).order_by(E.id)
            rows = (await session.execute(query)).scalars().all()
            return [Enrolment.model_validate(row) for row in rows]

    async def progress(self, campaign_id: int) -> CampaignProgress:
        """Per step: waiting, queued, deferred, sent, failed, skipped, left; and the totals.

        A queued step's state is its outbox row's: ``deferred`` while held (quiet hours) or due
        later (a retry), ``sent`` once the provider took it, ``failed`` if the outbox gave up.
        """
        async with self.ctx.db.session() as session:
            campaign = await self._row(session, campaign_id)
            steps = await self._steps(session, campaign_id)
            enrolments = (
                (await session.execute(select(E).where(E.campaign_id == campaign_id)))
                .scalars()
                .all()
            )
            sent = await _step_sends(session, [e.id for e in enrolments])
        return _progress(campaign, len(steps), enrolments, sent, self.ctx.now())

    async def _set_status(
        self, campaign_id: int, status: CampaignStatus, allowed: set[CampaignStatus]
    ) -> Campaign:
        async with self.ctx.write() as (session, _):
            row = await self._row(session, campaign_id)
            if row.status not in allowed:
                expected = " or ".join(sorted(allowed))
                raise InvalidInput("campaign status", row.status, f"{expected} to become {status}")
            row.status, row.updated_at = status, self.ctx.now()
            return await self._campaign(session, row)

    async def _template_id(self, session: AsyncSession, name: str, channel: str) -> int:
        T = t.MessageTemplateRow
        query = select(T.id).where(T.tenant_id == self.ctx.tenant_id, T.template_name == name)
        if channel != AUTO:
            query = query.where(T.channel_type == Channel(channel))
        template_id = (await session.execute(query.order_by(T.id).limit(1))).scalar()
        if template_id is None:
            where = "any channel" if channel == AUTO else str(channel)
            raise InvalidInput("template", name, f"a template that exists for {where}")
        return template_id

    async def _row(self, session: AsyncSession, campaign_id: int) -> t.CampaignRow:
        row = await session.get(C, campaign_id)
        if row is None or row.tenant_id != self.ctx.tenant_id:
            raise NotFound("campaign", campaign_id)
        return row

    async def _steps(
        self, session: AsyncSession, campaign_id: int
    ) -> builtins.list[t.CampaignStepRow]:
        query = select(S).where(S.campaign_id == campaign_id).order_by(S.position)
        return list((await session.execute(query)).scalars())

    async def _campaign(self, session: AsyncSession, row: t.CampaignRow) -> Campaign:
        T = t.MessageTemplateRow
        query = (
            select(S, T.template_name)
            .outerjoin(T, T.id == S.template_id)
            .where(S.campaign_id == row.id)
            .order_by(S.position)
        )
        steps = tuple(
            CampaignStep(
                position=step.position,
                channel=step.channel_type,
                delay_seconds=step.delay_seconds,
                template=name or "",
                condition=step.condition,
            )
            for step, name in (await session.execute(query)).all()
        )
        return Campaign(
            id=row.id,
            name=row.name,
            status=row.status,
            steps=steps,
            variables=row.variables or {},
            created_at=row.created_at,
        )


_FAILED = (
    OutboxStatus.FAILED,
    OutboxStatus.EXPIRED,
    OutboxStatus.CANCELLED,
    OutboxStatus.UNKNOWN,
)


async def _step_sends(
    session: AsyncSession, enrolment_ids: list[int]
) -> dict[tuple[int, int], tuple[str, datetime | None]]:
    """(enrolment, step) → the step's outbox status and ``not_before``."""
    if not enrolment_ids:
        return {}
    Ob = t.OutboxRow
    query = select(Ob.campaign_enrolment_id, Ob.idempotency_key, Ob.status, Ob.not_before).where(
        Ob.campaign_enrolment_id.in_(enrolment_ids), Ob.purpose == "campaign"
    )
    return {
        (enrolment_id, int(key.rsplit(":", 1)[1])): (status, not_before)
        for enrolment_id, key, status, not_before in (await session.execute(query)).all()
        if enrolment_id is not None
    }


def _send_state(status: str, not_before: datetime | None, now: datetime) -> str:
    if status == OutboxStatus.SENT:
        return "sent"
    if status in _FAILED:
        return "failed"
    if status == OutboxStatus.HELD or (not_before is not None and not_before > now):
        return "deferred"
    return "queued"


def _progress(
    campaign: t.CampaignRow,
    step_count: int,
    enrolments: Sequence[t.CampaignEnrolmentRow],
    sends: dict[tuple[int, int], tuple[str, datetime | None]],
    now: datetime,
) -> CampaignProgress:
    empty = {"waiting": 0, "queued": 0, "deferred": 0, "sent": 0, "failed": 0}
    counts = [{**empty, "skipped": 0, "left": 0} for _ in range(step_count)]
    for enrolment in enrolments:
        for position in range(min(enrolment.current_step, step_count)):
            send = sends.get((enrolment.id, position))
            state = _send_state(*send, now) if send else "skipped"
            counts[position][state] += 1
        if enrolment.current_step < step_count:
            if enrolment.status == EnrolmentStatus.ACTIVE:
                counts[enrolment.current_step]["waiting"] += 1
            elif enrolment.status == EnrolmentStatus.LEFT:
                counts[enrolment.current_step]["left"] += 1
    statuses = Counter(e.status for e in enrolments)
    reasons = Counter(e.left_reason for e in enrolments if e.status == EnrolmentStatus.LEFT)
    return CampaignProgress(
        campaign_id=campaign.id,
        status=campaign.status,
        enrolled=len(enrolments),
        active=statuses[EnrolmentStatus.ACTIVE],
        completed=statuses[EnrolmentStatus.COMPLETED],
        left=statuses[EnrolmentStatus.LEFT],
        left_reasons={str(k): v for k, v in reasons.items()},
        steps=tuple(StepProgress(position=i, **count) for i, count in enumerate(counts)),
    )
