"""The orchestrator's ``decide`` over 10,000 varied contexts on one core, against a bare additive
scoring loop (5 channels × 10 criteria, each recording an explanation) written here."""

from __future__ import annotations

import importlib.util
import random
import time
from collections.abc import Callable
from typing import Any

from core.bench.context import BenchContext, Unavailable
from core.bench.results import Result, Summary, Target

CONTEXTS = 10_000
CHANNELS = ("voice", "sms", "email", "whatsapp", "telegram")
COST = {"voice": 0.12, "sms": 0.075, "email": 0.001, "whatsapp": 0.05, "telegram": 0.0}


def contexts(count: int = CONTEXTS, seed: int = 11) -> list[dict[str, Any]]:
    """Varied plain inputs: reachable channels, opt-outs, history, hour, urgency, text length."""
    rng = random.Random(seed)
    made = []
    for _ in range(count):
        reachable = [c for c in CHANNELS if rng.random() < 0.7] or ["email"]
        made.append(
            {
                "reachable": set(reachable),
                "opted_out": {c for c in reachable if rng.random() < 0.05},
                "preferred": rng.choice([None, *CHANNELS]),
                "response_rate": {c: rng.random() for c in CHANNELS},
                "last_inbound": rng.choice(CHANNELS),
                "hour": rng.randrange(24),
                "urgency": rng.choice(("urgent", "normal", "low")),
                "length": rng.choice((40, 140, 400, 2000)),
                "has_media": rng.random() < 0.1,
                "failures": {c: rng.randrange(3) for c in CHANNELS},
            }
        )
    return made


def _criteria() -> list[tuple[str, float, Callable[[dict[str, Any], str], float]]]:
    def quiet(ctx: dict[str, Any], ch: str) -> float:
        return -1.0 if ch in ("voice", "sms") and not 8 <= ctx["hour"] < 21 else 0.0

    return [
        ("reachable", 5.0, lambda ctx, ch: 1.0 if ch in ctx["reachable"] else -10.0),
        ("opted_out", 10.0, lambda ctx, ch: -10.0 if ch in ctx["opted_out"] else 0.0),
        ("preferred", 2.0, lambda ctx, ch: 1.0 if ctx["preferred"] == ch else 0.0),
        ("response_rate", 3.0, lambda ctx, ch: ctx["response_rate"][ch]),
        ("last_inbound", 1.5, lambda ctx, ch: 1.0 if ctx["last_inbound"] == ch else 0.0),
        ("cost", 1.0, lambda ctx, ch: -COST[ch] * 10),
        ("quiet_hours", 4.0, quiet),
        ("urgency", 1.0, lambda ctx, ch: float(ctx["urgency"] == "urgent" and ch == "voice")),
        ("length", 1.0, lambda ctx, ch: -1.0 if ctx["length"] > 160 and ch == "sms" else 0.0),
        ("failures", 2.0, lambda ctx, ch: -0.5 * ctx["failures"][ch]),
    ]  # fmt: skip


def bare_decide(ctx: dict[str, Any], criteria: list[Any]) -> tuple[str, list[tuple[Any, ...]]]:
    """Score every channel additively, recording why; return the best and the explanations."""
    best, best_score, why = CHANNELS[0], float("-inf"), []
    for channel in CHANNELS:
        score = 0.0
        for name, weight, rule in criteria:
            points = weight * rule(ctx, channel)
            score += points
            why.append((channel, name, points))
        if score > best_score:
            best, best_score = channel, score
    return best, why


def _rates(ctx: BenchContext, decide_all: Callable[[], int]) -> Summary:
    decide_all()
    rates = []
    for _ in range(ctx.runs):
        start = time.perf_counter()
        count = decide_all()
        rates.append(count / (time.perf_counter() - start))
    return Summary.of(rates)


def reference(ctx: BenchContext) -> Result:
    """The bare scoring loop's explained decisions per second."""
    inputs, criteria = contexts(), _criteria()

    def run() -> int:
        for item in inputs:
            bare_decide(item, criteria)
        return len(inputs)

    return Result("decide.reference", "/s", _rates(ctx, run), "median")


async def measure(ctx: BenchContext) -> list[Result]:
    """The reference, then the orchestrator's ``decide`` when it is part of this build."""
    bare = reference(ctx)
    if importlib.util.find_spec("core.orchestrator") is None:
        raise Unavailable("core.orchestrator is not in this build", [bare])
    from core.bench.decide_inputs import orchestrator_rates

    ours = orchestrator_rates(ctx, _rates)
    loading = await with_loading(ctx)
    return [
        bare,
        Result(
            "decide.orchestrator",
            "/s",
            ours,
            "median",
            "decide.reference",
            bare.summary,
            Target("median", 50_000, at_least=True),
            {"contexts": CONTEXTS},
        ),
        loading,
    ]


#: Prospects per chunk when contexts are loaded with ``load_contexts``.
CHUNK = 500


async def with_loading(ctx: BenchContext) -> Result:
    """Decisions per second including loading each prospect's context from the dataset, a
    chunk at a time (``load_contexts``: a few set-based queries per chunk); read only."""
    from core.bench.decide_inputs import loaded_rate

    rate, count = await loaded_rate(ctx.url, ctx.dataset.tenant, CHUNK)
    return Result(
        "decide.with_loading", "/s", Summary(rate, rate, rate, 1), "median", None, None,
        Target("median", 5_000, at_least=True), {"prospects": count, "chunk": CHUNK},
    )  # fmt: skip
