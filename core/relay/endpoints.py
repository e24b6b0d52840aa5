"""The fixed webhook contract: which path belongs to which provider and channel."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qs

from core.domain.enums import Channel, Provider


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One webhook path.

    ``name`` is what ``inbound_events.endpoint`` records; ``email`` endpoints get the larger
    body limit; ``twiml`` endpoints answer Twilio with an empty ``<Response/>``.
    """

    name: str
    path: str
    provider: Provider
    channel: Channel
    email: bool = False
    twiml: bool = False


ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint("twilio/sms", "/webhooks/twilio/sms", Provider.TWILIO, Channel.SMS, twiml=True),
    Endpoint(
        "twilio/whatsapp",
        "/webhooks/twilio/whatsapp",
        Provider.TWILIO,
        Channel.WHATSAPP,
        twiml=True,
    ),
    Endpoint("twilio/status", "/webhooks/twilio/status", Provider.TWILIO, Channel.SMS, twiml=True),
    Endpoint(
        "sendgrid/inbound",
        "/webhooks/sendgrid/inbound",
        Provider.SENDGRID,
        Channel.EMAIL,
        email=True,
    ),
    # Inbound Parse authenticated by a secret in the path instead of Basic auth.
    Endpoint(
        "sendgrid/inbound-path",
        "/webhooks/sendgrid/inbound/{secret}",
        Provider.SENDGRID,
        Channel.EMAIL,
        email=True,
    ),
    Endpoint("sendgrid/events", "/webhooks/sendgrid/events", Provider.SENDGRID, Channel.EMAIL),
    Endpoint("telegram", "/webhooks/telegram/{bot_id}", Provider.TELEGRAM, Channel.TELEGRAM),
    Endpoint("meta/whatsapp", "/webhooks/meta/whatsapp", Provider.META, Channel.WHATSAPP),
    Endpoint("vapi", "/webhooks/vapi", Provider.VAPI, Channel.VOICE),
    # Aliases some set-ups use: one Twilio inbound URL for SMS and WhatsApp, Meta without suffix.
    Endpoint(
        "twilio/inbound", "/webhooks/twilio/inbound", Provider.TWILIO, Channel.SMS, twiml=True
    ),
    Endpoint("meta", "/webhooks/meta", Provider.META, Channel.WHATSAPP),
)

#: Endpoints whose channel is read from the Twilio form (SMS or WhatsApp).
TWILIO_EITHER = frozenset({"twilio/status", "twilio/inbound"})

BY_NAME = {e.name: e for e in ENDPOINTS}

TWIML_EMPTY = '<?xml version="1.0" encoding="UTF-8"?><Response/>'

#: Request headers that carry a secret or a signature: checked, then never stored.
SECRET_HEADERS = frozenset(
    {
        "authorization",
        "cookie",
        "x-twilio-signature",
        "x-telegram-bot-api-secret-token",
        "x-hub-signature",
        "x-hub-signature-256",
        "x-vapi-secret",
        "x-vapi-signature",
        "x-signature",
        "x-twilio-email-event-webhook-signature",
    }
)


def twilio_form(body: bytes) -> dict[str, list[str]] | None:
    """A Twilio form body parsed the way adapters read it (None: not UTF-8)."""
    try:
        return parse_qs(body.decode("utf-8"), keep_blank_values=True)
    except (UnicodeDecodeError, ValueError):
        return None


def status_channel(form: dict[str, list[str]] | None) -> Channel:
    """The channel of a Twilio callback: WhatsApp when its numbers say so."""
    if not form:
        return Channel.SMS
    numbers = "".join(form.get("From", [""])[:1] + form.get("To", [""])[:1])
    return Channel.WHATSAPP if "whatsapp:" in numbers else Channel.SMS
