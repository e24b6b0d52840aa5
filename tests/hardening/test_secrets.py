"""No secret in the database file, the config file, the log file or an error message.

Every channel gets distinctive fake secrets (some in the keyring, some in
``COCCINELLE_SECRET_*`` variables); the sandbox is told to accept exactly those. Then the demo
service runs, sends go through every adapter over real HTTP, webhooks are verified, wrong secrets
and forged signatures are tried, and every file the program wrote is searched for the secrets.
"""

from __future__ import annotations

import io
import logging
import traceback
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from core.channels.adapter import OutgoingMessage, WebhookRequest
from core.channels.errors import ProviderError, SignatureError
from core.channels.runtime import ChannelRuntime
from core.config.settings import ProviderEndpoints, config_file, load_settings
from core.credentials import CredentialStore, env_name
from core.domain.enums import Channel, Provider
from core.domain.models import ChannelConfig
from core.engine import open_service
from core.logs import configure_logging
from core.service import InboxService
from inbox_app.cli import main as cli_main
from providers.sandbox import start_sandbox
from providers.sandbox.core import Sandbox
from providers.sandbox.personas import PERSONAS
from tests.webhook_recorder import WebhookRecorder

#: provider → credential name → a fake secret nobody could mistake for anything else.
SECRETS: dict[str, dict[str, str]] = {
    "twilio": {"auth_token": "HRDtwilioAuthTok3n9f8e7d6c5b4a"},
    "sendgrid": {
        "api_key": "SG.HRDsendgridKEY1.HRDsendgridKEY2secretpart",
        "inbound_secret": "HRDsendgridInboundS3cret",
    },
    "telegram": {
        "bot_token": "987654321:HRDtelegramBOTtoken_abcdefghijk",
        "webhook_secret": "HRDtelegramWebhookS3cret",
    },
    "meta": {
        "access_token": "EAAHRDmetaAccessToken0123456789",
        "app_secret": "HRDmetaAppS3cret77",
        "verify_token": "HRDmetaVerifyTok",
    },
    "vapi": {"api_key": "HRDvapiApiKey55aa", "webhook_secret": "HRDvapiWebhookS3cret"},
}
#: The same secrets as they may appear encoded (Basic auth carries base64 of sid:token).
ALL_SECRETS = [value for names in SECRETS.values() for value in names.values()]
#: The secrets given through environment variables rather than the keyring.
FROM_ENV = {("telegram", "bot_token"), ("sendgrid", "api_key"), ("vapi", "webhook_secret")}

CHANNELS: dict[Channel, tuple[Provider, str]] = {
    Channel.SMS: (Provider.TWILIO, "twilio_sms"),
    Channel.WHATSAPP: (Provider.TWILIO, "twilio_whatsapp"),
    Channel.EMAIL: (Provider.SENDGRID, "sendgrid"),
    Channel.TELEGRAM: (Provider.TELEGRAM, "telegram"),
    Channel.VOICE: (Provider.VAPI, "vapi"),
}


Capture = WebhookRecorder


@pytest.fixture
async def relay() -> AsyncIterator[Capture]:
    capture = Capture()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", capture.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    capture.url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    yield capture
    await runner.cleanup()


@pytest.fixture
async def sandbox(relay: Capture) -> AsyncIterator[Sandbox]:
    box = await start_sandbox(relay.url)
    for provider, names in SECRETS.items():
        box.credentials[provider].update(names)
    box.telegram.bot_id = int(SECRETS["telegram"]["bot_token"].split(":")[0])
    yield box
    await box.stop()


def _store_secrets(store: CredentialStore, sandbox: Sandbox, monkeypatch) -> None:
    """Every channel's secrets, through the keyring or the environment (FROM_ENV)."""
    for channel, (provider, _) in CHANNELS.items():
        names = dict(SECRETS[str(provider)])
        if provider is Provider.TWILIO:
            names["account_sid"] = sandbox.credentials["twilio"]["account_sid"]
        for name, value in names.items():
            if (str(provider), name) in FROM_ENV:
                monkeypatch.setenv(env_name(store.tenant, channel, name), value)
            else:
                store.set(channel, name, value)


