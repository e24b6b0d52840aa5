"""The seed's reminder strategy, as data.

- 24 h before: email or SMS, by the prospect's preference; expires when the 2 h one is due.
- 2 h before: SMS first, WhatsApp as fallback; urgent; expires when the 30 min one is due.
- 30 min before: SMS only; urgent; expires at the appointment.
- After the appointment (within the hour): the satisfaction survey, SMS by default.

A reminder never goes out after it expires: held by quiet hours or retries past its moment, it is
marked expired instead of arriving late.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from core.domain.enums import Channel, MessageType, Urgency


class ReminderKind(StrEnum):
    """Which reminder."""

    H24 = "h24"
    H2 = "h2"
    M30 = "m30"
    SURVEY = "survey"


@dataclass(frozen=True, slots=True)
class PlannedReminder:
    """One reminder to queue: when, until when, on which channels, how urgent."""

    kind: ReminderKind
    send_at: datetime
    expires_at: datetime
    allowed: frozenset[Channel]
    urgency: Urgency
    message_type: MessageType
    preferred: Channel | None = None


SURVEY_DELAY = timedelta(minutes=30)
SURVEY_VALIDITY = timedelta(hours=24)


def plan(starts_at: datetime, ends_at: datetime, now: datetime) -> list[PlannedReminder]:
    """The reminders of an appointment still to come at ``now`` (a moment already past is
    skipped: a "tomorrow" reminder sent the same morning would mislead)."""
    appointment = MessageType.APPOINTMENT
    every = [
        PlannedReminder(
            ReminderKind.H24,
            starts_at - timedelta(hours=24),
            starts_at - timedelta(hours=2),
            frozenset({Channel.EMAIL, Channel.SMS}),
            Urgency.NORMAL,
            appointment,
        ),
        PlannedReminder(
            ReminderKind.H2,
            starts_at - timedelta(hours=2),
            starts_at - timedelta(minutes=30),
            frozenset({Channel.SMS, Channel.WHATSAPP}),
            Urgency.URGENT,
            appointment,
            preferred=Channel.SMS,
        ),
        PlannedReminder(
            ReminderKind.M30,
            starts_at - timedelta(minutes=30),
            starts_at,
            frozenset({Channel.SMS}),
            Urgency.URGENT,
            appointment,
        ),
        PlannedReminder(
            ReminderKind.SURVEY,
            ends_at + SURVEY_DELAY,
            ends_at + SURVEY_VALIDITY,
            frozenset({Channel.SMS, Channel.EMAIL}),
            Urgency.NORMAL,
            MessageType.SURVEY,
            preferred=Channel.SMS,
        ),
    ]
    return [r for r in every if r.send_at > now]
