"""Recognising what a short prospect message means, in French and English.

Case, accents and punctuation are ignored ("Oui !", "OUI", "oui." are one answer); emoji
that carry meaning (👍) are kept. Only a message that *is* the answer counts: "oui mais pas
mardi" is left to an agent.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum


class Intent(StrEnum):
    """What Sara recognised."""

    CONFIRM = "confirm"
    REFUSE = "refuse"
    CANCEL = "cancel"
    OPT_OUT = "opt_out"
    RATING = "rating"
    COMMAND = "command"
    NONE = "none"


@dataclass(frozen=True, slots=True)
class Recognized:
    """An intent and its value (the rating, the command name)."""

    intent: Intent
    value: str | int | None = None


_THUMBS = ("👍", "👌", "✅")
#: Variation selector and skin tones that may follow a thumb.
_EMOJI_MODIFIERS = "\ufe0f\U0001f3fb\U0001f3fc\U0001f3fd\U0001f3fe\U0001f3ff"
_CONFIRM = {
    "oui", "ok", "okay", "d accord", "daccord", "dac", "yes", "yep", "y", "o",
    "je confirme", "confirme", "confirmer", "confirmé", "c est bon", "parfait", "confirm",
    "confirmed", "sure", "oui merci", "ok merci", "yes please", "yes thanks",
}  # fmt: skip
_REFUSE = {"non", "no", "nope", "n", "non merci", "no thanks", "pas possible"}
_CANCEL = {
    "annuler", "annule", "annulation", "annulez", "cancel", "cancelled", "canceled",
    "je veux annuler", "annuler le rdv", "annuler rdv", "cancel appointment",
}  # fmt: skip
_OPT_OUT = {
    "stop", "arret", "arreter", "unsubscribe", "desinscrire", "desinscription",
    "stop sms", "stopsms", "se desinscrire", "me desinscrire", "opt out", "optout",
}  # fmt: skip
_COMMAND = re.compile(r"^/([a-z0-9_]{1,32})(?:@\w+)?(?:\s|$)")
_RATING_WORDS = {"un": 1, "deux": 2, "trois": 3, "quatre": 4, "cinq": 5, "one": 1, "two": 2}
_RATING_WORDS |= {"three": 3, "four": 4, "five": 5}
_RATING = re.compile(r"^([1-5])(?: (?:5|sur 5|out of 5|etoiles?|stars?))?$")


def normalize(text: str) -> str:
    """Lower case, accents and punctuation removed, white space collapsed."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    kept = []
    for char in decomposed:
        category = unicodedata.category(char)
        if category == "Mn":
            continue
        kept.append(" " if category[0] in "PZC" else char)
    return " ".join("".join(kept).split())


def recognize(text: str, *, survey_pending: bool = False) -> Recognized:
    """What ``text`` means; ratings only count when a survey awaits an answer."""
    stripped = (text or "").strip()
    command = _COMMAND.match(stripped.casefold())
    if command:
        return Recognized(Intent.COMMAND, command.group(1))
    if _only_thumbs(stripped):
        return Recognized(Intent.CONFIRM)
    words = normalize(stripped)
    if survey_pending:
        rating = _rating(stripped, words)
        if rating is not None:
            return Recognized(Intent.RATING, rating)
    if words in _OPT_OUT:
        return Recognized(Intent.OPT_OUT)
    if words in _CANCEL:
        return Recognized(Intent.CANCEL)
    if words in _CONFIRM or words.removesuffix(" merci") in _CONFIRM:
        return Recognized(Intent.CONFIRM)
    if words in _REFUSE:
        return Recognized(Intent.REFUSE)
    return Recognized(Intent.NONE)


def _only_thumbs(text: str) -> bool:
    meaningful = [c for c in text if unicodedata.category(c)[0] not in "PZ"]
    return bool(meaningful) and all(c in _THUMBS or c in _EMOJI_MODIFIERS for c in meaningful)


def _rating(raw: str, words: str) -> int | None:
    if words in _RATING_WORDS:
        return _RATING_WORDS[words]
    match = _RATING.match(words)
    if match:
        return int(match.group(1))
    stars = raw.count("⭐")
    if 1 <= stars <= 5 and not raw.replace("⭐", "").strip():
        return stars
    return None
