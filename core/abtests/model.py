"""A/B tests as the facade returns them."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict

from core.abtests.stats import Comparison


class Metric(StrEnum):
    """What an A/B test compares (the seed's KPIs)."""

    CONFIRMATION_RATE = "confirmation_rate"
    RESPONSE_RATE = "response_rate"
    OPEN_RATE = "open_rate"
    CLICK_RATE = "click_rate"
    COST_PER_CONVERSION = "cost_per_conversion"

    @property
    def lower_is_better(self) -> bool:
        """Only a cost is better when smaller."""
        return self is Metric.COST_PER_CONVERSION


class ABTest(BaseModel):
    """A stored A/B test."""

    model_config = ConfigDict(frozen=True)

    id: int
    name: str
    metric: Metric
    groups: dict[str, dict[str, Any]]
    seed: int
    duration_days: int
    started_at: datetime
    ends_at: datetime | None
    assignments: dict[str, tuple[int, ...]]


class GroupResult(BaseModel):
    """One group's numbers: ``value`` is the rate or the cost per conversion (EUR)."""

    model_config = ConfigDict(frozen=True)

    name: str
    size: int
    successes: int
    cost: float
    value: float | None


class ABResult(BaseModel):
    """Each group against the first (the control), and the winner when there is one."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    test_id: int
    metric: Metric
    finished: bool
    groups: tuple[GroupResult, ...]
    comparisons: dict[str, Comparison]
    winner: str | None
