"""Proposals in the prospect's words: slot labels, both times for a prospect abroad, buttons."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from core.booking.proposal import (
    booked_token,
    cancelled_id,
    proposal_buttons,
    proposal_meta,
    proposal_text,
    slot_title,
)
from core.booking.slots import Slot
from core.channels.segments import count_segments
from core.domain.appointment_display import time_of, when_of, words

PARIS = ZoneInfo("Europe/Paris")
START = datetime(2026, 3, 11, 14, 0, tzinfo=PARIS)
SLOTS = [Slot(START + timedelta(hours=h), START + timedelta(hours=h, minutes=45), 3, "visit")
         for h in (0, 1)]  # fmt: skip


def test_a_list_to_answer_by_text_and_buttons_to_tap() -> None:
    text = proposal_text("fr", SLOTS, "Europe/Paris", None, kind="visite", buttons=False)
    assert "- mer. 11 mars 14:00\n- mer. 11 mars 15:00" in text
    assert text.endswith('par exemple "demain 15h".')
    tap = proposal_text("en", SLOTS, "Europe/Paris", None, kind="visit", buttons=True)
    assert tap == "Here are the next free slots for a visit:\n\nTap the slot that suits you:"
    buttons = proposal_buttons(SLOTS, "Europe/Paris", None, "fr")
    assert [b["id"] for b in buttons] == ["rdv:visit.3.1773234000", "rdv:visit.3.1773237600"]
    assert all(len(b["id"].encode()) <= 64 for b in buttons)
    assert proposal_meta("visit", SLOTS)["booking_proposal"]["slots"] == [
        b["id"].removeprefix("rdv:") for b in buttons
    ]
    none = proposal_text("fr", [], "Europe/Paris", None, kind="visite", buttons=True)
    assert none.startswith("Aucun créneau n'est libre")


def test_a_prospect_abroad_sees_both_times() -> None:
    assert time_of(START, "Europe/Paris", "Europe/Paris", "fr") == "14:00"
    assert time_of(START, "Europe/Paris", "Europe/Berlin", "fr") == "14:00"  # same clock
    assert time_of(START, "Europe/Paris", "America/New_York", "en") == (
        "14:00, agency time (09:00 your time, America/New_York)"
    )
    late = START + timedelta(hours=8)  # 22:00 in Paris is the next day in Tokyo
    assert "jeu. 12 mars 06:00 chez vous" in time_of(late, "Europe/Paris", "Asia/Tokyo", "fr")
    assert when_of(START, "Europe/Paris", None, "fr") == "mercredi 11 mars à 14:00"
    assert slot_title(SLOTS[0], "Europe/Paris", "America/New_York", "fr") == (
        "mer. 11 mars 14:00 (09:00 chez vous)"
    )


@pytest.mark.parametrize(
    ("data", "token", "appointment"),
    [
        ("rdv:visit.3.1773234000", "visit.3.1773234000", None),
        ("annuler:42", None, 42),
        ("annuler:abc", None, None),
        ("annuler:1234567890123", None, None),
        ("annuler:", None, None),
        ("yes", None, None),
        (None, None, None),
    ],
)
def test_button_data_is_read_strictly(data, token, appointment) -> None:
    assert booked_token(data) == token
    assert cancelled_id(data) == appointment


def test_a_listed_proposal_in_french_is_plain_gsm_7() -> None:
    """One character outside GSM-7 ("•", "«") would make the whole SMS UCS-2, 70 characters a
    segment: a no-show's re-booking offer of three slots then cost five segments, not two."""
    intro = words("fr", "proposal.no_show", kind="visite", when="mardi 10 mars à 14:00")
    slots = [*SLOTS, SLOTS[1]]
    text = proposal_text(
        "fr", slots, "Europe/Paris", None, kind="visite", buttons=False, intro=intro
    )
    assert count_segments(text).encoding == "GSM-7"
    assert count_segments(text).segments == 2
