"""Varied inputs for the orchestrator's ``decide``, built once, so that only deciding is timed.

Imported only when ``core.orchestrator`` is part of the build.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from core.analytics.engagement import ChannelEngagement
from core.bench.context import BenchContext
from core.bench.results import Summary
from core.domain.decision import ReplyDraft
from core.domain.enums import Channel, MessageType, Urgency
from core.orchestrator.context import RoutingContext
from core.orchestrator.decide import decide

CONTEXTS = 10_000
_TEXTS = (
    "Bonjour, votre rendez-vous est confirmé pour demain à 10h.",
    "Rappel : visite demain à 14h. Répondez OUI pour confirmer.",
    "Voici le dossier de location demandé. " * 12,
    "Hello, your viewing is confirmed for tomorrow at 11:00.",
    "Nouvelle propriété disponible près de chez vous : trois pièces, balcon, 1 250 € CC.",
)


def _contacts(rng: random.Random, number: int) -> dict[Channel, str]:
    phone = f"+336{number % 100_000_000:08d}"
    contacts = {Channel.EMAIL: f"p{number}@example.fr"} if rng.random() < 0.8 else {}
    if rng.random() < 0.85:
        contacts |= {Channel.SMS: phone, Channel.VOICE: phone}
    if rng.random() < 0.4:
        contacts[Channel.WHATSAPP] = phone
    if rng.random() < 0.2:
        contacts[Channel.TELEGRAM] = str(100_000 + number)
    return contacts or {Channel.EMAIL: f"p{number}@example.fr"}


def _engagement(rng: random.Random) -> dict[Channel, ChannelEngagement]:
    found = {}
    for channel in Channel:
        sent = rng.choice((0, 0, 2, 5, 20))
        replied = rng.randint(0, sent)
        rate = (replied + 1) / (sent + 3)
        found[channel] = ChannelEngagement(channel, sent, replied, rate, 1 / 3, 600.0)
    return found


def inputs(count: int = CONTEXTS, seed: int = 11) -> list[tuple[RoutingContext, ReplyDraft]]:
    """``count`` contexts: contacts, opt-outs, history, hours of the day and week, budgets."""
    rng = random.Random(seed)
    start = datetime(2026, 3, 9, tzinfo=UTC)
    made = []
    for number in range(count):
        contacts = _contacts(rng, number)
        urgency = rng.choice(list(Urgency))
        kind = rng.choice(list(MessageType))
        context = RoutingContext(
            now=start + timedelta(minutes=rng.randrange(7 * 24 * 60)),
            contacts=contacts,
            enabled=frozenset(c for c in Channel if rng.random() < 0.9),
            prospect_id=number,
            prospect_name="Marie Dupont",
            message_type=kind,
            urgency=urgency,
            preferred_channel=rng.choice([None, *contacts]),
            opted_out=frozenset(c for c in contacts if rng.random() < 0.05),
            last_inbound_channel=rng.choice([None, *contacts]),
            engagement=_engagement(rng),
            monthly_budget=Decimal("300"),
            spent_this_month=Decimal(rng.randrange(0, 320)),
        )
        draft = ReplyDraft(text=rng.choice(_TEXTS), urgency=urgency, message_type=kind)
        made.append((context, draft))
    return made


def orchestrator_rates(
    ctx: BenchContext, rates: Callable[[BenchContext, Callable[[], int]], Summary]
) -> Summary:
    """Decisions per second over the prepared inputs (one core, inputs already loaded)."""
    prepared = inputs()

    def run() -> int:
        for context, draft in prepared:
            decide(context, draft)
        return len(prepared)

    return rates(ctx, run)


async def loaded_rate(url: str, tenant: str, chunk: int) -> tuple[float, int]:
    """Decisions per second over the dataset's prospects, each context loaded from ``url`` in
    chunks (tenant inputs once), and how many prospects were decided."""
    import time

    from sqlalchemy import select

    from core.config.settings import OrchestratorSettings
    from core.orchestrator.loader import load_contexts, load_tenant_inputs
    from core.storage import tables as t
    from core.storage.database import Database

    draft = ReplyDraft(text=_TEXTS[0], message_type=MessageType.MARKETING)
    db = await Database.open(url, upgrade=False)
    try:
        async with db.session() as session:
            tenant_id = (
                await session.execute(select(t.TenantRow.id).where(t.TenantRow.slug == tenant))
            ).scalar_one()
            ids = list(
                (await session.execute(select(t.ProspectRow.id).order_by(t.ProspectRow.id)))
                .scalars()
                .all()
            )
        now = datetime(2026, 3, 10, 10, tzinfo=UTC)
        start = time.perf_counter()
        async with db.session() as session:
            inputs = await load_tenant_inputs(session, tenant_id, OrchestratorSettings(), now)
            for first in range(0, len(ids), chunk):
                query = select(t.ProspectRow).where(
                    t.ProspectRow.id.in_(ids[first : first + chunk])
                )
                prospects = list((await session.execute(query)).scalars())
                contexts = await load_contexts(
                    session, inputs, prospects, now, message_type=MessageType.MARKETING
                )
                for context in contexts.values():
                    decide(context, draft)
        elapsed = time.perf_counter() - start
    finally:
        await db.close()
    return len(ids) / elapsed, len(ids)
