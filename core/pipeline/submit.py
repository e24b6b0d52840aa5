"""The one path to the prospect: requests -> render per channel -> decide -> enqueue.

``submit`` takes a batch (a broadcast chunk) as naturally as one message: what is the same for
every request (the tenant's inputs and providers, the keys already queued, the prospects) is
loaded once per call, not once per message.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, cast

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.config.settings import OrchestratorSettings
from core.domain.decision import Decision, ReplyDraft
from core.domain.enums import DEFAULT_PROVIDER, Channel, Direction, MessageStatus, Urgency
from core.errors import InvalidInput
from core.events import ConversationChanged, Event, MessageChanged, OutboxQueued
from core.i18n import t as tr
from core.orchestrator.context import RoutingContext
from core.orchestrator.decide import decide
from core.orchestrator.loader import (
    ProspectFacts,
    TenantInputs,
    load_context,
    load_facts,
    load_tenant_inputs,
    with_spending,
)
from core.orchestrator.per_channel import decide_per_channel
from core.outbox.drafts import Prepared, check_length, prepare
from core.outbox.payload import build_payload, hold_policy
from core.pipeline import bulk, queue
from core.pipeline.bulk import Pending
from core.pipeline.policy import ALLOWED, batch_check, is_held, mark_held, policy_check
from core.pipeline.render import (
    Rendered,
    as_carried,
    has_content,
    in_thread,
    render_channels,
    whatsapp_later,
)
from core.pipeline.request import OutgoingRequest, Rendering
from core.pipeline.shared import Shared
from core.storage import tables as t
from core.storage.timeline import (
    append_message,
    conversation_for,
    latest_conversations,
    open_conversation,
)

log = logging.getLogger(__name__)

#: Requests ``plan`` decides between two turns of the event loop. Deciding a chunk awaits no
#: I/O, so without them the previous chunk's write, which needs a turn of the loop between
#: each of its statements, waited for the whole chunk to be decided: the broadcast's write
#: was then mostly done after the planning instead of beside it (PERFORMANCE.md,
#: "Session 12").
YIELD_EVERY = 10


@dataclass
class Outcome:
    """What became of one request.

    ``status``: queued, scheduled, held (quiet hours or the automation policy), refused (no
    channel can carry it: ``decision.blocked`` says why), quiet (the automation policy said
    no: ``reason``), duplicate (its key was queued before).
    """

    request: OutgoingRequest
    status: str
    decision: Decision | None = None
    message: t.MessageRow | None = None
    row: t.OutboxRow | None = None
    conversation: t.ConversationRow | None = None
    context: RoutingContext | None = None
    reason: str | None = None
    #: The ids of what was queued (set with or without ORM rows, once written).
    message_id: int | None = None
    row_id: int | None = None
    conversation_id: int | None = None
    #: A message and its outbox row were queued (written with the batch).
    written: bool = False

    @property
    def queued(self) -> bool:
        """Whether a message was queued (whatever its hold)."""
        return self.written

    @property
    def why(self) -> str:
        """Why nothing was queued, in the agent's language."""
        if self.reason:
            return self.reason
        blocked = self.decision.blocked if self.decision is not None else ()
        return "; ".join(r.text for r in blocked) or tr("orchestrator.blocked.no_channel")


@dataclass
class _Batch:
    """What the requests of one ``submit`` call share."""

    inputs: dict[int, TenantInputs]
    providers: dict[int, dict[Channel, str]]
    prospects: dict[int, t.ProspectRow]
    existing: set[str]
    #: The history facts of the batch's prospects, loaded set-based (``load_facts``).
    facts: dict[int, ProspectFacts] = field(default_factory=dict)
    #: The prospects' latest conversation per channel (and those the batch opens): ORM rows,
    #: or ``bulk.Thread`` when the batch writes without them.
    conversations: dict[tuple[int, Channel], Any] = field(default_factory=dict)
    #: What the batch queued, in order: written at its end (one flush, or ``pending``).
    written: list[Outcome] = field(default_factory=list)
    #: The batch's rows as plain values (``rows=False``), else None (ORM rows).
    pending: Pending | None = None
    #: What the batch's requests share (chunk facts, prepared drafts).
    shared: Shared = field(default_factory=lambda: Shared(flushes=True))


