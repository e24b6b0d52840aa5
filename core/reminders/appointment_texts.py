"""The texts of appointment messages, in the prospect's language: confirmations and reminders.

A message is the tenant's template for the channel and language (``message_templates``), else
the shipped library's (``core.templates.library``). Values (``appointment_values``) are written
in the prospect's language, times in the agency's zone with the prospect's own when it differs.

On WhatsApp outside the 24-hour customer-service window only a template Meta approved may be
sent: ``approved_whatsapp`` finds the tenant's, and ``whatsapp_payload`` turns it into what the
outbox hands to the provider (Meta name, language, positional parameters ``{{1}}``…).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.domain.appointment_display import day_of, kind_in, time_of, when_of, words
from core.domain.enums import ApprovalStatus, Channel
from core.domain.models import MessageTemplate
from core.domain.tenant_settings import TenantSettings
from core.orchestrator.context import RoutingContext
from core.orchestrator.decide import WHATSAPP_WINDOW
from core.storage import convert
from core.storage import tables as t
from core.templates.message import render_message
from core.templates.render import TemplateRenderError, render_text
from core.templates.variables import signing_agent

log = logging.getLogger(__name__)
T = t.MessageTemplateRow


class AppointmentFacts(Protocol):
    """What the message values read of an appointment: its row or its model."""

    @property
    def agent_id(self) -> int | None: ...
    @property
    def kind(self) -> str: ...
    @property
    def starts_at(self) -> datetime: ...
    @property
    def location(self) -> str | None: ...


@dataclass(frozen=True)
class Source:
    """A template's parts as stored: subject, text and HTML (email only)."""

    text: str
    subject: str | None = None
    html: str | None = None


async def appointment_values(
    session: AsyncSession,
    appointment: AppointmentFacts,
    prospect: t.ProspectRow,
    settings: TenantSettings,
    language: str,
    *,
    asking: bool = True,
) -> dict[str, str]:
    """The template variables of an appointment, in the prospect's language; ``asking``: a
    missing address may be asked of the prospect (see ``missing_place``)."""
    zone = settings.timezone
    theirs = prospect.timezone
    agent = await session.get(t.AgentRow, appointment.agent_id) if appointment.agent_id else None
    name = (prospect.display_name or "").split(" ")[0]
    company = settings.company.name
    day = day_of(appointment.starts_at, zone, language)
    time = time_of(appointment.starts_at, zone, theirs, language)
    place = place_in(appointment.location, language) or missing_place(
        settings, appointment.kind, language, asking=asking
    )
    signer = agent.name if agent else await signing_agent(session, prospect.id)
    return {
        **({"agent_name": signer} if signer else {}),  # else the agency signs, once
        "prospect_name": name,
        "name": name,
        "first_name": name,
        "firstName": name,
        "rdv_date": day,
        "date": day,
        "rdv_time": time,
        "time": time,
        "when": when_of(appointment.starts_at, zone, theirs, language),
        "location": place,
        "company_name": company,
        "company": company,
        "companyName": company,
        "kind": kind_in(language, appointment.kind, settings.booking),
        "zone": zone,
        "prospect_zone": theirs or "",
    }


def missing_place(
    settings: TenantSettings, kind: str, language: str, *, asking: bool = True
) -> str:
    """What stands for a place not known yet: at a property, the prospect is asked for its
    address (a visit booked from the chat) when ``asking``; else "to be confirmed".

    A reminder does not ask: "Claire vous attend dans 30 min : adresse du bien à nous indiquer
    en réponse" comes too late for an answer, and no one reads the answer to a reminder. It
    says the place is to be confirmed with the agent."""
    item = settings.booking.type_of(kind)
    if item is not None and item.where == "property":
        return words(language, "notice.ask_address" if asking else "notice.place_with_agent")
    return words(language, "notice.no_location")


def place_in(location: str | None, language: str) -> str:
    """Where the appointment is, as the prospect reads it ("par téléphone", an address, "")."""
    if location in ("phone", "video"):
        return words(language, f"notice.{'by_phone' if location == 'phone' else 'video'}")
    return location or ""


async def tenant_template(
    session: AsyncSession, tenant_id: int, channel: Channel, name: str, language: str
) -> MessageTemplate | None:
    """The tenant's enabled template ``name`` for ``channel`` in ``language``, if any."""
    query = select(T).where(
        T.tenant_id == tenant_id,
        T.channel_type == channel,
        T.template_name == name,
        T.language == language,
        T.enabled.is_(True),
    )
    row = (await session.execute(query.limit(1))).scalar_one_or_none()
    return convert.template(row) if row is not None else None


def library_source(channel: Channel, name: str, language: str) -> Source | None:
    """The shipped library's template ``name`` for ``channel`` in ``language``, if it has one."""
    from core.templates.library import library_drafts

    for draft in library_drafts():
        if (draft.name, draft.channel, draft.language) == (name, channel, language):
            return Source(draft.content, draft.subject, draft.html)
    return None


async def template_source(
    session: AsyncSession, tenant_id: int, channel: Channel, name: str, language: str
) -> Source | None:
    """The text of ``name`` for ``channel`` in ``language``: the tenant's, else the library's."""
    row = await tenant_template(session, tenant_id, channel, name, language)
    if row is not None:
        return Source(row.content, row.subject, row.html)
    return library_source(channel, name, language)


def render(source: str, values: dict[str, str]) -> str:
    """``source`` with ``values`` filled in (a template the tenant edited may use any of them)."""
    return render_text(source, values).text


async def approved_whatsapp(
    session: AsyncSession, tenant_id: int, name: str, language: str, values: dict[str, str]
) -> MessageTemplate | None:
    """The tenant's WhatsApp template ``name`` in ``language`` if Meta approved it and it
    renders with ``values`` (one asking for a value we do not have is logged and left out:
    the message then goes on another channel rather than not at all)."""
    template = await tenant_template(session, tenant_id, Channel.WHATSAPP, name, language)
    if template is None or template.approval_status != ApprovalStatus.APPROVED:
        return None
    try:
        render_message(template, values)
    except TemplateRenderError as exc:
        log.warning("WhatsApp template %s (%s) cannot be used: %s", name, language, exc)
        return None
    return template


def window_open(context: RoutingContext) -> bool:
    """Whether the prospect wrote on WhatsApp less than 24 hours before ``context.now``."""
    last = context.whatsapp_last_inbound_at
    return last is not None and context.now - last < WHATSAPP_WINDOW


def whatsapp_payload(
    template: MessageTemplate, values: dict[str, str], payload: dict[str, Any]
) -> dict[str, Any]:
    """``payload`` sent as the approved WhatsApp ``template``: its text as the prospect reads
    it, the template reference for the provider, and the original content kept for the
    fallback channels.

    Raises:
        TemplateRenderError: a variable the template declares has no value (named), or the
            template is not approved (``approved_whatsapp`` only returns those that render).
    """
    rendered = render_message(template, values).require_approved()
    base = {k: payload.get(k) for k in ("text", "subject", "html")}
    variants = {str(c): base for c in Channel if c != Channel.WHATSAPP}
    return {
        **payload,
        "text": rendered.text,
        "subject": None,
        "html": None,
        "template": rendered.payload()["template"],
        "template_name": rendered.template_name,
        "variants": {**(payload.get("variants") or {}), **variants},
    }
