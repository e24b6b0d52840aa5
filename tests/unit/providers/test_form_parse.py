"""The URL-encoded body parser reads exactly what ``parse_qs`` reads (signatures depend on it)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlencode

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.channels.errors import MalformedWebhook
from providers._common import parse_form

# Escapes, separators and characters that change meaning once unquoted, mixed with text.
PIECES = st.sampled_from(
    ["%", "%2", "%26", "%3D", "%3d", "%2B", "%25", "%C3", "%A9", "%C3%A9", "%E2%82", "%FF",
     "%00", "&", "=", "+", "&&", "==", "é", "€", "a", "Body", " ", "%20", "%zz", "\x00"]
)  # fmt: skip


TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=4)


@given(st.lists(st.one_of(PIECES, TEXT), max_size=30))
@settings(max_examples=300)
def test_any_body_parses_as_parse_qs_does(pieces: list[str]) -> None:
    body = "".join(pieces)
    assert parse_form(body.encode()) == parse_qs(body, keep_blank_values=True)


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"&",
        b"a",
        b"a=",
        b"=b",
        b"a=1&a=2&b=%2B33+6",
        b"x=%C3&y=%A9",  # an unfinished sequence ends at its field
        b"x=%E2%82=%AC",
        b"ref=a%3Ab&n=a%26b=c",  # an escaped separator: still one field
        urlencode({"Body": "café & co = 100 %", "From": "+33611"}).encode(),
    ],
)
def test_known_bodies(body: bytes) -> None:
    assert parse_form(body) == parse_qs(body.decode(), keep_blank_values=True)


def test_a_body_that_is_not_utf8_is_malformed() -> None:
    with pytest.raises(MalformedWebhook):
        parse_form(b"Body=caf\xe9")
