"""Queuing Sara's messages for sending, in the ingest transaction.

The shared contract with the outbox worker: a pending ``OutboxRow`` (purpose ``sara``,
``notify`` or ``forward``) whose ``payload`` holds ``text``, ``subject``, the recipient as ``to``
and as ``contacts[channel]`` (the outbox's own payload shape); the worker sends any pending row.
Replies to the prospect also get a thread item (status QUEUED, sender ``sara``) that the worker
moves along. Keeping it in this one module lets it be swapped for the orchestrator's API later.

Every reply to the prospect asks the automation policy first (``core.automation.check``,
POLICY CALL SITE 1 — the pipeline's automated-origin hook takes it over): a reply it keeps quiet
is not written at all; a held reply is written with status ``held`` and queued as ``paused``.
"""

from __future__ import annotations

from typing import Any

from core.automation import HELD_OUTBOX_STATUS, AutomatedSend, check
from core.automation.policy import describe
from core.domain.enums import Channel, Direction, MessageStatus, OutboxStatus, SenderType
from core.ingest.context import IngestStep
from core.service.timeline import append_message
from core.storage import tables as t


async def queue_reply(
    step: IngestStep,
    conversation: t.ConversationRow,
    text: str,
    *,
    kind: str,
    meta: dict[str, Any] | None = None,
    buttons: list[dict[str, str]] | None = None,
    callback: dict[str, Any] | None = None,
    intent: str | None = None,
    about: str | None = None,
) -> t.MessageRow | None:
    """Add Sara's reply to the thread and queue it on the conversation's channel, if the
    automation policy lets it go; None when the policy keeps it quiet.

    ``kind`` names the reply (``confirm``, ``opt_out_ack``…); with the event id it forms the
    idempotency key, so a replayed event can never send twice. ``intent`` (``kind`` by default)
    and ``about`` (``appointment:12``) are what the policy answers once per window.
    ``buttons`` (``{"id", "title"}``) become a Telegram inline keyboard; ``callback``
    (``{"id", "text"}``) is the button tap the reply answers (answered even when quiet).
    """
    channel = Channel(conversation.channel_type)
    verdict = await check(
        step.session,
        AutomatedSend(
            tenant_id=step.tenant_id,
            prospect_id=conversation.prospect_id,
            conversation_id=conversation.id,
            intent=intent or intent_of(kind),
            about=about,
            answers_message_id=step.answering,
        ),
        step.now,
        settings=step.settings,
    )
    step.events.extend(verdict.events)
    if not verdict.allowed and not verdict.held:
        if callback and conversation.channel_identifier:  # the tapped button still stops spinning
            queue_notice(
                step,
                channel=channel,
                to=conversation.channel_identifier,
                text="",
                purpose="sara_tap",
                key=f"{kind}:{callback.get('id')}",
                conversation_id=conversation.id,
                extra={"callback": callback},
            )
        return None
    message = await append_message(
        step.session,
        conversation,
        direction=Direction.OUTBOUND,
        sender_type=SenderType.SARA,
        content=text,
        status=MessageStatus.HELD if verdict.held else MessageStatus.QUEUED,
        meta={
            "sara": kind,
            **(meta or {}),
            **({"buttons": buttons} if buttons else {}),
            **({"automation": describe(verdict)} if verdict.held else {}),
        },
        created_at=step.now,
    )
    step.session.add(
        t.OutboxRow(
            tenant_id=step.tenant_id,
            message_id=message.id,
            conversation_id=conversation.id,
            prospect_id=conversation.prospect_id,
            purpose="sara",
            channel_type=channel,
            provider=step.provider_for(channel),
            idempotency_key=f"sara:{step.event_id}:{kind}",
            payload={
                **_payload(channel, conversation.channel_identifier, text),
                # the one message allowed on a channel the prospect has just left
                **({"opt_out_ack": True} if kind == "opt_out_ack" else {}),
                **({"buttons": buttons} if buttons else {}),
                **({"callback": callback} if callback else {}),
            },
            status=HELD_OUTBOX_STATUS if verdict.held else OutboxStatus.PENDING,
            created_at=step.now,
        )
    )
    step.changed(message)
    return message


#: Replies that answer the same thing: "already confirmed" repeats the confirmation.
_SAME_INTENT = {"already_confirmed": "confirm_ack"}


def intent_of(kind: str) -> str:
    """The policy's intent for a reply ``kind`` (``cmd_rdv`` -> ``command:rdv``)."""
    if kind.startswith("cmd_"):
        return "command:" + kind.removeprefix("cmd_")
    return _SAME_INTENT.get(kind, kind)


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
    payload = {**_payload(channel, to, text, subject), **(extra or {})}
    step.session.add(
        t.OutboxRow(
            tenant_id=step.tenant_id,
            conversation_id=conversation_id,
            purpose=purpose,
            channel_type=channel,
            provider=step.provider_for(channel),
            idempotency_key=f"{purpose}:{step.event_id}:{key}",
            payload=payload,
            status=OutboxStatus.PENDING,
            created_at=step.now,
        )
    )


def _payload(
    channel: Channel, to: str | None, text: str, subject: str | None = None
) -> dict[str, Any]:
    return {
        "text": text,
        "subject": subject,
        "to": to,
        "contacts": {str(channel): to} if to else {},
    }
