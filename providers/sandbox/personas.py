"""Simulated prospects who answer, and recipients that make the providers fail.

Each persona has one address per channel; sending to it makes the sandbox answer as that prospect
does once the delivery webhooks have gone out. Like people, the personas answer a given message
once, never answer an acknowledgement ("votre rendez-vous est confirmé") and, once they have
said STOP, stay silent (``Replies``). Two are not people: ``echoes`` answers every message with
"OUI" (a loop waiting to happen) and ``away`` is an e-mail auto-responder ("Je suis absent…",
``Auto-Submitted: auto-replied``); the automation policy keeps both bounded.
"""

from __future__ import annotations

import base64
import unicodedata
from dataclasses import dataclass, field

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
    #: Answers every message, even the same one twice and acknowledgements (not a person).
    echo: bool = False
    #: An e-mail auto-responder: every e-mail gets ``reply`` with ``Auto-Submitted``.
    auto_reply: bool = False


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
    Persona(
        "echoes", "Marc Lemaire", "+33612000007", "marc@prospects.test", 7007, "OUI", echo=True
    ),
    Persona(
        "away",
        "Inès Garnier",
        "+33612000008",
        "ines@prospects.test",
        7008,
        "Bonjour, je suis absente du bureau jusqu'au 15 et n'ai pas accès à mes messages.",
        auto_reply=True,
    ),
)

#: Headers of the ``away`` persona's auto-replies (RFC 3834, and what Exchange adds).
AUTO_REPLY_HEADERS = {"Auto-Submitted": "auto-replied", "X-Auto-Response-Suppress": "All"}
#: What an acknowledgement says: a person reads it and does not answer (folded, no accents).
_ACKNOWLEDGING = (
    "est confirme",
    "is confirmed",
    "c est note",
    "noted",
    "merci pour votre",
    "thank you for your",
    "bien recu",
    "ne recevrez plus",
    "will not receive",
    "est annule",
    "is cancelled",
    "nos conseillers vous repondront",
    "our advisers will answer",
)


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    kept = "".join(
        " " if unicodedata.category(c)[0] in "PZC" else c
        for c in decomposed
        if unicodedata.category(c) != "Mn"
    )
    return " ".join(kept.split())


def acknowledges(text: str) -> bool:
    """Whether ``text`` only acknowledges (no question in it): nothing for a person to answer."""
    folded = _fold(text)
    return "?" not in text and any(marker in folded for marker in _ACKNOWLEDGING)


@dataclass
class Replies:
    """What the personas answered already, so that each answers like a person (see module)."""

    _answered: set[tuple[str, str, str]] = field(default_factory=set)
    _stopped: set[tuple[str, str]] = field(default_factory=set)

    def answers(self, persona: Persona, channel: str, text: str) -> bool:
        """Whether ``persona`` answers ``text`` received on ``channel`` (and remember it)."""
        if persona.auto_reply:
            return channel == "email"
        if persona.echo:
            return True
        if (persona.key, channel) in self._stopped:
            return False
        key = (persona.key, channel, _fold(text))
        if key in self._answered or acknowledges(text):
            return False
        self._answered.add(key)
        if persona.opt_out:
            self._stopped.add((persona.key, channel))
        return True


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