async def submit(
    session: AsyncSession,
    requests: Iterable[OutgoingRequest],
    *,
    now: datetime,
    settings: OrchestratorSettings | None = None,
    events: list[Event] | None = None,
    inputs: TenantInputs | None = None,
    rows: bool = True,
) -> list[Outcome]:
    """Render, decide and queue every request in ``session``'s transaction (one outcome each,
    in order). Nothing is sent here: the outbox worker sends.

    ``events`` receives the thread changes to publish after commit. ``inputs`` reuses a
    tenant's inputs the caller already loaded.

    ``rows=False`` writes the same rows without ORM objects (``core.pipeline.bulk``: one
    INSERT per table, at the end) and outcomes carry their ids only (``message_id``,
    ``row_id``, ``conversation_id``): for a large batch whose caller reads no rows (a broadcast
    chunk). The session must then hold no ORM row of the prospects' conversations (it would not
    see the batch's changes to them). A batch in which a request reads what an earlier one
    wrote (automated or direct requests, a prospect twice) is written with ORM rows anyway.

    Raises:
        InvalidInput: a request with ``on_refused="raise"`` cannot be sent (the message says
            why), or its draft is invalid (unknown template, missing variable, empty).
    """
    requests = list(requests)
    settings = settings or OrchestratorSettings()
    events = events if events is not None else []
    batch = await _load_batch(session, requests, now, settings, inputs, rows)
    outcomes = await _decided(session, requests, batch, now, events)
    return await _written(session, Plan(batch, outcomes, []), events)


@dataclass
class Plan:
    """A plain batch read and decided (``plan``), not yet written (``write_plan``)."""

    batch: _Batch
    outcomes: list[Outcome]
    #: Events the deciding gave (the automation policy's), published with the writes'.
    events: list[Event]


async def plan(
    session: AsyncSession,
    requests: Iterable[OutgoingRequest],
    *,
    now: datetime,
    settings: OrchestratorSettings | None = None,
) -> Plan | None:
    """The reads and decisions of ``submit(..., rows=False)``, without writing: ``session``
    only reads, and ``write_plan`` writes the batch later in a transaction of its own (a
    broadcast reads and decides its next chunk while the last one is written). None when the
    batch is not plain (``_plain_batch``: a request reads what an earlier one writes): such a
    batch goes through ``submit``.

    What was read can change before ``write_plan`` as it can between ``submit``'s reads and
    its first write (SQLite reads outside the write lock): the outbox's unique idempotency key
    still refuses a second row for a key.

    Raises:
        InvalidInput: as ``submit``.
    """
    requests = list(requests)
    if not _plain_batch(requests):
        return None
    settings = settings or OrchestratorSettings()
    events: list[Event] = []
    batch = await _load_batch(session, requests, now, settings, None, rows=False)
    outcomes = await _decided(session, requests, batch, now, events, yielding=True)
    return Plan(batch, outcomes, events)


async def write_plan(session: AsyncSession, plan: Plan, events: list[Event]) -> list[Outcome]:
    """Write a ``plan``'s batch in ``session``'s transaction; its outcomes, with their ids
    (``events`` receives the thread changes to publish after commit, as with ``submit``)."""
    events += plan.events
    return await _written(session, plan, events)


