"""Booking proposals and notices in the prospect's words: free slots as text and as buttons, the
marker Sara reads an answer against, and times shown in the agency's zone and the prospect's.

Pure: the caller finds the slots (``Booking.propose_slots``/``propose_in``) and queues the
message. A proposal message carries ``meta["booking_proposal"]``; an answer to it ("demain 15h")
is read by Sara, a tap on one of its Telegram buttons (callback data ``rdv:<slot token>``) books
that slot.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from core.booking.slots import Slot, slot_token
from core.domain.appointment_display import (
    SHORT_FORMAT,
    format_in_zone,
    same_clock,
    words,
)

#: Callback data of a slot button, then the slot token.
BOOK_PREFIX = "rdv:"
#: Callback data of a "cancel this appointment" button, then the appointment id.
CANCEL_PREFIX = "annuler:"
#: The message meta key marking a proposal.
PROPOSAL = "booking_proposal"


def slot_title(slot: Slot, zone: str, prospect_zone: str | None, language: str) -> str:
    """A slot as a button or list label ("mer. 11 mars 14:00", plus the prospect's time)."""
    label = format_in_zone(slot.start, zone, SHORT_FORMAT, language)
    if not prospect_zone or same_clock(slot.start, zone, prospect_zone):
        return label
    theirs = format_in_zone(slot.start, prospect_zone, "HH:mm", language)
    return words(language, "proposal.slot_both", slot=label, prospect=theirs)


def proposal_text(
    language: str,
    slots: Sequence[Slot],
    zone: str,
    prospect_zone: str | None,
    *,
    kind: str,
    buttons: bool,
    intro: str | None = None,
) -> str:
    """The proposal's text: an optional ``intro``, then the slots (listed, or "tap one"), then
    how to answer; "no free slot" when there is none."""
    parts = [intro] if intro else []
    if not slots:
        parts.append(words(language, "proposal.none"))
        return "\n\n".join(parts)
    parts.append(words(language, "proposal.intro", kind=kind))
    if buttons:
        parts.append(words(language, "proposal.tap"))
    else:
        # "-", not "•": one character outside GSM-7 makes a whole SMS UCS-2 (70 a segment)
        lines = [f"- {slot_title(s, zone, prospect_zone, language)}" for s in slots]
        parts.append("\n".join(lines))
        parts.append(words(language, "proposal.answer"))
    return "\n\n".join(parts)


def proposal_buttons(
    slots: Sequence[Slot], zone: str, prospect_zone: str | None, language: str
) -> list[dict[str, str]]:
    """One button per slot (callback data ``rdv:<token>``, at most 60 bytes)."""
    return [
        {"id": BOOK_PREFIX + slot_token(s), "title": slot_title(s, zone, prospect_zone, language)}
        for s in slots
    ]


def proposal_meta(kind: str, slots: Sequence[Slot], agent_id: int | None = None) -> dict[str, Any]:
    """What marks a message as a proposal (Sara reads the next answer against it)."""
    return {PROPOSAL: {"kind": kind, "agent_id": agent_id, "slots": [slot_token(s) for s in slots]}}


def booked_token(data: str | None) -> str | None:
    """The slot token of a slot button's callback data, else None."""
    if data and data.startswith(BOOK_PREFIX):
        return data.removeprefix(BOOK_PREFIX)
    return None


def cancelled_id(data: str | None) -> int | None:
    """The appointment id of a cancel button's callback data, else None."""
    if data and data.startswith(CANCEL_PREFIX):
        rest = data.removeprefix(CANCEL_PREFIX)
        return int(rest) if rest.isdigit() and len(rest) <= 12 else None
    return None
