"""Quiet hours, limits, signature, forwarding, auto-reply, availability, Telegram commands.

Everything is validated by ``TenantSettingsStore.save`` as a whole: a refusal names the field
and nothing is written.
"""

from __future__ import annotations

from datetime import time
from typing import Any

from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Input, Label, TextArea

from core.domain.enums import Channel
from core.domain.tenant_settings import TenantSettings
from core.errors import InvalidInput
from core.i18n import t
from inbox_app.render.words import channel_name
from inbox_app.widgets.toggles import StateCheckbox


def _clock(value: time | None) -> str:
    return value.strftime("%H:%M") if value else ""


class RulesForm(VerticalScroll):
    """The tenant's sending rules as one form."""

    def compose(self) -> ComposeResult:
        yield Label(t("ui.settings.quiet_hours"), classes="section")
        yield StateCheckbox(t("ui.settings.quiet_enabled"), id="quiet_enabled")
        with Horizontal(classes="row"):
            yield Input(placeholder="22:00", id="quiet_start")
            yield Input(placeholder="08:00", id="quiet_end")
        yield StateCheckbox(t("ui.settings.french_preset"), id="quiet_french")
        yield StateCheckbox(t("ui.settings.urgent_pass"), id="quiet_urgent")
        yield Label(t("ui.settings.limits"), classes="section")
        for channel in Channel:
            with Horizontal(classes="row"):
                yield Label(channel_name(channel), classes="channel")
                yield Input(placeholder=t("ui.settings.daily_limit"), id=f"limit_{channel}")
                yield Input(placeholder=t("ui.settings.allowed_from"), id=f"from_{channel}")
                yield Input(placeholder=t("ui.settings.allowed_to"), id=f"to_{channel}")
        yield Label(t("ui.settings.email"), classes="section")
        yield Input(placeholder=t("ui.settings.signature"), id="signature")
        yield Label(t("ui.settings.forwarding_help"), classes="hint")
        yield TextArea(id="forwarding")
        yield Label(t("ui.settings.whatsapp"), classes="section")
        yield Input(placeholder=t("ui.settings.auto_reply"), id="auto_reply")
        with Horizontal(classes="row"):
            yield Input(placeholder="09:00", id="available_start")
            yield Input(placeholder="19:00", id="available_end")
        yield Label(t("ui.settings.telegram_help"), classes="section")
        yield TextArea(id="telegram_commands")
        yield Label(t("automation.settings.title"), classes="section")
        with Horizontal(classes="row"):
            yield Input(placeholder=t("automation.settings.max_per_hour"), id="auto_max")
            yield Input(placeholder=t("automation.settings.repeat_window"), id="auto_window")
            yield Input(placeholder=t("automation.settings.command_repeat"), id="auto_command")

    def show(self, settings: TenantSettings) -> None:
        """Fill the form from ``settings``."""
        quiet = settings.quiet_hours
        self._set("#quiet_enabled", quiet.enabled)
        self._set("#quiet_start", _clock(quiet.start))
        self._set("#quiet_end", _clock(quiet.end))
        self._set("#quiet_french", quiet.french_commercial_preset)
        self._set("#quiet_urgent", quiet.urgent_may_pass)
        for channel in Channel:
            rule = settings.limits.get(channel)
            self._set(
                f"#limit_{channel}",
                str(rule.daily_limit) if rule and rule.daily_limit is not None else "",
            )
            self._set(f"#from_{channel}", _clock(rule.allowed_start) if rule else "")
            self._set(f"#to_{channel}", _clock(rule.allowed_end) if rule else "")
        self._set("#signature", settings.email_signature)
        self.query_one("#forwarding", TextArea).text = "\n".join(
            f"{r.field} {r.contains} -> {r.forward_to}" for r in settings.forwarding_rules
        )
        self._set("#auto_reply", settings.auto_reply_text)
        self._set("#available_start", _clock(settings.availability.start))
        self._set("#available_end", _clock(settings.availability.end))
        self.query_one("#telegram_commands", TextArea).text = "\n".join(
            f"/{c.command} {c.description}" for c in settings.telegram_commands
        )
        policy = settings.automation
        self._set("#auto_max", str(policy.max_per_hour))
        self._set("#auto_window", str(policy.repeat_window_minutes))
        self._set("#auto_command", str(policy.command_repeat_minutes))

    def _set(self, selector: str, value: Any) -> None:
        self.query_one(selector).value = value  # type: ignore[attr-defined]

    def _get(self, selector: str) -> Any:
        return self.query_one(selector).value  # type: ignore[attr-defined]

    def values(self, base: TenantSettings) -> dict[str, Any]:
        """``base`` with the form's values, as a dict for ``TenantSettingsStore.save``.

        Raises:
            InvalidInput: a line of the forwarding rules or Telegram commands is unreadable.
        """
        data = base.model_dump(mode="json")
        data["quiet_hours"].update(
            enabled=self._get("#quiet_enabled"),
            start=self._get("#quiet_start").strip(),
            end=self._get("#quiet_end").strip(),
            french_commercial_preset=self._get("#quiet_french"),
            urgent_may_pass=self._get("#quiet_urgent"),
        )
        limits: dict[str, dict[str, Any]] = {}
        for channel in Channel:
            limit = self._get(f"#limit_{channel}").strip()
            start, end = self._get(f"#from_{channel}").strip(), self._get(f"#to_{channel}").strip()
            if limit or start or end:
                limits[str(channel)] = {
                    "daily_limit": limit or None,
                    "allowed_start": start or None,
                    "allowed_end": end or None,
                }
        data["limits"] = limits
        data["email_signature"] = self._get("#signature")
        data["forwarding_rules"] = [_forwarding(line) for line in _lines(self, "#forwarding")]
        data["auto_reply_text"] = self._get("#auto_reply")
        data["availability"].update(
            start=self._get("#available_start").strip(), end=self._get("#available_end").strip()
        )
        data["telegram_commands"] = [_command(line) for line in _lines(self, "#telegram_commands")]
        data["automation"].update(
            max_per_hour=self._get("#auto_max").strip(),
            repeat_window_minutes=self._get("#auto_window").strip(),
            command_repeat_minutes=self._get("#auto_command").strip(),
        )
        return data


def _lines(form: RulesForm, selector: str) -> list[str]:
    return [x.strip() for x in form.query_one(selector, TextArea).text.splitlines() if x.strip()]


def _forwarding(line: str) -> dict[str, str]:
    head, arrow, target = line.partition("->")
    field, _, contains = head.strip().partition(" ")
    if not arrow or not contains.strip():
        raise InvalidInput("forwarding_rules", line, "“sender|subject|keyword text -> address”")
    return {"field": field, "contains": contains.strip(), "forward_to": target.strip()}


def _command(line: str) -> dict[str, str]:
    command, _, description = line.lstrip("/").partition(" ")
    return {"command": command, "description": description.strip()}
