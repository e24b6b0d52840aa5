"""The templates every tenant starts with: the seeds' texts, in French and English.

``core.service.templates.seed_templates(service)`` stores them once (a template that already
exists under the same channel, name and language is left as the tenant edited it). French texts
are the seeds' own where the seeds give one (``rdv_reminder_24h``, the satisfaction survey, the
HTML confirmation email, WhatsApp ``rdv_confirmation_fr``); the characters damaged in the seeds
(``�``) are replaced by the emoji the layout calls for. WhatsApp templates are stored as
DRAFT: they still have to be submitted to Meta, and the library cannot claim an approval it does
not have.
"""

from __future__ import annotations

from core.domain.enums import ApprovalStatus, Channel, TemplateCategory
from core.domain.models import TemplateDraft
from core.html_text import html_to_text

_TEXTS: dict[str, dict[str, tuple[str, tuple[str, ...], str]]] = {
    # name: {language: (template_type, variables, text)}
    "rdv_reminder_24h": {
        "fr": (
            "rdv_reminder",
            ("prospect_name", "rdv_time", "agent_name", "company_name"),
            "Bonjour {{prospect_name}},\n\n"
            "Rappel : RDV demain à {{rdv_time}} avec {{agent_name}}.\n\n"
            "Confirmez en répondant OUI ou annulez avec NON.\n\n"
            "{{company_name}}",
        ),
        "en": (
            "rdv_reminder",
            ("prospect_name", "rdv_time", "agent_name", "company_name"),
            "Hello {{prospect_name}},\n\n"
            "Reminder: appointment tomorrow at {{rdv_time}} with {{agent_name}}.\n\n"
            "Reply YES to confirm or NO to cancel.\n\n"
            "{{company_name}}",
        ),
    },
    "rdv_reminder_2h": {
        "fr": (
            "rdv_reminder",
            ("prospect_name", "rdv_time", "location", "company_name"),
            "Bonjour {{prospect_name}}, votre RDV est dans 2 h, à {{rdv_time}} "
            "({{location}}). Répondez NON si vous ne pouvez pas venir. {{company_name}}",
        ),
        "en": (
            "rdv_reminder",
            ("prospect_name", "rdv_time", "location", "company_name"),
            "Hello {{prospect_name}}, your appointment is in 2 hours, at {{rdv_time}} "
            "({{location}}). Reply NO if you cannot make it. {{company_name}}",
        ),
    },
    "rdv_reminder_30min": {
        "fr": (
            "rdv_reminder",
            ("prospect_name", "agent_name", "location", "company_name"),
            "{{prospect_name}}, {{agent_name}} vous attend dans 30 min : {{location}}. "
            "{{company_name}}",
        ),
        "en": (
            "rdv_reminder",
            ("prospect_name", "agent_name", "location", "company_name"),
            "{{prospect_name}}, {{agent_name}} will meet you in 30 min: {{location}}. "
            "{{company_name}}",
        ),
    },
    "rdv_confirmation": {
        "fr": (
            "rdv_confirmation",
            ("prospect_name", "rdv_date", "rdv_time", "agent_name", "location", "company_name"),
            "Bonjour {{prospect_name}}, votre RDV est confirmé le {{rdv_date}} à {{rdv_time}} "
            "avec {{agent_name}} ({{location}}). Répondez ANNULER pour annuler. {{company_name}}",
        ),
        "en": (
            "rdv_confirmation",
            ("prospect_name", "rdv_date", "rdv_time", "agent_name", "location", "company_name"),
            "Hello {{prospect_name}}, your appointment is confirmed on {{rdv_date}} at "
            "{{rdv_time}} with {{agent_name}} ({{location}}). Reply CANCEL to cancel. "
            "{{company_name}}",
        ),
    },
    "satisfaction_survey": {
        "fr": (
            "survey",
            ("company_name",),
            "Merci d'avoir choisi {{company_name}} !\n\n"
            "Notez votre expérience de 1 à 5 :\n"
            "Répondez avec un chiffre (1=Mauvais, 5=Excellent)",
        ),
        "en": (
            "survey",
            ("company_name",),
            "Thank you for choosing {{company_name}}!\n\n"
            "Rate your experience from 1 to 5:\n"
            "Reply with a number (1=Poor, 5=Excellent)",
        ),
    },
    "welcome": {
        "fr": (
            "welcome",
            ("prospect_name", "company_name"),
            "Bienvenue {{prospect_name}} ! L'équipe {{company_name}} est ravie de vous "
            "accompagner dans votre projet immobilier. Répondez à ce message pour toute question.",
        ),
        "en": (
            "welcome",
            ("prospect_name", "company_name"),
            "Welcome {{prospect_name}}! The {{company_name}} team is glad to help with your "
            "property project. Reply to this message with any question.",
        ),
    },
    "follow_up": {
        "fr": (
            "follow_up",
            ("prospect_name", "agent_name", "company_name"),
            "Bonjour {{prospect_name}}, c'est {{agent_name}} de {{company_name}}. Avez-vous "
            "pu réfléchir à votre projet ? Je reste disponible pour une nouvelle visite.",
        ),
        "en": (
            "follow_up",
            ("prospect_name", "agent_name", "company_name"),
            "Hello {{prospect_name}}, this is {{agent_name}} from {{company_name}}. Have you "
            "had time to think about your project? I am available for another visit.",
        ),
    },
    "new_property_alert": {
        "fr": (
            "marketing",
            ("prospect_name", "property_address", "property_price", "company_name"),
            "Bonjour {{prospect_name}}, nouvelle propriété disponible : {{property_address}}, "
            "{{property_price}}. Répondez VISITE pour la découvrir. {{company_name}}",
        ),
        "en": (
            "marketing",
            ("prospect_name", "property_address", "property_price", "company_name"),
            "Hello {{prospect_name}}, new property available: {{property_address}}, "
            "{{property_price}}. Reply VISIT to see it. {{company_name}}",
        ),
    },
}

