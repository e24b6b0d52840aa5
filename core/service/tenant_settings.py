"""Tenant settings and channel set-up, read and saved as a whole."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from sqlalchemy import select

from core.domain import models as m
from core.domain.enums import DEFAULT_PROVIDER, Channel, Provider
from core.domain.tenant_settings import TenantSettings
from core.errors import InvalidInput, NotFound
from core.events import MessageChanged, SettingsChanged
from core.outbox.held import release_quiet_held
from core.storage import convert
from core.storage import tables as t
from core.storage.inbox_list import stored_zone
from core.storage.service_context import ServiceContext
from core.team import audit


class TenantSettingsStore:
    """The Settings screen's reads and writes."""

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    async def get(self) -> TenantSettings:
        """The tenant's settings, defaults filled in."""
        async with self.ctx.db.session() as session:
            tenant = await session.get(t.TenantRow, self.ctx.tenant_id)
            if tenant is None:
                raise NotFound("tenant", self.ctx.tenant_id)
            return TenantSettings.model_validate(tenant.settings or {})

    async def timezone(self) -> str:
        """The tenant's time zone, as ``get().timezone`` reads it.

        The inbox needs only this before its first page: the stored zone is checked on its own
        (a known zone name), without building and running the whole settings model's validator
        (about 20 ms the first time); anything else falls back to ``get``.
        """
        async with self.ctx.db.session() as session:
            tenant = await session.get(t.TenantRow, self.ctx.tenant_id)
            if tenant is None:
                raise NotFound("tenant", self.ctx.tenant_id)
            stored = tenant.settings or {}
        return stored_zone(stored) or (await self.get()).timezone

    async def save(self, settings: TenantSettings | dict[str, Any]) -> TenantSettings:
        """Validate then store every setting at once; nothing is saved if anything is wrong.

        Raises:
            InvalidInput: names the first wrong setting and why.
        """
        try:
            valid = TenantSettings.model_validate(
                settings.model_dump() if isinstance(settings, TenantSettings) else settings
            )
        except ValidationError as exc:
            error = exc.errors()[0]
            where = ".".join(str(p) for p in error["loc"]) or "settings"
            raise InvalidInput(
                where,
                error.get("input"),
                error["msg"].removeprefix("Value error, ").removeprefix("expected "),
            ) from None
        async with self.ctx.write() as (session, events):
            tenant = await session.get(t.TenantRow, self.ctx.tenant_id)
            assert tenant is not None
            new = valid.model_dump(mode="json")
            old = TenantSettings.model_validate(tenant.settings or {}).model_dump(mode="json")
            tenant.settings = new
            changed = sorted(k for k in new if new[k] != old.get(k))
            if changed:
                events.append(SettingsChanged("settings"))
            await audit.record(
                session, self.ctx, "settings_save", "settings", None, changed=changed
            )
            if "quiet_hours" in changed:  # what the old rules held and the new ones do not goes
                released = await release_quiet_held(
                    session, self.ctx.tenant_id, valid, self.ctx.now()
                )
                events += [
                    MessageChanged(r.message_id, r.conversation_id)
                    for r in released
                    if r.message_id is not None and r.conversation_id is not None
                ]
        return valid

    async def remove_channel(self, channel: Channel, provider: Provider | None = None) -> bool:
        """Remove a channel's set-up (through ``provider`` only, if given; its conversations
        stay); whether there was one."""
        channel = Channel(channel)
        async with self.ctx.write() as (session, events):
            events.append(SettingsChanged("channels"))
            query = select(t.ChannelRow).where(
                t.ChannelRow.tenant_id == self.ctx.tenant_id, t.ChannelRow.channel_type == channel
            )
            if provider is not None:
                query = query.where(t.ChannelRow.provider == Provider(provider))
            rows = list((await session.execute(query)).scalars())
            for row in rows:
                await audit.record(
                    session, self.ctx, "channel_remove", "channel", row.id, channel=channel
                )
                await session.delete(row)
        return bool(rows)

    async def channels(self) -> list[m.ChannelConfig]:
        """Every channel the tenant has set up."""
        query = select(t.ChannelRow).where(t.ChannelRow.tenant_id == self.ctx.tenant_id)
        async with self.ctx.db.session() as session:
            rows = (await session.execute(query.order_by(t.ChannelRow.id))).scalars().all()
        return [convert.channel_config(r) for r in rows]

    async def save_channel(
        self,
        channel: Channel,
        *,
        enabled: bool | None = None,
        provider: Provider | None = None,
        config: dict[str, Any] | None = None,
        credentials_ref: str | None = None,
        also: bool = False,
    ) -> m.ChannelConfig:
        """Create or change a channel's set-up (never its secrets: those go to the keyring).

        A channel may run on several providers at once (WhatsApp on Twilio and on Meta):
        ``provider`` names the set-up to change; with ``also``, a provider the channel does not
        have yet is added next to the others instead of replacing the channel's provider.

        Raises:
            InvalidInput: a provider that does not carry the channel, a secret among the
                options, a sender number or address that is not one.
        """
        from core.channels.setup import check_provider, checked_setup

        channel = Channel(channel)
        if provider is not None:
            provider = check_provider(channel, provider)
        async with self.ctx.write() as (session, events):
            events.append(SettingsChanged("channels"))
            query = (
                select(t.ChannelRow)
                .where(
                    t.ChannelRow.tenant_id == self.ctx.tenant_id,
                    t.ChannelRow.channel_type == channel,
                )
                .order_by(t.ChannelRow.id)
            )
            rows = list((await session.execute(query)).scalars())
            same = [r for r in rows if provider is not None and r.provider == provider]
            row = same[0] if same else (None if also or not rows else rows[0])
            if config is not None:
                chosen = provider or (row.provider if row else DEFAULT_PROVIDER[channel])
                config = checked_setup(channel, chosen, config)
            if row is None:
                row = t.ChannelRow(
                    tenant_id=self.ctx.tenant_id,
                    channel_type=channel,
                    provider=provider or DEFAULT_PROVIDER[channel],
                    enabled=True,
                    config={},
                )
                session.add(row)
            if enabled is not None:
                row.enabled = enabled
            if provider is not None:
                row.provider = Provider(provider)
            if config is not None:
                row.config = config
            if credentials_ref is not None:
                row.credentials_ref = credentials_ref
            await session.flush()
            await audit.record(
                session,
                self.ctx,
                "channel_setup",
                "channel",
                row.id,
                channel=channel,
                enabled=row.enabled,
                provider=row.provider,
                config_keys=sorted(config) if config is not None else None,
                keyring_ref_changed=credentials_ref is not None,
            )
            return convert.channel_config(row)