async def _decided(
    session: AsyncSession,
    requests: list[OutgoingRequest],
    batch: _Batch,
    now: datetime,
    events: list[Event],
    *,
    yielding: bool = False,
) -> list[Outcome]:
    """Each request rendered, decided and queued in ``batch`` (written by ``_written``);
    ``yielding``, the event loop gets a turn every ``YIELD_EVERY`` requests."""
    check = await batch_check(session, requests, now, policy_check())
    outcomes = []
    for index, request in enumerate(requests, 1):
        outcome = await _one(session, request, batch, now, events, check)
        outcomes.append(outcome)
        if yielding and index % YIELD_EVERY == 0:
            await asyncio.sleep(0)
    return outcomes


async def _written(session: AsyncSession, plan: Plan, events: list[Event]) -> list[Outcome]:
    """Write what ``plan``'s batch queued; the events of its changes; its outcomes."""
    batch, outcomes = plan.batch, plan.outcomes
    await _write(session, batch)
    for outcome in batch.written:
        assert outcome.message_id is not None and outcome.conversation_id is not None
        events += [
            MessageChanged(outcome.message_id, outcome.conversation_id),
            ConversationChanged(outcome.conversation_id),
        ]
    if any(outcome.queued for outcome in outcomes):
        events.append(OutboxQueued())  # idle outbox workers, in every process, look now
    return outcomes


async def _write(session: AsyncSession, batch: _Batch) -> None:
    """Write what the batch queued (a statement per table) and give its outcomes their ids."""
    if batch.pending is not None:
        ids = await batch.pending.write(session)
        for outcome, (message_id, row_id, conversation_id) in zip(batch.written, ids, strict=True):
            outcome.message_id, outcome.row_id = message_id, row_id
            outcome.conversation_id = conversation_id
        return
    if not batch.written:
        return
    await session.flush()  # the batch's conversations, messages and rows, a statement each
    for outcome in batch.written:
        assert outcome.message is not None and outcome.row is not None
        assert outcome.conversation is not None
        outcome.message_id, outcome.row_id = outcome.message.id, outcome.row.id
        outcome.conversation_id = outcome.conversation.id


async def preview(
    session: AsyncSession,
    request: OutgoingRequest,
    *,
    now: datetime,
    settings: OrchestratorSettings | None = None,
    inputs: TenantInputs | None = None,
) -> Outcome:
    """What ``submit`` would decide for ``request``, without queuing anything (the composer's
    decision preview). The automation policy is not asked.

    Raises:
        InvalidInput: the draft is invalid (unknown template, missing variable, empty).
    """
    settings = settings or OrchestratorSettings()
    batch = await _load_batch(session, [request], now, settings, inputs)
    prospect = batch.prospects.get(request.prospect_id)
    if prospect is None or prospect.tenant_id != request.tenant_id:
        return _refuse(request, None, tr("pipeline.error.no_prospect"))
    inputs = batch.inputs[request.tenant_id]
    return await _routed(session, request, prospect, inputs, {}, now, [], ALLOWED, write=False)


async def _load_batch(
    session: AsyncSession,
    requests: list[OutgoingRequest],
    now: datetime,
    settings: OrchestratorSettings,
    inputs: TenantInputs | None,
    rows: bool = True,
) -> _Batch:
    plain = not rows and _plain_batch(requests)
    tenants = {r.tenant_id for r in requests if not r.direct}  # Sara's answers need none
    loaded: dict[int, TenantInputs] = {}
    providers: dict[int, dict[Channel, str]] = {}
    for tenant in tenants:
        if inputs is not None and inputs.tenant_id == tenant:
            loaded[tenant] = inputs
        else:
            loaded[tenant] = await load_tenant_inputs(session, tenant, settings, now)
        providers[tenant] = await tenant_providers(session, tenant)
    ids = {r.prospect_id for r in requests if r.prospect_id and not r.direct}
    prospects: dict[int, Any] = {}
    if ids:
        prospects = await _prospects(session, ids, plain)
    keys = [r.key for r in requests if r.key]
    existing: set[str] = set()
    if keys:
        found = await session.execute(
            select(t.OutboxRow.idempotency_key).where(t.OutboxRow.idempotency_key.in_(keys))
        )
        existing = set(found.scalars())
    facts = await _batch_facts(session, requests, loaded, prospects)
    if not plain:
        conversations = await latest_conversations(session, prospects)
        return _Batch(loaded, providers, prospects, existing, facts, conversations)
    threads = await bulk.latest_threads(session, prospects)
    return _Batch(
        loaded,
        providers,
        prospects,
        existing,
        facts,
        threads,
        pending=Pending(),
        shared=Shared(flushes=False),
    )