#: Short texts sent as SMS and Telegram messages.
_TEXT_CHANNELS: dict[str, tuple[Channel, ...]] = {
    "rdv_reminder_24h": (Channel.SMS, Channel.TELEGRAM),
    "rdv_reminder_2h": (Channel.SMS, Channel.TELEGRAM),
    "rdv_reminder_30min": (Channel.SMS, Channel.TELEGRAM),
    "rdv_confirmation": (Channel.SMS, Channel.TELEGRAM),
    "satisfaction_survey": (Channel.SMS, Channel.TELEGRAM),
    "welcome": (Channel.SMS, Channel.TELEGRAM),
    "follow_up": (Channel.SMS, Channel.TELEGRAM),
    "new_property_alert": (Channel.SMS, Channel.TELEGRAM),
}

_EMAIL_STYLE = """  <style>
    body { font-family: Arial, sans-serif; }
    .container { max-width: 600px; margin: 0 auto; }
    .header { background: linear-gradient(135deg, #9333ea, #2563eb); color: white; padding: 30px; text-align: center; }
    .content { padding: 30px; background: #f9fafb; }
    .button { background: #000; color: white; padding: 15px 30px; text-decoration: none; border-radius: 8px; display: inline-block; }
  </style>"""  # noqa: E501

_CONFIRMATION_HTML = {
    "fr": (
        "Rendez-vous confirmé ✓",
        "<p>Bonjour {{prospect_name}},</p>\n\n      <p>Votre rendez-vous est confirmé :</p>",
        ("📅 Date", "🕐 Heure", "👤 Avec", "📍 Lieu"),
        "Ajouter au calendrier",
        "<p>À bientôt,<br>L'équipe {{company_name}}</p>",
    ),
    "en": (
        "Appointment confirmed ✓",
        "<p>Hello {{prospect_name}},</p>\n\n      <p>Your appointment is confirmed:</p>",
        ("📅 Date", "🕐 Time", "👤 With", "📍 Place"),
        "Add to calendar",
        "<p>See you soon,<br>The {{company_name}} team</p>",
    ),
}


def _confirmation_html(language: str) -> str:
    title, intro, labels, button, closing = _CONFIRMATION_HTML[language]
    date, time, agent, place = labels
    return f"""<!DOCTYPE html>
<html>
<head>
{_EMAIL_STYLE}
</head>
<body>
  <div class="container">
    <div class="header">
      <h1>{title}</h1>
    </div>
    <div class="content">
      {intro}

      <div style="background: white; padding: 20px; border-radius: 8px; margin: 20px 0;">
        <p><strong>{date} :</strong> {{{{rdv_date}}}}</p>
        <p><strong>{time} :</strong> {{{{rdv_time}}}}</p>
        <p><strong>{agent} :</strong> {{{{agent_name}}}}</p>
        <p><strong>{place} :</strong> {{{{location}}}}</p>
      </div>

      <p><a href="{{{{calendar_link}}}}" class="button">{button}</a></p>

      {closing}
    </div>
  </div>
</body>
</html>
"""


