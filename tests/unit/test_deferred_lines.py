"""Thread events stored untranslated and put into words in the reader's language."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from core import i18n
from core.domain.enums import Channel
from core.i18n.deferred import channel, kind, line, moment, phrase, phrases, render

AT = datetime(2026, 3, 10, 13, 30, tzinfo=UTC)


@pytest.fixture
def language():
    previous = i18n.language()
    yield i18n.set_language
    i18n.set_language(previous)


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("en", "Appointment booked: visit on Tuesday 10 March 2026 at 14:30"),
        ("fr", "Rendez-vous pris : visite le mardi 10 mars 2026 à 14:30"),
    ],
)
def test_a_stored_line_is_written_in_the_readers_language(language, code, expected) -> None:
    stored = json.loads(  # what the database keeps: JSON, no translated text
        json.dumps(
            line("appointments.event.booked", kind=kind("visit"), when=moment(AT, "Europe/Paris"))
        )
    )
    language(code)
    assert render(stored) == expected


def test_channels_phrases_and_the_agencys_own_labels(language) -> None:
    language("fr")
    assert render(line("orchestrator.switch.event", channel=channel(Channel.EMAIL))) == (
        "Conversation poursuivie sur E-mail"
    )
    assert render(line("appointments.event.done", kind=kind("visit", "Visite VIP"), when="x")) == (
        "Rendez-vous effectué : Visite VIP le x"
    )
    why = phrases([phrase("prospect_booking.why.past"), phrase("prospect_booking.why.taken")])
    assert "; " in render(line("prospect_booking.event.gone", why=why))
