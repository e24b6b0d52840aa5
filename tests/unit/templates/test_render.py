"""French elision in rendered templates: "de Agence" is never what a prospect reads."""

from __future__ import annotations

import pytest

from core.templates.render import render_text


@pytest.mark.parametrize(
    ("source", "values", "expected"),
    [
        (
            "c'est Camille de {{company}}",
            {"company": "Agence du Parc"},
            "c'est Camille d'Agence du Parc",
        ),
        ("de {{company}}", {"company": "Île Immo"}, "d'Île Immo"),
        ("Je crois que {{name}} viendra", {"name": "Inès"}, "Je crois qu'Inès viendra"),
        ("De {{company}}", {"company": "Orpi"}, "D'Orpi"),
        ("c'est Camille de {{company}}", {"company": "Foncia"}, "c'est Camille de Foncia"),
        ("de {{company}}", {"company": "Habitat"}, "de Habitat"),  # h: the word decides
        ("made {{x}}", {"x": "a"}, "made a"),  # not a French "de"
    ],
)
def test_de_and_que_are_elided_before_a_vowel(source, values, expected) -> None:
    assert render_text(source, values).text == expected
