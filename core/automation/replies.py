"""Sara's replies to the prospect, through the automation policy (POLICY CALL SITE 1).

Every answer Sara gives in the ingest transaction — confirmations, cancellations, ratings,
Telegram commands, booking offers, the out-of-hours reply — comes here: ``check`` decides, then
``core.outbox.replies.queue_reply`` queues it (held as ``paused`` when the policy holds it). A
reply kept quiet is not written at all; a tapped Telegram button is still answered so that it
stops spinning. The pipeline's automated-origin hook takes this over when it lands.
"""

from __future__ import annotations

from typing import Any

from core.automation.policy import AutomatedSend, check, describe
from core.domain.enums import Channel
from core.outbox.replies import queue_notice, queue_reply
from core.storage import tables as t
from core.storage.inbound_step import IngestStep

#: Replies that answer the same thing: "already confirmed" repeats the confirmation.
_SAME_INTENT = {"already_confirmed": "confirm_ack"}


def intent_of(kind: str) -> str:
    """The policy's intent for a reply ``kind`` (``cmd_rdv`` -> ``command:rdv``)."""
    if kind.startswith("cmd_"):
        return "command:" + kind.removeprefix("cmd_")
    return _SAME_INTENT.get(kind, kind)


async def answer_prospect(
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
    """Queue Sara's reply if the automation policy lets it go; None when it keeps it quiet.

    ``intent`` (from ``kind`` by default) and ``about`` (``appointment:12``) are what the policy
    answers once per window; the other arguments are ``queue_reply``'s.
    """
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
    if verdict.allowed or verdict.held:
        held = describe(verdict) if verdict.held else None
        return await queue_reply(
            step,
            conversation,
            text,
            kind=kind,
            meta=meta,
            buttons=buttons,
            callback=callback,
            held=held,
        )
    if callback and conversation.channel_identifier:  # the tapped button still stops spinning
        queue_notice(
            step,
            channel=Channel(conversation.channel_type),
            to=conversation.channel_identifier,
            text="",
            purpose="sara_tap",
            key=f"{kind}:{callback.get('id')}",
            conversation_id=conversation.id,
            extra={"callback": callback},
        )
    return None
