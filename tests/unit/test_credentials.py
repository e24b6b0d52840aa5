"""The credential store: keyring entries, names index, environment secrets, no-keyring errors."""

from __future__ import annotations

import keyring
import pytest
from keyring.backends import fail

from core.channels import runtime
from core.config.settings import ProviderEndpoints
from core.credentials import (
    INDEX_NAME,
    CredentialStore,
    credentials_ref,
    env_name,
    mask,
)
from core.domain.enums import Channel, Provider
from core.domain.models import ChannelConfig
from core.errors import ConfigurationError, CredentialStoreUnavailable, InvalidInput
from tests.fakes import FakeAdapter
from tests.memory_keyring import MemoryKeyring

TOKEN = "f3c1b2a9d8e7c6b5a4f3e2d1c0b9a1b2"


def sms_config(ref: str | None = None) -> ChannelConfig:
    return ChannelConfig(
        id=1,
        tenant_id=1,
        channel=Channel.SMS,
        provider=Provider.TWILIO,
        enabled=True,
        credentials_ref=ref,
    )


def test_a_secret_goes_to_the_keyring_under_the_tenant_and_channel(memory_keyring) -> None:
    store = CredentialStore("agence-paris")
    ref = store.set(Channel.SMS, "auth_token", TOKEN + "\n")
    assert ref == "coccinelle:agence-paris:sms" == credentials_ref("agence-paris", Channel.SMS)
    assert memory_keyring.entries[(ref, "auth_token")] == TOKEN
    assert memory_keyring.entries[(ref, INDEX_NAME)] == "auth_token"
    assert store.get(Channel.SMS, "auth_token") == TOKEN


def test_the_index_lists_names_and_list_masks_values(memory_keyring) -> None:
    store = CredentialStore("demo")
    store.set(Channel.SMS, "auth_token", TOKEN)
    store.set(Channel.SMS, "account_sid", "AC" + "0" * 30 + "9f9f")
    store.set(Channel.TELEGRAM, "bot_token", "123456:short")
    assert store.names(Channel.SMS) == ["account_sid", "auth_token"]
    listed = store.list()
    assert [(c.channel, c.name, c.masked) for c in listed] == [
        (Channel.SMS, "account_sid", "••••9f9f"),
        (Channel.SMS, "auth_token", "••••a1b2"),
        (Channel.TELEGRAM, "bot_token", "••••hort"),
    ]
    assert all(TOKEN not in repr(c) for c in listed)


def test_short_secrets_show_no_tail() -> None:
    assert mask("abc123") == "••••"
    assert mask(TOKEN) == "••••a1b2"


def test_delete_one_then_all(memory_keyring) -> None:
    store = CredentialStore("demo")
    store.set(Channel.EMAIL, "api_key", "SG.key-one-long-enough")
    store.set(Channel.EMAIL, "webhook_key", "another-long-secret")
    assert store.delete(Channel.EMAIL, "api_key") == ["api_key"]
    assert store.names(Channel.EMAIL) == ["webhook_key"]
    assert store.delete(Channel.EMAIL, "api_key") == []
    assert store.delete(Channel.EMAIL) == ["webhook_key"]
    assert memory_keyring.entries == {}


def test_secrets_for_reads_the_channel_reference(memory_keyring) -> None:
    memory_keyring.entries[("custom:ref", "auth_token")] = TOKEN
    store = CredentialStore("demo")
    found = store.secrets_for(sms_config("custom:ref"), ("account_sid", "auth_token"))
    assert found == {"auth_token": TOKEN}


def test_an_environment_variable_wins_and_needs_no_keyring(monkeypatch) -> None:
    keyring.set_keyring(fail.Keyring())
    variable = env_name("agence-paris", Channel.SMS, "auth_token")
    assert variable == "COCCINELLE_SECRET_AGENCE_PARIS_SMS_AUTH_TOKEN"
    monkeypatch.setenv(variable, TOKEN)
    store = CredentialStore("agence-paris")
    assert store.secrets_for(sms_config(), ("auth_token",)) == {"auth_token": TOKEN}
    [listed] = store.list()
    assert (listed.source, listed.ref, listed.masked) == ("environment", variable, "••••a1b2")


