"""What the requests of one ``submit`` call share, worked out once for the batch.

- The chunk facts (``loader.chunk_facts``: the tenant's sends today on channels with a daily
  limit, whether the draft's template is an approved WhatsApp one) are read once per tenant,
  local day and template, and the batch's own messages are counted on top as it queues them, so
  that a daily limit holds within a batch as between batches.
- A draft is rendered once for every request with the same draft, urgency and template values
  (a broadcast's draft without template: once for the whole batch).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from core.domain.decision import ReplyDraft
from core.domain.enums import Channel, MessageKind
from core.orchestrator.hours import zone
from core.orchestrator.loader import ChunkFacts, TenantInputs, chunk_facts
from core.outbox.drafts import Prepared, variables_for
from core.pipeline.queue import Records
from core.pipeline.render import Rendered
from core.pipeline.request import OutgoingRequest
from core.storage import tables as t


@dataclass
class Shared:
    """A batch's shared facts and prepared drafts.

    ``flushes``: the batch's messages are flushed before each query (ORM rows, autoflush), so
    a query made after some of them counts those already; otherwise (plain values written at
    the batch's end) it counts none of them.
    """

    flushes: bool
    #: ``ChunkFacts`` by (tenant, local day or None, template), with the batch's counts when
    #: they were read.
    facts: dict[tuple[int, date | None, int | None], tuple[ChunkFacts, Counter[Any]]] = field(
        default_factory=dict
    )
    #: The batch's outgoing messages by (tenant, channel), as a daily limit counts them.
    sent: Counter[tuple[int, Channel]] = field(default_factory=Counter)
    prepared: dict[tuple[Any, ...], Prepared] = field(default_factory=dict)
    #: The batch's decisions as stored, each distinct one dumped once.
    records: Records = field(default_factory=Records)
    #: The content part of payloads by ``content_key`` (read only once made: rows share it).
    contents: dict[tuple[Any, ...], dict[str, Any]] = field(default_factory=dict)
    #: The ids of the prepared drafts held in ``prepared`` (so an id is not reused meanwhile).
    _held: set[int] = field(default_factory=set)

    async def chunk_facts(
        self,
        session: AsyncSession,
        inputs: TenantInputs,
        due: datetime,
        now: datetime,
        template_id: int | None,
    ) -> ChunkFacts:
        """``loader.chunk_facts`` at ``due`` with the batch's messages queued so far."""
        limited = [c for c, lim in inputs.settings.limits.items() if lim.daily_limit is not None]
        local = due.astimezone(zone(inputs.settings.timezone)) if limited else None
        key = (inputs.tenant_id, local.date() if local else None, template_id)
        found = self.facts.get(key)
        if found is None:
            read = await chunk_facts(session, inputs, due, template_id)
            found = self.facts[key] = (read, Counter(self.sent) if self.flushes else Counter())
        read, counted = found
        if local is None or now < datetime.combine(local.date(), time(0), tzinfo=local.tzinfo):
            return read  # the batch's messages (made now) are not of that day
        tenant = inputs.tenant_id
        extra = {c: self.sent[(tenant, c)] - counted[(tenant, c)] for c in limited}
        if not any(extra.values()):
            return read
        sent_today = dict(read.sent_today)
        for channel, count in extra.items():
            if count:
                sent_today[channel] = sent_today.get(channel, 0) + count
        return ChunkFacts(sent_today, read.template_approved)

    def count(self, tenant_id: int, channel: Channel, kind: str) -> None:
        """A message the batch queued (a daily limit counts messages, not calls or notes)."""
        if kind == MessageKind.MESSAGE:
            self.sent[(tenant_id, channel)] += 1

    def content_key(
        self, request: OutgoingRequest, prepared: Prepared, rendered: Rendered, channel: Channel
    ) -> tuple[Any, ...] | None:
        """What a payload's content depends on when every rendering comes from ``prepared``
        (a draft of the batch's, no rendering of the request's own, the WhatsApp window closed
        or unused): the prepared draft, the chosen channel, the channels that carry it and why
        the others cannot. None when it depends on more (not shared)."""
        own = request.renderings or request.renderer or request.whatsapp_template
        if own or request.extra or rendered.window_until is not None:
            return None
        if id(prepared) not in self._held:
            return None  # not one of the batch's prepared drafts: its id may be reused
        left = tuple(
            (c, r.key, tuple((k, repr(v)) for k, v in sorted(r.params.items())))
            for c, r in rendered.left_out.items()
        )
        return (id(prepared), channel, tuple(rendered.by_channel), left)

    def keep(self, key: tuple[Any, ...], prepared: Prepared) -> None:
        """Hold ``prepared`` for the requests of the same ``draft_key``."""
        self.prepared[key] = prepared
        self._held.add(id(prepared))

    def draft_key(
        self, draft: ReplyDraft, urgency: Any, prospect: t.ProspectRow, inputs: TenantInputs
    ) -> tuple[Any, ...]:
        """What a draft's rendering depends on: the draft (the batch's requests share one
        object), the urgency, and the values its template is rendered with (when it has one)."""
        key: tuple[Any, ...] = (inputs.tenant_id, id(draft), urgency)
        if draft.template_id is not None:
            key += tuple(variables_for(prospect, inputs.settings).items())
        return key