async def _prospects(session: AsyncSession, ids: set[int], plain: bool) -> dict[int, Any]:
    """The batch's prospects by id: ORM rows, or (``plain``) rows of values read alike."""
    P = t.ProspectRow
    if plain:
        found = await session.execute(select(*P.__table__.c).where(P.id.in_(ids)))
        return {p.id: p for p in found}
    return {p.id: p for p in (await session.execute(select(P).where(P.id.in_(ids)))).scalars()}


def _plain_batch(requests: list[OutgoingRequest]) -> bool:
    """Whether a batch may be written without ORM rows: no request reads what an earlier one
    of the batch wrote (the automation policy's counts, a prospect's own earlier message, a
    direct answer's conversation), since those rows are only written at the batch's end."""
    prospects = [r.prospect_id for r in requests]
    plain = not any(r.automated or r.direct or r.conversation_id for r in requests)
    return plain and len(set(prospects)) == len(prospects)


async def _batch_facts(
    session: AsyncSession,
    requests: list[OutgoingRequest],
    inputs: dict[int, TenantInputs],
    prospects: dict[int, t.ProspectRow],
) -> dict[int, ProspectFacts]:
    """History facts of a batch's prospects in three queries per tenant instead of three per
    request. A prospect with several requests in the batch is left to ``load_context``: its
    own earlier messages of the batch may change them."""
    wanted = Counter(r.prospect_id for r in requests if not r.direct and r.context is None)
    if len(wanted) < 2:
        return {}
    by_tenant: dict[int, list[int]] = {}
    for pid, count in wanted.items():
        prospect = prospects.get(pid)
        if count == 1 and prospect is not None and prospect.tenant_id in inputs:
            by_tenant.setdefault(prospect.tenant_id, []).append(pid)
    facts: dict[int, ProspectFacts] = {}
    for tenant, ids in by_tenant.items():
        facts |= await load_facts(session, inputs[tenant], ids)
    return facts


async def tenant_providers(session: AsyncSession, tenant_id: int) -> dict[Channel, str]:
    """The provider the tenant set up for each channel (the outbox row records it)."""
    rows = await session.execute(
        select(t.ChannelRow.channel_type, t.ChannelRow.provider).where(
            t.ChannelRow.tenant_id == tenant_id
        )
    )
    return {Channel(c): p for c, p in rows}


async def _one(
    session: AsyncSession,
    request: OutgoingRequest,
    batch: _Batch,
    now: datetime,
    events: list[Event],
    check: Any,
) -> Outcome:
    if request.key and request.key in batch.existing:
        return Outcome(request, "duplicate")
    prospect = batch.prospects.get(request.prospect_id)
    if not request.direct and (prospect is None or prospect.tenant_id != request.tenant_id):
        return _refuse(request, None, tr("pipeline.error.no_prospect"))
    verdict: Any = ALLOWED
    if request.automated:
        verdict = await check(session, request, now)
        events.extend(getattr(verdict, "events", ()) or ())
        if not verdict.allowed and not is_held(verdict):
            reason = getattr(verdict, "reason", None)
            log.info("automation policy kept %s quiet: %s", request.kind, reason)
            return Outcome(request, "quiet", reason=str(reason) if reason else None)
    if request.key:
        batch.existing.add(request.key)
    if request.direct:
        return await _direct(session, request, now, events, verdict, batch)
    inputs = batch.inputs[request.tenant_id]
    providers = batch.providers[request.tenant_id]
    assert prospect is not None
    outcome = await _routed(
        session,
        request,
        prospect,
        inputs,
        providers,
        now,
        events,
        verdict,
        facts=batch.facts.get(prospect.id),
        batch=batch,
    )
    if outcome.decision is not None and outcome.queued:
        batch.inputs[request.tenant_id] = with_spending(inputs, outcome.decision.estimated_cost)
    return outcome


