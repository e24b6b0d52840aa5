"""Tenant settings: what the agents edit in the Settings screen, stored per tenant.

Validated as a whole before anything is saved, so an invalid entry never leaves settings
half-written.
"""

from __future__ import annotations

from datetime import time
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from core.config.settings import Clock
from core.domain.availability import BookingSettings
from core.domain.contact import normalize_email
from core.domain.enums import Channel


class SettingsModel(BaseModel):
    """Base: unknown keys refused, values validated on assignment too."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, defer_build=True)


class Company(SettingsModel):
    """The agency, as the prospects see it (Telegram /info, templates, location messages).

    Empty until the tenant fills it in: Sara then says only what is configured, or that an
    adviser will answer (the demo agency's details live in ``core.demo``, for the demo only).
    """

    name: str = ""
    address: str = ""
    phone: str = ""
    email: str = ""
    website: str = ""
    latitude: float | None = Field(None, ge=-90, le=90)
    longitude: float | None = Field(None, ge=-180, le=180)
    opening_hours: str = ""


class QuietHours(SettingsModel):
    """When not to disturb prospects (their local time)."""

    enabled: bool = True
    start: Clock = time(22, 0)
    end: Clock = time(8, 0)
    #: French rules for commercial SMS: 08:00–20:00, no Sunday, no public holiday.
    french_commercial_preset: bool = False
    urgent_may_pass: bool = True


class ChannelLimits(SettingsModel):
    """Sending rules of one channel."""

    daily_limit: int | None = Field(None, ge=0)
    allowed_start: Clock | None = None
    allowed_end: Clock | None = None


class ForwardingRule(SettingsModel):
    """Inbound email matching ``contains`` in ``field`` is forwarded to ``forward_to``."""

    field: Literal["sender", "subject", "keyword"]
    contains: str = Field(min_length=1, max_length=200)
    forward_to: str

    @field_validator("forward_to")
    @classmethod
    def _address(cls, value: str) -> str:
        return normalize_email(value)


class AvailabilityHours(SettingsModel):
    """When agents answer; outside, Sara sends the auto-reply (once per conversation per day)."""

    enabled: bool = True
    start: Clock = time(9, 0)
    end: Clock = time(19, 0)
    weekdays: list[Annotated[int, Field(ge=0, le=6)]] = Field(
        default_factory=lambda: [0, 1, 2, 3, 4, 5]
    )


class TelegramCommand(SettingsModel):
    """A command of the bot's menu."""

    command: str = Field(pattern=r"^[a-z0-9_]{1,32}$")
    description: str = Field(min_length=1, max_length=256)


def _default_commands() -> list[TelegramCommand]:
    return [
        TelegramCommand(command="start", description="Démarrer la conversation avec Sara"),
        TelegramCommand(command="rdv", description="Voir mes rendez-vous"),
        TelegramCommand(command="nouveau_rdv", description="Prendre un nouveau RDV"),
        TelegramCommand(command="annuler", description="Annuler un RDV"),
        TelegramCommand(command="info", description="Informations entreprise"),
        TelegramCommand(command="contact", description="Contacter un conseiller"),
        TelegramCommand(command="help", description="Aide et support"),
    ]


class AutomationPolicy(SettingsModel):
    """When automated messages (Sara, out-of-hours reply, reminders) stay quiet.

    ``core.automation.policy.check`` reads it; the README's "Automation policy" says what each
    value does.
    """

    #: Automated messages one prospect may get in any sliding hour; the next one pauses
    #: automation for that conversation until an agent resumes it.
    max_per_hour: int = Field(5, ge=1, le=100)
    #: One automated answer per conversation, per intent (and per appointment), in this window.
    repeat_window_minutes: int = Field(24 * 60, ge=1, le=30 * 24 * 60)
    #: A Telegram command asked again after this many minutes is answered again.
    command_repeat_minutes: int = Field(5, ge=0, le=24 * 60)


#: The seed's price per message (EUR); SMS per segment.
DEFAULT_PRICES: dict[Channel, Decimal] = {
    Channel.SMS: Decimal("0.05"),
    Channel.EMAIL: Decimal("0.0006"),
    Channel.WHATSAPP: Decimal("0.01"),
    Channel.TELEGRAM: Decimal("0"),
    Channel.VOICE: Decimal("0.10"),
}


def known_zone(name: str) -> bool:
    """True when ``name`` is a time zone the system knows (``Europe/Paris``)."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


class TenantSettings(SettingsModel):
    """Every setting of a tenant."""

    timezone: str = "Europe/Paris"
    #: The language prospects are written to when their own is unknown or not one we speak.
    language: Literal["fr", "en"] = "fr"
    country: str = Field("FR", pattern=r"^[A-Z]{2}$")
    company: Company = Field(default_factory=Company)
    quiet_hours: QuietHours = Field(default_factory=QuietHours)
    limits: dict[Channel, ChannelLimits] = Field(default_factory=dict)
    prices: dict[Channel, Decimal] = Field(default_factory=lambda: dict(DEFAULT_PRICES))
    monthly_budget: Decimal = Field(Decimal("300"), ge=0)
    email_signature: str = ""
    forwarding_rules: list[ForwardingRule] = Field(default_factory=list)
    #: The out-of-hours reply; empty: a neutral one in the prospect's language.
    auto_reply_text: str = ""
    availability: AvailabilityHours = Field(default_factory=AvailabilityHours)
    telegram_commands: list[TelegramCommand] = Field(default_factory=_default_commands)
    telegram_notify_chat_ids: list[int] = Field(default_factory=list)
    auto_assign: bool = False
    booking: BookingSettings = Field(default_factory=BookingSettings)
    automation: AutomationPolicy = Field(default_factory=AutomationPolicy)

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str) -> str:
        if not known_zone(value):
            raise ValueError(f"unknown time zone {value!r}; expected e.g. Europe/Paris")
        return value

    @model_validator(mode="after")
    def _prices_not_negative(self) -> TenantSettings:
        for channel, price in self.prices.items():
            if price < 0:
                raise ValueError(f"price of {channel} cannot be negative")
        return self
