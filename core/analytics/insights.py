"""Plain-language findings computed from the period's numbers (the seed's "AI insights").

- which channel converts best for each message type (at least ``MIN_SAMPLE`` messages per
  channel compared);
- which prospects answer faster on another channel than the one they are mostly written to;
- what the period cost against sending every message by SMS, at the SMS price measured in the
  period (the tenant's configured price when no SMS had a cost), with the same cost totals as
  the statistics table.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any

from babel.dates import format_timedelta

from core import i18n
from core.analytics.aggregate import Counters, ProspectChannels
from core.domain.enums import Channel

MIN_SAMPLE = 10
MICROS = Decimal(1_000_000)


@dataclass(frozen=True)
class Insight:
    """One finding: a stable ``key``, the sentence to show, and the numbers behind it."""

    key: str
    text: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class FasterElsewhere:
    """A prospect who answers faster on ``better`` than on ``used``."""

    prospect_id: int
    used: str
    better: str
    used_median: float | None
    better_median: float


def _channel(name: str) -> str:
    return i18n.t(f"common.channel.{name}")


def _duration(seconds: float) -> str:
    return format_timedelta(
        timedelta(seconds=seconds), threshold=1.1, format="long", locale=i18n.babel_locale()
    )


def best_channel_per_type(totals: dict[str, Counters]) -> list[Insight]:
    """For each message type, the channel with the best conversion rate, if several compete."""
    rates: dict[str, list[tuple[float, str, int]]] = {}
    for channel, counters in totals.items():
        for kind, (sent, conversions) in counters.by_type.items():
            if sent >= MIN_SAMPLE:
                rates.setdefault(kind, []).append((conversions / sent, channel, sent))
    found = []
    for kind, options in sorted(rates.items()):
        if len(options) < 2:
            continue
        options.sort(key=lambda item: (-item[0], item[1]))
        (best_rate, best, _), (next_rate, runner_up, _) = options[0], options[1]
        if best_rate <= 0:
            continue
        text = i18n.t(
            "analytics.insight.best_channel",
            type=i18n.t(f"analytics.message_type.{kind}"),
            channel=_channel(best),
            rate=i18n.format_percent(best_rate),
            other=_channel(runner_up),
            other_rate=i18n.format_percent(next_rate),
        )
        data = {"type": kind, "channel": best, "rate": best_rate, "runner_up": runner_up}
        found.append(Insight("best_channel", text, data))
    return found


def faster_elsewhere(prospects: ProspectChannels) -> list[FasterElsewhere]:
    """Prospects whose median answer is quicker on another channel than their most-used one."""
    channels: dict[int, set[str]] = {}
    for prospect_id, channel in list(prospects.sent) + list(prospects.response_times):
        channels.setdefault(prospect_id, set()).add(channel)
    medians: dict[int, dict[str, float]] = {}
    for (prospect_id, channel), times in prospects.response_times.items():
        medians.setdefault(prospect_id, {})[channel] = statistics.median(times)
    found = []
    for prospect_id, used_on in sorted(channels.items()):
        if len(used_on) < 2:
            continue
        used = max(sorted(used_on), key=lambda c: prospects.sent[(prospect_id, c)])
        answered = medians.get(prospect_id, {})
        used_median = answered.get(used)
        others = [(m, c) for c, m in answered.items() if c != used]
        if not others:
            continue
        best_median, better = min(others)
        if used_median is None or best_median < used_median:
            found.append(FasterElsewhere(prospect_id, used, better, used_median, best_median))
    return found


def faster_elsewhere_insight(found: list[FasterElsewhere], names: dict[int, str]) -> Insight | None:
    """One sentence for the prospects who answer faster elsewhere, with the clearest example."""
    if not found:
        return None
    example = max(found, key=lambda f: (f.used_median or float("inf")) - f.better_median)
    params = {
        "count": len(found),
        "name": names.get(example.prospect_id, f"#{example.prospect_id}"),
        "better": _channel(example.better),
        "fast": _duration(example.better_median),
        "used": _channel(example.used),
    }
    if example.used_median is None:
        text = i18n.t("analytics.insight.faster_elsewhere_silent", **params)
    else:
        text = i18n.t(
            "analytics.insight.faster_elsewhere", slow=_duration(example.used_median), **params
        )
    data = {"prospects": [f.prospect_id for f in found]}
    return Insight("faster_elsewhere", text, data)


def sms_segment_price(totals: dict[str, Counters], prices: dict[str, Decimal]) -> Decimal:
    """What one SMS segment cost in the period (measured on the SMS sent with a recorded cost),
    else the tenant's configured SMS price."""
    sms = totals.get(Channel.SMS)
    if sms is not None:
        priced = sms.sms_segments - sms.unpriced_segments
        if priced > 0 and sms.cost_micros > 0:
            return Decimal(sms.cost_micros) / MICROS / priced
    return Decimal(prices.get(Channel.SMS, Decimal("0")))


def cost_against_sms(totals: dict[str, Counters], prices: dict[str, Decimal]) -> Insight | None:
    """What the period cost against the same messages all sent by SMS.

    ``actual`` is the sum of the statistics' costs (every channel). The all-SMS figure keeps
    the SMS and the voice calls as they were (a call has no SMS equivalent) and prices every
    other message at its SMS segments times the measured price of a segment. Messages without
    a recorded cost count for nothing on either side: like is compared with like.
    """
    segment = sms_segment_price(totals, prices)
    actual = sum((Decimal(c.cost_micros) / MICROS for c in totals.values()), Decimal(0))
    as_sms = Decimal(0)
    for channel, counters in totals.items():
        if channel in (Channel.SMS, Channel.VOICE):
            as_sms += Decimal(counters.cost_micros) / MICROS
        else:
            as_sms += (counters.sms_segments - counters.unpriced_segments) * segment
    if as_sms <= 0 or segment <= 0:
        return None
    saving = as_sms - actual
    ratio = float(abs(saving) / as_sms)
    key = "cost_saved" if saving >= 0 else "cost_more"
    text = i18n.t(
        f"analytics.insight.{key}",
        actual=i18n.format_money(actual.quantize(Decimal("0.01"))),
        sms=i18n.format_money(as_sms.quantize(Decimal("0.01"))),
        percent=i18n.format_percent(ratio),
    )
    data = {
        "actual": actual,
        "all_sms": as_sms,
        "saving": saving,
        "saving_ratio": float(saving / as_sms),
        "segment_price": segment,
    }
    return Insight("cost_vs_sms", text, data)