@pytest.mark.parametrize("backend", [fail.Keyring(), None])
def test_no_keyring_says_so_and_names_both_ways_out(backend) -> None:
    keyring.set_keyring(fail.Keyring())
    store = CredentialStore("demo", backend=backend)
    for attempt in (
        lambda: store.set(Channel.SMS, "auth_token", TOKEN),
        lambda: store.secrets_for(sms_config(), ("auth_token",)),
        store.list,
    ):
        with pytest.raises(CredentialStoreUnavailable) as caught:
            attempt()
        message = str(caught.value)
        assert "Secret Service" in message
        assert "COCCINELLE_SECRET_<TENANT>_<CHANNEL>_<NAME>" in message
        assert TOKEN not in message


def test_a_locked_keyring_is_reported_as_unavailable() -> None:
    class Locked(MemoryKeyring):
        def get_password(self, service: str, username: str) -> str | None:
            raise keyring.errors.KeyringLocked("locked")

    store = CredentialStore("demo", backend=Locked())
    with pytest.raises(CredentialStoreUnavailable, match="KeyringLocked"):
        store.get(Channel.SMS, "auth_token")


@pytest.mark.parametrize("name", ["", "Auth", "auth token", "__names__", "x" * 65, "1abc"])
def test_bad_names_are_refused(name) -> None:
    with pytest.raises(InvalidInput):
        CredentialStore("demo").set(Channel.SMS, name, TOKEN)


@pytest.mark.parametrize("value", ["", "   ", "two\nlines", "x" * 9000])
def test_bad_values_are_refused_without_echoing_them(value, memory_keyring) -> None:
    with pytest.raises(InvalidInput) as caught:
        CredentialStore("demo").set(Channel.SMS, "auth_token", value)
    assert value.strip() == "" or value not in str(caught.value)
    assert memory_keyring.entries == {}


async def test_secrets_never_reach_the_database(service, memory_keyring) -> None:
    store = CredentialStore("acme")
    ref = store.set(Channel.SMS, "auth_token", TOKEN)
    await service.tenant_settings.save_channel(Channel.SMS, credentials_ref=ref)
    [config] = await service.tenant_settings.channels()
    assert store.secrets_for(config, ("auth_token",)) == {"auth_token": TOKEN}
    from sqlalchemy import text

    async with service.db.session() as session:
        for table in ("channels", "tenants", "audit_log"):
            rows = (await session.execute(text(f"SELECT * FROM {table}"))).all()
            assert TOKEN not in repr(rows)


class RecordingAdapter(FakeAdapter):
    """An SMS adapter that only keeps what it was built with."""

    name = "recording_sms"
    credential_names = ("account_sid", "auth_token")


def test_the_runtime_builds_adapters_from_the_store(monkeypatch, memory_keyring) -> None:
    monkeypatch.setattr(runtime, "load_adapter", lambda name: RecordingAdapter)
    store = CredentialStore("demo")
    config = sms_config("coccinelle:demo:sms")
    channels = runtime.ChannelRuntime([config], store.secrets_for, ProviderEndpoints())
    with pytest.raises(ConfigurationError, match="coccinelle credentials set sms account_sid"):
        channels.adapter(Channel.SMS)
    store.set(Channel.SMS, "account_sid", "AC" + "1" * 32)
    store.set(Channel.SMS, "auth_token", TOKEN)
    adapter = channels.adapter(Channel.SMS)
    assert dict(adapter.config.credentials) == {"account_sid": "AC" + "1" * 32, "auth_token": TOKEN}
    assert adapter.config.base_url == "https://api.twilio.com"
