"""The values every template can use, read from the prospect, the company and the next RDV."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.domain.appointment_display import day_of, time_of
from core.domain.enums import AppointmentStatus
from core.domain.tenant_settings import TenantSettings
from core.storage import tables as t


async def standard_values(
    session: AsyncSession,
    prospect: t.ProspectRow,
    settings: TenantSettings,
    *,
    language: str,
    now: datetime,
) -> dict[str, str]:
    """prospect_name, company_*, and rdv_date / rdv_time / location / agent_name of the
    prospect's next proposed or confirmed appointment, written in ``language``: the agency's
    time, and the prospect's own too when they live in another time zone."""
    values = {
        "prospect_name": prospect.display_name,
        "company_name": settings.company.name,
        "company_phone": settings.company.phone,
        "company_address": settings.company.address,
        "company_website": settings.company.website,
    }
    appointment = await _next_appointment(session, prospect.id, now)
    if appointment is not None:
        values.update(await _appointment_values(session, appointment, prospect, settings, language))
    if not values.get("agent_name"):
        signer = await signing_agent(session, prospect.id)
        if signer:
            values["agent_name"] = signer
    # Still none: no value, and the agency signs when the template is rendered
    # (``core.templates.render.signed_by_agency``: never "c'est <agence> de <agence>").
    return values


async def signing_agent(session: AsyncSession, prospect_id: int) -> str | None:
    """The name of the agent who signs for the prospect when no appointment says: the
    assignee of their most recently active assigned conversation (active agents only)."""
    C, AG = t.ConversationRow, t.AgentRow
    query = (
        select(AG.name)
        .join(C, C.assignee_id == AG.id)
        .where(C.prospect_id == prospect_id, AG.active.is_(True))
        .order_by(C.last_message_at.desc().nulls_last(), C.id.desc())
        .limit(1)
    )
    return (await session.execute(query)).scalar_one_or_none()


async def _next_appointment(
    session: AsyncSession, prospect_id: int, now: datetime
) -> t.AppointmentRow | None:
    A = t.AppointmentRow
    query = (
        select(A)
        .where(A.prospect_id == prospect_id, A.starts_at >= now)
        .where(A.status.in_([AppointmentStatus.PROPOSED, AppointmentStatus.CONFIRMED]))
        .order_by(A.starts_at)
        .limit(1)
    )
    return (await session.execute(query)).scalar_one_or_none()


async def _appointment_values(
    session: AsyncSession,
    appointment: t.AppointmentRow,
    prospect: t.ProspectRow,
    settings: TenantSettings,
    language: str,
) -> dict[str, str]:
    zone, theirs = settings.timezone, prospect.timezone
    values = {
        "rdv_date": day_of(appointment.starts_at, zone, language),
        "rdv_time": time_of(appointment.starts_at, zone, theirs, language),
        "location": appointment.location or settings.company.address,
    }
    if appointment.agent_id is not None:
        agent = await session.get(t.AgentRow, appointment.agent_id)
        if agent is not None:
            values["agent_name"] = agent.name
    return values
