"""Untrusted text made inert: the one place where bodies, names, subjects and file names pass.

Everything a prospect, a provider or a file can put on screen goes through ``clean`` (terminal
escape sequences, control, bidi and zero-width characters removed, by ``core.sanitize``: the core
and the app share one implementation) and is wrapped in a Rich ``Text``, which Textual never
parses as markup.
"""

from __future__ import annotations

from rich.text import Text

from core.sanitize import MAX_LINE, clean_line, clean_text
from core.storage.text import match_spans


def clean(value: object) -> str:
    """``value`` as plain printable text (``core.sanitize.clean_text``: no escape sequences,
    control, bidi or zero-width characters; very long lines cut)."""
    return clean_text("" if value is None else str(value))


def one_line(value: object, limit: int | None = None) -> str:
    """``clean`` text on one line (newlines and tabs become spaces), cut at ``limit``."""
    length = MAX_LINE if limit is None else max(limit, 1)
    return clean_line("" if value is None else str(value), max_length=length)


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
