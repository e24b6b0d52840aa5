"""Recognising an inbound message that a machine sent: it is never answered automatically.

An e-mail is automated when its headers say so (RFC 3834 ``Auto-Submitted`` other than ``no``,
``Precedence: bulk|junk|list|auto_reply``, ``X-Autoreply``, ``X-Autorespond``, Exchange's
``X-Auto-Response-Suppress``, a mailing list's ``List-Id``) or its subject is an auto-reply's
("Réponse automatique", "Absence", "Out of office", "Automatic reply"…). A text, WhatsApp or
Telegram message is automated when it comes from the program's own number or from a bot.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection, Mapping
from typing import Any

_PRECEDENCE = {"bulk", "junk", "list", "auto_reply", "auto-reply"}
#: Auto-reply subjects, accents and case folded: phrases matched as whole words anywhere, and
#: single words only at the start ("Absent : Re: visite", not "Re: absent mardi ?").
_AT_START = ("absence", "absent", "absente", "auto")
_SUBJECTS = (
    "reponse automatique",
    "reponse auto",
    "message automatique",
    "message d absence",
    "je suis absent",
    "je suis absente",
    "hors du bureau",
    "en conges",
    "out of office",
    "out of the office",
    "automatic reply",
    "auto reply",
    "autoreply",
    "auto response",
    "autoresponse",
    "away from the office",
    "on vacation",
    "delivery status notification",
    "undeliverable",
    "mail delivery failed",
    "non remis",
)
_SUBJECT = re.compile(
    r"^(?:"
    + "|".join(_AT_START)
    + r")\b|\b(?:"
    + "|".join(re.escape(s) for s in _SUBJECTS)
    + r")\b"
)


def fold(text: str) -> str:
    """Lower case without accents, punctuation turned into spaces."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    kept = "".join(
        " " if unicodedata.category(c)[0] in "PZC" else c
        for c in decomposed
        if unicodedata.category(c) != "Mn"
    )
    return " ".join(kept.split())


def email_headers_reason(headers: Mapping[str, Any]) -> str | None:
    """Why these e-mail headers mark an automated message (a reason code), or None."""
    found = {str(k).lower(): str(v).strip().lower() for k, v in headers.items() if v is not None}
    submitted = found.get("auto-submitted")
    if submitted and submitted.split(";")[0].strip() != "no":
        return "auto_submitted"
    if found.get("precedence") in _PRECEDENCE:
        return "precedence"
    if "x-autoreply" in found or "x-autorespond" in found:
        return "autoreply_header"
    suppress = found.get("x-auto-response-suppress")
    if suppress and suppress != "none":
        return "autoreply_header"
    if found.get("list-id"):
        return "mailing_list"
    return None


def subject_reason(subject: str | None) -> str | None:
    """``auto_subject`` when ``subject`` is an auto-reply's, else None."""
    if subject and _SUBJECT.search(fold(subject)):
        return "auto_subject"
    return None


def _digits(address: str) -> str:
    return re.sub(r"\D", "", address) if re.search(r"\d", address) and "@" not in address else ""


def own_address_reason(sender: str, recipient: str | None, own: Collection[str] = ()) -> str | None:
    """``own_number`` when ``sender`` is the program itself (the number it wrote to, or one
    of the tenant's own numbers/addresses ``own``), else None."""
    wanted = {a.removeprefix("whatsapp:").strip().lower() for a in (*own, recipient or "") if a}
    wanted.discard("")
    text = sender.removeprefix("whatsapp:").strip().lower()
    if text in wanted:
        return "own_number"
    digits = _digits(text)
    if digits and digits in {_digits(a) for a in wanted}:
        return "own_number"
    return None


def automated_reason(
    *,
    channel: str,
    sender: str,
    recipient: str | None,
    subject: str | None,
    extra: Mapping[str, Any],
    own: Collection[str] = (),
) -> str | None:
    """Why an inbound message was sent by a machine (a reason code), or None for a person.

    ``extra`` is the adapter's ``InboundMessage.extra``: e-mail ingest keeps the headers named
    in ``core.channels.adapter.AUTO_HEADERS`` as ``extra["auto_headers"]``; Telegram says
    ``from_is_bot``.
    """
    if channel == "email":
        return email_headers_reason(extra.get("auto_headers") or {}) or subject_reason(subject)
    if channel == "telegram":
        if extra.get("from_is_bot"):
            return "bot"
        if recipient and str(extra.get("from_id", "")) == str(recipient):
            return "own_number"
        return None
    return own_address_reason(sender, recipient, own)
