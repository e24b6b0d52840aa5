"""Campaign words for the screen, in the active language."""

from __future__ import annotations

from core import i18n
from core.campaigns.model import CampaignProgress


def left_reason(reason: str | None) -> str:
    """A stored ``left_reason`` (``missing_variable:<name>`` included) as a phrase."""
    if not reason:
        return ""
    kind, _, detail = reason.partition(":")
    return i18n.t(f"campaigns.left_reason.{kind}", name=detail)


def condition(value: str | None) -> str:
    """A step condition as a phrase ("" for none)."""
    return i18n.t(f"campaigns.condition.{value}") if value else ""


def progress_lines(progress: CampaignProgress) -> list[str]:
    """One line per step: sent, queued, deferred, failed, skipped, waiting, left."""
    return [
        i18n.t(
            "campaigns.progress_line",
            position=step.position + 1,
            sent=step.sent,
            queued=step.queued,
            deferred=step.deferred,
            failed=step.failed,
            skipped=step.skipped,
            waiting=step.waiting,
            left=step.left,
        )
        for step in progress.steps
    ]
