"""Recognising what a machine sent: e-mail headers (RFC 3834…), subjects, own numbers, bots."""

from __future__ import annotations

import pytest

from core.automation.detect import (
    automated_reason,
    email_headers_reason,
    own_address_reason,
    subject_reason,
)
from providers.sandbox.personas import PERSONAS, Replies, acknowledges
from providers.sendgrid.adapter import SendGridAdapter
from tests.unit.providers.helpers import config, request


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({"Auto-Submitted": "auto-replied"}, "auto_submitted"),
        ({"auto-submitted": "auto-generated; owner-email=x@y"}, "auto_submitted"),
        ({"Auto-Submitted": "no"}, None),  # RFC 3834: written by a person
        ({"Precedence": "bulk"}, "precedence"),
        ({"Precedence": "junk"}, "precedence"),
        ({"Precedence": "list"}, "precedence"),
        ({"Precedence": "auto_reply"}, "precedence"),
        ({"Precedence": "first-class"}, None),
        ({"X-Autoreply": "yes"}, "autoreply_header"),
        ({"X-Autorespond": "Out of office"}, "autoreply_header"),
        ({"X-Auto-Response-Suppress": "All"}, "autoreply_header"),
        ({"X-Auto-Response-Suppress": "None"}, None),
        ({"List-Id": "<news.agence.fr>"}, "mailing_list"),
        ({}, None),
    ],
)
def test_email_headers(headers, reason) -> None:
    assert email_headers_reason(headers) == reason


@pytest.mark.parametrize(
    "subject",
    [
        "Réponse automatique : Re: Votre visite",
        "Absence du bureau",
        "Absent : Votre visite",
        "Out of Office: Re: Viewing",
        "Automatic reply: Your viewing",
        "AutoReply: hello",
        "Je suis absente jusqu'au 15",
        "Undeliverable: Votre visite",
    ],
)
def test_auto_reply_subjects(subject: str) -> None:
    assert subject_reason(subject) == "auto_subject"


@pytest.mark.parametrize(
    "subject", ["Re: Votre visite", "Re: absent mardi, possible mercredi ?", "Automobile", None]
)
def test_a_persons_subjects(subject: str | None) -> None:
    assert subject_reason(subject) is None


def test_own_numbers_and_bots() -> None:
    assert own_address_reason("+33700000001", "+33700000001") == "own_number"
    assert own_address_reason("whatsapp:+33700000002", None, {"+33700000002"}) == "own_number"
    assert own_address_reason("33700000002", None, {"whatsapp:+33700000002"}) == "own_number"
    assert own_address_reason("+33612000001", "+33700000001", {"+33700000002"}) is None
    telegram = {"channel": "telegram", "sender": "42", "recipient": "99", "subject": None}
    assert automated_reason(**telegram, extra={"from_is_bot": True}) == "bot"
    assert automated_reason(**telegram, extra={"from_id": 99}) == "own_number"
    assert automated_reason(**telegram, extra={"from_id": 42}) is None
    email = {"channel": "email", "sender": "a@b.fr", "recipient": "agence@c.fr"}
    headers = {"auto_headers": {"auto-submitted": "auto-replied"}}
    assert automated_reason(**email, subject="Re: visite", extra=headers) == "auto_submitted"
    assert automated_reason(**email, subject="Out of office", extra={}) == "auto_subject"
    assert automated_reason(**email, subject="Re: visite", extra={}) is None


def _inbound(headers: str) -> bytes:
    fields = {
        "from": "Inès <ines@prospects.test>",
        "to": "agence@coccinelle.test",
        "subject": "Re: Visite",
        "text": "Je suis absente.",
        "headers": "Message-ID: <m1@prospects.test>\r\n" + headers,
    }
    parts = b"".join(
        f'--b\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
        for k, v in fields.items()
    )
    return parts + b"--b--\r\n"


def test_sendgrid_inbound_keeps_the_headers_that_mark_an_auto_reply() -> None:
    adapter = SendGridAdapter(config(api_key="k", inbound_secret="s"))
    body = _inbound("Auto-Submitted: auto-replied\r\nPrecedence: bulk\r\nX-Other: 1\r\n")
    (event,) = adapter.parse(request(body, content_type="multipart/form-data; boundary=b"))
    assert event.extra["auto_headers"] == {"auto-submitted": "auto-replied", "precedence": "bulk"}
    (plain,) = adapter.parse(request(_inbound(""), content_type="multipart/form-data; boundary=b"))
    assert plain.extra["auto_headers"] == {}


def test_personas_answer_a_message_once_and_never_an_acknowledgement() -> None:
    confirms, echoes, away = PERSONAS[0], PERSONAS[6], PERSONAS[7]
    stops = PERSONAS[4]
    replies = Replies()
    question = "Votre visite jeudi 15h vous convient ? Répondez OUI"
    assert replies.answers(confirms, "sms", question)
    assert not replies.answers(confirms, "sms", question)  # the same message: answered already
    assert replies.answers(confirms, "email", question)  # another channel, another message
    ack = "Merci ! Votre rendez-vous du jeudi 12 mars à 15:00 est confirmé. À bientôt."
    assert acknowledges(ack) and not replies.answers(confirms, "sms", ack)
    assert all(replies.answers(echoes, "sms", ack) for _ in range(3))  # not a person
    assert replies.answers(away, "email", ack) and not replies.answers(away, "sms", question)
    assert replies.answers(stops, "sms", "Nouveauté : 3 pièces à Montreuil")
    assert not replies.answers(stops, "sms", "Autre nouveauté")  # said STOP: silent since
