"""WhatsApp on Twilio and on Meta at once for one tenant (an agency moving from one to the other).

Both set-ups are stored side by side; each provider's webhooks reach its own adapter (the other
is not answered 404); a conversation remembers the provider and number the prospect wrote to,
and what is sent back goes out through that provider.
"""

from __future__ import annotations

from core.channels.runtime import ChannelRuntime
from core.config.settings import ProviderEndpoints
from core.domain.decision import ReplyDraft
from core.domain.enums import Channel, Provider
from core.outbox.worker import OutboxWorker
from core.service import InboxService
from core.storage import tables as t
from tests.integration.relay.test_ingest_flows import rows
from tests.relay_fakes import FakeAdapter, FakeAdapters, body, message
from tests.relay_harness import running_relay

TWILIO_NUMBER, META_NUMBER = "+33757000102", "+33757000199"
SECRETS = {
    "twilio": {"account_sid": "AC" + "1" * 32, "auth_token": "twilio-token"},
    "meta": {"access_token": "meta-token", "app_secret": "meta-secret", "verify_token": "v"},
}


async def both_providers(service: InboxService) -> None:
    store = service.tenant_settings
    await store.save_channel(
        Channel.WHATSAPP, provider=Provider.TWILIO, config={"from_number": TWILIO_NUMBER}
    )
    await store.save_channel(
        Channel.WHATSAPP,
        provider=Provider.META,
        config={"phone_number_id": "1099", "display_number": META_NUMBER},
        also=True,
    )


async def test_whatsapp_on_twilio_and_meta_routes_each_way(service: InboxService) -> None:
    await both_providers(service)
    configs = [c for c in await service.tenant_settings.channels() if c.channel == "whatsapp"]
    assert [c.provider for c in configs] == [Provider.TWILIO, Provider.META]

    twilio = FakeAdapter(Channel.WHATSAPP, provider=Provider.TWILIO)
    meta = FakeAdapter(Channel.WHATSAPP, provider=Provider.META)
    adapters = FakeAdapters(whatsapp=twilio)
    adapters.more[Channel.WHATSAPP] = [meta]
    async with running_relay(service, adapters) as relay:
        old = message("SM1", "whatsapp:+33611111111", "Bonjour (Twilio)", to=TWILIO_NUMBER)
        new = message("wamid.1", "+33622222222", "Bonjour (Meta)", to=META_NUMBER)
        assert (await relay.post("/webhooks/twilio/whatsapp", body(old)))[0] == 200
        assert (await relay.post("/webhooks/meta/whatsapp", body(new)))[0] == 200
        await relay.worker.run_once()
        assert {e.status for e in await relay.stored()} == {"processed"}
    assert len(twilio.parsed) == 2 and len(meta.parsed) == 2  # verify-time + ingest parse

    conversations = {c.channel_identifier: c for c in await rows(service, t.ConversationRow)}
    assert conversations["+33611111111"].context["provider"] == "twilio"
    assert conversations["+33622222222"].context["provider"] == "meta"
    for identifier, provider in (("+33611111111", "twilio"), ("+33622222222", "meta")):
        conversation = conversations[identifier]
        draft = ReplyDraft(text=f"Réponse via {provider}")
        await service.outbound.send_reply(conversation.id, draft, Channel.WHATSAPP)
    sent = {
        row.payload["text"]: row.provider
        for row in await rows(service, t.OutboxRow)
        if row.payload.get("text", "").startswith("Réponse")
    }
    assert sent == {"Réponse via twilio": "twilio", "Réponse via meta": "meta"}

    # The outbox worker sends each row with its own provider's adapter.
    runtime = ChannelRuntime(
        await service.tenant_settings.channels(),
        lambda config, _names: SECRETS[str(config.provider)],
        ProviderEndpoints(),
    )
    try:
        worker = OutboxWorker(service.ctx, runtime)
        assert runtime.providers(Channel.WHATSAPP) == [Provider.TWILIO, Provider.META]
        assert worker._adapter(Channel.WHATSAPP, "meta")[0].provider == Provider.META
        assert worker._adapter(Channel.WHATSAPP, "twilio")[0].provider == Provider.TWILIO
        assert worker._adapter(Channel.WHATSAPP)[0].provider == Provider.TWILIO  # primary
        assert worker._adapter(Channel.SMS, "twilio")[0] is None  # not set up
    finally:
        await runtime.close()

    assert await service.tenant_settings.remove_channel(Channel.WHATSAPP, Provider.TWILIO)
    left = [c.provider for c in await service.tenant_settings.channels()]
    assert left == [Provider.META]
