"""The demo agency as its prospects see it: only ever written into the demo tenant.

A new tenant starts with an empty company (``core.domain.tenant_settings.Company``); the demo seeds
these details so that its stories, templates and Sara's answers read like a real agency.
"""

from __future__ import annotations

from typing import Any

DEMO_COMPANY_DETAILS: dict[str, Any] = {
    "name": "Agence Immobilière Demo",
    "address": "15 rue de la Paix, 75002 Paris",
    "phone": "+33142000000",
    "email": "contact@agence-demo.fr",
    "website": "https://agence-demo.fr",
    "latitude": 48.8686,
    "longitude": 2.3314,
    "opening_hours": "Lun–Ven 9h–19h, Sam 10h–17h",
}
DEMO_SIGNATURE = "L'équipe Agence Immobilière Demo"
DEMO_AUTO_REPLY = (
    "Merci pour votre message ! Nos conseillers vous répondront dès la réouverture de l'agence."
)


def demo_settings_update() -> dict[str, Any]:
    """The ``TenantSettings`` fields the demo tenant sets (``model_copy(update=...)``)."""
    from core.domain.tenant_settings import Company

    return {
        "company": Company(**DEMO_COMPANY_DETAILS),
        "email_signature": DEMO_SIGNATURE,
        "auto_reply_text": DEMO_AUTO_REPLY,
    }
