"""The prospect panel: identifiers per channel, preferred channel, opt-outs, time zone, RDVs."""

from __future__ import annotations

from rich.text import Text
from textual.visual import visualize
from textual.widgets import Static

from core.domain.enums import Channel
from core.domain.models import Appointment, Prospect
from core.i18n import t
from inbox_app.render.safe import inert
from inbox_app.render.words import channel_name, place_name, when


class ProspectPanel(Static):
    """What the agent needs to know about the prospect, at a glance."""

    _shown: tuple[Prospect, list[Appointment], str | None] | None = None

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
        self.update(text, layout=not self._fits(text))

    def _fits(self, text: Text) -> bool:
        """Whether ``text`` fits the panel as the text before it did (no scrollbar before or
        after): then the screen needs no new layout for it, only a repaint."""
        if self.show_vertical_scrollbar or not self.size:
            return False
        region = self.scrollable_content_region
        return visualize(self, text).get_height(self.styles, region.width) <= region.height
