"""Warnings the composer can tell from the thread and the settings alone.

The orchestrator's decision is the authority (its ``held_until`` and warnings are shown when it
is available); these are what the agent sees while typing, and when sending is not wired.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from core.domain.enums import Channel, Direction
from core.domain.models import Thread
from core.domain.tenant_settings import QuietHours
from core.i18n import t

WHATSAPP_WINDOW = timedelta(hours=24)
FRENCH_PRESET = (time(20, 0), time(8, 0))


def quiet_window(quiet: QuietHours) -> tuple[time, time] | None:
    """The (start, end) of the quiet period, or None when quiet hours are off."""
    if quiet.french_commercial_preset:
        return FRENCH_PRESET
    return (quiet.start, quiet.end) if quiet.enabled else None


def leaves_at(now: datetime, tz: str, quiet: QuietHours) -> datetime | None:
    """When a message written ``now`` would leave, if quiet hours hold it; else None."""
    window = quiet_window(quiet)
    if window is None:
        return None
    local = now.astimezone(ZoneInfo(tz))
    start, end = window
    clock = local.time()
    inside = (start <= clock or clock < end) if start > end else (start <= clock < end)
    sunday = quiet.french_commercial_preset and local.weekday() == 6
    if not inside and not sunday:
        return None
    day = local.date() if clock < end else local.date() + timedelta(days=1)
    leave = datetime.combine(day, end, local.tzinfo)
    if quiet.french_commercial_preset and leave.weekday() == 6:
        leave += timedelta(days=1)
    return leave


def local_warnings(
    thread: Thread, channel: Channel | None, now: datetime, tz: str, quiet: QuietHours
) -> list[str]:
    """Quiet hours (with the time it will leave) and the WhatsApp 24-hour window.

    Email is never held by quiet hours (it waits in the inbox), so it gets no quiet warning.
    """
    warnings: list[str] = []
    leave = leaves_at(now, tz, quiet) if channel != Channel.EMAIL else None
    if leave is not None:
        warnings.append(
            t("ui.warning.quiet", time=leave.strftime("%H:%M"), day=leave.date().isoformat())
        )
    if channel == Channel.WHATSAPP:
        inbound = [
            m.created_at
            for m in thread.messages
            if m.channel == Channel.WHATSAPP and m.direction == Direction.INBOUND
        ]
        if not inbound or now - max(inbound) > WHATSAPP_WINDOW:
            warnings.append(t("ui.warning.whatsapp_window"))
    return warnings
