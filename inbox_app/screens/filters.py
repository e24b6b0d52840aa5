"""The filter dialog: statuses, label and date range, combined with the sidebar's choice."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, SelectionList, Static

from core.domain.enums import ConversationStatus
from core.i18n import t
from core.service import InboxFilter
from inbox_app.errors import notify_error
from inbox_app.list_keys import LIST_BINDINGS, ListKeyActions
from inbox_app.render.safe import inert, one_line


class FilterScreen(ListKeyActions, ModalScreen[InboxFilter | None]):
    """Edit the list's filters; Apply returns the new filter, Escape keeps the old one."""

    # The two dates share the row: without this the first Input takes the whole width.
    DEFAULT_CSS = """
    FilterScreen .dates {
        height: auto;
    }
    FilterScreen .dates Input {
        width: 1fr;
    }
    """
    BINDINGS = [
        *LIST_BINDINGS,
        Binding("escape", "cancel", t("ui.key.cancel"), id="cancel", tooltip=t("ui.tip.cancel")),
        Binding("ctrl+s", "apply", t("ui.key.apply"), id="apply", tooltip=t("ui.tip.apply")),
    ]

    def __init__(self, current: InboxFilter) -> None:
        super().__init__()
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(t("ui.filters.title"))
            yield SelectionList[str](
                *[
                    (t(f"common.status.{s}"), str(s), s in self.current.statuses)
                    for s in ConversationStatus
                ],
                id="statuses",
            )
            yield Select[str]([], prompt=t("ui.filters.any_label"), id="label")
            with Horizontal(classes="dates"):
                yield Input(
                    self._day(self.current.since), placeholder=t("ui.filters.since"), id="since"
                )
                yield Input(
                    self._day(self.current.until, -1), placeholder=t("ui.filters.until"), id="until"
                )
            yield Static(id="problem", classes="error")
            with Horizontal(classes="buttons"):
                yield Button(t("ui.filters.apply"), variant="primary", id="apply")
                yield Button(t("ui.filters.cancel"), id="cancel")

    def on_mount(self) -> None:
        self.load_labels()

    @work
    async def load_labels(self) -> None:
        try:
            labels = await self.app.service.conversations.labels()
        except Exception as exc:
            notify_error(self.app, exc)
            return
        select = self.query_one("#label", Select)
        select.set_options([(one_line(x, 40), x) for x in labels])
        if self.current.label in labels:
            select.value = self.current.label

    @staticmethod
    def _day(moment: datetime | None, shift: int = 0) -> str:
        return (moment.date() + timedelta(days=shift)).isoformat() if moment else ""

    @on(Button.Pressed, "#apply")
    def action_apply(self) -> None:
        try:
            since = _parse_day(self.query_one("#since", Input).value, "ui.filters.since")
            until = _parse_day(self.query_one("#until", Input).value, "ui.filters.until")
        except ValueError as exc:
            self.query_one("#problem", Static).update(inert(str(exc)))
            return
        if since and until and until < since:
            self.query_one("#problem", Static).update(inert(t("ui.filters.until_before_since")))
            return
        label = self.query_one("#label", Select).value
        statuses = frozenset(ConversationStatus(s) for s in self.query_one(SelectionList).selected)
        self.dismiss(
            dataclasses.replace(
                self.current,
                statuses=statuses,
                label=label if isinstance(label, str) else None,
                since=datetime.combine(since, datetime.min.time(), UTC) if since else None,
                until=datetime.combine(until + timedelta(days=1), datetime.min.time(), UTC)
                if until
                else None,
            )
        )

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


def _parse_day(raw: str, field: str) -> date | None:
    text = raw.strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(
            t("ui.filters.bad_date", field=t(field), value=one_line(text, 30))
        ) from None
