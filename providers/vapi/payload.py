"""VAPI's server messages as typed models: read once, refused in one place when malformed.

Only what the adapter reads is modelled; other fields are ignored. A field of the wrong shape
(an object where text is expected, a list for the customer…) fails validation with its path
named (``message.customer.number: …``), never later as an ``AttributeError``.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, Strict


def _text(value: Any) -> str | None:
    """Text as sent; numbers written out; anything else refused."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise ValueError("expected text")


def _absent_when_empty(value: Any) -> Any:
    """An optional object sent as ``""`` counts as absent."""
    return None if value == "" else value


Text = Annotated[str | None, BeforeValidator(_text)]
Number = Annotated[float | None, Strict()]


class _Model(BaseModel):
    model_config = ConfigDict(populate_by_name=True, frozen=True)


class Customer(_Model):
    """Who is on the line."""

    number: Text = None


class Artifact(_Model):
    """What the call left: transcript and recording."""

    transcript: Text = None
    recording_url: Text = Field(None, alias="recordingUrl")


class Analysis(_Model):
    """VAPI's analysis of the call."""

    summary: Text = None


Part = BeforeValidator(_absent_when_empty)


class Call(_Model):
    """The call a message is about."""

    id: Text = None
    type: Any = None
    started_at: Any = Field(None, alias="startedAt")
    ended_at: Any = Field(None, alias="endedAt")
    customer: Annotated[Customer | None, Part] = None


class ServerMessage(_Model):
    """One server message (``status-update``, ``end-of-call-report``, ``transcript``…)."""

    type: Annotated[str, Field(min_length=1), BeforeValidator(_text)]
    call: Annotated[Call | None, Part] = None
    customer: Annotated[Customer | None, Part] = None
    artifact: Annotated[Artifact | None, Part] = None
    analysis: Annotated[Analysis | None, Part] = None
    status: Text = None
    ended_reason: Text = Field(None, alias="endedReason")
    transcript: Text = None
    summary: Text = None
    recording_url: Text = Field(None, alias="recordingUrl")
    started_at: Any = Field(None, alias="startedAt")
    ended_at: Any = Field(None, alias="endedAt")
    duration_seconds: Number = Field(None, alias="durationSeconds")
    cost: Any = None


class Payload(_Model):
    """A webhook body: ``{"message": {...}}``."""

    message: ServerMessage
