"""The relay process keeps the cyclic collector out of the way once it listens: what start-up
built is frozen and the thresholds raised (full collections of it stalled every request)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from inbox_app.commands.relay import announce_ready
from inbox_app.memory import THRESHOLDS


@pytest.fixture
def collector() -> Iterator[None]:
    thresholds = gc.get_threshold()
    gc.unfreeze()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


@pytest.mark.usefixtures("collector")
def test_ready_relay_freezes_start_up_and_raises_thresholds(
    capsys: pytest.CaptureFixture[str],
) -> None:
    start_up = [object() for _ in range(100)]
    assert gc.get_freeze_count() == 0

    announce_ready("https://relay.example.fr", "")("127.0.0.1", 8787)

    assert gc.get_freeze_count() >= len(start_up)
    assert gc.get_threshold() == THRESHOLDS
    assert gc.isenabled()
    assert "https://relay.example.fr" in capsys.readouterr().out
