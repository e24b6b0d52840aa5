"""The composer's template values: the agency signs once when no agent is known."""

from __future__ import annotations

from datetime import UTC, datetime

from core.domain.models import Prospect
from core.domain.tenant_settings import TenantSettings
from inbox_app.widgets.composer.variables import fill, known_values

NOW = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
SOURCE = "Bonjour {{prospect_name}}, c'est {{agent_name}} de {{company_name}}. À bientôt."


def test_without_an_agent_the_agency_is_not_named_twice() -> None:
    prospect = Prospect(id=1, tenant_id=1, display_name="Marie Dupont", created_at=NOW)
    agency = TenantSettings.model_validate({"company": {"name": "Agence du Parc"}})
    text, missing = fill(SOURCE, known_values(prospect, agency, [], NOW))
    assert (text, missing) == ("Bonjour Marie Dupont, c'est Agence du Parc. À bientôt.", [])
    signed, _ = fill(SOURCE, known_values(prospect, agency, [], NOW, agent_name="Camille"))
    assert signed == "Bonjour Marie Dupont, c'est Camille d'Agence du Parc. À bientôt."
