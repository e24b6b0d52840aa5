"""Validation of contact details: phone numbers to E.164, email addresses, Telegram chat ids."""

from __future__ import annotations

import re

from core.errors import InvalidInput

DEFAULT_REGION = "FR"
_PHONE_EXPECTED = "a phone number such as 06 12 34 56 78 or +33612345678"

# Deliberately simple: one @, a dot in the domain, no spaces. Deliverability is the provider's job.
_EMAIL = re.compile(r"^[^@\s<>\"']+@[^@\s<>\"']+\.[^@\s<>\"']{2,}$")


def normalize_phone(raw: str, region: str = DEFAULT_REGION) -> str:
    """Parse a phone number as written by a person and return it in E.164.

    A number without a country code is read in ``region`` (France by default).

    Raises:
        InvalidInput: the text is not a valid phone number.
    """
    import phonenumbers  # its metadata loads on the first number, not when the app starts

    text = (raw or "").strip()
    if text.lower().startswith("whatsapp:"):
        text = text[len("whatsapp:") :]
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidInput("phone", raw, _PHONE_EXPECTED) from exc
    if not phonenumbers.is_valid_number(number):
        raise InvalidInput("phone", raw, _PHONE_EXPECTED)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalize_email(raw: str) -> str:
    """Return the address trimmed, with its domain lower-cased.

    Raises:
        InvalidInput: the text is not an email address.
    """
    text = (raw or "").strip()
    if not _EMAIL.match(text) or len(text) > 254:
        raise InvalidInput("email", raw, "an address such as marie.dupont@example.fr")
    local, domain = text.rsplit("@", 1)
    return f"{local}@{domain.lower()}"


def normalize_chat_id(raw: int | str) -> int:
    """A Telegram chat id: a signed 64-bit integer.

    Raises:
        InvalidInput: the value is not such an integer.
    """
    try:
        value = int(str(raw).strip())
    except ValueError as exc:
        raise InvalidInput("telegram_chat_id", raw, "a whole number") from exc
    if not -(2**63) <= value < 2**63:
        raise InvalidInput("telegram_chat_id", raw, "a 64-bit whole number")
    return value
