"""Recognising OUI/NON/ANNULER/STOP, ratings and commands, whatever the case and accents."""

from __future__ import annotations

import pytest

from core.intents.recognize import Intent, normalize, recognize


@pytest.mark.parametrize(
    "text",
    ["OUI", "oui!", "Oui !", " oui. ", "ok", "OK", "d'accord", "D’accord", "yes", "Yes!", "👍",
     "👍🏽", "je confirme", "oui merci"],
)  # fmt: skip
def test_confirmations(text: str) -> None:
    assert recognize(text).intent == Intent.CONFIRM


@pytest.mark.parametrize("text", ["NON", "non.", "No", "no thanks"])
def test_refusals(text: str) -> None:
    assert recognize(text).intent == Intent.REFUSE


@pytest.mark.parametrize("text", ["ANNULER", "annuler !", "Annulé", "cancel", "CANCEL"])
def test_cancellations(text: str) -> None:
    assert recognize(text).intent == Intent.CANCEL


@pytest.mark.parametrize(
    "text", ["STOP", "stop", "Stop.", "ARRET", "Arrêt", "UNSUBSCRIBE", "DESINSCRIRE", "désinscrire"]
)
def test_opt_outs(text: str) -> None:
    assert recognize(text).intent == Intent.OPT_OUT


@pytest.mark.parametrize(
    "text",
    ["oui mais pas mardi", "ok pour jeudi ?", "stop the music please", "non merci, plutôt lundi",
     "Bonjour", "", "👍 mais plus tard"],
)  # fmt: skip
def test_sentences_are_left_to_agents(text: str) -> None:
    assert recognize(text).intent == Intent.NONE


@pytest.mark.parametrize(
    ("text", "rating"),
    [("1", 1), ("5", 5), ("4/5", 4), ("3 sur 5", 3), ("4 étoiles", 4), ("⭐⭐", 2), ("cinq", 5)],
)
def test_ratings_only_when_a_survey_waits(text: str, rating: int) -> None:
    assert recognize(text, survey_pending=True).value == rating
    assert recognize(text, survey_pending=True).intent == Intent.RATING
    assert recognize(text).intent != Intent.RATING


@pytest.mark.parametrize("text", ["0", "6", "10", "45"])
def test_out_of_range_ratings_are_not_ratings(text: str) -> None:
    assert recognize(text, survey_pending=True).intent == Intent.NONE


@pytest.mark.parametrize(
    ("text", "command"),
    [("/start", "start"), ("/RDV", "rdv"), ("/nouveau_rdv", "nouveau_rdv"),
     ("/annuler@AgenceBot", "annuler"), ("/help me", "help")],
)  # fmt: skip
def test_bot_commands(text: str, command: str) -> None:
    recognized = recognize(text)
    assert (recognized.intent, recognized.value) == (Intent.COMMAND, command)


def test_normalize_drops_case_accents_and_punctuation() -> None:
    assert normalize("  Désinscrire, SVP !!  ") == "desinscrire svp"
    assert normalize("D’ACCORD") == "d accord"
