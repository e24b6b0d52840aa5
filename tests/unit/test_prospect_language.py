"""The one rule for the language a prospect is written to, and campaign values written in it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from core.booking.appointments import AppointmentDraft
from core.domain.tenant_settings import TenantSettings
from core.i18n.prospect import prospect_language
from core.storage import tables as t
from core.templates.variables import standard_values
from tests.factories import add_prospect


@pytest.mark.parametrize(
    ("theirs", "tenant", "expected"),
    [
        ("en", "fr", "en"),
        ("EN-gb", None, "en"),  # a full tag: the language counts, not the region
        ("fr_FR", "en", "fr"),
        ("de", "en", "en"),  # a language we do not speak: the tenant's
        (None, "en", "en"),
        ("", None, "fr"),  # nobody says: French
        ("de", "xx", "fr"),
    ],
)
def test_prospect_language(theirs, tenant, expected) -> None:
    assert prospect_language(theirs, tenant) == expected


def test_tenant_settings_refuse_a_language_we_do_not_speak() -> None:
    assert TenantSettings().language == "fr"
    with pytest.raises(ValueError):
        TenantSettings.model_validate({"language": "de"})


async def test_campaign_values_are_in_the_language_with_both_times_abroad(service, clock) -> None:
    prospect_id = await add_prospect(
        service, "John Smith", phone="+12125550100", timezone="America/New_York", language="en"
    )
    start = datetime(2026, 3, 12, 14, 0, tzinfo=UTC)  # 15:00 in Paris, 10:00 in New York
    await service.appointments.create(
        AppointmentDraft(
            prospect_id=prospect_id, starts_at=start, ends_at=start + timedelta(hours=1)
        )
    )
    async with service.db.session() as session:
        prospect = await session.get(t.ProspectRow, prospect_id)
        values = await standard_values(
            session, prospect, TenantSettings(), language="en", now=clock.now
        )
    assert values["rdv_date"] == "Thursday 12 March"
    assert values["rdv_time"] == "15:00, agency time (10:00 your time, America/New_York)"
    assert "agent_name" not in values  # no agent and no agency name: nothing to say
    # No agent on the appointment nor assigned: no agent's name (the agency signs when the
    # template is rendered, never "c'est <agence> de <agence>" nor a raw "[agent_name]").
    agency = TenantSettings.model_validate({"company": {"name": "Agence du Parc"}})
    async with service.db.session() as session:
        values = await standard_values(session, prospect, agency, language="en", now=clock.now)
    assert "agent_name" not in values and values["company_name"] == "Agence du Parc"
    # The agent the prospect's conversation is assigned to signs.
    async with service.db.session() as session:
        agent = t.AgentRow(tenant_id=prospect.tenant_id, name="Camille Martin", email="c@x.fr")
        session.add(agent)
        await session.flush()
        session.add(
            t.ConversationRow(
                tenant_id=prospect.tenant_id,
                prospect_id=prospect_id,
                channel_type="sms",
                assignee_id=agent.id,
            )
        )
        await session.commit()
    async with service.db.session() as session:
        prospect = await session.get(t.ProspectRow, prospect_id)
        values = await standard_values(session, prospect, agency, language="en", now=clock.now)
    assert values["agent_name"] == "Camille Martin"
