"""Attachments (issue 19, item 3): listed with type and size, opened with the system's opener,
saved under a safe name; errors are toasts, never a traceback."""

from __future__ import annotations

import base64
import stat

import pytest
from textual.widgets import Input

from core import i18n
from core.demo.files import demo_file
from core.domain.enums import Channel
from inbox_app.screens.conversation import ConversationScreen
from inbox_app.screens.prompt import PromptScreen
from inbox_app.widgets.conversation.timeline import Timeline
from tests.tui.helpers import settle
from tests.tui.scenario import say

PDF = demo_file("bail.pdf")


@pytest.fixture
def opener(tmp_path, monkeypatch):
    """A stand-in for xdg-open that records the path it was given."""
    record = tmp_path / "opened.txt"
    script = tmp_path / "opener.sh"
    script.write_text(f'#!/bin/sh\nprintf "%s" "$1" > "{record}"\n')
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("COCCINELLE_OPENER", str(script))
    return record


def notes(app) -> list[str]:
    return [str(n.message) for n in app._notifications]


def timeline_text(app) -> str:
    return "\n".join(i.text for i in app.screen.query_one(Timeline).items)


async def _open(app, pilot, conversation_id: int) -> None:
    await settle(pilot)
    app.push_screen(ConversationScreen(conversation_id))
    await settle(pilot)


async def _with_attachments(service, ids, items) -> int:
    prospect = (await service.conversations.get(ids["jean_email"])).prospect_id
    await say(
        service,
        prospect,
        "Voici le bail signé",
        channel=Channel.EMAIL,
        subject="Bail",
        meta={"attachments": items},
    )
    return ids["jean_email"]


async def test_listed_with_type_and_size_and_opened(app, ids, service, lang, opener) -> None:
    photo = demo_file("photo_salon.png")
    conversation = await _with_attachments(service, ids, [PDF, photo])
    async with app.run_test(size=(160, 48)) as pilot:
        await _open(app, pilot, conversation)
        text = timeline_text(app)
        assert PDF["size"] < 1000
        size = {"en": f"{PDF['size']} B", "fr": f"{PDF['size']} o"}[lang]
        assert f"bail.pdf · PDF, {size}" in text
        assert "photo_salon.png · " + i18n.t("attachui.kind.image", sub="PNG") in text
        assert i18n.t("attachui.no_preview") in text  # no textual-image in the venv
        await pilot.press("o")  # two attachments: which one?
        await settle(pilot)
        await pilot.press("down", "enter")
        await settle(pilot)
        opened = opener.read_text()
        assert opened.endswith("photo_salon.png")
        with open(opened, "rb") as handle:
            assert handle.read() == base64.b64decode(photo["data"])
        assert i18n.t("attachui.opened", name="photo_salon.png") in notes(app)


async def test_saved_under_a_safe_name_in_the_chosen_folder(
    app, ids, service, lang, tmp_path
) -> None:
    hostile = {**PDF, "filename": "../../.bashrc\u202egpj.pdf"}
    conversation = await _with_attachments(service, ids, [hostile])
    folder = tmp_path / "saved"
    folder.mkdir()
    async with app.run_test(size=(80, 24)) as pilot:
        await _open(app, pilot, conversation)
        await pilot.press("d")
        await settle(pilot)
        assert isinstance(app.screen, PromptScreen)
        app.screen.query_one(Input).value = str(tmp_path / "missing")
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, PromptScreen)  # refused in place
        assert i18n.t("attachui.not_a_folder") in str(app.screen.query_one("#problem").render())
        app.screen.query_one(Input).value = str(folder)
        await pilot.press("enter")
        await settle(pilot)
        saved = list(folder.iterdir())
        assert [p.name for p in saved] == ["bashrcgpj.pdf"]
        assert saved[0].read_bytes() == base64.b64decode(PDF["data"])
        assert i18n.t("attachui.saved", path=str(saved[0])) in notes(app)
        assert list(tmp_path.glob(".bashrc*")) == []


async def test_errors_are_clear_toasts(app, ids, service, lang, opener) -> None:
    remote = {"filename": "scan.pdf", "content_type": "application/pdf", "url": "https://x/1"}
    conversation = await _with_attachments(service, ids, [remote])
    async with app.run_test(size=(80, 24)) as pilot:
        await _open(app, pilot, conversation)
        await pilot.press("o")  # no engine: nothing to download it with
        await settle(pilot)
        problem = [n for n in app._notifications if n.severity == "error"]
        assert problem and "not running" in str(problem[-1].message)
        assert "Traceback" not in str(problem[-1].message)
        assert not opener.exists()
        await pilot.press("k")  # a message with no attachment
        await pilot.press("o")
        await settle(pilot)
        assert i18n.t("attachui.none") in notes(app)


async def test_over_the_size_limit_is_refused(app, ids, service, lang, opener) -> None:
    conversation = await _with_attachments(service, ids, [PDF])
    service.attachments.max_bytes = 100
    async with app.run_test(size=(80, 24)) as pilot:
        await _open(app, pilot, conversation)
        await pilot.press("o")
        await settle(pilot)
        assert any(n.severity == "error" and "MB" in str(n.message) for n in app._notifications)
        assert not opener.exists()
