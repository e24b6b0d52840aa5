"""The library: both languages, the seeds' texts, every template renders, idempotent seeding."""

from __future__ import annotations

from core.domain.enums import Channel
from core.service.templates import seed_templates
from core.templates.library import library_drafts
from core.templates.message import render_message

SEED_REMINDER = """Bonjour {{prospect_name}},

Rappel : RDV demain à {{rdv_time}} avec {{agent_name}}.

Confirmez en répondant OUI ou annulez avec NON.

{{company_name}}"""


def test_every_template_exists_in_french_and_english() -> None:
    keys = {(d.channel, d.name, d.language) for d in library_drafts()}
    for channel, name, _ in keys:
        assert {(channel, name, "fr"), (channel, name, "en")} <= keys
    names = {name for _, name, _ in keys}
    assert {
        "rdv_reminder_24h",
        "rdv_reminder_2h",
        "rdv_reminder_30min",
        "rdv_confirmation",
        "satisfaction_survey",
        "welcome",
        "follow_up",
        "new_property_alert",
    } <= names


async def test_seeding_is_idempotent_and_every_template_renders(service) -> None:
    added = await seed_templates(service)
    assert added == len(library_drafts())
    assert await seed_templates(service) == 0
    reminder = await service.templates.by_name(Channel.SMS, "rdv_reminder_24h", "fr")
    assert reminder.content == SEED_REMINDER
    wa = await service.templates.by_name(Channel.WHATSAPP, "rdv_confirmation", "fr")
    assert wa.whatsapp_name == "rdv_confirmation_fr"
    assert wa.whatsapp_category == "UTILITY"
    for tpl in await service.templates.list():
        values = {name: f"<{name}>" for name in tpl.variables}
        rendered = render_message(tpl, values, signature="Sig")
        assert rendered.warnings == (), tpl.name
        assert "{{" not in rendered.text, (tpl.channel, tpl.name, tpl.language)
    email = await service.templates.by_name(Channel.EMAIL, "rdv_confirmation", "fr")
    rendered = render_message(email, {n: n.upper() for n in email.variables})
    assert "Rendez-vous confirmé ✓" in rendered.html
    assert "Ajouter au calendrier (CALENDAR_LINK)" in rendered.text
    assert "color" not in rendered.text
