"""Snapshots of the main screens at 80×24 and 160×48 on the fixed scenario."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import TabbedContent, TextArea

from inbox_app.screens.calendar import CalendarTable
from inbox_app.screens.conversation import ConversationScreen
from inbox_app.widgets.settings.template_editor import TemplateEditor
from tests.tui.calendar_data import fill_calendar
from tests.tui.helpers import wait_for_decision
from tests.tui.snapshot_app import demo_app, scenario_app, seed, seed_demo_file

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((160, 48), id="160x48")]


async def _settle(pilot) -> None:
    for _ in range(4):
        await pilot.pause()
    busy = [w for w in pilot.app.workers if not w.is_finished]
    if busy:
        await pilot.app.workers.wait_for_complete(busy)
    await pilot.pause()


def _open(conversation_key: str, then: tuple[str, ...] = (), decided: bool = False):
    async def run_before(pilot) -> None:
        await _settle(pilot)
        pilot.app.push_screen(ConversationScreen(pilot.app.snapshot_ids[conversation_key]))
        await _settle(pilot)
        if then:
            await pilot.press(*then)
            await _settle(pilot)
        if decided:  # the composer asks the orchestrator after a pause in typing
            # waiting takes real time: a blinking cursor would make the picture change
            pilot.app.screen.query_one(TextArea).cursor_blink = False
            await wait_for_decision(pilot)

    return run_before


def _keys(*keys: str):
    async def run_before(pilot) -> None:
        await _settle(pilot)
        await pilot.press(*keys)
        await _settle(pilot)

    return run_before


async def _templates(pilot) -> None:
    await _settle(pilot)
    await pilot.press("f2")
    await _settle(pilot)
    pilot.app.screen.query_one(TabbedContent).active = "templates"
    await _settle(pilot)
    editor = pilot.app.screen.query_one(TemplateEditor)
    editor.edit(editor.templates[str(pilot.app.snapshot_ids["template"])])
    await _settle(pilot)


async def _calendar(pilot) -> None:
    await _settle(pilot)
    await fill_calendar(pilot.app.service, pilot.app.snapshot_ids)
    await pilot.press("c")
    await _settle(pilot)
    pilot.app.screen.query_one(CalendarTable).move_cursor(row=2)
    await _settle(pilot)


SCREENS = {
    "inbox": _keys(),
    "search": _keys("slash", *"visite", "enter"),
    "conversation": _open("marie_sms"),
    "composer": _open("marie_sms", ("r", *"Bonjour Marie"), decided=True),
    "settings": _keys("f2"),
    "templates": _templates,
    "analytics": _keys("f3"),
    "help": _keys("question_mark"),
    "booking": _open("marie_sms", ("b",)),
    "switch_preview": _open("marie_sms", ("w", "enter")),
    "calendar": _calendar,
}


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("screen", list(SCREENS))
def test_screen(snap_compare, tmp_path: Path, screen: str, size: tuple[int, int]) -> None:
    path = tmp_path / "snap.db"
    ids = seed(path)
    app = scenario_app(path)
    app.snapshot_ids = ids  # type: ignore[attr-defined]
    assert snap_compare(app, terminal_size=size, run_before=SCREENS[screen])


#: Screens shown on the demo agency (the scenario has no campaign).
DEMO_SCREENS = {"campaigns": _keys("f4"), "abtests": _keys("f4", "a")}


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("screen", list(DEMO_SCREENS))
def test_demo_screen(snap_compare, tmp_path: Path, screen: str, size: tuple[int, int]) -> None:
    path = tmp_path / "demo.db"
    seed_demo_file(path)
    app = demo_app(path)
    assert snap_compare(app, terminal_size=size, run_before=DEMO_SCREENS[screen])
