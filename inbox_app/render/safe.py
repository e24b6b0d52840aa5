"""Untrusted text made inert: the one place where bodies, names, subjects and file names pass.

Everything a prospect, a provider or a file can put on screen goes through ``clean`` (terminal
escape sequences, control characters and bidi overrides removed) and is wrapped in a Rich
``Text``, which Textual never parses as markup.
"""

from __future__ import annotations

import re

from rich.text import Text

from core.storage.text import match_spans

#: CSI, OSC, DCS/PM/APC/SOS strings and two-character escapes.
_ESCAPES = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"
    r"|\x1b[PX^_][^\x1b]*(?:\x1b\\)?"
    r"|\x1b[@-Z\\-_]?"
    r"|\x9b[0-?]*[ -/]*[@-~]"
)
#: C0 and C1 controls except newline and tab, DEL, and the bidi embedding/override/isolate marks.
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def clean(value: object) -> str:
    """``value`` as plain printable text: no escape sequences, no control characters."""
    text = "" if value is None else str(value)
    return _CONTROLS.sub("", _ESCAPES.sub("", text.replace("\r\n", "\n")))


def one_line(value: object, limit: int | None = None) -> str:
    """``clean`` text on one line (newlines and tabs become spaces), cut at ``limit``."""
    text = " ".join(clean(value).split())
    if limit is not None and len(text) > limit:
        return text[: max(limit - 1, 0)] + "…"
    return text


def inert(value: object, style: str = "", *, single_line: bool = False) -> Text:
    """A Rich ``Text`` of untrusted ``value``: shown as written, never interpreted."""
    text = one_line(value) if single_line else clean(value)
    return Text(text, style=style, no_wrap=single_line, end="")


def highlighted(
    value: object, query: str | None, style: str = "", *, single_line: bool = True
) -> Text:
    """``inert`` text with the words of ``query`` highlighted (search results)."""
    text = inert(value, style, single_line=single_line)
    if query:
        for start, end in match_spans(text.plain, query):
            text.stylize("reverse bold", start, end)
    return text