async def _routed(
    session: AsyncSession,
    request: OutgoingRequest,
    prospect: t.ProspectRow,
    inputs: TenantInputs,
    providers: dict[Channel, str],
    now: datetime,
    events: list[Event],
    verdict: Any,
    *,
    write: bool = True,
    facts: ProspectFacts | None = None,
    batch: _Batch | None = None,
) -> Outcome:
    due = request.due_at if request.due_at is not None and request.due_at > now else now
    shared = batch.shared if batch is not None else None
    prepared = await _prepare(session, request, prospect, inputs, shared)
    conversation = await _conversation(session, request)
    template_id = prepared.draft.template_id if prepared.template else None
    context = request.context or await load_context(
        session,
        inputs,
        prospect,
        due,
        message_type=prepared.draft.message_type,
        urgency=prepared.draft.urgency,
        conversation=conversation,
        template_id=template_id,
        allowed=request.allowed,
        preferred=request.preferred,
        facts=facts,
        shared=await shared.chunk_facts(session, inputs, due, now, template_id)
        if shared is not None
        else None,
    )
    candidates = frozenset(context.contacts) & (context.enabled | {Channel.VOICE})
    rendered = await render_channels(session, request, prepared, context, candidates)
    context = _narrowed(context, rendered, candidates)
    decision = _choose(context, rendered, request)
    if decision.channel is None:
        if not write:
            return Outcome(request, "refused", decision, context=context)
        return _refused(session, request, decision, context, now, batch)
    channel = decision.channel
    if request.check_length:
        check_length(rendered.drafts()[channel], channel)
    if request.no_alternatives:
        decision = decision.model_copy(update={"alternatives": ()})
    if not write:
        return Outcome(request, "preview", decision, conversation=conversation, context=context)
    if conversation is None or Channel(conversation.channel_type) != channel:
        conversation = await _conversation_on(
            session, prospect, channel, context.contacts.get(channel), batch
        )
    payload = _payload(request, prepared, rendered, context, channel, shared)
    planned = queue.plan(
        conversation,
        request,
        decision,
        payload,
        now,
        providers=providers,
        held_by_policy=not verdict.allowed,
        records=batch.shared.records if batch is not None else None,
    )
    if payload.get("template_name"):
        planned.message["meta"]["template"] = payload["template_name"]
    if batch is not None:
        batch.shared.count(request.tenant_id, channel, request.message_kind)
    if batch is not None and batch.pending is not None:
        status = _pending(batch.pending, conversation, planned, verdict)
        outcome = Outcome(request, status, decision, context=context, written=True)
        batch.written.append(outcome)
        return outcome
    message, row = await queue.write(session, conversation, planned, flush=batch is None)
    if not verdict.allowed:
        mark_held(message, row, verdict)
    outcome = Outcome(
        request,
        str(message.status),
        decision,
        message,
        row,
        conversation,
        context=context,
        written=True,
    )
    if batch is not None:
        batch.written.append(outcome)
    else:
        outcome.message_id, outcome.row_id = message.id, row.id
        outcome.conversation_id = conversation.id
        events += [
            MessageChanged(message.id, conversation.id),
            ConversationChanged(conversation.id),
        ]
    return outcome


def _pending(pending: Pending, conversation: Any, planned: queue.Planned, verdict: Any) -> str:
    """Queue ``planned`` with the batch's plain values; the message's status."""
    assert isinstance(conversation, bulk.Thread), "a plain batch reads no ORM conversation"
    message, row = pending.queue(conversation, planned)
    if not verdict.allowed:  # the policy marks the values as it marks ORM rows
        mark_held(cast(t.MessageRow, message), cast(t.OutboxRow, row), verdict)
    return str(message.status)


