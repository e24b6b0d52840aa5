"""The collector's pauses as the keys bench records them."""

from __future__ import annotations

import gc

from core.bench.gc_pauses import GcPauses


def test_each_collection_is_recorded_with_its_generation() -> None:
    with GcPauses() as pauses:
        gc.collect(0)
        gc.collect(1)
    assert pauses.generations[-2:] == [0, 1]
    assert len(pauses.durations) == len(pauses.wall) == len(pauses.generations)
    assert all(d >= 0 for d in pauses.durations)
    details = pauses.details()
    assert set(details["longest_ms"]) >= {"0", "1"}
    assert set(details["collected"]) == set(details["collections"])
    assert len(pauses.collected) == len(pauses.generations)
    assert gc.callbacks.count(pauses._callback) == 0  # removed on exit


def test_no_collection_reads_zero() -> None:
    pauses = GcPauses()
    assert pauses.longest == 0.0 and pauses.details()["longest_wall_ms"] == 0.0
