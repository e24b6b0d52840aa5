"""The new-activity hook: a configured command (like mail clients' new-mail hooks).

The command is split like a shell would but run WITHOUT a shell; the title and the body are
passed as two more arguments, so nothing a prospect writes can become a command.
"""

from __future__ import annotations

import asyncio
import logging
import shlex

from core.domain.models import ConversationSummary
from inbox_app.render.safe import one_line

log = logging.getLogger(__name__)


def wanted(summary: ConversationSummary, scope: str, agent_id: int | None) -> bool:
    """Whether ``summary`` is in the hook's scope ("mine": mine or unassigned; "all")."""
    if scope == "all":
        return True
    return summary.assignee_id is None or summary.assignee_id == agent_id


async def run_hook(command: str, title: str, body: str) -> int | None:
    """Run ``command title body``; returns its exit code (None if it could not start)."""
    try:
        argv = [*shlex.split(command), one_line(title, 200), one_line(body, 500)]
        process = await asyncio.create_subprocess_exec(
            *argv, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
        )
        return await asyncio.wait_for(process.wait(), timeout=10)
    except (OSError, ValueError, TimeoutError) as exc:
        log.warning("notification hook failed: %s", exc)
        return None
