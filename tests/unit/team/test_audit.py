"""The audit trail: one entry per agent action, in the action's transaction, without secrets."""

from __future__ import annotations

from datetime import timedelta

import pytest

from core.domain.enums import Channel, ConversationStatus, Priority
from core.domain.models import TemplateDraft
from core.errors import InvalidInput, NotFound
from core.team.audit import scrub
from tests.factories import add_message, add_prospect


@pytest.fixture
async def claire(service):
    """The service acting as agent Claire, with one conversation."""
    agent = await service.agents.add("Claire")
    service.ctx.agent_id = agent.id
    prospect = await add_prospect(service, phone="+33612345678")
    conversation, _ = await add_message(service, prospect, "Bonjour")
    return service, agent, conversation


async def _last(service):
    return (await service.audit.recent(limit=1))[0]


async def test_triage_actions_are_recorded_with_who_and_what(claire, clock) -> None:
    service, agent, conversation = claire
    marc = await service.agents.add("Marc")
    await service.conversations.assign(conversation, marc.id)
    entry = await _last(service)
    assert (entry.action, entry.subject_type, entry.subject_id) == (
        "assign",
        "conversation",
        conversation,
    )
    assert (entry.agent_id, entry.agent_name) == (agent.id, "Claire")
    assert entry.details == {"from": None, "to": marc.id}

    await service.conversations.set_status(conversation, ConversationStatus.CLOSED)
    entry = await _last(service)
    assert entry.action == "set_status" and entry.details["status"] == ["open", "closed"]
    await service.conversations.set_status(conversation, ConversationStatus.OPEN)
    assert (await _last(service)).details["status"] == ["closed", "open"]

    await service.conversations.snooze(conversation, clock.now + timedelta(hours=2))
    assert (await _last(service)).action == "snooze"
    await service.conversations.set_priority(conversation, Priority.URGENT)
    assert (await _last(service)).action == "set_priority"
    await service.conversations.set_labels(conversation, ["Visite", "T3"])
    entry = await _last(service)
    assert entry.action == "set_labels" and entry.details["labels"] == [[], ["t3", "visite"]]

    await service.conversations.mark_read(conversation)  # reading is not an action to audit
    about = await service.audit.recent(subject=("conversation", conversation))
    assert [e.action for e in about] == [
        "set_labels",
        "set_priority",
        "snooze",
        "set_status",
        "set_status",
        "assign",
    ]


async def test_merge_templates_settings_and_channels_are_recorded(claire) -> None:
    service, _agent, _conversation = claire
    other = await add_prospect(service, "Marie D.", email="marie@example.fr")
    keep = await add_prospect(service, "Marie Dupont", phone="+33698765432")
    await service.prospects.merge(keep, other)
    entry = await _last(service)
    assert (entry.action, entry.subject_id, entry.details["merged"]) == ("merge", keep, other)

    draft = TemplateDraft(channel=Channel.SMS, name="rappel", content="Bonjour {{ prenom }}")
    template = await service.templates.save(draft)
    assert (await _last(service)).details == {
        "channel": "sms",
        "name": "rappel",
        "language": "fr",
        "created": True,
    }
    await service.templates.delete(template.id)
    entry = await _last(service)
    assert (entry.action, entry.subject_id) == ("template_delete", template.id)

    settings = await service.tenant_settings.get()
    settings.auto_assign = True
    await service.tenant_settings.save(settings)
    entry = await _last(service)
    assert (entry.action, entry.details) == ("settings_save", {"changed": ["auto_assign"]})

    await service.tenant_settings.save_channel(
        Channel.SMS,
        config={"from_number": "+33700000000", "region": "fr1"},
        credentials_ref="coccinelle/acme/twilio",
    )
    entry = await _last(service)
    assert entry.action == "channel_setup"
    assert entry.details["config_keys"] == ["from_number", "region"]  # names, not values
    assert "fr1" not in str(entry.details) and "coccinelle/acme" not in str(entry.details)


async def test_a_refused_action_leaves_no_entry(claire) -> None:
    service, _agent, conversation = claire
    draft = TemplateDraft(channel=Channel.SMS, name="rappel", content="Bonjour")
    await service.templates.save(draft)
    before = await service.audit.recent()
    with pytest.raises(InvalidInput):
        await service.templates.save(draft)  # same name: refused, rolled back with its entry
    with pytest.raises(NotFound):
        await service.conversations.assign(conversation, 9999)
    assert await service.audit.recent() == before


async def test_reader_validates_its_limit(service) -> None:
    with pytest.raises(InvalidInput):
        await service.audit.recent(limit=0)


def test_secrets_and_long_texts_are_not_kept() -> None:
    kept = scrub(
        {
            "api_key": "abc",
            "Auth_Token": "abc",
            "password": "x",
            "nested": {"client_secret": "y", "ok": 1},
            "note": "x" * 500,
            "ids": {3, 1},
        }
    )
    assert kept == {"nested": {"ok": 1}, "note": "x" * 199 + "…", "ids": [1, 3]}