async def _conversation_on(
    session: AsyncSession,
    prospect: t.ProspectRow,
    channel: Channel,
    identifier: str | None,
    batch: _Batch | None,
) -> Any:
    """The prospect's current conversation on ``channel`` (opened if none): from the batch's
    prefetched conversations, a new one left pending for the batch's single flush (or its
    ``pending`` values)."""
    if batch is None:
        return await conversation_for(session, prospect, channel, identifier)
    key = (prospect.id, channel)
    found = batch.conversations.get(key)
    if found is None:
        if batch.pending is not None:
            found = batch.pending.open(bulk.open_thread(prospect, channel, identifier))
        else:
            found = await open_conversation(
                session, prospect, channel, identifier=identifier, flush=False
            )
        batch.conversations[key] = found
    return found


async def _prepare(
    session: AsyncSession,
    request: OutgoingRequest,
    prospect: t.ProspectRow,
    inputs: TenantInputs,
    shared: Shared | None = None,
) -> Prepared:
    """The request's draft, rendered, with its priority (``ORCHESTRATOR_DEFAULT_PRIORITY``
    when neither the request nor the draft states one); once per batch for requests of the
    same draft (``shared``)."""
    draft = request.draft or ReplyDraft()
    urgency = request.priority
    if urgency is None and "urgency" not in draft.model_fields_set:
        urgency = Urgency(inputs.orchestrator.default_priority)
    only_draft = not (request.renderings or request.renderer)
    key = None
    if shared is not None and request.draft is not None and only_draft:
        key = shared.draft_key(request.draft, urgency, prospect, inputs)
        found = shared.prepared.get(key)
        if found is not None:
            return found
    if urgency is not None:
        draft = draft.model_copy(update={"urgency": urgency})
    if request.draft is not None and (only_draft or has_content(draft)):
        prepared = await prepare(session, request.tenant_id, draft, prospect, inputs.settings)
        if key is not None and shared is not None:
            shared.keep(key, prepared)
        return prepared
    first = request.renderings.get(Channel.SMS) or next(iter(request.renderings.values()), None)
    if first is not None and not draft.text:
        draft = draft.model_copy(update={"text": first.text})
    return Prepared(draft)


async def _conversation(
    session: AsyncSession, request: OutgoingRequest
) -> t.ConversationRow | None:
    if request.conversation_id is None:
        return None
    conversation = await session.get(t.ConversationRow, request.conversation_id)
    if conversation is None or conversation.tenant_id != request.tenant_id:
        return None
    return conversation


def _narrowed(
    context: RoutingContext, rendered: Rendered, candidates: frozenset[Channel]
) -> RoutingContext:
    """Only the channels that can carry the message are allowed; an approved WhatsApp template
    lets WhatsApp out of the window."""
    updates: dict[str, Any] = {}
    template = rendered.by_channel.get(Channel.WHATSAPP)
    if template is not None and template.template and rendered.window_until is None:
        updates["whatsapp_template_approved"] = True
    carried = frozenset(rendered.by_channel)
    if candidates - carried:
        allowed = carried if context.allowed is None else context.allowed & carried
        updates["allowed"] = allowed
    return replace(context, **updates) if updates else context


def _choose(context: RoutingContext, rendered: Rendered, request: OutgoingRequest) -> Decision:
    """The orchestrator's decision, with the channels left out named in its warnings."""
    forced = request.channel
    if forced is not None and forced in rendered.left_out:
        reason = rendered.left_out[forced]
        return Decision(channel=None, reasons=(reason,), blocked=(reason,))
    drafts = rendered.drafts() if request.weigh_each_rendering else None

    def weigh(channel: Channel | None) -> Decision:
        if drafts is not None:  # each channel judged on its own text (length, cost)
            return decide_per_channel(context, drafts, channel)
        return decide(context, rendered.base, channel)

    decision = None
    if request.first_choice is not None and forced is None:
        decision = weigh(request.first_choice)
    if decision is None or decision.channel is None:
        decision = weigh(forced)
    if rendered.left_out:
        extra = tuple(rendered.left_out.values())
        update: dict[str, Any] = {"warnings": decision.warnings + extra}
        if decision.channel is None:
            update["blocked"] = decision.blocked + extra
        decision = decision.model_copy(update=update)
    return decision


