"""A campaign's whole path on loopback, with the fake clock.

The runner queues each step through the orchestrator; the real outbox worker sends it with the
real Twilio and SendGrid adapters to the provider sandbox; the sandbox's signed webhooks
(statuses, SendGrid opens and clicks, the personas' answers) come back through the relay and the
ingest worker, which is how the step conditions learn what happened.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy import select

from core.campaigns.model import CampaignDraft, StepDraft
from core.campaigns.runner import RunReport
from core.channels.registry import adapter_names, load_plugin
from core.channels.runtime import ChannelRuntime
from core.config.settings import ProviderEndpoints
from core.domain.enums import Channel, Provider
from core.ingest.worker import IngestWorker
from core.outbox.worker import OutboxWorker
from core.relay.server import Relay, RelayConfig, runtime_lookup
from core.service import InboxService
from core.service.templates import seed_templates

pytestmark = pytest.mark.skipif(
    "twilio_sms" not in adapter_names(), reason="the provider adapters are not installed"
)

SETUP = {
    Channel.SMS: (Provider.TWILIO, "twilio_sms"),
    Channel.EMAIL: (Provider.SENDGRID, "sendgrid"),
    Channel.WHATSAPP: (Provider.TWILIO, "twilio_whatsapp"),
}


@dataclass
class World:
    """The service, the sandbox, the channel adapters pointed at it, and the two workers."""

    service: InboxService
    sandbox: Any
    runtime: ChannelRuntime
    relay_url: str
    lookup: Any

    def __post_init__(self) -> None:
        self.restart(self.service)

    def restart(self, service: InboxService) -> None:
        """Use ``service`` (a new process over the same database) and fresh workers."""
        self.service = service
        self.outbox = OutboxWorker(service.ctx, self.runtime)
        self.ingest = IngestWorker(service.ctx, self.lookup)

    async def tick(self, *, withhold: dict[str, tuple[str, ...]] | None = None) -> RunReport:
        """Run the due steps, send what the outbox holds, and let the webhooks come back.

        ``withhold``: SendGrid events not posted, per address (``{"a@b.fr": ("click",)}``: that
        recipient opens but never clicks).
        """
        report = await self.service.campaigns.run_due()
        await self.outbox.drain()
        self.withhold_events(withhold or {})
        posted = await self.sandbox.flush()
        assert [(w.kind, w.status, w.error) for w in posted if w.status != 200] == []
        await self.ingest.run_once()
        return report

    def withhold_events(self, withhold: dict[str, tuple[str, ...]]) -> None:
        """Re-queue the pending SendGrid event batches without the withheld events (the sandbox
        signs the new batch like the original)."""
        if not withhold:
            return
        for webhook in [w for w in self.sandbox.pending if w.kind == "events"]:
            events = json.loads(webhook.body)
            kept = [e for e in events if e["event"] not in withhold.get(e["email"], ())]
            if len(kept) != len(events):
                self.sandbox.pending.remove(webhook)
                self.sandbox.sendgrid.enqueue_events(kept)

    # -- what the sandbox received ------------------------------------------------------

    def sms_to(self, phone: str) -> list[str]:
        """The bodies of the SMS Twilio was asked to send to ``phone``, in order."""
        return [
            r.body["Body"][0]
            for r in self.sandbox.requests("twilio", "Messages")
            if r.method == "POST" and r.body["To"][0] == phone
        ]

    def mails_to(self, address: str) -> list[dict[str, Any]]:
        """The Mail Send bodies SendGrid received for ``address``, in order."""
        return [
            r.body
            for r in self.sandbox.requests("sendgrid", "mail/send")
            if r.body["personalizations"][0]["to"][0]["email"] == address
        ]

    async def rows(self, table, *where) -> list[Any]:
        async with self.service.db.session() as session:
            query = select(table).where(*where).order_by(table.id)
            return list((await session.execute(query)).scalars().all())


def subject_of(mail: dict[str, Any]) -> str:
    """A Mail Send body's subject (top level or first personalization)."""
    return mail.get("subject") or mail["personalizations"][0].get("subject") or ""


def text_of(mail: dict[str, Any]) -> str:
    """A Mail Send body's plain-text part."""
    return next(c["value"] for c in mail["content"] if c["type"] == "text/plain")


async def start_campaign(service: InboxService, steps: list[StepDraft], **variables: str) -> int:
    """Store and start a campaign of ``steps`` (the library's templates)."""
    await seed_templates(service)
    draft = CampaignDraft(name="Relance", steps=steps, variables=variables)
    campaign = await service.campaigns.create(draft)
    await service.campaigns.start(campaign.id)
    return campaign.id


@pytest.fixture
async def world(service: InboxService) -> AsyncIterator[World]:
    holder: dict[str, ChannelRuntime] = {}

    def lookup(channel: Channel):
        return runtime_lookup(holder["runtime"])(channel)

    relay = Relay(service.db, lookup, RelayConfig(tenant_id=service.ctx.tenant_id))
    server = TestServer(relay.app(), host="127.0.0.1")
    await server.start_server()
    relay.answer_directly(server.runner.server)  # as ``coccinelle relay`` serves
    relay_url = str(server.make_url("")).rstrip("/")
    sandbox = await load_plugin("coccinelle.sandbox", "default")(relay_url)
    for channel, (provider, name) in SETUP.items():
        config = {"base_url": sandbox.base_urls[str(provider)], **sandbox.options[name]}
        await service.tenant_settings.save_channel(channel, provider=provider, config=config)
    runtime = ChannelRuntime(
        await service.tenant_settings.channels(),
        lambda config, _names: sandbox.credentials[str(config.provider)],
        ProviderEndpoints(),
        callback_url=relay_url,
    )
    holder["runtime"] = runtime
    try:
        yield World(service, sandbox, runtime, relay_url, lookup)
    finally:
        await runtime.close()
        await sandbox.stop()
        await server.close()
