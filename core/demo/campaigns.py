"""The demo's campaign and A/B test, run through the product's own services.

The campaign is created, started and run at the times it would have run (a moving clock), its
steps sent by the outbox worker to the demo provider (``core.demo.delivery``), so its progress is
what the engine made of the demo prospects — those who replied since enrolling left it, the
"opened the e-mail" step skipped those who did not. The A/B test sent its template weeks ago and
is over; its results are counted from the demo's conversations like any test's.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time, timedelta

from sqlalchemy import select

from core.campaigns.model import CampaignDraft, Condition, StepDraft
from core.demo.delivery import DemoDelivery
from core.demo.script import PARIS
from core.domain.enums import Channel
from core.outbox.worker import OutboxWorker
from core.service import InboxService
from core.storage import tables as t
from core.storage.database import Database

CAMPAIGN_NAME = "Relance visites"
AB_TEST_NAME = "Relance : SMS ou e-mail ?"
_DAY = timedelta(days=1)


class _Clock:
    """A clock the seeder moves forward, as time would have passed."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


def morning(now: datetime, days_ago: int) -> datetime:
    """10:30 in Paris, ``days_ago`` days before ``now`` (inside the agency's sending hours)."""
    day = now.astimezone(PARIS).date() - timedelta(days=days_ago)
    return datetime.combine(day, time(10, 30), PARIS).astimezone(now.tzinfo)


async def seed_campaigns(db: Database, tenant: str, now: datetime) -> None:
    """Run the demo campaign and A/B test up to ``now``."""
    clock = _Clock(now)
    service = await InboxService.connect(db, tenant, clock=clock)
    reachable = await _reachable(service)
    await _ab_test(service, clock, reachable[:24], now)
    quiet = await _quiet_since(service, reachable, morning(now, 4))
    await _campaign(service, clock, quiet[:10], now)


async def _reachable(service: InboxService) -> list[int]:
    """French-speaking prospects with a phone and an e-mail address, in order of creation."""
    P = t.ProspectRow
    query = (
        select(P.id, P.opted_out_channels, P.language)
        .where(P.tenant_id == service.ctx.tenant_id, P.merged_into_id.is_(None))
        .where(P.phone.is_not(None), P.email.is_not(None))
        .order_by(P.id)
    )
    async with service.ctx.db.session() as session:
        rows = (await session.execute(query)).all()
    return [pid for pid, opted_out, language in rows if not opted_out and language != "en"]


async def _quiet_since(service: InboxService, prospects: list[int], since: datetime) -> list[int]:
    """Those of ``prospects`` with no message either way since ``since`` (to follow up)."""
    M = t.MessageRow
    query = select(M.prospect_id).where(M.prospect_id.in_(prospects), M.created_at >= since)
    async with service.ctx.db.session() as session:
        busy = set((await session.execute(query)).scalars())
    return [pid for pid in prospects if pid not in busy]


async def _campaign(service: InboxService, clock: _Clock, prospects: list[int], now: datetime):
    """SMS, then an e-mail to those who did not answer, then a new listing to those who opened it;
    a first group enrolled four days ago, a second one yesterday."""
    campaign = await service.campaigns.create(
        CampaignDraft(
            name=CAMPAIGN_NAME,
            steps=[
                StepDraft(channel=Channel.SMS, template="follow_up"),
                StepDraft(
                    channel=Channel.EMAIL,
                    delay_seconds=2 * 86400,
                    template="follow_up",
                    condition=Condition.NO_REPLY,
                ),
                StepDraft(
                    channel="auto",
                    delay_seconds=86400,
                    template="new_property_alert",
                    condition=Condition.EMAIL_OPENED,
                ),
            ],
            variables={
                "agent_name": "Camille",
                "property_address": "12 rue des Lilas, Lyon 6e",
                "property_price": "385 000 €",
            },
        )
    )
    first, second = prospects[:6], prospects[6:]
    start = morning(now, 4)
    await _at(service, clock, start, lambda: service.campaigns.enrol(campaign.id, first))
    await _at(service, clock, start, lambda: service.campaigns.start(campaign.id))
    for moment in (start, start + 2 * _DAY + timedelta(minutes=5)):
        await _run(service, clock, moment)
    later = morning(now, 1)
    await _at(service, clock, later, lambda: service.campaigns.enrol(campaign.id, second))
    for moment in (start + 3 * _DAY + timedelta(minutes=10), later):
        await _run(service, clock, moment)


async def _ab_test(service: InboxService, clock: _Clock, prospects: list[int], now: datetime):
    """SMS against e-mail for a follow-up, on the response rate; over a week ago."""
    clock.at = morning(now, 12)
    await service.abtests.run_ab_test(
        {
            "A": {"channel": "sms", "variables": {"agent_name": "Camille"}},
            "B": {"channel": "email", "variables": {"agent_name": "Camille"}},
        },
        "response_rate",
        duration=7,
        prospect_ids=prospects,
        template="follow_up",
        seed=7,
        name=AB_TEST_NAME,
    )
    await _drain(service)


async def _at(service: InboxService, clock: _Clock, moment: datetime, action: Callable) -> None:
    clock.at = moment
    await action()


async def _run(service: InboxService, clock: _Clock, moment: datetime) -> None:
    """What the engine does at ``moment``: run the due steps, and the outbox sends them."""
    clock.at = moment
    await service.campaigns.run_due(moment)
    await _drain(service)


async def _drain(service: InboxService) -> None:
    await OutboxWorker(service.ctx, DemoDelivery()).drain()
