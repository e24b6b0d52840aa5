"""Payload extras of booking messages: Telegram buttons, the tap acknowledged, inline files."""

from __future__ import annotations

from core.channels.adapter import Button
from core.domain.decision import ReplyDraft
from core.domain.enums import Channel
from core.outbox.payload import build_payload, inline_attachment, outgoing

CONTACTS = {Channel.TELEGRAM: "4242", Channel.SMS: "+33612345678", Channel.EMAIL: "a@b.fr"}


def payload(**extra):
    return {**build_payload(ReplyDraft(text="Choisissez"), CONTACTS), **extra}


def test_buttons_and_the_tap_go_to_telegram_only() -> None:
    data = payload(
        buttons=[{"id": "rdv:visit.1.1773151200", "title": "mar. 10 mars 14:00"}],
        callback={"id": "q1", "text": "Réservé ✓"},
    )
    message = outgoing(data, Channel.TELEGRAM, "key")
    assert message.buttons == (Button("rdv:visit.1.1773151200", "mar. 10 mars 14:00"),)
    assert (message.callback_query_id, message.callback_text) == ("q1", "Réservé ✓")
    sms = outgoing(data, Channel.SMS, "key")  # a fallback to SMS carries the text alone
    assert sms.buttons == () and sms.callback_query_id is None


def test_an_inline_attachment_comes_back_byte_for_byte() -> None:
    ics = "BEGIN:VCALENDAR\r\nSUMMARY:Visite — été\r\nEND:VCALENDAR\r\n".encode()
    file = inline_attachment("rendez-vous.ics", "text/calendar; charset=utf-8", ics)
    assert "path" not in file and isinstance(file["content_b64"], str)
    message = outgoing(payload(attachments=[file]), Channel.EMAIL, "key")
    [attachment] = message.attachments
    assert attachment.content == ics and attachment.filename == "rendez-vous.ics"
    assert attachment.content_type == "text/calendar; charset=utf-8"
