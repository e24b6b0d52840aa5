"""Snapshots of the main screens at 80×24 and 160×48 on the fixed scenario."""

from __future__ import annotations

from pathlib import Path

import pytest

from inbox_app.screens.conversation import ConversationScreen
from tests.tui.snapshot_app import scenario_app, seed

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((160, 48), id="160x48")]


async def _settle(pilot) -> None:
    for _ in range(4):
        await pilot.pause()
    busy = [w for w in pilot.app.workers if not w.is_finished]
    if busy:
        await pilot.app.workers.wait_for_complete(busy)
    await pilot.pause()


def _open(conversation_key: str, then: tuple[str, ...] = ()):
    async def run_before(pilot) -> None:
        await _settle(pilot)
        pilot.app.push_screen(ConversationScreen(pilot.app.snapshot_ids[conversation_key]))
        await _settle(pilot)
        if then:
            await pilot.press(*then)
            await _settle(pilot)

    return run_before


def _keys(*keys: str):
    async def run_before(pilot) -> None:
        await _settle(pilot)
        await pilot.press(*keys)
        await _settle(pilot)

    return run_before


SCREENS = {
    "inbox": _keys(),
    "search": _keys("slash", *"visite", "enter"),
    "conversation": _open("marie_sms"),
    "composer": _open("marie_sms", ("r", *"Bonjour Marie")),
    "settings": _keys("f2"),
    "analytics": _keys("f3"),
    "help": _keys("question_mark"),
}


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("screen", list(SCREENS))
def test_screen(snap_compare, tmp_path: Path, screen: str, size: tuple[int, int]) -> None:
    path = tmp_path / "snap.db"
    ids = seed(path)
    app = scenario_app(path)
    app.snapshot_ids = ids  # type: ignore[attr-defined]
    assert snap_compare(app, terminal_size=size, run_before=SCREENS[screen])
