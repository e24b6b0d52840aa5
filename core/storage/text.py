"""Text folding shared by search on both databases: lower case, accents removed."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator

_TOKEN = re.compile(r"\w+", re.UNICODE)

#: Accented letters PostgreSQL folds in SQL (``translate``), so that its generated search column
#: needs no extension. Python's ``fold`` strips every combining mark, a superset of these.
PG_ACCENTED = "àáâãäåçèéêëìíîïñòóôõöùúûüýÿ"
PG_PLAIN = "aaaaaaceeeeiiiinooooouuuuyy"


def fold(text: str) -> str:
    """Lower-case ``text`` and strip its accents ("Élève" → "eleve")."""
    if text.isascii():  # nothing to decompose: the common case, and a search's hot path
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def tokens(text: str) -> list[str]:
    """The folded words of ``text``, as both search engines split them."""
    return _TOKEN.findall(fold(text))


def match_spans(text: str, query: str) -> list[tuple[int, int]]:
    """Where the words of ``query`` (as prefixes) occur in ``text``: (start, end) offsets.

    Used to highlight search results; the offsets index ``text`` itself, accents and all.
    """
    return list(_spans(text, tokens(query)))


def _spans(text: str, wanted: list[str]) -> Iterator[tuple[int, int]]:
    if not wanted:
        return
    prefixes = tuple(wanted)
    for match in _TOKEN.finditer(text):
        if fold(match.group()).startswith(prefixes):
            yield match.span()


def snippet(text: str, query: str, width: int = 80) -> str:
    """About ``width`` characters of ``text`` (one line) around the first word matching
    ``query``, with "…" where it was cut: why a search result matched."""
    flat = " ".join(text.split())
    if len(flat) <= width:
        return flat
    first = next(_spans(flat, tokens(query)), None)  # the first match is all it needs
    if first is None:
        return flat[: width - 1] + "…"
    # The match a quarter in, even when the text ends before the width is filled: lists show
    # only a snippet's first characters, and the match is why the result is there.
    start = max(0, first[0] - width // 4)
    if start and flat[start - 1] != " ":  # from the next whole word, if one starts before it
        space = flat.find(" ", start, first[0])
        start = space + 1 if space >= 0 else start
    end = min(len(flat), start + width)
    return ("…" if start else "") + flat[start:end].strip() + ("…" if end < len(flat) else "")
