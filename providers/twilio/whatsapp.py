"""WhatsApp through Twilio (``whatsapp:`` addresses, Content API templates)."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from core.channels.adapter import Capabilities, OutgoingMessage
from core.domain.enums import Channel
from providers.twilio.base import SHARED_ROUTES, WHATSAPP_PREFIX, TwilioAdapter, twilio_route


class TwilioWhatsAppAdapter(TwilioAdapter):
    """WhatsApp through Twilio Messages.

    Options: ``from_number`` (the WhatsApp sender, E.164, without ``whatsapp:``) or
    ``messaging_service_sid``. Credentials: ``account_sid``, ``auth_token``.
    Text, media by URL, location (``PersistentAction`` ``geo:``) and approved templates
    (``ContentSid`` + ``ContentVariables``, positional ``{"1": …}``).
    """

    name = "twilio_whatsapp"
    channel = Channel.WHATSAPP
    webhooks = (twilio_route("twilio/whatsapp", Channel.WHATSAPP), *SHARED_ROUTES)
    capabilities = Capabilities(
        max_length=1600,
        media=True,
        documents=True,
        location=True,
        templates=True,
        read_receipts=True,
        cost_per_unit=Decimal("0.01"),
        cost_unit="message",
        typical_delivery_seconds=30.0,
        rate_per_second=20.0,
        lookup=True,
        recent=True,
        media_download=True,
    )

    def _address(self, number: str) -> str:
        return number if number.startswith(WHATSAPP_PREFIX) else WHATSAPP_PREFIX + number

    def _create_params(self, message: OutgoingMessage) -> dict[str, Any]:
        params: dict[str, Any] = {"to": self._address(message.to), **self._sender()}
        if message.template is not None:
            params["content_sid"] = message.template.content_sid or message.template.name
            variables = {str(i): v for i, v in enumerate(message.template.parameters, start=1)}
            if variables:
                params["content_variables"] = json.dumps(variables, ensure_ascii=False)
            return params
        text = message.text
        if message.location is not None:
            place = message.location
            label = place.name or place.address or ""
            action = f"geo:{place.latitude},{place.longitude}"
            params["persistent_action"] = [f"{action}|{label}" if label else action]
            text = text or label or action
        if text:
            params["body"] = text
        if message.attachments:
            params["media_url"] = self._media_urls(message.attachments)
        return params
