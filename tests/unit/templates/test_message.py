"""Rendering templates per channel: SMS segments, WhatsApp positional parameters, email parts."""

from __future__ import annotations

import pytest

from core.domain.enums import ApprovalStatus, Channel, TemplateCategory
from core.domain.models import MessageTemplate
from core.html_text import html_to_text
from core.templates.message import TemplateNotApproved, render_message, whatsapp_parameters
from core.templates.render import TemplateRenderError


def template(
    channel: Channel, content: str, variables: tuple[str, ...], **fields
) -> MessageTemplate:
    return MessageTemplate(
        id=1, tenant_id=1, channel=channel, name="t", content=content, variables=variables, **fields
    )


def test_sms_reports_segments_and_encoding() -> None:
    sms = template(
        Channel.SMS, "Bonjour {{prospect_name}}, RDV à {{rdv_time}}.", ("prospect_name", "rdv_time")
    )
    rendered = render_message(sms, {"prospect_name": "Marie", "rdv_time": "15h"})
    assert rendered.text == "Bonjour Marie, RDV à 15h."
    assert (rendered.segments.encoding, rendered.segments.segments) == ("GSM-7", 1)
    emoji = render_message(sms, {"prospect_name": "Marie 🙂", "rdv_time": "15h" * 30})
    assert emoji.segments.encoding == "UCS-2"
    assert emoji.segments.segments == 2


def test_a_missing_variable_is_an_error_naming_it() -> None:
    sms = template(
        Channel.SMS, "Bonjour {{prospect_name}} {{rdv_time}}", ("prospect_name", "rdv_time")
    )
    with pytest.raises(TemplateRenderError) as caught:
        render_message(sms, {"prospect_name": "Marie"})
    assert caught.value.value == "rdv_time"
    assert "rdv_time" in str(caught.value)


def test_an_undeclared_placeholder_is_a_warning() -> None:
    sms = template(Channel.SMS, "Bonjour {{prospect_name}} {{surprise}}", ("prospect_name",))
    rendered = render_message(sms, {"prospect_name": "Marie", "surprise": "!"})
    assert rendered.text == "Bonjour Marie !"
    assert rendered.warnings == ("surprise",)


def test_templates_cannot_run_code() -> None:
    sms = template(Channel.SMS, "{{ prospect_name.__class__ }}", ("prospect_name",))
    with pytest.raises(TemplateRenderError):
        render_message(sms, {"prospect_name": "Marie"})
    value = render_message(
        template(Channel.SMS, "{{prospect_name}}", ("prospect_name",)),
        {"prospect_name": "{{ 7*7 }}"},
    )
    assert value.text == "{{ 7*7 }}"


def test_a_disabled_template_is_refused() -> None:
    with pytest.raises(TemplateRenderError):
        render_message(template(Channel.SMS, "x", (), enabled=False), {})


WHATSAPP = "Bonjour {{1}},\n📅 {{2}}\n🕐 {{3}}\n📍 {{4}}\n\nMessage de {{5}}"
VARIABLES = ("prospect_name", "rdv_date", "rdv_time", "location", "company_name")
VALUES = {
    "company_name": "Agence Dupont",
    "location": "12 rue de Rivoli",
    "rdv_time": "15:00",
    "prospect_name": "Marie\nDupont",
    "rdv_date": "mardi 10 mars",
    "extra": "ignored",
}


def test_whatsapp_maps_named_variables_to_positions_in_declared_order() -> None:
    wa = template(
        Channel.WHATSAPP,
        WHATSAPP,
        VARIABLES,
        whatsapp_name="rdv_confirmation_fr",
        whatsapp_category=TemplateCategory.UTILITY,
        approval_status=ApprovalStatus.APPROVED,
        content_sid="HX123",
    )
    rendered = render_message(wa, VALUES)
    assert rendered.template.name == "rdv_confirmation_fr"
    assert rendered.template.language == "fr"
    assert rendered.template.content_sid == "HX123"
    assert rendered.template.parameters == (
        "Marie Dupont",
        "mardi 10 mars",
        "15:00",
        "12 rue de Rivoli",
        "Agence Dupont",
    )
    assert rendered.text.startswith("Bonjour Marie Dupont,\n📅 mardi 10 mars\n🕐 15:00")
    assert rendered.text.endswith("Message de Agence Dupont")
    assert rendered.category == TemplateCategory.UTILITY
    assert rendered.require_approved() is rendered
    assert rendered.payload()["template"]["parameters"][4] == "Agence Dupont"


