"""Process settings (pydantic-settings).

Precedence: CLI flag > environment > TOML file > default. Environment variables are
``COCCINELLE_<NAME>`` and ``COCCINELLE_<SECTION>__<NAME>``; the orchestrator's also answer to the
seed's ``ORCHESTRATOR_<NAME>`` names. The file is ``config.toml`` in the user config directory
(``COCCINELLE_CONFIG_FILE`` to use another).

Tenant-level choices the agents edit in the app (quiet hours per tenant, limits, templates…) live in
the database (``core.service.tenant_settings``); the values here are their defaults.
"""

from __future__ import annotations

import os
from datetime import time
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

import platformdirs
from pydantic import BaseModel, BeforeValidator, Field, ValidationError, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from core.errors import ConfigurationError

APP_NAME = "coccinelle"


def _parse_clock(value: Any) -> Any:
    if isinstance(value, str):
        hours, sep, minutes = value.strip().partition(":")
        if minutes.endswith(":00"):
            minutes = minutes[:-3]
        if not sep or not (hours.isdigit() and minutes.isdigit()) or len(minutes) != 2:
            raise ValueError("expected a time of day as HH:MM, e.g. 22:00")
        hour, minute = int(hours), int(minutes)
        if not (0 <= hour <= 23 and 0 <= minute <= 59):
            raise ValueError("expected a time of day between 00:00 and 23:59")
        return time(hour, minute)
    return value


Clock = Annotated[time, BeforeValidator(_parse_clock)]


class OrchestratorSettings(BaseModel):
    """The channel orchestrator, with the seed's defaults."""

    default_priority: Literal["urgent", "normal", "low"] = "normal"
    """Urgency given to a message that does not say."""
    quiet_hours_start: Clock = time(22, 0)
    """Start of the quiet hours (local time of the prospect)."""
    quiet_hours_end: Clock = time(8, 0)
    """End of the quiet hours."""
    enable_fallback: bool = True
    """Try the next channel when one fails for good."""
    max_fallback_attempts: int = Field(2, ge=0, le=4)
    """How many other channels to try after the first."""
    max_cost_per_message: Decimal = Field(Decimal("0.10"), ge=0)
    """A channel costing more than this per message is never chosen (EUR)."""
    budget_alert_threshold: float = Field(0.80, gt=0, le=1)
    """Share of the monthly budget at which agents are alerted."""
    monthly_budget: Decimal = Field(Decimal("300"), ge=0)
    """Monthly messaging budget (EUR); the seed estimates 50–300."""
    enable_analytics: bool = True
    """Use the message history (response rates) in decisions."""
    track_engagement: bool = True
    """Record opens and clicks reported by providers."""
    retry_delays: list[int] = Field(default_factory=lambda: [60, 300, 900])
    """Seconds to wait before each retry of a transient failure."""
    weights: dict[str, float] = Field(default_factory=dict)
    """Overrides of the criteria weights, by criterion name."""


class RelaySettings(BaseModel):
    """The webhook relay."""

    enabled: bool = True
    """Whether the app starts its own relay (local and team modes); off when another process
    already receives the webhooks (``--no-relay``)."""
    host: str = "127.0.0.1"
    """Address to listen on."""
    port: int = Field(8787, ge=0, le=65535)
    """Port to listen on (0 picks a free one)."""
    public_url: str | None = None
    """The URL providers see (signatures depend on it), e.g. https://relay.example.fr."""
    max_body_bytes: int = Field(1_048_576, ge=1024)
    """Bodies larger than this are refused with 413 (Inbound Parse mail uses the email limit)."""
    max_email_bytes: int = Field(31_457_280, ge=1024)
    """Limit for SendGrid Inbound Parse bodies (30 MB, SendGrid's own limit)."""
    pull_url: str | None = None
    """For a remote relay: where this core pulls events from."""
    trusted_proxies: list[str] = Field(default_factory=list)
    """Reverse proxies (addresses or networks, e.g. ``127.0.0.1``, ``10.0.0.0/8``) whose
    ``X-Forwarded-For`` names the client; from anyone else the header is ignored."""


#: PostgreSQL connections per role when the settings do not say: (kept, extra at peaks, check
#: before use). An agent's app and a worker keep one; a relay keeps a few for bursts of
#: webhooks and skips the check on its hot path (a webhook that meets a connection broken by a
#: server restart is answered 503, and the provider retries). Each process also holds one
#: LISTEN connection for live updates.
ROLE_POOLS: dict[str, tuple[int, int, bool]] = {
    "app": (1, 1, True),
    "worker": (1, 2, True),
    "relay": (3, 4, False),
}


#: Seconds unused after which a role's kept connections are closed: an agent's app spends
#: most of its day idle and fifty of them share the server (a fresh connection costs a few
#: milliseconds at the next query); relays and workers are busy in bursts.
ROLE_IDLE: dict[str, float] = {"app": 3.0, "worker": 10.0, "relay": 10.0}


