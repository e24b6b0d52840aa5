"""Template variables filled from the prospect, the next appointment and the agency."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from babel.dates import format_date

from core.domain.models import Appointment, Prospect
from core.domain.tenant_settings import TenantSettings
from core.templates.render import placeholders, render_text, signed_by_agency


def known_values(
    prospect: Prospect,
    settings: TenantSettings,
    appointments: list[Appointment],
    now: datetime,
    agent_name: str | None = None,
    language: str = "fr",
) -> dict[str, str]:
    """Every variable we can fill for ``prospect`` (the next upcoming appointment, if any).

    Dates are written in ``language``, the template's.
    """
    first, _, last = prospect.display_name.partition(" ")
    values = {
        "prospect_name": prospect.display_name,
        "first_name": first,
        "last_name": last,
        "phone": prospect.phone or "",
        "email": prospect.email or "",
        "company_name": settings.company.name,
        "company_address": settings.company.address,
        "company_phone": settings.company.phone,
        "website": settings.company.website,
    }
    # Without a known agent (a script, no --agent) the agency signs: see ``fill``.
    values["agent_name"] = agent_name or ""
    upcoming = sorted((a for a in appointments if a.starts_at >= now), key=lambda a: a.starts_at)
    if upcoming:
        tz = prospect.timezone or settings.timezone
        starts = upcoming[0].starts_at.astimezone(ZoneInfo(tz))
        locale = "fr_FR" if language == "fr" else "en_GB"
        values["rdv_date"] = format_date(starts.date(), "d MMMM y", locale=locale)
        values["rdv_time"] = starts.strftime("%H:%M")
        if upcoming[0].location:
            values["location"] = upcoming[0].location
    return {k: v for k, v in values.items() if v}


def fill(source: str, values: dict[str, str]) -> tuple[str, list[str]]:
    """``source`` with what is known filled in; unknown variables stay as ``[name]``.

    Returns the text and the names of the missing variables.
    """
    source, known = signed_by_agency(source, values)
    missing = [name for name in placeholders(source) if name not in known]
    rendered = render_text(source, {**known, **{name: f"[{name}]" for name in missing}})
    return rendered.text, missing
