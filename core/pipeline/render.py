"""Rendering a request for each candidate channel, and leaving out the channels that cannot
carry it (WhatsApp outside the 24 h window with no approved template or a missing template
parameter, a rendering that failed), each with the reason why."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from core.domain.decision import Reason, ReplyDraft
from core.domain.enums import Channel
from core.errors import CoccinelleError
from core.orchestrator.context import RoutingContext
from core.orchestrator.decide import WHATSAPP_WINDOW
from core.outbox.drafts import Prepared
from core.pipeline.request import ANSWERS, OutgoingRequest, Rendering
from core.storage.email_thread import email_thread

log = logging.getLogger(__name__)
#: What a failed renderer may raise (template errors, a missing value, a bad file).
_RENDER_ERRORS = (CoccinelleError, KeyError, ValueError, LookupError, OSError)


@dataclass
class Rendered:
    """A request's content on each channel that can carry it, and why the others cannot."""

    base: ReplyDraft
    by_channel: dict[Channel, Rendering] = field(default_factory=dict)
    left_out: dict[Channel, Reason] = field(default_factory=dict)
    #: Until when the WhatsApp window is open (free-form allowed), None when it is closed.
    window_until: datetime | None = None

    def drafts(self) -> dict[Channel, ReplyDraft]:
        """Each channel's rendering as the draft the orchestrator weighs."""
        return {
            c: self.base.model_copy(update={"text": r.text, "subject": r.subject, "html": r.html})
            for c, r in self.by_channel.items()
        }


def left_out(channel: Channel, key: str, **params: object) -> Reason:
    """The reason a channel is not in a request's chain (``pipeline.left_out.*``)."""
    return Reason(
        criterion="rendering",
        points=0,
        key=f"pipeline.left_out.{key}",
        params={"channel": str(channel), **params},
    )


def window_until(context: RoutingContext) -> datetime | None:
    """When the prospect's WhatsApp window closes, None if closed at ``context.now``."""
    last = context.whatsapp_last_inbound_at
    if last is None or context.now - last >= WHATSAPP_WINDOW:
        return None
    return last + WHATSAPP_WINDOW


async def render_channels(
    session: AsyncSession,
    request: OutgoingRequest,
    prepared: Prepared,
    context: RoutingContext,
    candidates: frozenset[Channel],
) -> Rendered:
    """``request`` rendered for each of ``candidates`` that can carry it at the due time."""
    out = Rendered(prepared.draft, window_until=window_until(context))
    has_base = request.draft is not None and has_content(request.draft)
    base = _from_draft(prepared.draft) if has_base else None  # one for every channel
    for channel in sorted(candidates):
        rendering = request.renderings.get(channel)
        if rendering is None and request.renderer is not None:
            try:
                rendering = await request.renderer(session, channel)
            except _RENDER_ERRORS as exc:
                log.warning("%s: rendering for %s failed: %s", request.kind, channel, exc)
                out.left_out[channel] = left_out(channel, "render_failed", error=str(exc)[:200])
                continue
        if rendering is None:
            rendering = base
        if rendering is None:
            continue  # not written for this channel: not a candidate
        if channel == Channel.EMAIL and not rendering.subject and request.kind in ANSWERS:
            rendering = await in_thread(session, request.prospect_id, rendering)
        if channel == Channel.WHATSAPP:
            rendering, reason = _whatsapp(request, prepared, rendering, out.window_until)
            if reason is not None:
                out.left_out[channel] = reason
                continue
        out.by_channel[channel] = as_carried(rendering, channel)
    return out


def as_carried(rendering: Rendering, channel: Channel) -> Rendering:
    """``rendering`` as ``channel`` carries it: only an e-mail has a subject (a reminder's or
    an agent's subject is not stored on, nor shown above, the SMS that carries its text)."""
    if channel == Channel.EMAIL or rendering.subject is None:
        return rendering
    return replace(rendering, subject=None)


async def in_thread(session: AsyncSession, prospect_id: int, rendering: Rendering) -> Rendering:
    """An e-mail without a subject of its own answers the prospect's e-mail thread, if there is
    one ("Re: <subject>", replying to their latest e-mail); else its first line is the subject
    (``core.outbox.payload``)."""
    thread = await email_thread(session, prospect_id)
    if thread is None:
        return rendering
    return replace(rendering, subject=thread.reply_subject(), in_reply_to=thread.message_id)


def has_content(draft: ReplyDraft) -> bool:
    """Whether ``draft`` says something by itself (else only the renderings do)."""
    return bool(
        draft.text.strip()
        or draft.template_id
        or draft.html
        or draft.attachments
        or draft.share_location
    )


def _from_draft(draft: ReplyDraft) -> Rendering:
    return Rendering(text=draft.text, subject=draft.subject, html=draft.html)


def _whatsapp(
    request: OutgoingRequest,
    prepared: Prepared,
    free_form: Rendering,
    open_until: datetime | None,
) -> tuple[Rendering, Reason | None]:
    """Free-form inside the window; outside, the approved template with all its parameters."""
    template = _template(request, prepared)
    if open_until is not None:
        return free_form, None
    if template is None or template.template is None:
        return free_form, left_out(Channel.WHATSAPP, "no_template")
    missing = [
        i + 1 for i, p in enumerate(template.template.get("parameters") or ()) if not str(p).strip()
    ]
    if missing:
        return free_form, left_out(Channel.WHATSAPP, "missing_parameter", position=missing[0])
    return template, None


def _template(request: OutgoingRequest, prepared: Prepared) -> Rendering | None:
    """The approved WhatsApp template of the request, or of its draft's tenant template."""
    if request.whatsapp_template is not None and request.whatsapp_template.template:
        return request.whatsapp_template
    if prepared.template is not None:
        return Rendering(text=prepared.draft.text, template=dict(prepared.template))
    return None


def whatsapp_later(request: OutgoingRequest, prepared: Prepared) -> Rendering | None:
    """The template a WhatsApp fallback sends if the window has closed by then."""
    return _template(request, prepared)
