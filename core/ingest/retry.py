"""What becomes of an inbound event that failed to apply: tried again later, then parked.

An event is never dropped. A failure schedules the next attempt after a growing delay; after
the last delay, or at once when the input itself can never apply (an invalid sender), the event
is *parked*: ingest leaves it alone, the app and ``coccinelle events failed`` show it with its
reason, and ``retry`` puts it back in the queue.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import InterfaceError, OperationalError

from core.domain.enums import InboundEventStatus
from core.errors import CoccinelleError, InvalidInput, StorageError

#: Waits before the 2nd, 3rd, ... attempt; one failure more parks the event.
RETRY_DELAYS: tuple[timedelta, ...] = (
    timedelta(seconds=10),
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=30),
)


def failure_reason(exc: BaseException) -> str:
    """What an operator reads: our own errors' message, else the exception's type."""
    if isinstance(exc, CoccinelleError):
        return str(exc)[:500]
    return f"{type(exc).__name__} (see the log)"


def after_failure(
    attempts: int,
    exc: BaseException,
    now: datetime,
    delays: Sequence[timedelta] = RETRY_DELAYS,
) -> dict[str, Any]:
    """The event row's new values once its ``attempts``-th attempt failed with ``exc``."""
    values: dict[str, Any] = {
        "attempts": attempts,
        "error": failure_reason(exc),
        "processed_at": now,
    }
    if isinstance(exc, InvalidInput) or attempts > len(delays):
        return values | {"status": InboundEventStatus.PARKED, "next_attempt_at": None}
    return values | {
        "status": InboundEventStatus.PENDING,
        "next_attempt_at": now + delays[attempts - 1],
    }


def database_down(exc: BaseException) -> bool:
    """Whether ``exc`` is the database failing (retry the batch later), not this event."""
    return isinstance(exc, StorageError | OperationalError | InterfaceError) or bool(
        getattr(exc, "connection_invalidated", False)
    )
