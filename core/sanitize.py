"""Making text written by strangers inert before it reaches a terminal.

Everything a prospect, a provider or a file name can carry is shown through these helpers:

    clean_text(body)            # no escape sequence, control, bidi override or zero-width char
    clean_line(name)            # the same, on one line (names, subjects, file names, previews)
    email_html_to_text(html)    # an HTML email as sanitised text; images as "[image: alt]"

They only ever *produce text*: nothing is fetched, executed or interpreted. Rich/Textual markup
is not escaped here (that is the drawing layer's job: pass the result as plain ``Text``, never as
markup), but every byte that a terminal itself would act on is removed.
"""

from __future__ import annotations

import re
import unicodedata

#: Lines longer than this are cut for display (a 10,000-character line would freeze layouts).
MAX_LINE = 2000
#: What ends a line that was cut.
CUT_MARK = "…"

# ESC-introduced sequences: CSI (ESC [ … final), OSC (ESC ] … BEL or ST), DCS/SOS/PM/APC
# (ESC P/X/^/_ … ST), and two-character escapes (ESC + one byte). The 8-bit C1 forms
# (U+009B CSI, U+009D OSC, U+0090 DCS…) are matched the same way. A string sequence stops at the
# next ESC or C1 introducer, so an unterminated one loses only its introducer (removed below with
# the other controls) and the scan stays linear whatever the input.
_STRING_BODY = r"[^\x07\x1b\x90\x98\x9b-\x9f]*"
_ESCAPES = re.compile(
    r"(?:\x1b\[|\x9b)[\x30-\x3f]*[\x20-\x2f]*[\x40-\x7e]?"  # CSI: colours, cursor moves
    r"|(?:\x1b\]|\x9d)" + _STRING_BODY + r"(?:\x07|\x1b\\|\x9c)"  # OSC: OSC 8 links, OSC 52
    r"|(?:\x1b[PX^_]|[\x90\x98\x9e\x9f])" + _STRING_BODY + r"(?:\x1b\\|\x9c)"  # DCS…
    r"|\x1b[\x20-\x2f]*[\x30-\x7e]?"  # other escapes (ESC c, ESC ( B…)
)
# C0 controls but \t and \n, DEL, C1 controls.
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# Bidirectional embeddings, overrides and isolates; marks that reorder text.
_BIDI = re.compile(r"[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]")
# Zero-width and invisible characters (ZWSP, ZWNJ, ZWJ, word joiner, BOM, invisible operators,
# soft hyphen, Mongolian vowel separator, Hangul fillers).
_INVISIBLE = re.compile(r"[\u200b-\u200d\u2060-\u2064\ufeff\u00ad\u180e\u115f\u1160\u3164\uffa0]")

#: Any character past U+00FF (``_is_unassigned_format`` looks at those only).
_WIDE = re.compile(r"[^\x00-\xff]")


def strip_escapes(text: str) -> str:
    """``text`` without terminal escape sequences (CSI, OSC, DCS… in 7- and 8-bit forms)."""
    return _ESCAPES.sub("", text)


def clean_text(text: str | None, *, max_line: int = MAX_LINE) -> str:
    """``text`` made safe to draw in a terminal; keeps newlines and tabs.

    Removes escape sequences, C0/C1 control characters (``\\r`` included: a carriage return
    would let a line overwrite itself), bidirectional overrides and zero-width characters, and
    cuts every line longer than ``max_line`` characters (``…`` marks the cut).
    """
    if not text:
        return ""
    text = text.replace("\r\n", "\n")
    text = strip_escapes(text)
    text = _CONTROLS.sub("", text)
    text = _BIDI.sub("", text)
    text = _INVISIBLE.sub("", text)
    # only characters past U+00FF can be unassigned format ones: look at each of those once
    unassigned = {ch for ch in set(_WIDE.findall(text)) if _is_unassigned_format(ch)}
    if unassigned:
        text = "".join(ch for ch in text if ch not in unassigned)
    return "\n".join(_cut(line, max_line) for line in text.split("\n"))


def clean_line(text: str | None, *, max_length: int = 500) -> str:
    """``clean_text`` on one line: newlines and tabs become spaces, at most ``max_length``."""
    flat = " ".join(clean_text(text, max_line=max_length).split())
    return _cut(flat, max_length)


def email_html_to_text(html: str | None) -> str:
    """An HTML email as plain text a terminal can show.

    Scripts, styles and the head are dropped; links stay as ``text (url)``; an image becomes
    ``[image: alt]`` (or nothing, for a tracking pixel without alt text) and is never fetched.
    """
    from core.html_text import html_to_text  # html.parser: only for emails, not at start

    with_images = _IMAGES.sub(_image_placeholder, html or "")
    return clean_text(html_to_text(with_images))


_IMAGES = re.compile(r"""<img\b(?:[^>"']|"[^"]*"|'[^']*')*>""", re.IGNORECASE)
_ALT = re.compile(r"""\balt\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""", re.IGNORECASE)


def _image_placeholder(match: re.Match[str]) -> str:
    alt = _ALT.search(match.group(0))
    label = next((g for g in alt.groups() if g), "") if alt else ""
    label = clean_line(label.replace("<", "").replace(">", ""), max_length=80)
    # Escaped so that the HTML parser keeps it as text.
    return f"[image: {label}]" if label else ""


def _cut(line: str, limit: int) -> str:
    return line if len(line) <= limit else line[: limit - 1] + CUT_MARK


def _is_unassigned_format(ch: str) -> bool:
    """Other invisible format characters (category Cf) the lists above do not name."""
    return ch > "\u00ff" and unicodedata.category(ch) == "Cf" and ch not in _KEPT_FORMAT


# Format characters that carry meaning in real text: keep them (Arabic number signs…).
_KEPT_FORMAT = frozenset("\u0600\u0601\u0602\u0603\u0604\u0605\u06dd\u070f")


#: What stands for a character no database can store (visible, so nothing vanishes silently).
REPLACEMENT = "\ufffd"
# NUL (PostgreSQL text and JSONB refuse it) and lone surrogates (not encodable as UTF-8).
_UNSTORABLE = re.compile(r"[\x00\ud800-\udfff]")


def storable(text: str) -> str:
    """``text`` as every database stores it: NUL and lone surrogates become U+FFFD."""
    if text.isascii() and "\x00" not in text:  # no surrogate is ASCII; both checks are C loops
        return text
    return _UNSTORABLE.sub(REPLACEMENT, text)


def storable_as_is(text: str) -> bool:
    """Whether ``storable(text)`` is ``text`` (one look, nothing built)."""
    if text.isascii():
        return "\x00" not in text
    return _UNSTORABLE.search(text) is None


def storable_identifier(text: str) -> str:
    """An address or id as written by a provider, without the characters no address holds.

    Identifiers are matched, not read: a NUL or a control character in a phone number or an
    email address is dropped (the raw event keeps the original bytes).
    """
    return _CONTROLS.sub("", _UNSTORABLE.sub("", text))
