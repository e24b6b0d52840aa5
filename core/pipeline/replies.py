"""Queuing Sara's messages for sending, in the ingest transaction, through the pipeline.

Sara's answers to the prospect are ``direct`` pipeline requests: in the conversation the
prospect just wrote in, now, after the automation policy had its say; each gets a thread item
(status QUEUED, sender ``sara``) the outbox worker moves along. Messages to someone other than
the prospect (a Telegram group, a forward address) are notices the pipeline queues as they are.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from core.domain.decision import ReplyDraft
from core.domain.enums import Channel, SenderType
from core.pipeline import Kind, Origin, OutgoingRequest, submit
from core.pipeline.queue import add_notice
from core.storage import tables as t
from core.storage.inbound_step import IngestStep

#: Sara's reply kinds that are acknowledgements rather than answers.
_ACKS = frozenset({"opt_out_ack", "rating", "cancel_gone"})


def kind_of(kind: str) -> Kind:
    """The pipeline kind of one of Sara's replies (``auto_reply``: the out-of-hours reply)."""
    if kind == "auto_reply":
        return Kind.OUT_OF_HOURS
    if kind in _ACKS or kind.endswith("_ack"):
        return Kind.SARA_ACK
    return Kind.SARA_ANSWER


#: Replies that answer the same thing: "already confirmed" repeats the confirmation.
_SAME_INTENT = {"already_confirmed": "confirm_ack"}


def intent_of(kind: str) -> str:
    """The automation policy's intent for a reply ``kind`` (``cmd_rdv`` -> ``command:rdv``)."""
    if kind.startswith("cmd_"):
        return "command:" + kind.removeprefix("cmd_")
    return _SAME_INTENT.get(kind, kind)


async def queue_reply(
    step: IngestStep,
    conversation: t.ConversationRow,
    text: str,
    *,
    kind: str,
    meta: dict[str, Any] | None = None,
    buttons: list[dict[str, str]] | None = None,
    callback: dict[str, Any] | None = None,
    about: str | None = None,
    later: bool = False,
) -> t.MessageRow | None:
    """Add Sara's reply to the thread and queue it on the conversation's channel; None when
    the automation policy keeps Sara quiet.

    ``kind`` names the reply (``confirm``, ``opt_out_ack``…); with the event id it forms the
    idempotency key, so a replayed event can never send twice. ``buttons`` (``{"id", "title"}``)
    become a Telegram inline keyboard; ``callback`` (``{"id", "text"}``) is the button tap the
    reply answers. ``about`` narrows what the automation policy answers once per window (an
    appointment, a survey, a tapped button: ``appointment:12``).

    ``later``: when the step's transaction collects its replies (``step.replies``, a
    ``DeferredReplies``), the request joins them and is submitted with the others, in one
    pipeline call, before the transaction commits (None is returned).
    """
    extra: dict[str, Any] = {
        # the one message allowed on a channel the prospect has just left
        **({"opt_out_ack": True} if kind == "opt_out_ack" else {}),
        **({"buttons": buttons} if buttons else {}),
        **({"callback": callback} if callback else {}),
    }
    request = OutgoingRequest(
        tenant_id=step.tenant_id,
        prospect_id=conversation.prospect_id,
        kind=kind_of(kind),
        origin=Origin.AUTOMATION,
        draft=ReplyDraft(text=text),
        conversation_id=conversation.id,
        direct=True,
        key=f"sara:{step.event_id}:{kind}",
        intent=intent_of(kind),
        about=about,
        answers_message_id=getattr(step, "answering", None),
        purpose="sara",
        sender_type=SenderType.SARA,
        meta={"sara": kind, **(meta or {}), **({"buttons": buttons} if buttons else {})},
        extra=extra,
        provider_for=step.provider_for,
    )
    if later and isinstance(step.replies, DeferredReplies):
        step.replies.items.append((request, step))
        return None
    # the policy's events (automation paused: the thread event, the agents' alert) go out too
    (outcome,) = await submit(step.session, [request], now=step.now, events=step.events)
    if outcome.message is not None:
        step.changed(outcome.message)
    return outcome.message


@dataclass
class DeferredReplies:
    """Replies of one ingest transaction queued together: one ``submit`` for all of them.

    The worker submits them (``submit_all``) before the transaction commits, and before an
    event that could depend on them (the same sender writing again) is applied.
    """

    items: list[tuple[OutgoingRequest, IngestStep]] = field(default_factory=list)

    async def submit_all(self, session: AsyncSession) -> None:
        """Submit every collected request in one pipeline call; each outcome's message is
        noted as a change of the step that asked for it."""
        if not self.items:
            return
        items, self.items = self.items, []
        now = max(step.now for _, step in items)
        events = items[0][1].events  # the policy's events, published with the batch
        requests = [request for request, _ in items]
        outcomes = await submit(session, requests, now=now, events=events)
        for (_, step), outcome in zip(items, outcomes, strict=True):
            if outcome.message is not None:
                step.changed(outcome.message)


def queue_notice(
    step: IngestStep,
    *,
    channel: Channel,
    to: str,
    text: str,
    purpose: str,
    key: str,
    subject: str | None = None,
    conversation_id: int | None = None,
    extra: dict[str, Any] | None = None,
) -> None:
    """Queue a message that is not a thread item: to someone other than the prospect (a
    Telegram group, a forward address), or a button tap's acknowledgement (``extra``)."""
    payload = {
        "text": text,
        "subject": subject,
        "to": to,
        "contacts": {str(channel): to} if to else {},
        **(extra or {}),
    }
    add_notice(
        step.session,
        tenant_id=step.tenant_id,
        channel=channel,
        provider=step.provider_for(channel),
        payload=payload,
        purpose=purpose,
        key=f"{purpose}:{step.event_id}:{key}",
        now=step.now,
        conversation_id=conversation_id,
    )