def _payload(
    request: OutgoingRequest,
    prepared: Prepared,
    rendered: Rendered,
    context: RoutingContext,
    channel: Channel,
    shared: Shared | None = None,
) -> dict[str, Any]:
    """The row's payload: the chosen channel's rendering, each fallback channel's own
    (``variants``), every address, and the quiet rules the worker re-applies.

    With ``shared`` (a batch), the content part is worked out once for the requests whose
    renderings all come from the same prepared draft (``Shared.content_key``)."""
    payload = build_payload(
        prepared.draft,
        dict(context.contacts),
        policy=hold_policy(context.timezone, context.urgency, context.message_type),
    )
    key = shared.content_key(request, prepared, rendered, channel) if shared else None
    content = shared.contents.get(key) if shared is not None and key is not None else None
    if content is None:
        content = _content(request, prepared, rendered, channel, payload)
        if shared is not None and key is not None:
            shared.contents[key] = content
    payload |= content
    return payload


def _content(
    request: OutgoingRequest,
    prepared: Prepared,
    rendered: Rendered,
    channel: Channel,
    base: dict[str, Any],
) -> dict[str, Any]:
    """What ``_payload`` sets on top of ``build_payload``'s: the chosen channel's rendering,
    ``variants``, ``left_out``, the request's extra keys and the template's name, in order."""
    chosen = rendered.by_channel[channel]
    payload: dict[str, Any] = {}
    # Channels without an address here keep their rendering (the prospect may get one before a
    # fallback); a channel left out has none, so it can never be sent the wrong content.
    others = {c: r for c, r in request.renderings.items() if c not in rendered.left_out}
    carried = {**others, **rendered.by_channel}
    variants = {str(c): _variant(r, base) for c, r in carried.items()}
    if _plain(chosen, prepared.draft):
        # the row's content is the draft's: a channel written just like it needs no copy
        # (WhatsApp keeps its own while the window decides between free text and template)
        same = {
            str(c)
            for c, r in rendered.by_channel.items()
            if c not in request.renderings
            and c != channel
            and _plain(r, prepared.draft)
            and not (c == Channel.WHATSAPP and rendered.window_until is not None)
        }
        variants = {c: v for c, v in variants.items() if c not in same}
    later = whatsapp_later(request, prepared)
    whatsapp = variants.get(str(Channel.WHATSAPP))
    if whatsapp is not None and rendered.window_until is not None:
        # free-form until the window closes; a fallback after that sends the template or nothing
        whatsapp["window_until"] = rendered.window_until.isoformat()
        if later is not None:
            whatsapp["template_after"] = _variant(later, base)
    payload |= variants[str(channel)]
    payload["variants"] = variants
    payload["left_out"] = {str(c): r.model_dump(mode="json") for c, r in rendered.left_out.items()}
    payload.update(request.extra)
    if chosen.template_name:
        payload["template_name"] = chosen.template_name
    return payload


def _plain(rendering: Rendering, draft: ReplyDraft) -> bool:
    """Whether ``rendering`` is the draft's content as is (no template, files or buttons)."""
    return (
        rendering.template is None
        and not rendering.attachments
        and not rendering.buttons
        and (rendering.text, rendering.subject, rendering.html)
        == (draft.text, draft.subject, draft.html)
    )


