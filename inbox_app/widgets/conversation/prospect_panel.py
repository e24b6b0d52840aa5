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


class ProspectPanel(ScrollView, can_focus=False):
    """What the agent needs to know about the prospect, at a glance.

    Drawn by lines (Textual's line API): the prospect's text is wrapped into lines once, when
    it is shown (or the panel's width changes), and each paint copies those lines. A paint of
    a ``Static`` of the same text formats and wraps it again (about 4 ms for the panel's 46
    lines), and the thread screen paints the panel with every thread it opens.
    """

    _shown: tuple[Prospect, list[Appointment], str | None] | None = None

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.text = Text()
        #: The text's lines, and the width they were wrapped at.
        self._strips: tuple[int, list[Strip]] | None = None
        #: A line below the text (most of the panel's lines).
        self._blank: Strip | None = None

    def show(self, prospect: Prospect, appointments: list[Appointment], tz: str | None) -> None:
        """Draw ``prospect`` and their appointments (nothing to do when they did not change)."""
        if self._shown == (prospect, appointments, tz):
            return
        self._shown = (prospect, list(appointments), tz)
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
            channel_name(prospect.preferred_channel)
            if prospect.preferred_channel
            else t("common.none")
        )
        text.append("\n" + t("ui.label", label=t("ui.prospect.preferred")) + " ", style="bold")
        text.append(preferred + "\n")
        text.append(t("ui.label", label=t("ui.prospect.timezone")) + " ", style="bold")
        text.append_text(
            inert(prospect.timezone or t("ui.prospect.tenant_timezone"), single_line=True)
        )
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
        self.text, self._strips = text, None
        self._lay_out()
        self.refresh()

    def _width(self) -> int:
        return self.scrollable_content_region.width

    def _lines(self, width: int) -> list[Strip]:
        if self._strips is None or self._strips[0] != width:
            style = self.visual_style
            strips = Visual.to_strips(self, visualize(self, self.text), width, None, style)
            self._strips = (width, strips)
        return self._strips[1]

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

    def render_line(self, y: int) -> Strip:
        width = self._width()
        lines = self._lines(width) if width > 0 else []
        line = y + self.scroll_offset.y
        if 0 <= line < len(lines):
            return lines[line]
        if self._blank is None or self._blank.cell_length != max(width, 0):
            self._blank = Strip.blank(max(width, 0), self.rich_style)
        return self._blank
