"""Folding, match offsets and snippets of search results (ASCII takes a shorter path)."""

from __future__ import annotations

from core.storage.text import fold, match_spans, snippet, tokens


def test_fold_lowers_and_strips_accents_whatever_the_text() -> None:
    assert fold("Élève À L'ÉCOLE") == "eleve a l'ecole"
    assert fold("MARIE Dupont") == "marie dupont"
    assert fold("Straße") == "strasse"  # casefold, not lower
    assert tokens("Rendez-vous à 14h, Hélène") == ["rendez", "vous", "a", "14h", "helene"]


def test_match_spans_index_the_text_as_written() -> None:
    text = "Bonjour Hélène, le RDV de mardi: Marie confirme"
    spans = match_spans(text, "hele mar")
    assert [text[a:b] for a, b in spans] == ["Hélène", "mardi", "Marie"]
    assert match_spans(text, "") == []
    assert match_spans(text, "zz") == []


def test_a_snippet_is_cut_around_the_first_match() -> None:
    long = "Début " + "bla " * 40 + "le dossier Martin est complet " + "fin " * 30
    cut = snippet(long, "dossier")
    assert "dossier" in cut and cut.startswith("…") and cut.endswith("…")
    assert len(cut) <= 82
    assert snippet("court   texte\n ici", "texte") == "court texte ici"
    assert snippet("x" * 100, "absent") == "x" * 79 + "…"


def test_a_match_near_the_end_stays_near_the_snippets_start() -> None:
    """The inbox shows a snippet's first 46 characters or so: a match near the end of a text
    is not pushed out of them to fill the width ("…vous pu réfléchir à votre projet ? Je reste
    d" hid the "visite" it was found for)."""
    text = "Avez-vous pu réfléchir à votre projet ? Je reste disponible pour une nouvelle visite."
    cut = snippet(text, "visite")
    assert cut == "…pour une nouvelle visite."  # from a whole word, the match a quarter in
