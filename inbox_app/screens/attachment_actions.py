"""The conversation screen's attachment keys: ``o`` opens the highlighted message's attachment
with the system's program, ``d`` saves it in a folder the agent chooses.

``service.attachments`` (``core.service.attachments``) fetches the file through the channel's
adapter into the cache; this asks which attachment and where, and says what happened.
"""

from __future__ import annotations

from pathlib import Path

from textual.binding import Binding

from core.domain.models import Message
from core.i18n import t
from core.service.attachments import AttachmentInfo, listed
from inbox_app.errors import notify_error
from inbox_app.opener import open_file
from inbox_app.screens.choice import ChoiceScreen
from inbox_app.screens.prompt import PromptScreen
from inbox_app.widgets.conversation.timeline import Timeline, TimelineItem

ATTACHMENT_BINDINGS = [
    Binding(
        "o",
        "open_attachment",
        t("attachui.key.open"),
        show=False,
        id="open_attachment",
        tooltip=t("attachui.tip.open"),
    ),
    Binding(
        "d",
        "save_attachment",
        t("attachui.key.save"),
        show=False,
        id="save_attachment",
        tooltip=t("attachui.tip.save"),
    ),
]


def _folder(raw: str) -> Path:
    folder = Path(raw.strip() or ".").expanduser()
    if not folder.is_dir():
        raise ValueError(t("attachui.not_a_folder"))
    return folder


class AttachmentActions:
    """Mixed into a screen that has a ``Timeline``."""

    #: The folder last saved to, offered first next time.
    save_folder: Path | None = None

    def _highlighted(self) -> Message | None:
        timeline = self.query_one(Timeline)  # type: ignore[attr-defined]
        item = timeline.highlighted_child
        return item.message if isinstance(item, TimelineItem) else None

    def _pick(self, then) -> None:
        """Call ``then(message, attachment)`` once the agent has picked one."""
        message = self._highlighted()
        found = listed(message) if message is not None else []
        if message is None or not found:
            self.notify(t("attachui.none"), timeout=4)  # type: ignore[attr-defined]
            return
        if len(found) == 1:
            self.run_worker(then(message, found[0]), group="attachment")  # type: ignore[attr-defined]
            return
        choices = [(str(a.index), a.filename) for a in found]

        async def picked(key: str | None) -> None:
            if key is not None:
                await then(message, found[int(key)])

        self.app.push_screen(ChoiceScreen(t("attachui.pick"), choices), picked)  # type: ignore[attr-defined]

    def action_open_attachment(self) -> None:
        self._pick(self._open)

    def action_save_attachment(self) -> None:
        self._pick(self._ask_folder)

    async def _open(self, message: Message, item: AttachmentInfo) -> None:
        self.notify(t("attachui.opening", name=item.filename), timeout=3, markup=False)  # type: ignore[attr-defined]
        try:
            path = await self.app.service.attachments.fetch(message.id, item.index)  # type: ignore[attr-defined]
            await open_file(path)
        except Exception as exc:
            notify_error(self.app, exc)  # type: ignore[attr-defined]
            return
        self.notify(t("attachui.opened", name=item.filename), timeout=3, markup=False)  # type: ignore[attr-defined]

    async def _ask_folder(self, message: Message, item: AttachmentInfo) -> None:
        start = self.save_folder or Path.home() / "Downloads"
        if not start.is_dir():
            start = Path.home()

        async def chosen(folder: Path | None) -> None:
            if folder is not None:
                await self._save(message, item, folder)

        prompt = PromptScreen(
            t("attachui.ask_folder", name=item.filename), value=str(start), parse=_folder
        )
        self.app.push_screen(prompt, chosen)  # type: ignore[attr-defined]

    async def _save(self, message: Message, item: AttachmentInfo, folder: Path) -> None:
        try:
            path = await self.app.service.attachments.save(message.id, item.index, folder)  # type: ignore[attr-defined]
        except Exception as exc:
            notify_error(self.app, exc)  # type: ignore[attr-defined]
            return
        self.save_folder = folder
        self.notify(t("attachui.saved", path=str(path)), timeout=6, markup=False)  # type: ignore[attr-defined]
