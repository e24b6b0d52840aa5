"""Settings → Channels: secrets typed masked, kept in the keyring only, a real connection test."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select
from textual.widgets import Input, Select, TabbedContent

from core.credentials import CredentialStore
from core.domain.enums import Channel
from core.storage import tables as tb
from inbox_app.widgets.settings.credentials_form import CredentialsForm
from providers.sandbox import start_sandbox
from tests.memory_keyring import MemoryKeyring
from tests.tui.helpers import settle, static_text
from tests.tui.test_settings_analytics import open_settings


@pytest.fixture
async def sandbox() -> AsyncIterator[object]:
    box = await start_sandbox("http://127.0.0.1:9")  # no webhook is needed here
    yield box
    await box.stop()


@pytest.fixture
def keyring() -> MemoryKeyring:
    return MemoryKeyring()


@pytest.fixture
def wired(app, keyring):
    app.credentials = CredentialStore("demo", backend=keyring, environ={})
    return app


async def open_channels(app, pilot) -> CredentialsForm:
    await open_settings(app, pilot)
    app.screen.query_one(TabbedContent).active = "channels"
    await settle(pilot)
    form = app.screen.query_one(CredentialsForm)
    form.query_one("#secret_channel", Select).value = str(Channel.SMS)
    await settle(pilot)
    return form


async def enter(pilot, form: CredentialsForm, name: str, secret: str) -> None:
    form.query_one("#secret_name", Select).value = name
    form.query_one("#secret_value", Input).focus()
    await pilot.press(*secret)
    await pilot.press("enter")
    await settle(pilot)


async def test_a_secret_goes_to_the_keyring_and_is_only_shown_masked(
    wired, keyring, service
) -> None:
    secret = "tok-1234567890-ABCD"
    async with wired.run_test(size=(120, 40)) as pilot:
        form = await open_channels(wired, pilot)
        names = form.query_one("#secret_name", Select)
        assert [value for _, value in names._options if isinstance(value, str)] == [
            "account_sid",
            "auth_token",
        ]
        assert form.query_one("#secret_value", Input).password  # masked while typing
        await enter(pilot, form, "auth_token", secret)
        assert form.query_one("#secret_value", Input).value == ""  # forgotten at once
        stored = static_text(wired, "#credentials_stored")
        assert "auth_token: ••••ABCD" in stored
        shown = " ".join(static_text(wired, f"#{w.id}") for w in form.query("Static") if w.id)
        assert secret not in shown
    assert keyring.entries[("coccinelle:demo:sms", "auth_token")] == secret
    async with service.db.session() as session:
        rows = (await session.execute(select(tb.ChannelRow))).scalars().all()
        assert rows and all(secret not in repr(r.config) for r in rows)
        tenant = (await session.execute(select(tb.TenantRow))).scalars().one()
        assert secret not in repr(tenant.settings)


async def test_an_empty_secret_is_refused_and_nothing_is_stored(wired, keyring) -> None:
    async with wired.run_test(size=(120, 40)) as pilot:
        form = await open_channels(wired, pilot)
        await enter(pilot, form, "auth_token", "   ")
        assert "type the secret" in static_text(wired, "#credentials_result")
    assert not keyring.entries


async def test_connection_fails_then_works_against_the_sandbox(wired, service, sandbox) -> None:
    await service.tenant_settings.save_channel(
        Channel.SMS, config={"base_url": sandbox.base_urls["twilio"]}
    )
    good = sandbox.credentials["twilio"]
    async with wired.run_test(size=(120, 40)) as pilot:
        form = await open_channels(wired, pilot)
        await form.test_connection()
        await settle(pilot)
        result = static_text(wired, "#credentials_result")
        assert "The connection failed" in result and "account_sid" in result  # nothing stored
        await enter(pilot, form, "account_sid", good["account_sid"])
        await enter(pilot, form, "auth_token", "wrong-token-123456")
        await form.test_connection()
        await settle(pilot)
        assert "The connection failed" in static_text(wired, "#credentials_result")
        await enter(pilot, form, "auth_token", good["auth_token"])
        await form.test_connection()
        await settle(pilot)
        assert "SMS: the connection works." in static_text(wired, "#credentials_result")


async def test_in_the_demo_the_test_uses_the_sandboxed_channels_not_the_keyring(
    wired, service, sandbox
) -> None:
    from types import SimpleNamespace

    from core.channels.runtime import ChannelRuntime
    from core.config.settings import ProviderEndpoints
    from core.domain.enums import Provider
    from core.domain.models import ChannelConfig

    config = ChannelConfig(
        id=1, tenant_id=1, channel=Channel.SMS, provider=Provider.TWILIO, enabled=True
    )
    given = sandbox.credentials["twilio"]
    runtime = ChannelRuntime(
        [config],
        lambda _config, names: {n: given[n] for n in names if n in given},
        ProviderEndpoints(**sandbox.base_urls),
    )

    # what the demo's engine holds: its sandbox, and the runtime the outbox sends with
    async def stop() -> None:
        return None

    wired.engine = SimpleNamespace(sandbox=sandbox, runtime=runtime, stop=stop)
    try:
        async with wired.run_test(size=(120, 40)) as pilot:
            form = await open_channels(wired, pilot)  # the keyring holds nothing
            await form.test_connection()
            await settle(pilot)
            assert "SMS: the connection works." in static_text(wired, "#credentials_result")
    finally:
        wired.engine = None
        await runtime.close()
