"""What the orchestrator knows of each channel: delivery time, length limit, what it carries."""

from __future__ import annotations

from core.domain.enums import Channel

#: Typical seconds from hand-over to the phone (the seed's comparison table).
DELIVERY_SECONDS: dict[Channel, float] = {
    Channel.SMS: 10.0,
    Channel.EMAIL: 180.0,
    Channel.WHATSAPP: 30.0,
    Channel.TELEGRAM: 5.0,
    Channel.VOICE: 30.0,
}

#: Longest text a channel accepts in one message (Twilio refuses SMS bodies over 1,600).
HARD_LIMITS: dict[Channel, int] = {
    Channel.SMS: 1600,
    Channel.WHATSAPP: 4096,
    Channel.TELEGRAM: 4096,
}

#: Channels that buzz a phone: quiet hours apply to them.
INTRUSIVE = frozenset({Channel.SMS, Channel.WHATSAPP, Channel.TELEGRAM, Channel.VOICE})

#: Channels ``decide`` picks among in Auto mode; a call is only ever placed on request.
AUTO_CANDIDATES: tuple[Channel, ...] = (
    Channel.SMS,
    Channel.EMAIL,
    Channel.WHATSAPP,
    Channel.TELEGRAM,
)

#: Display names in reasons (brand names, the same in every language).
NAMES: dict[Channel, str] = {
    Channel.SMS: "SMS",
    Channel.EMAIL: "Email",
    Channel.WHATSAPP: "WhatsApp",
    Channel.TELEGRAM: "Telegram",
    Channel.VOICE: "VAPI",
}

#: The seed's channel comparison: ordering among equals, most immediate first.
TIE_ORDER: dict[Channel, int] = {
    Channel.SMS: 0,
    Channel.EMAIL: 1,
    Channel.WHATSAPP: 2,
    Channel.TELEGRAM: 3,
    Channel.VOICE: 4,
}
