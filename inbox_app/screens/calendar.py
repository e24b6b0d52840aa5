"""The calendar: today's or the week's appointments, per agent, with their reminders' states.

One core query per view (``service.agenda.between``). Enter opens the appointment's
conversation; the appointment keys (move, cancel, done, no-show) work on the highlighted row.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Static

from core.booking.agenda import AgendaEntry
from core.domain import models as m
from core.domain.appointment_display import both_times, kind_label
from core.domain.enums import AppointmentStatus
from core.domain.tenant_settings import TenantSettings
from core.events import AppointmentChanged, Event, MessageChanged, Resync
from core.i18n import format_datetime, t
from inbox_app.errors import notify_error
from inbox_app.render.safe import inert, one_line
from inbox_app.render.words import channel_name, place_name, status_word
from inbox_app.screens.appointment_actions import APPOINTMENT_BINDINGS, AppointmentActions, Target
from inbox_app.screens.appointment_actions import key as calendar_key
from inbox_app.widgets.footer import Footer
from inbox_app.widgets.team.link_status import LinkStatus

#: Columns in the order shown: what matters most first, so 80 columns show when, state and who.
COLUMNS = {"when": 18, "status": 0, "prospect": 18, "agent": 14, "kind": 16, "reminders": 28}
STATE_STYLE = {
    AppointmentStatus.PROPOSED: "yellow",
    AppointmentStatus.CONFIRMED: "green",
    AppointmentStatus.CANCELLED: "dim strike",
    AppointmentStatus.DONE: "cyan",
    AppointmentStatus.NO_SHOW: "red",
}
DAY, WEEK = "day", "week"
#: Reminder kinds with a name in the catalog (``booking.reminder.<kind>``).
REMINDER_KINDS = ("h24", "h2", "m30", "survey", "h24_unread", "reminder")


def _status_width() -> int:
    """The state column fits its longest word ("confirmed", "effectué") whole."""
    words = [t(f"common.appointment_status.{s}") for s in AppointmentStatus]
    return max(len(t("booking.calendar.status")), *(len(w) for w in words))


class CalendarTable(DataTable[Text]):
    """The appointments of the period, one row each."""

    BINDINGS = [
        Binding(
            "j", "cursor_down", t("ui.key.down"), show=False, id="down", tooltip=t("ui.tip.down")
        ),
        Binding("k", "cursor_up", t("ui.key.up"), show=False, id="up", tooltip=t("ui.tip.up")),
    ]

    def __init__(self, **kwargs: object) -> None:
        super().__init__(cursor_type="row", zebra_stripes=False, **kwargs)  # type: ignore[arg-type]

    def on_mount(self) -> None:
        for name, width in COLUMNS.items():
            self.add_column(t(f"booking.calendar.{name}"), key=name, width=width or _status_width())


class CalendarScreen(AppointmentActions, Screen[None]):
    """Today or this week; ``a`` walks through the agents."""

    CSS_PATH = "calendar.tcss"
    BINDINGS = [
        calendar_key("d", "day", "day", show=True),
        calendar_key("w", "week", "week", show=True),
        calendar_key("a", "next_agent", "agent", show=True),
        calendar_key("p", "previous", "previous", show=True),
        calendar_key("n", "next", "next", show=True),
        calendar_key("t", "today", "today", show=True),
        *APPOINTMENT_BINDINGS,
        Binding("q,escape", "back", t("ui.key.back"), id="back", tooltip=t("ui.tip.back")),
    ]

    def __init__(self, *, view: str = DAY, agent_id: int | None = None) -> None:
        super().__init__()
        self.view = view
        self.agent_id = agent_id
        self.day: date | None = None
        self.settings: TenantSettings | None = None
        self.agents: list[m.Agent] = []
        self.entries: dict[int, AgendaEntry] = {}

    def compose(self) -> ComposeResult:
        yield Static(id="title")
        yield LinkStatus()
        with Vertical(id="body"):
            yield CalendarTable(id="agenda")
            yield Static(id="details")
        yield Footer()

    async def on_mount(self) -> None:
        try:
            self.settings = await self.app.service.tenant_settings.get()
            self.agents = [a for a in await self.app.service.agents.list() if a.active]
        except Exception as exc:
            notify_error(self.app, exc)
            self.app.pop_screen()
            return
        self.day = self._today()
        self.query_one(CalendarTable).focus()
        await self.reload()

    @property
    def tz(self) -> str:
        """The agency's time zone (the calendar's days are the agency's)."""
        return self.settings.timezone if self.settings else "Europe/Paris"

    def _today(self) -> date:
        return self.app.now().astimezone(ZoneInfo(self.tz)).date()

    def period(self) -> tuple[datetime, datetime]:
        """The shown period's start and end, in the agency's zone."""
        assert self.day is not None
        first = self.day if self.view == DAY else self.day - timedelta(days=self.day.weekday())
        days = 1 if self.view == DAY else 7
        zone = ZoneInfo(self.tz)
        start = datetime.combine(first, time(0), zone)
        return start, datetime.combine(first + timedelta(days=days), time(0), zone)

    # -- loading ---------------------------------------------------------------------------

    async def reload(self) -> None:
        """Read the period again (one query) and redraw."""
        if self.day is None:
            return
        start, end = self.period()
        try:
            entries = await self.app.service.agenda.between(start, end, agent_id=self.agent_id)
        except Exception as exc:
            notify_error(self.app, exc)
            return
        self.entries = {e.appointment.id: e for e in entries}
        self._show_title(start, end)
        table = self.query_one(CalendarTable)
        keep = self.highlighted_id()
        table.clear()
        for entry in entries:
            table.add_row(*self._cells(entry), key=str(entry.appointment.id))
        if keep is not None and keep in self.entries:
            table.move_cursor(row=table.get_row_index(str(keep)))
        self._show_details()

    def _show_title(self, start: datetime, end: datetime) -> None:
        agent = next((a.name for a in self.agents if a.id == self.agent_id), None)
        who = one_line(agent, 40) if agent else t("booking.calendar.all_agents")
        if self.view == DAY:
            day = format_datetime(start, self.tz, "EEEE d MMMM y")
            text = t("booking.calendar.day_title", day=day, agent=who)
        else:
            last = end - timedelta(days=1)
            text = t(
                "booking.calendar.week_title",
                first=format_datetime(start, self.tz, "EEE d MMM"),
                last=format_datetime(last, self.tz, "EEE d MMM y"),
                agent=who,
            )
        self.query_one("#title", Static).update(Text(text, no_wrap=True, overflow="ellipsis"))

    def _cells(self, entry: AgendaEntry) -> list[Text]:
        assert self.settings is not None
        a = entry.appointment
        status = AppointmentStatus(a.status)
        return [
            Text(format_datetime(a.starts_at, self.tz, "EEE d MMM HH:mm")),
            Text(t(f"common.appointment_status.{status}"), style=STATE_STYLE[status]),
            inert(entry.prospect_name, single_line=True),
            inert(entry.agent_name or t("booking.calendar.unknown_agent"), single_line=True),
            Text(kind_label(a.kind, self.settings.booking)),
            Text(self._reminder_summary(entry)),
        ]

    def _reminder_summary(self, entry: AgendaEntry) -> str:
        if not entry.reminders:
            return _no_reminder(entry, self.app.now())
        counts = Counter(r.status for r in entry.reminders)
        return " · ".join(
            t("booking.calendar.count", count=n, status=status_word(s)) for s, n in counts.items()
        )

    # -- the highlighted appointment -------------------------------------------------------

    def highlighted_id(self) -> int | None:
        """The appointment on the cursor's row."""
        table = self.query_one(CalendarTable)
        if not table.row_count:
            return None
        row_key, _ = table.coordinate_to_cell_key(table.cursor_coordinate)
        return int(row_key.value) if row_key.value else None

    @on(DataTable.RowHighlighted)
    def _highlighted(self) -> None:
        self._show_details()

    def _show_details(self) -> None:
        details = self.query_one("#details", Static)
        entry = self.entries.get(self.highlighted_id() or 0)
        if entry is None:
            details.update(Text(t("booking.calendar.empty")) if not self.entries else "")
            return
        a = entry.appointment
        text = inert(entry.prospect_name, "bold", single_line=True)
        when = both_times(a.starts_at, self.tz, entry.prospect_timezone)
        text.append("\n" + t("booking.calendar.details_when", when=str(when)))
        if a.location:
            text.append("\n")
            text.append_text(
                inert(
                    t("booking.calendar.details_where", location=place_name(a.location)),
                    single_line=True,
                )
            )
        text.append("\n" + t("booking.calendar.details_reminders"))
        if not entry.reminders:
            text.append(" " + _no_reminder(entry, self.app.now()))
        for reminder in entry.reminders:
            due = format_datetime(reminder.send_at, self.tz, "EEE d MMM HH:mm")
            line = t(
                "booking.calendar.reminder_line",
                kind=t(f"booking.reminder.{reminder.kind}")
                if reminder.kind in REMINDER_KINDS
                else one_line(reminder.kind, 20),
                channel=channel_name(reminder.channel),
                when=due if reminder.send_at else "",
                status=status_word(reminder.status),
            )
            text.append("\n" + line)
        details.update(text)

    @on(DataTable.RowSelected)
    def _open(self, event: DataTable.RowSelected) -> None:
        from inbox_app.screens.conversation import ConversationScreen

        entry = self.entries.get(int(event.row_key.value or 0))
        if entry is not None and entry.conversation_id is not None:
            self.app.push_screen(ConversationScreen(entry.conversation_id))

    async def appointment_target(self) -> Target | None:
        entry = self.entries.get(self.highlighted_id() or 0)
        if entry is None:
            self.notify(t("booking.calendar.empty"), severity="warning", timeout=3)
            return None
        prospect = await self.app.service.prospects.get(entry.appointment.prospect_id)
        return Target(prospect, entry.conversation_id, [entry.appointment], entry.appointment.id)

    async def appointment_changed(self) -> None:
        await self.reload()

    # -- keys ------------------------------------------------------------------------------

    async def action_day(self) -> None:
        self.view = DAY
        await self.reload()

    async def action_week(self) -> None:
        self.view = WEEK
        await self.reload()

    async def action_next_agent(self) -> None:
        ids: list[int | None] = [None, *(a.id for a in self.agents)]
        at = ids.index(self.agent_id) if self.agent_id in ids else 0
        self.agent_id = ids[(at + 1) % len(ids)]
        await self.reload()

    async def action_previous(self) -> None:
        await self._shift(-1)

    async def action_next(self) -> None:
        await self._shift(1)

    async def _shift(self, direction: int) -> None:
        if self.day is not None:
            self.day += timedelta(days=direction * (1 if self.view == DAY else 7))
            await self.reload()

    async def action_today(self) -> None:
        self.day = self._today()
        await self.reload()

    def action_back(self) -> None:
        self.app.pop_screen()

    async def core_event(self, event: Event) -> None:
        """Redraw when an appointment or a reminder's message changed (on screen only)."""
        if self.app.screen is self and isinstance(
            event, AppointmentChanged | MessageChanged | Resync
        ):
            await self.reload()


def _no_reminder(entry: AgendaEntry, now: datetime) -> str:
    """ "none", or for a proposed appointment still to come "once confirmed": its reminders (bar
    the one asking to confirm it) are queued when the prospect agrees
    (``core.reminders.BEFORE_CONFIRMED``)."""
    appointment = entry.appointment
    if appointment.status == AppointmentStatus.PROPOSED and appointment.starts_at > now:
        return t("booking.calendar.no_reminder_yet")
    return t("booking.calendar.no_reminder")
