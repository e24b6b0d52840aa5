"""Sara books from the prospect's side, inside the ingest transaction, through ``Booking``.

- ``offer``: the next free slots, as Telegram buttons or as a list to answer by text; the
  message is marked as a proposal.
- ``tap``: a Telegram button was tapped: a slot (``rdv:<token>``) is booked, an appointment
  (``annuler:<id>``) cancelled; the tap is acknowledged. A stale or taken slot books nothing
  and gets a clear message with fresh slots.
- ``answer_proposal``: a text answer to the last proposal ("demain 15h", "mardi matin") is read
  with ``parse_when``; a free time is booked, an unavailable one gets alternatives, an unclear
  one books nothing and is left to an agent with an explanation.

Bookings go through the step's ``Booking.book_in`` (same checks and lock as the app) and their hooks
(reminders, confirmation on the orchestrator's channel) run after the commit.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, cast

from sqlalchemy import select

from core.booking.errors import BookingRefused
from core.booking.parse_when import When, parse_when
from core.booking.proposal import (
    PROPOSAL,
    booked_token,
    cancelled_id,
    proposal_buttons,
    proposal_meta,
    proposal_text,
    slot_title,
)
from core.booking.service import Booking
from core.booking.slots import Calendar, Slot, parse_slot_token
from core.domain.appointment_changes import AppointmentChange, ChangeKind
from core.domain.appointment_display import day_of, kind_in, when_of, words
from core.domain.enums import AppointmentStatus, Channel, SenderType
from core.i18n.deferred import Line, line, phrase
from core.i18n.deferred import moment as at_moment
from core.i18n.prospect import prospect_language
from core.i18n.sara import say
from core.pipeline.replies import queue_notice, queue_reply
from core.storage import tables as t
from core.storage.inbound_step import AppointmentNotice, IngestStep, last_outbound, record_event
from core.storage.timeline import preview_of

A = t.AppointmentRow
UPCOMING = (AppointmentStatus.PROPOSED, AppointmentStatus.CONFIRMED)
#: Slots offered at once (buttons on Telegram, lines elsewhere).
OFFERED = 4
#: Channels on which a text answer to a proposal is read.
ANSWERING = (Channel.SMS, Channel.WHATSAPP, Channel.TELEGRAM)
#: How long a yes, no or cancellation after an answer about another appointment may be a repeat
#: of it.
ECHO_WINDOW = timedelta(days=1)


class Answer(StrEnum):
    """What the prospect said about their appointment (the values of Sara's intents)."""

    CONFIRM = "confirm"
    REFUSE = "refuse"
    CANCEL = "cancel"


async def next_appointment(
    step: IngestStep, prospect_id: int, statuses: tuple[AppointmentStatus, ...] = UPCOMING
) -> A | None:
    """The prospect's next appointment still to come, in one of ``statuses``."""
    query = (
        select(A)
        .where(A.prospect_id == prospect_id, A.status.in_(statuses), A.starts_at >= step.now)
        .order_by(A.starts_at, A.id)
        .limit(1)
    )
    return (await step.session.execute(query)).scalar_one_or_none()


_APPOINTMENT_RULES = {
    # intent: (statuses it applies to, new status, reply key, event key)
    Answer.CONFIRM: (UPCOMING, AppointmentStatus.CONFIRMED, "confirm_ack", "event_confirmed"),
    Answer.REFUSE: (
        (AppointmentStatus.PROPOSED,),
        AppointmentStatus.CANCELLED,
        "refuse_ack",
        "event_refused",
    ),
    Answer.CANCEL: (UPCOMING, AppointmentStatus.CANCELLED, "cancel_ack", "event_cancelled"),
}


async def answer_appointment(
    step: IngestStep,
    prospect: t.ProspectRow,
    conversation: t.ConversationRow,
    message: t.MessageRow,
    answer: Answer,
) -> bool:
    """Confirm, decline or cancel the next appointment; False when there is none to change, or
    when the answer may only repeat one just given about another appointment (left to an
    agent, with an event saying why)."""
    # A yes or no answers the proposal this conversation last asked about, else the next one;
    # a cancellation takes the next appointment. Only the guessed one may be an echo.
    appointment = None
    if answer != Answer.CANCEL:
        appointment = await _asked_about(step, conversation, message)
    if appointment is None:
        appointment = await next_appointment(step, prospect.id, _GUESSED[answer])
        if appointment is not None and await _echo_of(step, conversation, appointment, message):
            return False
    appointment = appointment or await next_appointment(step, prospect.id)
    rule = _APPOINTMENT_RULES[answer]
    if appointment is None or appointment.status not in rule[0]:
        return False
    await change_appointment(step, prospect, conversation, appointment, answer, message)
    return True


#: The appointment an answer is taken to be about when no message asked: a yes or no answers a
#: proposal, a cancellation the next appointment, proposed or confirmed.
_GUESSED = {
    Answer.CONFIRM: (AppointmentStatus.PROPOSED,),
    Answer.REFUSE: (AppointmentStatus.PROPOSED,),
    Answer.CANCEL: UPCOMING,
}


async def _asked_about(
    step: IngestStep, conversation: t.ConversationRow, message: t.MessageRow
) -> A | None:
    """The proposed appointment the conversation's last outbound message was about, if any."""
    last = await last_outbound(step, conversation, message)
    appointment_id = ((last.meta or {}) if last is not None else {}).get("appointment_id")
    if not isinstance(appointment_id, int):
        return None
    appointment = await step.session.get(A, appointment_id)
    if appointment is None or appointment.prospect_id != conversation.prospect_id:
        return None
    if appointment.status != AppointmentStatus.PROPOSED or appointment.starts_at < step.now:
        return None
    return appointment


async def _echo_of(
    step: IngestStep, conversation: t.ConversationRow, target: A, message: t.MessageRow
) -> bool:
    """Whether a yes, no or cancellation may repeat an answer the prospect gave, in the last
    ``ECHO_WINDOW``, about another appointment that existed alongside ``target`` ("OUI" or
    "ANNULER" sent on two channels to one question): then Sara does not guess, the thread says
    why and ``target`` is left as it is."""
    if not step.echo_guard:
        return False
    answered = await _last_answered(step, conversation.prospect_id, target)
    if answered is None:
        return False
    zone = step.settings.timezone
    key = (
        "sara.event_echo" if target.status == AppointmentStatus.PROPOSED else "sara.event_echo_kept"
    )
    note = line(
        key,
        text=preview_of(message.content),
        answered=at_moment(answered.starts_at, zone),
        when=at_moment(target.starts_at, zone),
    )
    meta = {"sara": True, "action": "echo", "appointment_id": target.id}
    await record_event(step, conversation, note, meta)
    return True


async def _last_answered(step: IngestStep, prospect_id: int, target: A) -> A | None:
    """The prospect's other appointment confirmed or cancelled most recently, if that was in the
    last ``ECHO_WINDOW`` and after ``target`` was created."""
    since = step.now - ECHO_WINDOW
    # A cancellation is final: the row's last change (``Booking.change_in`` stamps it with the
    # service's clock) is when it was cancelled.
    confirmed = (A.status == AppointmentStatus.CONFIRMED) & (A.confirmed_at > target.created_at)
    cancelled = (A.status == AppointmentStatus.CANCELLED) & (A.updated_at > target.created_at)
    query = (
        select(A)
        .where(
            A.prospect_id == prospect_id,
            A.id != target.id,
            (confirmed & (A.confirmed_at >= since)) | (cancelled & (A.updated_at >= since)),
        )
        .order_by(A.updated_at.desc(), A.id.desc())
        .limit(1)
    )
    return (await step.session.execute(query)).scalar_one_or_none()


async def change_appointment(
    step: IngestStep,
    prospect: t.ProspectRow,
    conversation: t.ConversationRow,
    appointment: A,
    answer: Answer,
    message: t.MessageRow | None,
    *,
    command: str | None = None,
    callback: dict[str, Any] | None = None,
) -> None:
    """Change ``appointment`` as the prospect asked, answer them and record why.

    The change goes through the booking service (``change_in``), so its hooks re-plan or
    withdraw the reminders after the commit, as for a change made in the app.
    """
    _, new_status, reply_key, event_key = _APPOINTMENT_RULES[answer]
    language = prospect_language(prospect.language, step.settings.language)
    previous = str(appointment.status)
    said = preview_of(message.content) if message is not None else f"/{command}"
    at = at_moment(appointment.starts_at, step.settings.timezone)
    note = line(f"sara.{event_key}", when=at, text=said)
    meta = {
        "sara": True,
        "action": str(answer),
        "from": previous,
        "to": str(new_status),
        "reason": said,
    }
    kind = (
        ChangeKind.CONFIRMED if new_status == AppointmentStatus.CONFIRMED else ChangeKind.CANCELLED
    )
    booking = _booking(step)
    change = await booking.change_in(
        step.session,
        step.events,
        appointment.id,
        kind,
        by=SenderType.PROSPECT,
        reason=said if kind == ChangeKind.CANCELLED else None,
        conversation_id=conversation.id,
        note=note,
        meta=meta,
    )
    moment = when_of(appointment.starts_at, step.settings.timezone, prospect.timezone, language)
    if change is None:  # already confirmed: nothing changes, Sara says so unless she just did
        sent = await queue_reply(
            step,
            conversation,
            say(language, "already_confirmed", when=moment),
            kind="already_confirmed",
            callback=callback,
            about=f"appointment:{appointment.id}",
        )
        key = "sara.event_already_confirmed" if sent else "sara.event_already_confirmed_quiet"
        note = line(key, when=at, text=said)
        await record_event(step, conversation, note, {**meta, "appointment_id": appointment.id})
        return
    step.booking_changes.append(change)
    step.appointment_changes.append(
        AppointmentNotice(appointment.id, str(new_status), previous, said, conversation.id)
    )
    await queue_reply(
        step,
        conversation,
        say(language, reply_key, when=moment),
        kind=reply_key,
        callback=callback,
        about=f"appointment:{appointment.id}",
    )


def tapped(message: t.MessageRow) -> str | None:
    """The callback data of a Telegram button tap, if ``message`` is one of ours."""
    data = (message.meta or {}).get("button_payload")
    if booked_token(data) is not None or cancelled_id(data) is not None:
        return str(data)
    return None


async def offer(
    step: IngestStep,
    prospect: t.ProspectRow,
    conversation: t.ConversationRow,
    *,
    kind: str = "visit",
    reply_kind: str = "proposal",
    intro: str | None = None,
    after: datetime | None = None,
    callback: dict[str, Any] | None = None,
    about: str | None = None,
) -> int:
    """Queue a proposal of the next free slots (from ``after``); returns how many were offered.

    ``about`` is what the offer answers (a tapped button, a time asked for): the automation
    policy answers each once."""
    booking = _booking(step)
    language = prospect_language(prospect.language, step.settings.language)
    try:
        slots = await booking.propose_in(step.session, kind, after=after, count=OFFERED)
    except BookingRefused:  # no agent can take appointments: an agent must answer
        slots = []
    if not slots and after is not None:
        return await offer(
            step,
            prospect,
            conversation,
            kind=kind,
            reply_kind=reply_kind,
            intro=intro,
            callback=callback,
            about=about,
        )
    telegram = Channel(conversation.channel_type) == Channel.TELEGRAM
    zone, theirs = step.settings.timezone, prospect.timezone
    text = proposal_text(
        language,
        slots,
        zone,
        theirs,
        kind=kind_in(language, kind, step.settings.booking),
        buttons=telegram,
        intro=intro,
    )
    await queue_reply(
        step,
        conversation,
        text,
        kind=reply_kind,
        meta=proposal_meta(kind, slots) if slots else None,
        buttons=proposal_buttons(slots, zone, theirs, language) if telegram and slots else None,
        callback=callback,
        about=about,
    )
    key = "prospect_booking.event.proposed" if slots else "prospect_booking.event.no_slots"
    await _event(step, conversation, line(key, count=len(slots)), "booking_offer")
    return len(slots)


async def tap(
    step: IngestStep,
    prospect: t.ProspectRow,
    conversation: t.ConversationRow,
    message: t.MessageRow,
    data: str,
) -> bool:
    """Act on a tapped button: book its slot or cancel its appointment."""
    query_id = str(((message.meta or {}).get("extra") or {}).get("callback_query_id") or "")
    token = booked_token(data)
    if token is not None:
        return await _book_tapped(step, prospect, conversation, token, query_id)
    appointment_id = cancelled_id(data)
    assert appointment_id is not None
    return await _cancel_tapped(step, prospect, conversation, message, appointment_id, query_id)


async def _book_tapped(
    step: IngestStep,
    prospect: t.ProspectRow,
    conversation: t.ConversationRow,
    token: str,
    query_id: str,
) -> bool:
    booking = _booking(step)
    language = prospect_language(prospect.language, step.settings.language)
    calendar = Calendar(step.settings.booking, step.settings.timezone, step.settings.country)
    slot = parse_slot_token(token, calendar)
    if slot is None:  # a button of an older version, or forged: offer what is free now
        callback = _callback(query_id, words(language, "tap.stale"))
        intro = words(language, "proposal.gone", why=words(language, "why.other"))
        await offer(
            step, prospect, conversation, intro=intro, callback=callback, about=f"tap:{token}"
        )
        return True
    try:
        change = await booking.book_in(
            step.session,
            step.events,
            prospect.id,
            slot.start,
            kind=slot.kind,
            agent_id=slot.agent_id,
            confirmed=True,
            by=SenderType.PROSPECT,
            conversation_id=conversation.id,
        )
    except BookingRefused as refused:
        why = _why(language, refused.reason)
        callback = _callback(query_id, words(language, "tap.gone"))
        intro = words(language, "proposal.gone", why=why)
        await offer(
            step,
            prospect,
            conversation,
            kind=slot.kind,
            intro=intro,
            callback=callback,
            about=f"tap:{token}",
        )
        text = line("prospect_booking.event.gone", why=_why_said(refused.reason))
        await _event(step, conversation, text, "booking_gone", token=token)
        return True
    step.booking_changes.append(change)
    _acknowledge(step, conversation, query_id, words(language, "tap.booked"))
    title = at_moment(slot.start, step.settings.timezone)
    await _event(
        step, conversation, line("prospect_booking.event.booked_by_tap", slot=title), "booked"
    )
    await _placeless(step, conversation, change)
    return True


async def _cancel_tapped(
    step: IngestStep,
    prospect: t.ProspectRow,
    conversation: t.ConversationRow,
    message: t.MessageRow,
    appointment_id: int,
    query_id: str,
) -> bool:
    language = prospect_language(prospect.language, step.settings.language)
    row = await step.session.get(A, appointment_id)
    live = (
        row is not None
        and row.prospect_id == prospect.id
        and row.status in UPCOMING
        and row.ends_at > step.now
    )
    if row is None or not live:
        callback = _callback(query_id, words(language, "tap.stale"))
        text = say(language, "no_appointment")
        await queue_reply(
            step,
            conversation,
            text,
            kind="cancel_gone",
            callback=callback,
            about=f"tap:annuler:{appointment_id}",
        )
        return True
    callback = _callback(query_id, words(language, "tap.cancelled"))
    await change_appointment(
        step, prospect, conversation, row, Answer.CANCEL, message, callback=callback
    )
    return True


async def cancel_menu(
    step: IngestStep, prospect: t.ProspectRow, conversation: t.ConversationRow
) -> bool:
    """``/annuler``: the prospect's upcoming appointments as buttons, one tap cancels one."""
    language = prospect_language(prospect.language, step.settings.language)
    rows = await upcoming(step, prospect.id)
    if not rows:
        text = say(language, "no_appointment")
        await queue_reply(step, conversation, text, kind="cmd_annuler")
        return True
    zone = step.settings.timezone
    buttons = [
        {
            "id": f"annuler:{row.id}",
            "title": words(
                language,
                "cancel.line",
                kind=kind_in(language, row.kind, step.settings.booking),
                when=slot_title(_slot(row), zone, prospect.timezone, language),
            ),
        }
        for row in rows
    ]
    text = words(language, "cancel.choose")
    await queue_reply(step, conversation, text, kind="cmd_annuler", buttons=buttons)
    return True


async def upcoming(step: IngestStep, prospect_id: int, limit: int = 5) -> list[A]:
    """The prospect's appointments to come, proposed or confirmed (as ``Booking.upcoming``)."""
    query = (
        select(A)
        .where(
            A.tenant_id == step.tenant_id,
            A.prospect_id == prospect_id,
            A.status.in_(UPCOMING),
            A.ends_at > step.now,
        )
        .order_by(A.starts_at, A.id)
        .limit(limit)
    )
    return list((await step.session.execute(query)).scalars().all())


async def answer_proposal(
    step: IngestStep,
    prospect: t.ProspectRow,
    conversation: t.ConversationRow,
    message: t.MessageRow,
) -> bool:
    """Read a text answer to the last proposal; returns whether Sara dealt with it."""
    if Channel(conversation.channel_type) not in ANSWERING:
        return False
    proposal = await pending_proposal(step, conversation, message)
    if proposal is None:
        return False
    booking = _booking(step)
    spec = (proposal.meta or {})[PROPOSAL]
    said = preview_of(message.content)
    when = parse_when(message.content, step.now, step.settings.timezone)
    if when is None:
        await _event(
            step, conversation, line("prospect_booking.event.unclear", text=said), "unclear"
        )
        return False
    kind = str(spec.get("kind") or "visit")
    agent_id = spec.get("agent_id")
    start, reason, change = when.start, None, None
    if not when.exact:  # a window ("mardi matin"): its first free slot
        found = await _first_in(step, kind, agent_id, when.start, when.end)
        if found is None:
            reason = "full"
        else:
            start, agent_id = found
    if reason is None:
        try:
            change = await booking.book_in(
                step.session,
                step.events,
                prospect.id,
                start,
                kind=kind,
                agent_id=agent_id,
                confirmed=True,
                by=SenderType.PROSPECT,
                conversation_id=conversation.id,
            )
        except BookingRefused as refused:
            reason = refused.reason
    _answered(step, proposal, message)
    if change is None:
        return await _unavailable(step, prospect, conversation, kind, when, reason, said)
    step.booking_changes.append(change)
    await _event(
        step, conversation, line("prospect_booking.event.booked_by_answer", text=said), "booked"
    )
    await _placeless(step, conversation, change)
    return True


async def _placeless(
    step: IngestStep, conversation: t.ConversationRow, change: AppointmentChange
) -> None:
    """A property visit booked from the chat has no address yet: the confirmation asks the
    prospect for it (``missing_place``), and the thread tells the agent to fill it in."""
    appointment = change.appointment
    item = step.settings.booking.type_of(appointment.kind)
    if appointment.location or item is None or item.where != "property":
        return
    text = line("prospect_booking.event.no_place")
    await _event(step, conversation, text, "no_place", appointment_id=appointment.id)


async def _unavailable(
    step: IngestStep,
    prospect: t.ProspectRow,
    conversation: t.ConversationRow,
    kind: str,
    when: When,
    reason: str | None,
    said: str,
) -> bool:
    """The time asked for cannot be booked: say why and offer the next slots after it."""
    language = prospect_language(prospect.language, step.settings.language)
    zone = step.settings.timezone
    if when.exact:
        moment = when_of(when.start, zone, prospect.timezone, language)
    else:
        moment = day_of(when.start, zone, language)
    intro = words(language, "proposal.unavailable", when=moment, why=_why(language, reason))
    after = max(when.start, step.now)
    offered = await offer(
        step,
        prospect,
        conversation,
        kind=kind,
        intro=intro,
        after=after,
        about=f"when:{when.start.isoformat()}",
    )
    key = (
        "prospect_booking.event.unavailable"
        if offered
        else "prospect_booking.event.unavailable_none"
    )
    text = line(key, text=said, why=_why_said(reason))
    await _event(step, conversation, text, "unavailable")
    return offered > 0


async def pending_proposal(
    step: IngestStep, conversation: t.ConversationRow, message: t.MessageRow
) -> t.MessageRow | None:
    """The last outbound message before ``message``, if it is a proposal not yet answered."""
    last = await last_outbound(step, conversation, message)
    meta = (last.meta or {}) if last is not None else {}
    if last is None or not isinstance(meta.get(PROPOSAL), dict) or "answered_by" in meta:
        return None
    return last


async def _first_in(
    step: IngestStep, kind: str, agent_id: int | None, start: datetime, end: datetime
) -> tuple[datetime, int] | None:
    """The first free slot in a window ("mardi matin"), or None when it is full."""
    booking = _booking(step)
    try:
        slots = await booking.propose_in(
            step.session, kind, agent_id=agent_id, after=start, before=end, count=1
        )
    except BookingRefused:
        return None
    return (slots[0].start, slots[0].agent_id) if slots else None


def _answered(step: IngestStep, proposal: t.MessageRow, message: t.MessageRow) -> None:
    proposal.meta = {**(proposal.meta or {}), "answered_by": message.id}
    step.changed(proposal)


def _slot(row: A) -> Slot:
    return Slot(row.starts_at, row.ends_at, row.agent_id or 0, row.kind)


def _why(language: str, reason: str | None) -> str:
    """Why a time cannot be booked, for the prospect (never naming the agents' other clients)."""
    return words(language, f"why.{reason if reason in _REASONS else 'other'}")


_REASONS = ("past", "holiday", "closed_day", "day_off", "outside_hours", "taken", "full")


def _why_said(reason: str | None) -> dict[str, Any]:
    """``_why`` for the thread's event, put into words in the agent's language when shown."""
    return phrase(f"prospect_booking.why.{reason if reason in _REASONS else 'other'}")


def _callback(query_id: str, text: str) -> dict[str, Any] | None:
    return {"id": query_id, "text": text[:200]} if query_id else None


def _acknowledge(
    step: IngestStep, conversation: t.ConversationRow, query_id: str, text: str
) -> None:
    """Answer the tap (the spinning button stops, a short notice shows)."""
    if not query_id or not conversation.channel_identifier:
        return
    queue_notice(
        step,
        channel=Channel.TELEGRAM,
        to=conversation.channel_identifier,
        text="",
        purpose="sara_tap",
        key=query_id,
        conversation_id=conversation.id,
        extra={"callback": _callback(query_id, text)},
    )


async def _event(
    step: IngestStep, conversation: t.ConversationRow, text: Line, action: str, **meta: Any
) -> None:
    await record_event(step, conversation, text, {"action": action, **meta})


def _booking(step: IngestStep) -> Booking:
    """The booking service the step carries (the ingest worker always gives one)."""
    assert step.booking is not None, "the ingest step needs the booking service"
    return cast(Booking, step.booking)
