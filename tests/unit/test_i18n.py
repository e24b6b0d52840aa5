"""One translation layer: both catalogs complete, placeholders matching, locale formatting."""

from __future__ import annotations

import string
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from babel.dates import format_timedelta

from core import i18n


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_french_and_english_catalogs_have_the_same_keys_and_placeholders() -> None:
    fr, en = i18n.catalog("fr"), i18n.catalog("en")
    assert set(fr) == set(en), set(fr) ^ set(en)
    for key in en:
        assert placeholders(fr[key]) == placeholders(en[key]), key


@pytest.fixture
def french():
    previous = i18n.language()
    i18n.set_language("fr")
    yield
    i18n.set_language(previous)


def test_french_formats(french) -> None:
    now = datetime(2026, 3, 10, 10, 0, tzinfo=UTC)
    assert i18n.t("common.channel.email") == "E-mail"
    assert i18n.format_money(Decimal("0.05")) == "0,05\xa0€"
    assert i18n.format_relative(now - timedelta(minutes=5), now) == "il y a 5\xa0min"
    assert i18n.format_relative(now - timedelta(seconds=20), now) == "à l'instant"
    assert i18n.format_relative(now + timedelta(seconds=5), now) == "à l'instant"
    assert i18n.format_datetime(now, "Europe/Paris", "short") == "10/03/2026 11:00"


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_relative_times_read_as_babel_writes_them_when_reused(lang: str) -> None:
    """Texts are kept and reused (the inbox asks for one per row): each must still be Babel's
    for its own delta, at the edges where the unit or the rounding changes, both ways."""
    previous = i18n.language()
    i18n.set_language(lang)
    now = datetime(2026, 3, 10, 10, 0, tzinfo=UTC)
    seconds = [60, 89.9, 90, 90.1, 149.9, 150, 150.4, 3569.9, 3570, 3599.6, 3600, 5399, 5400.5]
    seconds += [86_399, 86_400, 129_599, 129_600, 604_799, 2_591_999, 31_535_999, 47_304_001]
    try:
        for _ in range(2):  # the second time from what was kept
            for s in seconds:
                for delta in (timedelta(seconds=s), timedelta(seconds=-s)):
                    wanted = format_timedelta(
                        delta,
                        granularity="minute",
                        threshold=1.0,
                        add_direction=True,
                        format="short",
                        locale=i18n.babel_locale(),
                    )
                    assert i18n.format_relative(now + delta, now) == wanted, (lang, delta)
    finally:
        i18n.set_language(previous)


def test_missing_keys_fall_back_to_the_key_not_a_crash() -> None:
    assert i18n.t("no.such.key") == "no.such.key"
    assert i18n.t("cli.error") == "error: {message}"


def test_language_detection_follows_the_system(monkeypatch) -> None:
    monkeypatch.setenv("LANG", "fr_FR.UTF-8")
    monkeypatch.delenv("LC_ALL", raising=False)
    monkeypatch.delenv("LC_MESSAGES", raising=False)
    assert i18n.detect_language() == "fr"
    monkeypatch.setenv("LANG", "de_DE.UTF-8")
    assert i18n.detect_language() == "en"


def test_a_count_chooses_the_plural_form_of_each_language(french) -> None:
    """No "message(s)": the form follows the count, by each language's CLDR rule (in French 0
    and 1 are singular, in English only 1)."""
    assert i18n.t("automation.ui.held", count=1) == "1 message automatique retenu."
    assert i18n.t("automation.ui.held", count=0) == "0 message automatique retenu."
    assert i18n.t("automation.ui.held", count=2) == "2 messages automatiques retenus."
    i18n.set_language("en")
    assert i18n.t("automation.ui.held", count=1) == "1 automated message held."
    assert i18n.t("automation.ui.held", count=0) == "0 automated messages held."
    assert i18n.t("events.attempts", count=3) == "3 attempts"
    for language in i18n.LANGUAGES:
        messages = i18n.catalog(language).items()
        assert not [k for k, v in messages if "(s)" in v.replace("http(s)", "")]


def test_an_engagement_reason_agrees_with_the_messages_sent(french) -> None:
    """No "replied to 0 of 1 messages"; a reason stored before it had plural
    forms (no count among its values) reads in the general form."""
    good = "orchestrator.reason.engagement.good"
    assert i18n.t(good, channel="SMS", replied=0, sent=1, count=1).endswith(
        "(a répondu à 0 message sur 1)"
    )
    assert i18n.t(good, channel="SMS", replied=1, sent=3, count=3).endswith(
        "(a répondu à 1 des 3 messages)"
    )
    i18n.set_language("en")
    assert i18n.t(good, channel="SMS", replied=0, sent=1, count=1).endswith(
        "(replied to 0 of 1 message)"
    )
    assert i18n.t(good, channel="SMS", replied=2, sent=5).endswith("(replied to 2 of 5 messages)")
