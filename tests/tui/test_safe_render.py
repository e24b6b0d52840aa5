"""Untrusted text is inert: no markup, no escape sequences, no control characters."""

from __future__ import annotations

from rich.text import Text

from inbox_app.render.safe import clean, highlighted, inert, one_line


def test_escape_sequences_and_controls_are_removed() -> None:
    raw = "a\x1b[31mred\x1b[0m \x1b]0;title\x07b\x1b[2J c\x07\x08d\u202eevil\x9b1m"
    assert clean(raw) == "ared b cdevil"


def test_newlines_and_tabs_survive_clean_but_not_one_line() -> None:
    assert clean("a\r\nb\tc") == "a\nb\tc"
    assert one_line("a\n  b\tc") == "a b c"
    assert one_line("abcdef", 4) == "abc…"


def test_markup_is_kept_as_written() -> None:
    text = inert("[bold red]Evil[/] [link=file:///etc/passwd]x[/link]")
    assert isinstance(text, Text)
    assert text.plain == "[bold red]Evil[/] [link=file:///etc/passwd]x[/link]"
    assert not text.spans


def test_search_words_are_highlighted_accents_and_all() -> None:
    text = highlighted("La visite de l'Élysée", "elysee visi")
    styled = [text.plain[s.start : s.end] for s in text.spans]
    assert styled == ["visite", "Élysée"]


def test_none_is_empty() -> None:
    assert clean(None) == ""