def _simple_html(title: str, text: str) -> str:
    paragraphs = "\n".join(f"      <p>{part}</p>" for part in text.split("\n\n") if part.strip())
    return f"""<!DOCTYPE html>
<html>
<head>
{_EMAIL_STYLE}
</head>
<body>
  <div class="container">
    <div class="header"><h1>{title}</h1></div>
    <div class="content">
{paragraphs}
    </div>
  </div>
</body>
</html>
"""


_EMAIL_SUBJECTS: dict[str, dict[str, str]] = {
    "rdv_confirmation": {
        "fr": "Votre rendez-vous du {{rdv_date}} est confirmé",
        "en": "Your appointment on {{rdv_date}} is confirmed",
    },
    "rdv_reminder_24h": {
        "fr": "Rappel : votre rendez-vous demain à {{rdv_time}}",
        "en": "Reminder: your appointment tomorrow at {{rdv_time}}",
    },
    "welcome": {"fr": "Bienvenue chez {{company_name}}", "en": "Welcome to {{company_name}}"},
    "follow_up": {"fr": "Votre projet immobilier", "en": "Your property project"},
    "new_property_alert": {
        "fr": "Nouvelle propriété : {{property_address}}",
        "en": "New property: {{property_address}}",
    },
}

_WHATSAPP_CONFIRMATION = {
    "fr": (
        "Confirmation de rendez-vous",
        "Bonjour {{1}},\n\nVotre RDV est confirmé :\n📅 {{2}}\n🕐 {{3}}\n📍 {{4}}\n\n"
        'Répondez "OK" pour confirmer ou "ANNULER" pour annuler.',
        "Message de {{5}}",
    ),
    "en": (
        "Appointment confirmation",
        "Hello {{1}},\n\nYour appointment is confirmed:\n📅 {{2}}\n🕐 {{3}}\n📍 {{4}}\n\n"
        'Reply "OK" to confirm or "CANCEL" to cancel.',
        "Message from {{5}}",
    ),
}


def whatsapp_text(header: str, body: str, footer: str) -> str:
    """A WhatsApp template's components as the one text the table stores."""
    return "\n\n".join(part for part in (f"*{header}*" if header else "", body, footer) if part)


def library_drafts() -> list[TemplateDraft]:
    """Every template of the library, in both languages."""
    drafts: list[TemplateDraft] = []
    for name, languages in _TEXTS.items():
        for language, (kind, variables, text) in languages.items():
            for channel in _TEXT_CHANNELS[name]:
                drafts.append(_text_draft(channel, name, language, kind, variables, text))
            if name in _EMAIL_SUBJECTS:
                drafts.append(_email_draft(name, language, kind, variables, text))
    for language, (header, body, footer) in _WHATSAPP_CONFIRMATION.items():
        drafts.append(
            TemplateDraft(
                channel=Channel.WHATSAPP,
                name="rdv_confirmation",
                language=language,
                template_type="rdv_confirmation",
                content=whatsapp_text(header, body, footer),
                variables=["prospect_name", "rdv_date", "rdv_time", "location", "company_name"],
                whatsapp_name=f"rdv_confirmation_{language}",
                whatsapp_category=TemplateCategory.UTILITY,
                approval_status=ApprovalStatus.DRAFT,
            )
        )
    for name, category in (
        ("rdv_reminder_24h", TemplateCategory.UTILITY),
        ("new_property_alert", TemplateCategory.MARKETING),
    ):
        for language, (kind, variables, text) in _TEXTS[name].items():
            drafts.append(
                TemplateDraft(
                    channel=Channel.WHATSAPP,
                    name=name,
                    language=language,
                    template_type=kind,
                    content=text,
                    variables=list(variables),
                    whatsapp_name=f"{name}_{language}",
                    whatsapp_category=category,
                    approval_status=ApprovalStatus.DRAFT,
                )
            )
    return drafts


def _text_draft(
    channel: Channel, name: str, language: str, kind: str, variables: tuple[str, ...], text: str
) -> TemplateDraft:
    return TemplateDraft(
        channel=channel,
        name=name,
        language=language,
        template_type=kind,
        content=text,
        variables=list(variables),
    )


def _email_draft(
    name: str, language: str, kind: str, variables: tuple[str, ...], text: str
) -> TemplateDraft:
    subject = _EMAIL_SUBJECTS[name][language]
    if name == "rdv_confirmation":
        html = _confirmation_html(language)
        variables = (*variables, "calendar_link")
    else:
        html = _simple_html(subject, text)
    return TemplateDraft(
        channel=Channel.EMAIL,
        name=name,
        language=language,
        template_type=kind,
        subject=subject,
        content=html_to_text(html),
        html=html,
        variables=list(variables),
    )
