"""Text folding shared by search on both databases: lower case, accents removed."""

from __future__ import annotations

import re
import unicodedata

_TOKEN = re.compile(r"\w+", re.UNICODE)

#: Accented letters PostgreSQL folds in SQL (``translate``), so that its generated search column
#: needs no extension. Python's ``fold`` strips every combining mark, a superset of these.
PG_ACCENTED = "àáâãäåçèéêëìíîïñòóôõöùúûüýÿ"
PG_PLAIN = "aaaaaaceeeeiiiinooooouuuuyy"


def fold(text: str) -> str:
    """Lower-case ``text`` and strip its accents ("Élève" → "eleve")."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def tokens(text: str) -> list[str]:
    """The folded words of ``text``, as both search engines split them."""
    return _TOKEN.findall(fold(text))


def match_spans(text: str, query: str) -> list[tuple[int, int]]:
    """Where the words of ``query`` (as prefixes) occur in ``text``: (start, end) offsets.

    Used to highlight search results; the offsets index ``text`` itself, accents and all.
    """
    wanted = tokens(query)
    if not wanted:
        return []
    spans: list[tuple[int, int]] = []
    for match in _TOKEN.finditer(text):
        word = fold(match.group())
        if any(word.startswith(w) for w in wanted):
            spans.append(match.span())
    return spans


def snippet(text: str, query: str, width: int = 80) -> str:
    """About ``width`` characters of ``text`` (one line) around the first word matching
    ``query``, with "…" where it was cut: why a search result matched."""
    flat = " ".join(text.split())
    spans = match_spans(flat, query)
    if len(flat) <= width or not spans:
        return flat if len(flat) <= width else flat[: width - 1] + "…"
    start = max(0, spans[0][0] - width // 4)
    end = min(len(flat), start + width)
    start = max(0, end - width)
    return ("…" if start else "") + flat[start:end].strip() + ("…" if end < len(flat) else "")