class DatabaseSettings(BaseModel):
    """Connections to a shared PostgreSQL database (team mode); SQLite ignores these."""

    pool_size: int | None = Field(None, ge=1)
    """Connections kept open in this process; unset: the role's default (app 1, worker 1,
    relay 3)."""
    max_overflow: int | None = Field(None, ge=0)
    """Extra connections opened at peaks and closed when returned; unset: app 1, worker 2,
    relay 4."""
    pool_timeout: float = Field(30.0, gt=0)
    """Seconds to wait for a free connection before failing."""
    idle_seconds: float | None = Field(None, ge=0)
    """Close the kept connections after this long unused; the next use opens a fresh one.
    Unset: the role's default (app 3 s, worker and relay 10 s); 0: keep them open."""
    listen_url: str | None = None
    """Where the live link (``LISTEN``) connects when the pools go through PgBouncer, which
    cannot carry ``LISTEN/NOTIFY``: the database server itself. Unset: ``database_url``."""
    pre_ping: bool | None = None
    """Check each connection before use (one more round trip per transaction), so a server
    restart goes unnoticed; unset: on for apps and workers, off for relays."""

    def idle_for(self, role: str) -> float | None:
        """Seconds after which a process of ``role`` closes its unused pooled connections
        (None: never)."""
        if self.idle_seconds is None:
            return ROLE_IDLE.get(role, ROLE_IDLE["app"])
        return self.idle_seconds or None

    def engine_options(self, role: str) -> dict[str, Any]:
        """SQLAlchemy engine options for a process of ``role`` (``app``, ``worker``, ``relay``)."""
        size, overflow, ping = ROLE_POOLS.get(role, ROLE_POOLS["app"])
        return {
            "pool_size": self.pool_size or size,
            "max_overflow": overflow if self.max_overflow is None else self.max_overflow,
            "pool_timeout": self.pool_timeout,
            "pool_pre_ping": ping if self.pre_ping is None else self.pre_ping,
        }


class ProviderEndpoints(BaseModel):
    """Base URLs of the providers' APIs; point them at the sandbox to test."""

    twilio: str = "https://api.twilio.com"
    sendgrid: str = "https://api.sendgrid.com"
    telegram: str = "https://api.telegram.org"
    meta: str = "https://graph.facebook.com"
    vapi: str = "https://api.vapi.ai"


class Settings(BaseSettings):
    """Everything the process needs to start."""

    model_config = SettingsConfigDict(
        env_prefix="COCCINELLE_",
        env_nested_delimiter="__",
        extra="forbid",
        validate_default=True,
    )

    mode: Literal["demo", "local", "remote", "team"] = "demo"
    """demo (sandbox and demo data), local, remote relay, or team (PostgreSQL).

    Defaults to demo with no database URL, to local with one."""
    database_url: str | None = None
    """SQLAlchemy URL; an SQLite file in the user data directory if unset."""
    data_dir: Path = Field(default_factory=lambda: Path(platformdirs.user_data_dir(APP_NAME)))
    """Where the SQLite database and logs live."""
    language: Literal["fr", "en"] | None = None
    """Language of the interface; the system's if unset."""
    tenant: str = "demo"
    """Slug of the company whose inbox this is."""
    agent: str | None = None
    """Which agent you are (team mode)."""
    notify_command: str | None = None
    """Command run on new activity, e.g. notify-send (gets title and body as arguments)."""
    notify_scope: Literal["mine", "all"] = "mine"
    """Notify for conversations assigned to me or unassigned (mine), or for all."""
    keymap: dict[str, str] = Field(default_factory=dict)
    """The agent's own keys, by binding id (``[keymap] reply = "R"``; see the README)."""
    orchestrator: OrchestratorSettings = Field(default_factory=OrchestratorSettings)
    relay: RelaySettings = Field(default_factory=RelaySettings)
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    endpoints: ProviderEndpoints = Field(default_factory=ProviderEndpoints)

    @model_validator(mode="before")
    @classmethod
    def _mode_follows_database(cls, data: Any) -> Any:
        """Demo is the default only when nothing is configured: a database URL means real data."""
        if isinstance(data, dict) and data.get("database_url") and not data.get("mode"):
            return {**data, "mode": "local"}
        return data

    @property
    def effective_database_url(self) -> str:
        """The database URL, defaulting to ``<data_dir>/coccinelle.db``."""
        return self.database_url or f"sqlite+aiosqlite:///{self.data_dir / 'coccinelle.db'}"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml = TomlConfigSettingsSource(settings_cls, toml_file=config_file())
        seed_env = SeedOrchestratorEnv(settings_cls)
        return init_settings, env_settings, seed_env, toml


class SeedOrchestratorEnv(PydanticBaseSettingsSource):
    """The seed's ``ORCHESTRATOR_*`` variables, read into the ``orchestrator`` section."""

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        section = {
            name[len("ORCHESTRATOR_") :].lower(): value
            for name, value in os.environ.items()
            if name.startswith("ORCHESTRATOR_")
        }
        return {"orchestrator": section} if section else {}


def config_file() -> Path:
    """The TOML configuration file."""
    override = os.environ.get("COCCINELLE_CONFIG_FILE")
    if override:
        return Path(override)
    return Path(platformdirs.user_config_dir(APP_NAME)) / "config.toml"


def load_settings(**overrides: Any) -> Settings:
    """Settings from every source; ``overrides`` are the CLI flags (None means not given).

    Raises:
        ConfigurationError: a value is wrong; the message names the setting, the value and
            what is allowed, and never shows a traceback.
    """
    flags = {key: value for key, value in overrides.items() if value is not None}
    try:
        return Settings(**flags)
    except ValidationError as exc:
        raise ConfigurationError(describe_errors(exc)) from None
    except (OSError, ValueError) as exc:
        raise ConfigurationError(
            f"cannot read the configuration file {config_file()}: {exc}"
        ) from None


def describe_errors(exc: ValidationError) -> str:
    """One line per wrong setting: name, where to set it, the value given and what is allowed."""
    lines = []
    for error in exc.errors():
        name = ".".join(str(part) for part in error["loc"])
        env = "COCCINELLE_" + "__".join(str(p).upper() for p in error["loc"])
        given = error.get("input")
        reason = error["msg"].removeprefix("Value error, ")
        lines.append(f"setting {name} ({env}): {given!r} is not allowed: {reason}")
    return "\n".join(lines)
