"""Rendering a campaign step's template on every channel the tenant has it for.

The orchestrator then chooses among those channels (or checks the step's fixed one), and the
others become the fallback chain, each sending its own rendering.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.campaigns.model import AUTO, LeaveCampaign, LeftReason
from core.domain.enums import Channel, MessageType
from core.domain.models import MessageTemplate
from core.domain.tenant_settings import TenantSettings
from core.i18n.prospect import prospect_language
from core.storage import convert
from core.storage import tables as t
from core.templates.message import RenderedMessage, render_message
from core.templates.render import TemplateRenderError
from core.templates.variables import standard_values

#: What a template type says about the message, for the orchestrator's "message type" criterion.
_TYPES = {
    "rdv_reminder": MessageType.APPOINTMENT,
    "rdv_confirmation": MessageType.APPOINTMENT,
    "survey": MessageType.SURVEY,
}


@dataclass(frozen=True)
class Renderings:
    """One template rendered per channel, and what kind of message it is."""

    by_channel: dict[Channel, RenderedMessage]
    message_type: MessageType
    whatsapp_template_id: int | None = None

    @property
    def channels(self) -> frozenset[Channel]:
        """The channels the message can go out on."""
        return frozenset(self.by_channel)


def message_type_of(template_type: str | None) -> MessageType:
    """Reminders and confirmations are appointment messages, surveys surveys, the rest marketing."""
    return _TYPES.get(template_type or "", MessageType.MARKETING)


def pick_language(
    templates: list[MessageTemplate], channel: Channel, language: str | None
) -> MessageTemplate | None:
    """The enabled template of ``channel`` in ``language`` (the prospect's, ``prospect_language``),
    else French, else English."""
    by_language = {tpl.language: tpl for tpl in templates if tpl.channel == channel and tpl.enabled}
    for wanted in (language, "fr", "en"):
        if wanted in by_language:
            return by_language[wanted]
    return next(iter(by_language.values()), None)


async def render_step(
    session: AsyncSession,
    prospect: t.ProspectRow,
    template_name: str,
    step_channel: str,
    variables: dict[str, Any],
    now: datetime,
) -> Renderings:
    """Render ``template_name`` for ``prospect`` on each channel it exists for.

    A fixed ``step_channel`` must be among them; "auto" needs at least one.

    Raises:
        LeaveCampaign: no template for the step's channel, or a value missing for it (named).
    """
    templates = await templates_named(session, prospect.tenant_id, template_name)
    settings = await tenant_settings(session, prospect.tenant_id)
    language = prospect_language(prospect.language, settings.language)
    chosen = {c: tpl for c in Channel if (tpl := pick_language(templates, c, language))}
    needed = set(chosen) if step_channel == AUTO else {Channel(step_channel)}
    if not needed & set(chosen):
        raise LeaveCampaign(LeftReason.NO_TEMPLATE)
    rendered: dict[Channel, RenderedMessage] = {}
    missing: str | None = None
    for channel, template in chosen.items():
        values = await standard_values(
            session, prospect, settings, language=template.language, now=now
        )
        values |= {k: str(v) for k, v in (variables or {}).items()}
        try:
            rendered[channel] = render_message(template, values, signature=settings.email_signature)
        except TemplateRenderError as exc:
            missing = missing or str(exc.value)
    if not needed & set(rendered):
        raise LeaveCampaign(f"{LeftReason.MISSING_VARIABLE}:{missing}"[:100])
    whatsapp = chosen.get(Channel.WHATSAPP)
    first = chosen[next(iter(needed & set(rendered)))]
    return Renderings(
        rendered,
        message_type_of(first.template_type),
        whatsapp.id if whatsapp is not None and Channel.WHATSAPP in rendered else None,
    )


async def templates_named(
    session: AsyncSession, tenant_id: int, name: str
) -> list[MessageTemplate]:
    """Every template of the tenant called ``name`` (all channels and languages)."""
    T = t.MessageTemplateRow
    query = select(T).where(T.tenant_id == tenant_id, T.template_name == name)
    return [convert.template(row) for row in (await session.execute(query)).scalars()]


async def tenant_settings(session: AsyncSession, tenant_id: int) -> TenantSettings:
    """The tenant's settings (defaults when none are stored)."""
    tenant = await session.get(t.TenantRow, tenant_id)
    return TenantSettings.model_validate((tenant.settings if tenant else None) or {})