def test_an_unapproved_whatsapp_template_is_detectable() -> None:
    for status in (None, ApprovalStatus.PENDING, ApprovalStatus.REJECTED, ApprovalStatus.DRAFT):
        rendered = render_message(
            template(Channel.WHATSAPP, WHATSAPP, VARIABLES, approval_status=status), VALUES
        )
        assert not rendered.approved
        with pytest.raises(TemplateNotApproved):
            rendered.require_approved()
    sms = render_message(template(Channel.SMS, "x", ()), {})
    assert sms.approved


def test_whatsapp_positions_beyond_the_declared_variables_are_refused() -> None:
    wa = template(Channel.WHATSAPP, "{{1}} {{3}}", ("a", "b"))
    with pytest.raises(TemplateRenderError):
        render_message(wa, {"a": "1", "b": "2"})
    assert whatsapp_parameters(wa, {"a": " x  y ", "b": 2}) == ("x y", "2")


HTML = """<html><head><style>p { color: red }</style><script>alert(1)</script></head>
<body><h1>Bonjour {{prospect_name}}</h1><p>Votre RDV :<br>le {{rdv_date}}</p>
<ul><li>un</li><li>deux</li></ul>
<p><a href="{{link}}">Ajouter</a> &amp; voilà</p></body></html>"""


def test_email_has_subject_html_derived_text_and_signature() -> None:
    email = template(
        Channel.EMAIL,
        "unused",
        ("prospect_name", "rdv_date", "link"),
        subject="RDV du {{rdv_date}}",
        html=HTML,
    )
    rendered = render_message(
        email,
        {"prospect_name": "<b>Marie</b>", "rdv_date": "10 mars", "link": "https://x.fr/c?a=1&b=2"},
        signature="L'équipe Demo\n01 42 00 00 00",
    )
    assert rendered.subject == "RDV du 10 mars"
    assert "&lt;b&gt;Marie&lt;/b&gt;" in rendered.html
    assert 'href="https://x.fr/c?a=1&amp;b=2"' in rendered.html
    assert rendered.html.index(
        '<p class="signature">L&#x27;équipe Demo<br>01 42 00 00 00</p>'
    ) < rendered.html.index("</body>")
    assert rendered.text == (
        "Bonjour <b>Marie</b>\n\nVotre RDV :\nle 10 mars\n\n- un\n- deux\n\n"
        "Ajouter (https://x.fr/c?a=1&b=2) & voilà\n\n-- \nL'équipe Demo\n01 42 00 00 00"
    )


def test_email_without_html_uses_the_text_and_still_signs() -> None:
    email = template(Channel.EMAIL, "Bonjour {{n}}", ("n",), subject="Hello")
    rendered = render_message(email, {"n": "Marie"}, signature="Demo")
    assert rendered.html is None
    assert rendered.text == "Bonjour Marie\n\n-- \nDemo"


def test_html_to_text_drops_scripts_and_keeps_links() -> None:
    assert html_to_text("<script>x()</script><p>a</p><p>b <a href='u'>c</a></p>") == "a\n\nb c (u)"
    assert html_to_text("<a href='https://u'>https://u</a>") == "https://u"
    assert html_to_text("<p>unclosed <b>bold") == "unclosed bold"


@pytest.mark.parametrize(
    ("language", "signed", "unsigned"),
    [
        ("fr", "c'est Camille d'Agence du Parc.", "c'est Agence du Parc."),
        ("en", "this is Camille from Agence du Parc.", "this is Agence du Parc."),
    ],
)
def test_without_an_agent_the_agency_signs_once(language, signed, unsigned) -> None:
    """``{{agent_name}}`` with no agent known never reads "c'est <agence> de <agence>"."""
    from core.templates.library import _TEXTS

    _, variables, content = _TEXTS["follow_up"][language]
    sms = template(Channel.SMS, content, variables)
    known = {"prospect_name": "Marie", "company_name": "Agence du Parc"}
    assert signed in render_message(sms, {**known, "agent_name": "Camille"}).text
    text = render_message(sms, known).text
    assert unsigned in text and text.count("Agence du Parc") == 1
    # elsewhere in a text the agency stands for the agent
    alone = template(Channel.SMS, "RDV avec {{agent_name}}.", ("agent_name",))
    assert render_message(alone, known).text == "RDV avec Agence du Parc."