def _runtime(store: CredentialStore, sandbox: Sandbox, relay: Capture, configs) -> ChannelRuntime:
    """The product's runtime on the demo's channels, pointed at the sandbox."""
    adapted = []
    for config in configs:
        if config.channel not in CHANNELS:
            continue
        provider, adapter = CHANNELS[config.channel]
        adapted.append(
            config.model_copy(
                update={
                    "provider": provider,
                    "enabled": True,
                    "config": {**config.config, **sandbox.options[adapter]},
                }
            )
        )
    endpoints = ProviderEndpoints(**sandbox.base_urls)
    return ChannelRuntime(adapted, store.secrets_for, endpoints, callback_url=relay.url)


def _recipient(channel: Channel) -> str:
    persona = PERSONAS[0]
    return {
        Channel.SMS: persona.phone,
        Channel.WHATSAPP: persona.phone,
        Channel.EMAIL: persona.email,
        Channel.TELEGRAM: str(persona.chat_id),
        Channel.VOICE: persona.phone,
    }[channel]


def _texts_of(exc: BaseException) -> str:
    """Everything an error could show: message, repr, the whole chain of causes."""
    return "\n".join(
        [str(exc), repr(exc), "".join(traceback.format_exception(exc)), str(exc.__cause__)]
    )


def _assert_no_secret(where: str, blob: str | bytes) -> None:
    text = blob.decode("utf-8", "replace") if isinstance(blob, bytes) else blob
    leaked = [s for s in ALL_SECRETS if s in text]
    assert not leaked, f"{where} holds {leaked}"


async def test_no_secret_anywhere_after_a_full_demo_run(
    tmp_path: Path, monkeypatch, sandbox: Sandbox, relay: Capture
) -> None:
    data_dir = tmp_path / "data"
    config_path = config_file()
    config_path.write_text(
        f'mode = "demo"\ntenant = "demo"\n[endpoints]\ntwilio = "{sandbox.base_urls["twilio"]}"\n',
        encoding="utf-8",
    )
    log_path = configure_logging(data_dir, level=logging.DEBUG)
    store = CredentialStore("demo")
    _store_secrets(store, sandbox, monkeypatch)

    # The CLI path too: a secret piped to ``credentials set``, then listed (masked).
    monkeypatch.setattr("sys.stdin", io.StringIO(SECRETS["meta"]["app_secret"] + "\n"))
    assert cli_main(["credentials", "set", "whatsapp", "app_secret"]) == 0
    assert cli_main(["credentials", "list"]) == 0

    service = await open_service(load_settings(data_dir=data_dir))
    runtime = None
    try:
        page = await service.conversations.page(service_filter())
        conversation = page.items[0]
        await service.messages.add_note(conversation.id, "Rappeler après la visite")
        await service.conversations.thread(conversation.id)
        configs = await service.tenant_settings.channels()
        for config in configs:
            assert not any(s in config.model_dump_json() for s in ALL_SECRETS)

        runtime = _runtime(store, sandbox, relay, configs)
        for channel in CHANNELS:
            adapter = runtime.adapter(channel)
            _assert_no_secret("an adapter config's repr", repr(adapter.config))
            logging.getLogger("coccinelle.test").debug("built %r", adapter.config)
            result = await adapter.send(
                OutgoingMessage(
                    channel=channel,
                    to=_recipient(channel),
                    text="Bonjour, votre visite est confirmée.",
                    subject="Visite" if channel is Channel.EMAIL else None,
                    reference=f"hrd-{channel}",
                )
            )
            assert result.provider_message_id
        await sandbox.flush()
        assert relay.requests, "the sandbox posted no webhook"
        await _verify_webhooks(runtime, relay.requests)
        for shot in await _screenshots(service):
            _assert_no_secret("a screenshot", shot)
    finally:
        if runtime is not None:
            await runtime.close()
        await service.close()

    _flush_logs(log_path)
    files = [p for p in data_dir.rglob("*") if p.is_file()]
    assert any(p.name.endswith(".db") for p in files)
    assert log_path in files and log_path.stat().st_size > 0
    for path in [*files, config_path]:
        _assert_no_secret(str(path), path.read_bytes())


async def _screenshots(service: InboxService) -> list[str]:
    """What the app shows: the inbox, a conversation, the settings (with the credentials hint)."""
    from inbox_app.app import InboxApp
    from tests.tui.helpers import settle

    app = InboxApp(service, live=False)
    shots = []
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        shots.append(app.export_screenshot())
        await pilot.press("enter")
        await settle(pilot)
        shots.append(app.export_screenshot())
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("f2")
        await settle(pilot)
        shots.append(app.export_screenshot())
    assert len(set(shots)) == 3  # three different screens were drawn
    return shots


