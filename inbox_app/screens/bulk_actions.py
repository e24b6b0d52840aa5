"""The inbox's bulk keys: ``space`` or ``t`` tags the highlighted conversation, ``;`` acts on the
tagged set (assign, label, snooze, close, priority), ``u`` undoes the last bulk action.

``service.bulk`` (``core.service.bulk``) does each action in one call, audited per conversation.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from textual.binding import Binding

from core.domain.enums import BulkAction, Priority
from core.i18n import t
from inbox_app.errors import notify_error
from inbox_app.render.words import priority_name
from inbox_app.screens.choice import ChoiceScreen
from inbox_app.screens.prompt import PromptScreen
from inbox_app.team import ME, NOBODY, assign_choices

BULK_BINDINGS = [
    Binding(
        "space,t", "tag", t("bulkui.key.tag"), show=False, id="tag", tooltip=t("bulkui.tip.tag")
    ),
    Binding(
        "semicolon",
        "bulk",
        t("bulkui.key.act"),
        show=False,
        id="bulk",
        tooltip=t("bulkui.tip.act"),
    ),
    Binding(
        "u",
        "bulk_undo",
        t("bulkui.key.undo"),
        show=False,
        id="bulk_undo",
        tooltip=t("bulkui.tip.undo"),
    ),
]
SNOOZES = ("reply", "tomorrow", "next_week")


class BulkActions:
    """Mixed into the inbox screen (``table``, ``reload()``, ``_show_title()``)."""

    def action_tag(self) -> None:
        table = self.table  # type: ignore[attr-defined]
        current = table.current_id()
        if current is None:
            return
        table.toggle_tag(current, self.app.now())  # type: ignore[attr-defined]
        self._show_title()  # type: ignore[attr-defined]
        if table.cursor_row < table.row_count - 1:
            table.move_cursor(row=table.cursor_row + 1)

    def tagged_note(self) -> str | None:
        """ "3 tagged" for the title, None when nothing is tagged."""
        count = len(self.table.tagged)  # type: ignore[attr-defined]
        return t("bulkui.tagged", count=count) if count else None

    def action_bulk(self) -> None:
        ids = sorted(self.table.tagged)  # type: ignore[attr-defined]
        if not ids:
            self.notify(t("bulkui.none_tagged"), timeout=4)  # type: ignore[attr-defined]
            return
        choices = [(a.value, t(f"bulkui.action.{a.value}")) for a in BulkAction]

        async def picked(key: str | None) -> None:
            if key is not None:
                await self._ask_value(ids, BulkAction(key))

        self.app.push_screen(ChoiceScreen(t("bulkui.title", count=len(ids)), choices), picked)  # type: ignore[attr-defined]

    async def _ask_value(self, ids: list[int], action: BulkAction) -> None:
        if action == BulkAction.CLOSE:
            await self._apply(ids, action, None)
            return
        app = self.app  # type: ignore[attr-defined]

        def then(convert: Callable[[Any], Any]):
            async def chosen(value: Any) -> None:
                if value is not None:
                    await self._apply(ids, action, convert(value))

            return chosen

        if action == BulkAction.LABEL:
            prompt = PromptScreen(t("bulkui.ask_label"), placeholder=t("ui.ask.labels_placeholder"))
            app.push_screen(prompt, then(str))
        elif action == BulkAction.PRIORITY:
            choices = [(p.value, priority_name(p)) for p in Priority]
            screen = ChoiceScreen(t("ui.ask.priority"), choices, selected=Priority.MEDIUM.value)
            app.push_screen(screen, then(Priority))
        elif action == BulkAction.SNOOZE:
            tz = (await app.service.tenant_settings.get()).timezone
            choices = [(k, t(f"ui.snooze.{k}")) for k in SNOOZES]
            app.push_screen(
                ChoiceScreen(t("ui.snooze.title"), choices),
                then(lambda key: _snooze_moment(key, app.now(), tz)),
            )
        else:
            me = app.service.ctx.agent_id
            agent = {ME: me, NOBODY: None}
            app.push_screen(
                ChoiceScreen(t("ui.ask.assign"), await assign_choices(app)),
                then(lambda key: agent[key] if key in agent else int(key)),
            )

    async def _apply(self, ids: list[int], action: BulkAction, value: Any) -> None:
        try:
            done = await self.app.service.bulk.apply(ids, action, value)  # type: ignore[attr-defined]
        except Exception as exc:
            notify_error(self.app, exc)  # type: ignore[attr-defined]
            return
        self.table.tagged.clear()  # type: ignore[attr-defined]
        await self.reload()  # type: ignore[attr-defined]
        name = t(f"bulkui.action.{action.value}")
        self.notify(t("bulkui.done", action=name, count=done.count), timeout=6, markup=False)  # type: ignore[attr-defined]

    async def action_bulk_undo(self) -> None:
        bulk = self.app.service.bulk  # type: ignore[attr-defined]
        if not bulk.can_undo:
            self.notify(t("bulkui.nothing_to_undo"), timeout=3)  # type: ignore[attr-defined]
            return
        try:
            done = await bulk.undo()
        except Exception as exc:
            notify_error(self.app, exc)  # type: ignore[attr-defined]
            return
        await self.reload()  # type: ignore[attr-defined]
        name = t(f"bulkui.action.{done.action.value}")
        self.notify(t("bulkui.undone", action=name, count=done.count), timeout=6, markup=False)  # type: ignore[attr-defined]


def _snooze_moment(key: str, now: datetime, tz: str) -> datetime | None:
    """The end of a bulk snooze: None (until the prospect writes), tomorrow or Monday 9:00."""
    local = now.astimezone(ZoneInfo(tz))
    if key == "tomorrow":
        return datetime.combine(local.date() + timedelta(days=1), time(9), local.tzinfo)
    if key == "next_week":
        monday = local.date() + timedelta(days=7 - local.weekday())
        return datetime.combine(monday, time(9), local.tzinfo)
    return None
