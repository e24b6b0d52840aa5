"""Settings: channels on/off, templates, quiet hours and the other sending rules."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, ItemGrid, VerticalScroll
from textual.screen import Screen
from textual.widgets import Button, Label, Static, Switch, TabbedContent, TabPane

from core.domain.enums import Channel
from core.domain.tenant_settings import TenantSettings
from core.errors import InvalidInput
from core.i18n import t
from inbox_app.errors import notify_error
from inbox_app.render.safe import inert, one_line
from inbox_app.render.words import channel_name
from inbox_app.widgets.footer import Footer
from inbox_app.widgets.settings.credentials_form import CredentialsForm
from inbox_app.widgets.settings.rules_form import RulesForm
from inbox_app.widgets.settings.template_editor import TemplateEditor
from inbox_app.widgets.team.link_status import LinkStatus
from inbox_app.widgets.toggles import switch_state


class SettingsScreen(Screen[None]):
    """Everything the agency sets up; each part saved as a whole or not at all."""

    CSS_PATH = "settings.tcss"
    BINDINGS = [
        Binding(
            "ctrl+s", "save", t("ui.key.save"), id="save", tooltip=t("ui.tip.save"), priority=True
        ),
        Binding("escape", "back", t("ui.key.back"), id="settings_back", tooltip=t("ui.tip.back")),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.settings = TenantSettings()

    def compose(self) -> ComposeResult:
        yield Static(Text(t("ui.settings.title"), style="bold"), id="title")
        yield LinkStatus()
        with TabbedContent(id="tabs"):
            with TabPane(t("ui.settings.tab_rules"), id="rules"):
                yield RulesForm(id="rules_form")
                yield Static(id="rules_problem", classes="error")
                yield Button(t("ui.settings.save"), variant="primary", id="rules_save")
            with TabPane(t("ui.settings.tab_templates"), id="templates"):
                yield TemplateEditor(id="template_editor")
            with TabPane(t("ui.settings.tab_channels"), id="channels"), VerticalScroll():
                yield Label(t("ui.settings.credentials_title"), classes="section")
                yield CredentialsForm(id="credentials_form")
                yield Static(Text(t("ui.settings.credentials_cli")), classes="hint")
                with ItemGrid(min_column_width=24, id="channel_switches"):
                    for channel in Channel:
                        with Horizontal(classes="switch"):
                            yield Label(channel_name(channel))
                            yield Switch(id=f"enabled_{channel}")
                            yield Label(switch_state(False), id=f"state_{channel}")
        yield Footer()

    async def on_mount(self) -> None:
        try:
            self.settings = await self.app.service.tenant_settings.get()
            channels = await self.app.service.tenant_settings.channels()
        except Exception as exc:
            notify_error(self.app, exc)
            return
        self.query_one(RulesForm).show(self.settings)
        for config in channels:
            self.query_one(f"#enabled_{config.channel}", Switch).value = config.enabled
        self.query_one(CredentialsForm).show(channels)

    @on(Button.Pressed, "#rules_save")
    async def action_save(self) -> None:
        """Save the sending rules (the templates tab has its own Save)."""
        if self.query_one(TabbedContent).active == "templates":
            await self.query_one(TemplateEditor).save()
            return
        problem = self.query_one("#rules_problem", Static)
        try:
            self.settings = await self.app.service.tenant_settings.save(
                self.query_one(RulesForm).values(self.settings)
            )
        except InvalidInput as exc:
            problem.update(inert(t("ui.settings.refused_plain", reason=one_line(exc, 300))))
            return
        except Exception as exc:
            notify_error(self.app, exc)
            return
        problem.update("")
        self.notify(t("ui.settings.saved"), timeout=3)

    @on(Switch.Changed)
    async def _channel_switched(self, event: Switch.Changed) -> None:
        channel = Channel((event.switch.id or "").removeprefix("enabled_"))
        self.query_one(f"#state_{channel}", Label).update(switch_state(event.value))
        try:
            await self.app.service.tenant_settings.save_channel(channel, enabled=event.value)
        except Exception as exc:
            notify_error(self.app, exc)

    def action_back(self) -> None:
        self.app.pop_screen()
