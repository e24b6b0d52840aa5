"""The inbox list's cells for each conversation, made once per look and shared between rows.

A search key or a new page shows rows the list has not shown in that look before: most of
their cells (unread mark, channel, age, priority, assignee, labels) are the same as other
rows' and are taken ready-made, one object per look; only the name and the preview (which a
search highlights) are made for the row. Cells are never changed once made: a change makes
new ones. Shared cells let the list reuse a cell's drawing wherever it was drawn before
(``one_line_table.py`` keeps drawings by cell object and place).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from rich.text import Text

from core.domain.enums import ConversationStatus
from core.domain.models import ConversationSummary
from core.i18n import language, t
from inbox_app.render.safe import highlighted, inert, one_line
from inbox_app.render.words import (
    channel_style,
    channel_tag,
    priority_mark,
    priority_name,
    priority_style,
    relative,
    when,
)

#: Before the name of a conversation tagged for a bulk action.
TAG_MARK = "✓ "
#: Conversations whose cells are kept for reuse; past this the memory starts again.
MADE_ROWS = 5_000
#: Distinct cells that do not depend on the search (an age, a channel…), kept for reuse.
FIXED_LOOKS = 2_000
#: Distinct names and previews shared by the rows that show the same one.
SHARED_CELLS = 5_000


def condensed(item: ConversationSummary) -> Text:
    """ "!! @Camille #visite+1 │ ": priority mark, assignee and labels in a few columns."""
    parts = Text()
    mark = priority_mark(item.priority)
    if mark:
        parts.append(mark + " ", style=priority_style(item.priority) or "bold")
    if item.assignee_name:
        parts.append_text(inert("@" + item.assignee_name.split()[0][:10], single_line=True))
        parts.append(" ")
    if item.labels:
        more = f"+{len(item.labels) - 1}" if len(item.labels) > 1 else ""
        parts.append_text(inert(f"#{item.labels[0][:12]}{more}", single_line=True))
        parts.append(" ")
    if parts:
        parts.append("│ ", style="dim")
    return parts


def _unread(item: ConversationSummary) -> Text:
    return Text("●" if item.unread_count else " ", style="bold")


def _channel(item: ConversationSummary) -> Text:
    cell = Text(channel_tag(item.channel))
    cell.stylize(channel_style(item.channel))
    return cell


def _priority(item: ConversationSummary) -> Text:
    mark = priority_mark(item.priority)
    cell = Text(f"{mark}{priority_name(item.priority)}", style="bold" if mark else "")
    cell.stylize(priority_style(item.priority))
    return cell


def _assignee(item: ConversationSummary) -> Text:
    return inert(one_line(item.assignee_name or ""), single_line=True)


def _labels(item: ConversationSummary) -> Text:
    return inert(", ".join(item.labels), single_line=True)


class RowCells:
    """The eight cells of each conversation's row (``COLUMNS`` of the list, in order)."""

    def __init__(self) -> None:
        #: The cells last made for each conversation, with what they were made from: a row
        #: shown again unchanged (back to a filter, say) reuses them, and so their drawing.
        self._made: dict[int, tuple[ConversationSummary, tuple[object, ...], list[Text]]] = {}
        #: The unread mark, channel, age, priority, assignee and labels cells by what they show.
        self._fixed_looks: dict[tuple[object, ...], Text] = {}
        #: Names and previews by their text and look (a prospect's conversations share a name).
        self._shared: dict[tuple[object, ...], Text] = {}

    def cells(
        self,
        item: ConversationSummary,
        now: datetime,
        query: str | None,
        tagged: bool,
        narrow: bool,
        tz: str | None,
    ) -> list[Text]:
        """The row's cells for ``item``: those made before if nothing they show changed.

        ``query`` is highlighted; ``narrow`` puts the priority, assignee and labels at the
        preview's start; ``tz`` is the agency's zone, for when a snoozed conversation wakes.
        """
        age = relative(item.last_message_at, now)
        look = (age, query, tagged, narrow, tz, language())
        made = self._made.get(item.id)
        if made is not None and made[1] == look and made[0] == item:
            return made[2]
        if len(self._made) >= MADE_ROWS:
            self._made.clear()
        unread, channel, age_cell, priority, assignee, labels = self._fixed_cells(item, age)
        name = highlighted(item.prospect_name, query, "bold" if item.unread_count else "")
        if tagged:
            name = Text(TAG_MARK, style="bold reverse") + name
        preview = self._preview(item, query, narrow, tz)
        cells = [
            unread,
            channel,
            self._shared_cell(name),
            age_cell,
            self._shared_cell(preview),
            priority,
            assignee,
            labels,
        ]
        self._made[item.id] = (item, look, cells)
        return cells

    def _fixed_cells(self, item: ConversationSummary, age: str) -> tuple[Text, ...]:
        """The cells that do not depend on the search or the screen, one object per look."""
        lang = language()
        return (
            self._fixed(("unread", bool(item.unread_count)), lambda: _unread(item)),
            self._fixed(("channel", item.channel, lang), lambda: _channel(item)),
            self._fixed(("age", age), lambda: Text(age)),
            self._fixed(("priority", item.priority, lang), lambda: _priority(item)),
            self._fixed(("assignee", item.assignee_name), lambda: _assignee(item)),
            self._fixed(("labels", item.labels), lambda: _labels(item)),
        )

    def _fixed(self, key: tuple[object, ...], make: Callable[[], Text]) -> Text:
        cell = self._fixed_looks.get(key)
        if cell is None:
            if len(self._fixed_looks) >= FIXED_LOOKS:
                self._fixed_looks.clear()
            cell = self._fixed_looks[key] = make()
        return cell

    @staticmethod
    def _preview(
        item: ConversationSummary, query: str | None, narrow: bool, tz: str | None
    ) -> Text:
        """Why the row matched a search, or its last message; after the draft mark, when a
        snoozed conversation wakes and, on a narrow screen, its priority, assignee and labels
        condensed."""
        first_line = item.last_message_preview
        if item.match_snippet:  # a search result: why it matched
            first_line = item.match_snippet
        elif item.subject:
            first_line = f"{item.subject} — {first_line}"
        preview = highlighted(first_line, query)
        if item.has_draft:
            preview = Text(t("ui.inbox.draft_mark"), style="italic") + preview
        lead = condensed(item) if narrow else Text()
        if item.status == ConversationStatus.SNOOZED and item.snoozed_until is not None:
            wakes = t("ui.inbox.wakes", when=when(item.snoozed_until, tz))
            lead.append(f"{wakes} ", style="italic")
        if lead:  # after the draft mark, which stays first
            keep = len(t("ui.inbox.draft_mark")) if item.has_draft else 0
            preview = preview[:keep] + lead + preview[keep:]
        return preview

    def _shared_cell(self, cell: Text) -> Text:
        """The cell made before with the same text and look, if any, else ``cell``."""
        key = (
            cell.plain,
            cell.style,
            tuple(cell.spans),
            cell.justify,
            cell.overflow,
            cell.no_wrap,
            cell.end,
        )
        shared = self._shared.get(key)
        if shared is None:
            if len(self._shared) >= SHARED_CELLS:
                self._shared.clear()
            self._shared[key] = shared = cell
        return shared
