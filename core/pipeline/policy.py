"""The seam between the pipeline and the automation policy (``core.automation``).

For every automated request (origin automation or campaign) the pipeline asks
``core.automation.policy.check(session, request, now)`` whether it may go out. The verdict says
no with a reason (a translation key and its parameters) and whether the message is kept, held
for an agent to release (``hold=True``: queued as held, visible in the thread), or dropped.

Until ``core.automation.policy`` exists, everything is allowed (``allow_all``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

if TYPE_CHECKING:
    from core.pipeline.request import OutgoingRequest


@dataclass(frozen=True)
class Verdict:
    """The automation policy's answer about one request."""

    allowed: bool
    reason: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    hold: bool = False


ALLOWED = Verdict(True)


class PolicyCheck(Protocol):
    """What the pipeline calls for each automated request."""

    async def __call__(
        self, session: AsyncSession, request: OutgoingRequest, now: datetime
    ) -> Verdict: ...


async def allow_all(session: AsyncSession, request: OutgoingRequest, now: datetime) -> Verdict:
    """The default policy: every automated message may go out."""
    return ALLOWED


def policy_check() -> PolicyCheck:
    """``core.automation.policy.check`` when that module exists, else ``allow_all``."""
    try:
        from core.automation.policy import check
    except ImportError:
        return allow_all
    return check
