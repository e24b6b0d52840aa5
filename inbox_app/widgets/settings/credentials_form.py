"""Channel secrets in Settings: entered masked, stored in the OS keyring, shown only masked,
and a "test connection" that builds the channel's adapter and makes one cheap call.

The store is ``app.credentials`` when the app has one (tests give an in-memory keyring), else
``CredentialStore(tenant)`` on the system keyring. Keyring calls block, so they run in threads.
"""

from __future__ import annotations

import asyncio
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widget import Widget
from textual.widgets import Button, Input, Select, Static

from core.credentials import CredentialStore, mask
from core.domain.enums import Channel
from core.domain.models import ChannelConfig
from core.events import SettingsChanged
from core.i18n import t
from inbox_app.render.safe import inert, one_line
from inbox_app.render.words import channel_name


def store_of(app: Any) -> CredentialStore:
    """The app's credential store (made once, on the system keyring, if it has none)."""
    if getattr(app, "credentials", None) is None:
        app.credentials = CredentialStore(app.settings.tenant)
    return app.credentials


def _sandboxed_runtime(app: Any) -> Any:
    """The engine's channel runtime when it runs against the demo's sandbox, else None."""
    engine = getattr(app, "engine", None)
    if engine is None or getattr(engine, "sandbox", None) is None:
        return None
    return getattr(engine, "runtime", None)


class CredentialsForm(Widget):
    """Pick a channel and a credential name, type the secret (masked), store it, test."""

    DEFAULT_CSS = """
    CredentialsForm { height: auto; }
    CredentialsForm .row { height: auto; }
    CredentialsForm Select { width: 1fr; }
    CredentialsForm #secret_value { width: 2fr; }
    CredentialsForm #credentials_stored, CredentialsForm #credentials_result {
        height: auto; padding: 0 1;
    }
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.configs: dict[Channel, ChannelConfig] = {}

    def compose(self) -> ComposeResult:
        with Horizontal(classes="row"):
            yield Select([], prompt=t("ui.credentials.channel"), id="secret_channel")
            yield Select([], prompt=t("ui.credentials.name"), id="secret_name")
        with Horizontal(classes="row"):
            yield Input(password=True, placeholder=t("ui.credentials.value"), id="secret_value")
            yield Button(t("ui.credentials.store"), variant="primary", id="secret_store")
            yield Button(t("ui.credentials.test"), id="secret_test")
        yield Static(id="credentials_stored")
        yield Static(id="credentials_result")

    def show(self, configs: list[ChannelConfig]) -> None:
        """The channels set up for the tenant."""
        self.configs = {c.channel: c for c in configs}
        self.query_one("#secret_channel", Select).set_options(
            [(channel_name(c), str(c)) for c in self.configs]
        )

    def channel(self) -> Channel | None:
        """The picked channel."""
        value = self.query_one("#secret_channel", Select).value
        return Channel(str(value)) if value in set(map(str, self.configs)) else None

    def _result(self, text: str, error: bool = False) -> None:
        self.query_one("#credentials_result", Static).update(
            inert(one_line(text, 400), "bold red" if error else "bold")
        )

    @on(Select.Changed, "#secret_channel")
    async def _channel_picked(self) -> None:
        channel = self.channel()
        names = self.query_one("#secret_name", Select)
        if channel is None:
            names.set_options([])
            return
        config = self.configs[channel]
        try:
            choices = await self.app.service.channel_checks.credential_names(
                channel, config.provider
            )
        except Exception as exc:
            self._result(t("ui.credentials.no_adapter", reason=exc), error=True)
            choices = []
        names.set_options([(n, n) for n in choices])
        await self.refresh_stored()

    async def refresh_stored(self) -> None:
        """List what is stored for the picked channel: names and masked tails only."""
        channel = self.channel()
        if channel is None:
            return
        try:
            stored = await asyncio.to_thread(store_of(self.app).list)
        except Exception as exc:
            self._result(str(exc), error=True)
            return
        lines = [
            f"{t('ui.label', label=s.name)} {s.masked} ({s.source})"
            for s in stored
            if s.channel == channel
        ] or [t("ui.credentials.none")]
        self.query_one("#credentials_stored", Static).update(
            inert("\n".join(lines), single_line=False)
        )

    @on(Button.Pressed, "#secret_store")
    @on(Input.Submitted, "#secret_value")
    async def store(self) -> None:
        """Put the typed secret in the keyring, then forget it here."""
        channel = self.channel()
        name = self.query_one("#secret_name", Select).value
        field = self.query_one("#secret_value", Input)
        value, field.value = field.value, ""
        if channel is None or name is Select.BLANK or not value.strip():
            self._result(t("ui.credentials.incomplete"), error=True)
            return
        try:
            await asyncio.to_thread(store_of(self.app).set, channel, str(name), value)
        except Exception as exc:
            self._result(str(exc), error=True)
            return
        # The running engine builds the channel's adapter again with the new secret.
        self.app.service.bus.publish(SettingsChanged("credentials"))
        self._result(t("ui.credentials.stored", name=str(name), masked=mask(value.strip())))
        await self.refresh_stored()

    @on(Button.Pressed, "#secret_test")
    async def test_connection(self) -> None:
        """Build the channel's adapter with the stored secrets and make one cheap call."""
        channel = self.channel()
        if channel is None:
            self._result(t("ui.credentials.incomplete"), error=True)
            return
        self._result(t("ui.credentials.testing"))
        checks = self.app.service.channel_checks
        try:
            runtime = _sandboxed_runtime(self.app)
            if runtime is not None:
                # The demo's channels talk to the sandbox with its secrets, not the keyring's:
                # test the very adapter that sends.
                adapter = await asyncio.to_thread(lambda: runtime.adapter(channel, even_off=True))
                await adapter.check_connection()
            else:
                await checks.test_connection(self.configs[channel], store_of(self.app).secrets_for)
        except Exception as exc:
            self._result(t("ui.credentials.failed", reason=exc), error=True)
        else:
            self._result(t("ui.credentials.works", channel=channel_name(channel)))
