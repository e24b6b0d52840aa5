"""What a campaign is made of, as the facade accepts and returns it."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field

from core.domain.enums import CampaignStatus, Channel, EnrolmentStatus

AUTO: Final = "auto"


class Condition(StrEnum):
    """What must be true, when a step is due, for it to be sent (else it is skipped)."""

    EMAIL_OPENED = "email_opened"
    LINK_CLICKED = "link_clicked"
    NO_REPLY = "no_reply"
    REPLIED = "replied"
    APPOINTMENT_CONFIRMED = "appointment_confirmed"


class LeftReason(StrEnum):
    """Why a prospect left a campaign before its end."""

    REPLIED = "replied"
    OPTED_OUT = "opted_out"
    UNREACHABLE = "unreachable"
    TOO_EXPENSIVE = "too_expensive"
    WHATSAPP_WINDOW = "whatsapp_window"
    NO_TEMPLATE = "no_template"
    MISSING_VARIABLE = "missing_variable"
    REMOVED = "removed"


class LeaveCampaign(Exception):
    """The prospect leaves the campaign at this step (``reason`` as stored)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class PostponeStep(Exception):
    """The step cannot be sent now (a daily limit is reached): try it again at ``until``."""

    def __init__(self, until: datetime) -> None:
        super().__init__(until.isoformat())
        self.until = until


class StepDraft(BaseModel):
    """One step: ``delay_seconds`` after the previous step ran (after enrolment for the first)."""

    model_config = ConfigDict(extra="forbid")

    channel: Channel | Literal["auto"] = AUTO
    delay_seconds: int = Field(0, ge=0, le=366 * 86400)
    template: str = Field(min_length=1, max_length=100)
    condition: Condition | None = None


class CampaignDraft(BaseModel):
    """A campaign as written: a name, its steps, and values shared by every prospect."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    steps: list[StepDraft] = Field(min_length=1, max_length=50)
    variables: dict[str, str] = Field(default_factory=dict)


class CampaignStep(BaseModel):
    """A stored step."""

    model_config = ConfigDict(frozen=True)

    position: int
    channel: Channel | Literal["auto"]
    delay_seconds: int
    template: str
    condition: Condition | None = None


class Campaign(BaseModel):
    """A stored campaign."""

    model_config = ConfigDict(frozen=True)

    id: int
    name: str
    status: CampaignStatus
    steps: tuple[CampaignStep, ...]
    variables: dict[str, Any] = Field(default_factory=dict)
    created_at: datetime


class Enrolment(BaseModel):
    """A prospect's place in a campaign."""

    model_config = ConfigDict(frozen=True, from_attributes=True)

    id: int
    campaign_id: int
    prospect_id: int
    current_step: int
    status: EnrolmentStatus
    next_run_at: datetime | None = None
    left_reason: str | None = None
    enrolled_at: datetime


class StepProgress(BaseModel):
    """How far the prospects got with one step.

    ``waiting``: the step is not due yet for them; ``queued``: in the outbox, to be sent now;
    ``deferred``: in the outbox, held until a later time (quiet hours, allowed hours, retry);
    ``sent``: handed to the provider; ``failed``: the outbox gave up (failed, expired, cancelled
    or outcome unknown); ``skipped``: the condition did not hold; ``left``: left at this step.
    """

    model_config = ConfigDict(frozen=True)

    position: int
    waiting: int = 0
    queued: int = 0
    deferred: int = 0
    sent: int = 0
    failed: int = 0
    skipped: int = 0
    left: int = 0


class CampaignProgress(BaseModel):
    """A campaign's progress, step by step."""

    model_config = ConfigDict(frozen=True)

    campaign_id: int
    status: CampaignStatus
    enrolled: int
    active: int
    completed: int
    left: int
    left_reasons: dict[str, int]
    steps: tuple[StepProgress, ...]