def service_filter():
    from core.service import InboxFilter

    return InboxFilter()


async def _verify_webhooks(runtime: ChannelRuntime, requests: list[WebhookRequest]) -> None:
    """Genuine webhooks pass; the same with a forged signature fail without naming a secret."""
    by_path = {
        "/webhooks/twilio": Channel.SMS,
        "/webhooks/sendgrid/events": Channel.EMAIL,
        "/webhooks/sendgrid/inbound": Channel.EMAIL,
        "/webhooks/telegram": Channel.TELEGRAM,
        "/webhooks/vapi": Channel.VOICE,
    }
    checked = 0
    for request in requests:
        path = request.url.split("?")[0]
        channel = next((c for p, c in by_path.items() if p in path), None)
        if channel is None:
            continue
        adapter = runtime.adapter(channel)
        adapter.verify(request)
        for header in list(request.headers):
            if not _is_auth_header(header):
                continue
            genuine = request.headers[header]
            forged = WebhookRequest(
                method=request.method,
                url=request.url,
                headers={**request.headers, header: "Zm9yZ2Vk" + genuine[8:][::-1]},
                body=request.body,
                query=request.query,
            )
            with pytest.raises(SignatureError) as caught:
                adapter.verify(forged)
            text = _texts_of(caught.value)
            _assert_no_secret(f"the error for a forged {header}", text)
            assert genuine not in text, f"the error for a forged {header} quotes the genuine one"
            checked += 1
    assert checked >= 3


def _is_auth_header(name: str) -> bool:
    return "signature" in name or name in ("authorization", "x-vapi-secret") or "secret" in name


def _flush_logs(path: Path) -> None:
    root = logging.getLogger()
    for handler in list(root.handlers):
        handler.flush()
        if getattr(handler, "baseFilename", None) == str(path):
            root.removeHandler(handler)
            handler.close()


@pytest.mark.parametrize("channel", list(CHANNELS), ids=[str(c) for c in CHANNELS])
async def test_wrong_secrets_give_errors_that_quote_no_secret(
    channel: Channel, tmp_path: Path, sandbox: Sandbox, relay: Capture
) -> None:
    """A wrong token against the sandbox: a ProviderError naming neither secret, right or wrong."""
    log_path = configure_logging(tmp_path, level=logging.DEBUG)
    provider, adapter_name = CHANNELS[channel]
    wrong = {name: "WRONG" + value[::-1] for name, value in SECRETS[str(provider)].items()}
    if provider is Provider.TELEGRAM:
        wrong["bot_token"] = "987654321:WRONGtelegramBOTtoken_zyxwvut"
    if provider is Provider.TWILIO:
        wrong["account_sid"] = sandbox.credentials["twilio"]["account_sid"]
    config = ChannelConfig(
        id=1,
        tenant_id=1,
        channel=channel,
        provider=provider,
        enabled=True,
        config=sandbox.options[adapter_name],
        credentials_ref=f"coccinelle:demo:{channel}",
    )
    endpoints = ProviderEndpoints(**sandbox.base_urls)
    runtime = ChannelRuntime([config], lambda _c, _n: wrong, endpoints, callback_url=relay.url)
    try:
        adapter = runtime.adapter(channel)
        with pytest.raises(ProviderError) as caught:
            await adapter.send(
                OutgoingMessage(
                    channel=channel, to=_recipient(channel), text="Bonjour", subject="x"
                )
            )
        logging.getLogger("coccinelle.test").exception("send failed", exc_info=caught.value)
    finally:
        await runtime.close()
    text = _texts_of(caught.value)
    for value in [*wrong.values(), *SECRETS[str(provider)].values()]:
        if value.startswith("AC"):
            continue  # the account SID is an identifier, not a secret
        assert value not in text, f"{channel}: the error quotes a secret: {text[:300]}"
    _flush_logs(log_path)
    _assert_no_secret(str(log_path), log_path.read_bytes())
    for value in wrong.values():
        if not value.startswith("AC"):
            assert value not in log_path.read_text(encoding="utf-8")
