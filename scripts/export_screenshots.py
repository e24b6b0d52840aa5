"""Render each screen of the app on the demo agency into ``screenshots/*.svg`` (160×48).

The demo data (``core.demo``) is written into a temporary SQLite file with a fixed "now" and
seed, so the screenshots are the same on every run.

Run from the repository root: ``.venv/bin/python scripts/export_screenshots.py`` (every
screenshot), or name some: ``… export_screenshots.py booking calendar``.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.config.settings import Settings  # noqa: E402
from core.demo import DEFAULT_SEED, DEMO_TENANT, seed_demo  # noqa: E402
from core.domain.enums import Channel, Direction, MessageKind  # noqa: E402
from core.storage import tables as t  # noqa: E402
from core.storage.database import Database, sqlite_url  # noqa: E402
from inbox_app.app import InboxApp  # noqa: E402
from inbox_app.screens.conversation import ConversationScreen  # noqa: E402
from inbox_app.widgets.conversation.timeline import Timeline, TimelineItem  # noqa: E402

OUT = ROOT / "screenshots"
SIZE = (160, 48)
NOW = datetime(2026, 3, 10, 10, 0, tzinfo=UTC)
REPLY = "Bonjour, je vous confirme la visite de jeudi à 14h. À bientôt !"

Step = Callable[[InboxApp, object, dict[str, int]], Awaitable[None]]


def fixed_now() -> datetime:
    """The screenshots' "now": Tuesday 10 March 2026, 10:00 UTC."""
    return NOW


async def seed(path: Path) -> dict[str, int]:
    """Write the demo agency into ``path``; the conversations the shots open, by name."""
    db = await Database.open(sqlite_url(path))
    try:
        await seed_demo(db, now=NOW, seed=DEFAULT_SEED)
        return await _pick_conversations(db)
    finally:
        await db.close()


async def _pick_conversations(db: Database) -> dict[str, int]:
    """The latest SMS written by a prospect, and the latest call with a transcript."""
    M = t.MessageRow
    latest = M.created_at.desc()
    async with db.session() as session:
        sms = await session.scalar(
            select(M.conversation_id)
            .where(M.channel_type == Channel.SMS, M.direction == Direction.INBOUND)
            .order_by(latest)
            .limit(1)
        )
        calls = await session.execute(
            select(M.conversation_id, M.meta).where(M.kind == MessageKind.CALL).order_by(latest)
        )
        call = next(cid for cid, meta in calls.all() if (meta or {}).get("transcript"))
    return {"sms": sms, "call": call}


def _app(path: Path) -> InboxApp:
    # As ./scripts/demo opens it: demo mode (which never asks "which agent are you?").
    settings = Settings(
        database_url=sqlite_url(path), tenant=DEMO_TENANT, language="en", mode="demo"
    )
    return InboxApp(settings=settings, clock=fixed_now, live=False)


async def _settle(pilot) -> None:
    for _ in range(3):
        await pilot.pause(0.1)
    busy = [w for w in pilot.app.workers if not w.is_finished]
    if busy:
        await pilot.app.workers.wait_for_complete(busy)
    await pilot.pause(0.1)


def keys(*names: str) -> Step:
    """Press ``names`` in turn."""

    async def run(app, pilot, ids) -> None:
        for name in names:
            await pilot.press(name)
            await _settle(pilot)

    return run


def open_conversation(key: str) -> Step:
    """Open the conversation picked as ``key``."""

    async def run(app, pilot, ids) -> None:
        app.push_screen(ConversationScreen(ids[key]))
        await _settle(pilot)

    return run


async def expand_last_call(app, pilot, ids) -> None:
    """Highlight the conversation's last call and expand its transcript."""
    timeline = app.screen.query_one(Timeline)
    calls = [
        i
        for i, item in enumerate(timeline.items)
        if isinstance(item, TimelineItem)
        and item.message is not None
        and item.message.kind == MessageKind.CALL
    ]
    timeline.index = calls[-1]
    timeline.focus()
    await _settle(pilot)
    await pilot.press("enter")
    await _settle(pilot)


async def wait_for_decision(app, pilot, ids) -> None:
    """Let the composer ask the orchestrator after the typing pause."""
    from textual.widgets import TextArea

    app.screen.query_one(TextArea).cursor_blink = False  # the same picture on every run
    for _ in range(50):
        await pilot.pause(0.1)
        if getattr(app.screen, "decision", None) is not None:
            break
    await _settle(pilot)


async def templates_tab(app, pilot, ids) -> None:
    """Settings, on the templates tab with the first template in the editor."""
    from textual.widgets import TabbedContent

    from inbox_app.widgets.settings.template_editor import TemplateEditor

    app.screen.query_one(TabbedContent).active = "templates"
    await _settle(pilot)
    editor = app.screen.query_one(TemplateEditor)
    if editor.templates:
        editor.edit(next(iter(editor.templates.values())))
    await _settle(pilot)


#: screenshot name → the steps that lead to it from the inbox
SHOTS: dict[str, tuple[Step, ...]] = {
    "inbox": (),
    "inbox-search": (keys("slash", *"visite", "enter"),),
    "conversation": (open_conversation("sms"),),
    "call-transcript": (open_conversation("call"), expand_last_call),
    "composer": (open_conversation("sms"), keys("r", *REPLY), wait_for_decision),
    "switch-channel": (open_conversation("sms"), keys("w")),
    "settings": (keys("f2"), templates_tab),
    "analytics": (keys("f3"),),
    "campaigns": (keys("f4"),),
    "help": (keys("question_mark"),),
    "booking": (open_conversation("sms"), keys("b")),
    "calendar": (keys("c", "w"), keys("down", "down")),
}


async def shoot(name: str, steps: tuple[Step, ...], db: Path, ids: dict[str, int]) -> Path:
    """Run the app, take ``steps`` and save the screen as ``name``.svg."""
    app = _app(db)
    async with app.run_test(size=SIZE) as pilot:
        await _settle(pilot)
        for step in steps:
            await step(app, pilot, ids)
        await pilot.pause(0.3)
        return Path(app.save_screenshot(f"{name}.svg", str(OUT)))


def main(names: list[str]) -> None:
    """Write the screenshots named (every one when none is)."""
    unknown = sorted(set(names) - set(SHOTS))
    if unknown:
        sys.exit(f"error: no screenshot named {', '.join(unknown)}; known: {', '.join(SHOTS)}")
    OUT.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "demo.db"
        ids = asyncio.run(seed(db))
        for name, steps in SHOTS.items():
            if not names or name in names:
                print(asyncio.run(shoot(name, steps, db, ids)).relative_to(ROOT))


if __name__ == "__main__":
    main(sys.argv[1:])
