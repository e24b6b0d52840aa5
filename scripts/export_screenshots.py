"""Render each screen of the app on the fixed scenario into ``screenshots/*.svg``.

Run from the repository root: ``.venv/bin/python scripts/export_screenshots.py``.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from inbox_app.screens.conversation import ConversationScreen  # noqa: E402
from tests.tui.snapshot_app import scenario_app, seed  # noqa: E402

OUT = ROOT / "screenshots"
SIZE = (120, 34)

#: screenshot name → (conversation to open or None, keys to press)
SHOTS: dict[str, tuple[str | None, tuple[str, ...]]] = {
    "inbox": (None, ()),
    "inbox-search": (None, ("slash", *"visite", "enter")),
    "conversation": ("marie_sms", ()),
    "call-transcript": ("luc_voice", ("enter",)),
    "composer": ("marie_sms", ("r", "slash", "enter")),
    "switch-channel": ("marie_sms", ("w",)),
    "settings": (None, ("f2",)),
    "analytics": (None, ("f3",)),
    "help": (None, ("question_mark",)),
}


async def _settle(app) -> None:
    busy = [w for w in app.workers if not w.is_finished]
    if busy:
        await app.workers.wait_for_complete(busy)


async def shoot(
    name: str, conversation: str | None, keys: tuple[str, ...], db: Path, ids: dict[str, int]
) -> Path:
    """Run the app, open ``conversation``, press ``keys`` and save the screen."""
    app = scenario_app(db)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.3)
        await _settle(app)
        if conversation:
            app.push_screen(ConversationScreen(ids[conversation]))
            await pilot.pause(0.3)
        for key in keys:
            await pilot.press(key)
            await pilot.pause(0.1)
        await pilot.pause(0.5)
        await _settle(app)
        return Path(app.save_screenshot(f"{name}.svg", str(OUT)))


def main() -> None:
    """Write every screenshot."""
    OUT.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "screens.db"
        ids = seed(db)
        for name, (conversation, keys) in SHOTS.items():
            print(asyncio.run(shoot(name, conversation, keys, db, ids)).relative_to(ROOT))


if __name__ == "__main__":
    main()
