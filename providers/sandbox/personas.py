"""Simulated prospects who answer, and recipients that make the providers fail.

Each persona has one address per channel; sending to it makes the sandbox answer as that prospect
does once the delivery webhooks have gone out.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

from providers.sandbox.failures import FAILURES as _FAILURES

#: A 1×1 PNG: what the photo persona sends.
TINY_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


@dataclass(frozen=True, slots=True)
class Persona:
    """A prospect the sandbox plays."""

    key: str
    name: str
    phone: str
    email: str
    chat_id: int
    reply: str | None = None
    photo: bool = False
    opt_out: bool = False
    calls: bool = False


PERSONAS: tuple[Persona, ...] = (
    Persona("confirms", "Camille Martin", "+33612000001", "camille@prospects.test", 7001, "OUI"),
    Persona("cancels", "Hugo Bernard", "+33612000002", "hugo@prospects.test", 7002, "ANNULER"),
    Persona(
        "asks",
        "Léa Petit",
        "+33612000003",
        "lea@prospects.test",
        7003,
        "Bonjour, est-ce qu'il y a une place de parking ?",
    ),
    Persona(
        "photo",
        "Nina Roux",
        "+33612000004",
        "nina@prospects.test",
        7004,
        "Voici la photo",
        photo=True,
    ),
    Persona(
        "stops", "Paul Durand", "+33612000005", "paul@prospects.test", 7005, "STOP", opt_out=True
    ),
    Persona("calls", "Jade Moreau", "+33612000006", "jade@prospects.test", 7006, calls=True),
)

#: Recipients that always fail, whatever the test: address → failure name (see ``FAILURES``).
FAILING_RECIPIENTS: dict[str, str] = {
    "+33612000901": "invalid_number",
    "+33612000902": "unsubscribed",
    "+33612000903": "outside_window",
    "bounce@prospects.test": "bounce",
}

#: Failures a test can inject with ``Sandbox.inject`` (see ``failures.FAILURE_HELP``).
FAILURES = _FAILURES


def persona_for(address: str | int | None) -> Persona | None:
    """The persona reached at ``address`` (phone, email, chat id), if any."""
    if address is None:
        return None
    text = str(address).removeprefix("whatsapp:").strip().lower()
    digits = text.lstrip("+")
    for persona in PERSONAS:
        if (
            text in (persona.phone, persona.email, str(persona.chat_id))
            or digits == persona.phone[1:]
        ):
            return persona
    return None
