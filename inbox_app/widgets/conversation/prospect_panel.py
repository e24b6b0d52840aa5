"""The prospect panel: identifiers per channel, preferred channel, opt-outs, time zone, RDVs."""

from __future__ import annotations

from rich.text import Text
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.visual import Visual, visualize

from core.domain.enums import Channel
from core.domain.models import Appointment, Prospect
from core.i18n import t
from inbox_app.render.safe import inert
from inbox_app.render.words import channel_name, place_name, when
from inbox_app.widgets.painted import Painting, PaintsAhead

#: Prospects drawn ahead and kept (the inbox's highlighted conversation's and the next unread).
AHEAD = 2
#: What is drawn (prospect, appointments, zone), its text, its lines at a width, and the
#: panel's painted lines for them.
_Drawn = tuple[
    tuple[Prospect, list[Appointment], str | None],
    Text,
    tuple[int, list[Strip]],
    Painting | None,
]


class ProspectPanel(PaintsAhead, ScrollView, can_focus=False):
    """What the agent needs to know about the prospect, at a glance.

    Drawn by lines (Textual's line API): the prospect's text is wrapped into lines once, when
    it is shown (or the panel's width changes), and each paint copies those lines. A paint of
    a ``Static`` of the same text formats and wraps it again (about 4 ms for the panel's 46
    lines), and the thread screen paints the panel with every thread it opens. A prospect
    drawn ahead is painted ahead too (its border and padding applied): showing it copies the
    painted lines.
    """

    _shown: tuple[Prospect, list[Appointment], str | None] | None = None

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.text = Text()
        #: The text's lines, and the width they were wrapped at.
        self._strips: tuple[int, list[Strip]] | None = None
        #: A line below the text (most of the panel's lines).
        self._blank: Strip | None = None
        #: Drawn ahead (``draw_ahead``): what was drawn, its text, and its lines at a width.
        self._ahead: list[_Drawn] = []

    def show(self, prospect: Prospect, appointments: list[Appointment], tz: str | None) -> None:
        """Draw ``prospect`` and their appointments (nothing to do when they did not change;
        only the lines to copy when they were drawn ahead, at this width)."""
        shown = (prospect, list(appointments), tz)
        if self._shown == shown:
            return
        self._shown = shown
        ahead = next((kept for kept in self._ahead if kept[0] == shown), None)
        if ahead is not None:
            self._ahead.remove(ahead)
            self.text, self._strips = ahead[1], ahead[2]
        else:
            self.text, self._strips = prospect_text(*shown), None
        self._lay_out()
        self.refresh()
        if ahead is not None:
            self.use_painting(ahead[3])  # used only if it still fits (size, scroll, looks)

    def draw_ahead(
        self, prospect: Prospect, appointments: list[Appointment], tz: str | None
    ) -> None:
        """Draw what ``show`` would for these (while the app is idle): showing them then only
        copies the lines. The last ``AHEAD`` are kept."""
        width = self._width()
        wanted = (prospect, list(appointments), tz)
        if width <= 0 or wanted == self._shown or any(k[0] == wanted for k in self._ahead):
            return
        text = prospect_text(*wanted)
        lines = self._wrap(text, width)
        painting = self.paint_ahead(lambda y: self._line(lines, width, y), 0, False)
        self._ahead = [*self._ahead[-(AHEAD - 1) :], (wanted, text, (width, lines), painting)]

    def _width(self) -> int:
        return self.scrollable_content_region.width

    def _lines(self, width: int) -> list[Strip]:
        if self._strips is None or self._strips[0] != width:
            self._strips = (width, self._wrap(self.text, width))
        return self._strips[1]

    def _wrap(self, text: Text, width: int) -> list[Strip]:
        return Visual.to_strips(self, visualize(self, text), width, None, self.visual_style)

    def _lay_out(self) -> None:
        """The panel's height for its text. Not a layout of the screen (the panel's region
        does not change with its text); a scroll bar shown or hidden asks for one itself."""
        width = self._width()
        if width <= 0:
            return
        size = Size(width, len(self._lines(width)))
        if size != self.virtual_size:
            self.set_reactive(ProspectPanel.virtual_size, size)
            self._scroll_update(size)
        if self._width() != width > 0:  # the scroll bar came or went: wrap for the width left
            self._lay_out()

    def on_resize(self) -> None:
        self._lay_out()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._strips = self._blank = None
        self._ahead = []  # drawn in the old styles

    def render_line(self, y: int) -> Strip:
        width = self._width()
        lines = self._lines(width) if width > 0 else []
        return self._line(lines, width, y + self.scroll_offset.y)

    def _line(self, lines: list[Strip], width: int, line: int) -> Strip:
        """Line ``line`` of the text wrapped into ``lines`` at ``width``, blank below it."""
        if 0 <= line < len(lines):
            return lines[line]
        if self._blank is None or self._blank.cell_length != max(width, 0):
            self._blank = Strip.blank(max(width, 0), self.rich_style)
        return self._blank


def prospect_text(prospect: Prospect, appointments: list[Appointment], tz: str | None) -> Text:
    """What the panel says about ``prospect`` and their appointments."""
    text = Text()
    text.append_text(inert(prospect.display_name, "bold", single_line=True))
    text.append("\n\n")
    for channel in Channel:
        identifier = prospect.identifier(channel)
        if identifier:
            text.append(t("ui.label", label=channel_name(channel)) + " ", style="bold")
            text.append_text(inert(identifier, single_line=True))
            if channel in prospect.opted_out_channels:
                text.append(" " + t("ui.prospect.opted_out"), style="reverse")
            text.append("\n")
    preferred = (
        channel_name(prospect.preferred_channel) if prospect.preferred_channel else t("common.none")
    )
    text.append("\n" + t("ui.label", label=t("ui.prospect.preferred")) + " ", style="bold")
    text.append(preferred + "\n")
    text.append(t("ui.label", label=t("ui.prospect.timezone")) + " ", style="bold")
    text.append_text(inert(prospect.timezone or t("ui.prospect.tenant_timezone"), single_line=True))
    text.append(f"\n\n{t('ui.prospect.appointments')}\n", style="bold")
    if not appointments:
        text.append(t("common.none") + "\n")
    for appointment in appointments:
        text.append(f"• {when(appointment.starts_at, tz)} ")
        text.append(t(f"common.appointment_status.{appointment.status}"))
        if appointment.location:
            text.append(" — ")
            text.append_text(inert(place_name(appointment.location), single_line=True))
        text.append("\n")
    return text
