"""Checking a channel's set-up before it is saved (the settings screen and ``coccinelle channel``).

    options = checked_setup(Channel.SMS, Provider.TWILIO, {"from_number": "06 12 34 56 78"})

Sender addresses are normalised (E.164 numbers, email addresses); a provider must carry the
channel; secrets are refused here: they go to the keyring (``coccinelle credentials set``),
never into the database.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from core.channels.runtime import ADAPTER_NAMES
from core.domain.contact import normalize_email, normalize_phone
from core.domain.enums import Channel, Provider
from core.errors import InvalidInput

#: Options holding phone numbers, and email addresses: normalised on save.
PHONE_OPTIONS = frozenset({"from_number", "phone_number", "messaging_service_number"})
EMAIL_OPTIONS = frozenset({"from_email", "reply_to"})
_SECRET_WORDS = re.compile(r"(?i)(secret|token|password|api_?key|auth|sid$)")
#: Option names that contain a secret-like word but are not secrets.
_NOT_SECRETS = frozenset({"credential_names", "bot_username", "bot_id", "event_public_key"})


_E164 = re.compile(r"^\+[1-9]\d{6,14}$")


def sender_number(raw: str) -> str:
    """A number the provider gave us, in E.164 (``06 12 34 56 78`` is read as French).

    Providers assign numbers phone libraries may not know yet (new ranges, test numbers):
    any E.164-shaped number is accepted.

    Raises:
        InvalidInput: not a phone number.
    """
    compact = re.sub(r"[\s.()-]", "", raw.removeprefix("whatsapp:"))
    if _E164.match(compact):
        return compact
    return normalize_phone(raw)


def check_provider(channel: Channel, provider: Provider | str) -> Provider:
    """``provider`` if it carries ``channel``.

    Raises:
        InvalidInput: an unknown provider, or one that does not carry the channel.
    """
    try:
        chosen = Provider(provider)
    except ValueError:
        raise InvalidInput("provider", provider, ", ".join(p.value for p in Provider)) from None
    if (Channel(channel), chosen) not in ADAPTER_NAMES:
        carriers = [p.value for c, p in ADAPTER_NAMES if c == Channel(channel)]
        raise InvalidInput("provider", provider, " or ".join(carriers))
    return chosen


def checked_setup(
    channel: Channel, provider: Provider | str, options: Mapping[str, Any]
) -> dict[str, Any]:
    """``options`` checked and normalised for ``channel`` through ``provider``.

    Raises:
        InvalidInput: a wrong provider, a secret among the options, or a sender address that
            is not one.
    """
    check_provider(channel, provider)
    checked: dict[str, Any] = {}
    for name, value in options.items():
        if _SECRET_WORDS.search(name) and name not in _NOT_SECRETS:
            raise InvalidInput(
                name, "«hidden»", f"no secret here: coccinelle credentials set {channel} {name}"
            )
        if name in PHONE_OPTIONS and value:
            value = sender_number(str(value))
        elif name in EMAIL_OPTIONS and value:
            value = normalize_email(str(value))
        elif name == "sender_numbers" and value:
            items = value if isinstance(value, list) else str(value).split(",")
            value = [sender_number(str(v)) for v in items if str(v).strip()]
        checked[name] = value
    return checked