def _variant(rendering: Rendering, base: dict[str, Any]) -> dict[str, Any]:
    out = rendering.payload()
    out.setdefault("attachments", base.get("attachments") or [])
    out.setdefault("buttons", [])
    out["template"] = rendering.template
    return out


def _refused(
    session: AsyncSession,
    request: OutgoingRequest,
    decision: Decision,
    context: RoutingContext,
    now: datetime,
    batch: _Batch | None,
) -> Outcome:
    outcome = Outcome(request, "refused", decision, context=context)
    if request.on_refused == "raise":
        why = outcome.why
        if request.channel is None:
            raise InvalidInput("channel", "auto", tr("orchestrator.error.no_channel", why=why))
        raise InvalidInput(
            "channel", str(request.channel), tr("orchestrator.error.channel_blocked", why=why)
        )
    if request.on_refused == "record":
        if batch is not None and batch.pending is not None:
            values = queue.refused_values(request, decision, now, batch.shared.records)
            batch.pending.record(values)
        else:
            session.add(queue.refused_row(request, decision, now))
    return outcome


def _refuse(request: OutgoingRequest, decision: Decision | None, why: str) -> Outcome:
    if request.on_refused == "raise":
        raise InvalidInput("prospect", request.prospect_id, why)
    return Outcome(request, "refused", decision, reason=why)


async def _direct(
    session: AsyncSession,
    request: OutgoingRequest,
    now: datetime,
    events: list[Event],
    verdict: Any = ALLOWED,
    batch: _Batch | None = None,
) -> Outcome:
    """An answer in the conversation the prospect just wrote in: that channel, now (or held,
    when the automation policy holds it). In a ``batch`` written with ORM rows, the message
    and its outbox row are inserted with the batch's others (its single flush, ``_write``)
    instead of one flush each."""
    deferred = batch is not None and batch.pending is None
    conversation = await _conversation(session, request)
    if conversation is None:
        return _refuse(request, None, tr("pipeline.error.no_conversation"))
    channel = Channel(conversation.channel_type)
    rendering = request.renderings.get(channel) or Rendering(
        text=(request.draft or ReplyDraft()).text,
        subject=(request.draft or ReplyDraft()).subject,
    )
    rendering = as_carried(rendering, channel)
    if channel == Channel.EMAIL and not rendering.subject:
        rendering = await in_thread(session, conversation.prospect_id, rendering)
    message = await append_message(
        session,
        conversation,
        direction=Direction.OUTBOUND,
        sender_type=request.sender,
        content=rendering.text,
        subject=rendering.subject,
        status=MessageStatus.QUEUED,
        meta={"pipeline": request.tag(), **request.meta},
        created_at=now,
        flush=not deferred,
    )
    to = conversation.channel_identifier
    payload = {
        "text": rendering.text,
        "subject": rendering.subject,
        **({"in_reply_to": rendering.in_reply_to} if rendering.in_reply_to else {}),
        "to": to,
        "contacts": {str(channel): to} if to else {},
        **({"buttons": list(rendering.buttons)} if rendering.buttons else {}),
        **request.extra,
    }
    provider = queue.written_through(conversation, channel)
    if provider is None and request.provider_for:
        provider = request.provider_for(channel)
    provider = provider or DEFAULT_PROVIDER[channel]
    row = queue.direct_row(request, message, channel, provider, payload, now)
    if message.id is None:
        row.message = message
    session.add(row)
    if not verdict.allowed:  # held by the automation policy: kept, never sent until released
        mark_held(message, row, verdict)
    if deferred:
        assert batch is not None
        outcome = Outcome(
            request, str(message.status), None, message, row, conversation, written=True
        )
        batch.written.append(outcome)  # its ids and change events come with ``_write``
        return outcome
    events += [MessageChanged(message.id, conversation.id), ConversationChanged(conversation.id)]
    return Outcome(
        request,
        str(message.status),
        None,
        message,
        row,
        conversation,
        message_id=message.id,
        conversation_id=conversation.id,
        written=True,
    )
