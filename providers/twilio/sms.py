"""SMS (and MMS) through Twilio."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from core.channels.adapter import Capabilities, OutgoingMessage
from core.channels.segments import count_segments
from core.domain.enums import Channel
from providers.twilio.base import SHARED_ROUTES, TwilioAdapter, twilio_route


class TwilioSmsAdapter(TwilioAdapter):
    """SMS through Twilio Messages.

    Options: ``from_number`` (E.164 long code) or ``messaging_service_sid``.
    Credentials: ``account_sid``, ``auth_token``. ``base_url`` replaces ``https://api.twilio.com``.
    Status callbacks go to ``callback_url + /webhooks/twilio/status?ref=<reference>``.
    """

    name = "twilio_sms"
    channel = Channel.SMS
    webhooks = (twilio_route("twilio/sms", Channel.SMS), *SHARED_ROUTES)
    capabilities = Capabilities(
        max_length=1600,
        media=True,
        cost_per_unit=Decimal("0.05"),
        cost_unit="segment",
        typical_delivery_seconds=10.0,
        rate_per_second=1.0,  # one segment per second on a long code
        lookup=True,
        recent=True,
        media_download=True,
    )

    def _create_params(self, message: OutgoingMessage) -> dict[str, Any]:
        params: dict[str, Any] = {"to": message.to, **self._sender()}
        if message.text:
            params["body"] = message.text
        if message.attachments:
            params["media_url"] = self._media_urls(message.attachments)
        return params

    def _segments(self, instance: Any, text: str) -> int | None:
        try:
            reported = int(instance.num_segments or 0)
        except ValueError:
            reported = 0
        return reported or count_segments(text).segments or 1

    def _cost(self, segments: int | None) -> Decimal | None:
        return self.capabilities.cost_per_unit * (segments or 1)
