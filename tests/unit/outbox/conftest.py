"""Fixtures of the outbox tests: a tenant with SMS, email and WhatsApp set up, and a prospect."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from core.domain.enums import Channel
from core.service import InboxService
from tests.factories import add_message, add_prospect

PHONE = "+33612345678"
EMAIL = "marie.dupont@example.com"


@dataclass
class Scene:
    service: InboxService
    prospect_id: int
    conversation_id: int


@pytest.fixture
async def scene(service: InboxService) -> Scene:
    """Marie wrote by SMS a minute ago; SMS, email and WhatsApp are set up."""
    for channel in (Channel.SMS, Channel.EMAIL, Channel.WHATSAPP):
        await service.tenant_settings.save_channel(channel)
    prospect_id = await add_prospect(service, phone=PHONE, email=EMAIL)
    conversation_id, _ = await add_message(service, prospect_id, "Bonjour, la maison est dispo ?")
    return Scene(service, prospect_id, conversation_id)
