"""The app's collector policy (``inbox_app.memory``, ``inbox_app.widgets.caches``): garbage
cycles made while the agent works are still collected, and painted lines and emptied caches
are freed without the collector. Nothing is timed: ``coccinelle bench`` measures the pauses."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest
from rich.segment import Segment
from textual.cache import LRUCache
from textual.strip import Strip

from core.collector import THRESHOLDS
from inbox_app.memory import IDLE_MIDDLE_COLLECTIONS, IDLE_SECONDS, IdleCollector
from inbox_app.widgets.caches import UnlinkedLRUCache, unlinked, untie_strips


class Node:
    """A cycle's member that a weak reference can watch."""

    def __init__(self) -> None:
        self.other: Node | None = None


def cycle() -> weakref.ref[Node]:
    """A two-node cycle, dropped at once: only the collector can free it."""
    a, b = Node(), Node()
    a.other, b.other = b, a
    return weakref.ref(a)


@pytest.fixture
def app_collector() -> Iterator[None]:
    """The collector as the app settles it (thresholds, on), restored afterwards."""
    was_enabled, was_thresholds = gc.isenabled(), gc.get_threshold()
    gc.collect()
    gc.set_threshold(*THRESHOLDS)
    gc.enable()
    yield
    gc.set_threshold(*was_thresholds)
    if not was_enabled:
        gc.disable()


@pytest.fixture
def no_collector() -> Iterator[None]:
    """No automatic collection: what is freed, reference counting freed."""
    was_enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    yield
    if was_enabled:
        gc.enable()


def test_cycles_made_while_working_are_collected_by_the_young_collections(
    app_collector: None,
) -> None:
    watched = [cycle() for _ in range(20_000)]
    alive = sum(ref() is not None for ref in watched)
    # every 2,000 allocations a young collection frees the cycles made since the last one
    assert alive <= THRESHOLDS[0]


def test_cycles_that_reached_the_old_generation_are_collected_once_the_agent_is_idle(
    app_collector: None,
) -> None:
    now = [1000.0]
    idle = IdleCollector(clock=lambda: now[0])
    a, b = Node(), Node()
    a.other, b.other = b, a
    ref = weakref.ref(a)
    for _ in range(IDLE_MIDDLE_COLLECTIONS):  # middle collections promote the live cycle
        gc.collect(1)
    del a, b  # now garbage in the old generation: young and middle collections never see it
    gc.collect(1)
    assert ref() is not None

    idle.touched()
    now[0] += IDLE_SECONDS / 2
    assert not idle.collect_if_idle()  # a key came in a moment ago: no full collection
    assert ref() is not None

    now[0] += IDLE_SECONDS
    assert idle.collect_if_idle()
    assert ref() is None
    assert idle.collections == 1


def test_an_idle_collector_waits_until_the_old_generation_has_grown(app_collector: None) -> None:
    now = [0.0]
    idle = IdleCollector(clock=lambda: now[0])
    gc.collect()  # counts back to zero
    now[0] += IDLE_SECONDS * 10
    assert not idle.collect_if_idle()


def test_painted_lines_at_their_own_length_are_not_cycles(no_collector: None) -> None:
    untie_strips()
    for _ in range(100):
        strip = Strip([Segment("Bonjour "), Segment("Marie")])
        assert strip.divide([strip.cell_length]) == [strip]
        assert strip.crop_extend(0, strip.cell_length, None) is strip
        assert [s.text for s in strip.divide([3, strip.cell_length])] == ["Bon", "jour Marie"]
        assert strip.crop_extend(0, 20, None).cell_length == 20
    del strip
    assert gc.collect() == 0


def test_an_emptied_unlinked_cache_leaves_nothing_to_collect(no_collector: None) -> None:
    cache: UnlinkedLRUCache = UnlinkedLRUCache(10)
    kept = LRUCache(10)
    unlinked(kept)
    assert type(kept) is UnlinkedLRUCache
    for owner in (cache, kept):
        for i in range(25):
            owner[i] = [i]
        assert owner.get(24) == [24] and owner.get(0) is None and len(owner) == 10
        owner.clear()
        assert len(owner) == 0
        owner[1] = ["again"]
        assert owner.get(1) == ["again"]
        owner.clear()
    assert gc.collect() == 0

    plain = LRUCache(10)
    for i in range(25):
        plain[i] = [i]
    plain.clear()
    assert gc.collect() > 0  # what Textual's own cache leaves behind
