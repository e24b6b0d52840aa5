"""Inbound text made storable once, and the retry schedule of failing events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from core.channels.adapter import Attachment, InboundMessage
from core.domain.enums import Channel, Provider
from core.errors import CoccinelleError, InvalidInput
from core.ingest.retry import RETRY_DELAYS, after_failure
from core.ingest.storable import storable_event
from core.sanitize import REPLACEMENT, storable, storable_identifier

NOW = datetime(2026, 3, 10, 10, 0, tzinfo=UTC)


def test_storable_replaces_nul_and_lone_surrogates_visibly() -> None:
    assert storable("a\x00b\ud800c") == f"a{REPLACEMENT}b{REPLACEMENT}c"
    assert storable("Zoé 👋 \t\n") == "Zoé 👋 \t\n"  # real text untouched
    assert storable_identifier("+3361\x00234\x075678") == "+33612345678"


def test_every_string_of_an_event_is_made_storable() -> None:
    event = InboundMessage(
        provider=Provider.TELEGRAM,
        channel=Channel.TELEGRAM,
        provider_message_id="1:\x00",
        sender="51\x0051",
        text="hi\x00",
        subject="s\ud800",
        sender_name="N\x00",
        attachments=(Attachment(filename="a\x00.pdf", content_type="application/pdf"),),
        extra={"chat_title": "t\x00", "nested": [{"k\x00": "v\x00"}], "edited": True},
    )
    clean = storable_event(event)
    assert clean.sender == "5151" and clean.provider_message_id == f"1:{REPLACEMENT}"
    assert clean.text == f"hi{REPLACEMENT}" and clean.subject == f"s{REPLACEMENT}"
    assert clean.sender_name == f"N{REPLACEMENT}"
    assert clean.attachments[0].filename == f"a{REPLACEMENT}.pdf"
    assert clean.extra == {
        "chat_title": f"t{REPLACEMENT}",
        "nested": [{f"k{REPLACEMENT}": f"v{REPLACEMENT}"}],
        "edited": True,
    }


def test_clean_text_is_kept_as_is_and_controls_still_leave_identifiers() -> None:
    """The hot path (printable text, nothing to change) gives what the full pass gives."""
    event = InboundMessage(
        provider=Provider.TELEGRAM,
        channel=Channel.TELEGRAM,
        provider_message_id="42",
        sender="51\x0751",
        text="Zoé 👋\tbonjour\n",
        extra={"edited": True},
    )
    clean = storable_event(event)
    assert clean.sender == "5151"  # a control character still leaves an identifier
    assert clean.text == "Zoé 👋\tbonjour\n" and clean.provider_message_id == "42"
    # an enum field comes back as the plain string the full pass has always made of it
    assert type(clean.channel) is str and clean.channel == Channel.TELEGRAM
    plain = InboundMessage(
        provider="telegram", channel="telegram", provider_message_id="1", sender="5", text="ok"
    )
    assert storable_event(plain) is plain  # frozen and nothing to change: the same event


def test_a_failure_is_retried_later_then_parked() -> None:
    problem = CoccinelleError("no email adapter is configured")
    for attempt, delay in enumerate(RETRY_DELAYS, start=1):
        values = after_failure(attempt, problem, NOW)
        assert values["status"] == "pending" and values["next_attempt_at"] == NOW + delay
    parked = after_failure(len(RETRY_DELAYS) + 1, problem, NOW)
    assert parked["status"] == "parked" and parked["next_attempt_at"] is None
    assert parked["error"] == "no email adapter is configured"
    bug = after_failure(1, KeyError("secret text of a stranger"), NOW)
    assert bug["error"] == "KeyError (see the log)"  # an unknown error's text is not stored
    assert bug["next_attempt_at"] == NOW + timedelta(seconds=10)
    bad = after_failure(1, InvalidInput("phone", "x", "a number"), NOW)
    assert bad["status"] == "parked"  # input that can never apply waits for an operator
