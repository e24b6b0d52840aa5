"""The booking panel: the prospect's request (type, agent, place) and the next free slots.

Opened with ``b`` from a conversation to book, and from an appointment to move it. Choosing a
slot (or typing an exact time) books it through ``service.booking``; a refusal (slot just taken,
past, outside hours, holiday) is shown in the panel, which stays open with fresh slots.

A booking says what it does: *propose* sends the time to the prospect, who confirms it (the
appointment stays ``proposed``); *confirm* is for a time the prospect already agreed to (the
appointment is ``confirmed`` and needs a place, or "by phone" / "video").
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList, Select, Static
from textual.widgets.option_list import Option

from core.booking.errors import BookingRefused, SlotTaken
from core.booking.parse_when import When
from core.booking.service import PHONE, VIDEO
from core.booking.slots import Slot
from core.domain import models as m
from core.domain.appointment_display import both_times, kind_label, slot_label
from core.domain.tenant_settings import TenantSettings
from core.errors import CoccinelleError
from core.i18n import t
from inbox_app.errors import describe, notify_error
from inbox_app.list_keys import LIST_BINDINGS, ListKeyActions
from inbox_app.render.safe import inert, one_line

#: How many free slots the panel lists.
SLOT_COUNT = 8
ANY = "any"
USUAL = "usual"
AGENCY = "agency"
PROPOSE = "propose"
CONFIRM = "confirm"


class BookingScreen(ListKeyActions, ModalScreen["m.Appointment | None"]):
    """Book for ``prospect`` (or move ``moving``); returns the appointment, or None on Escape."""

    CSS_PATH = "booking.tcss"
    BINDINGS = [
        *LIST_BINDINGS,
        Binding("escape", "cancel", t("ui.key.cancel"), id="cancel", tooltip=t("ui.tip.cancel")),
    ]

    def __init__(
        self,
        prospect: m.Prospect,
        conversation_id: int | None,
        *,
        moving: m.Appointment | None = None,
    ) -> None:
        super().__init__()
        self.prospect = prospect
        self.conversation_id = conversation_id
        self.moving = moving
        self.settings: TenantSettings | None = None
        self.agents: list[m.Agent] = []
        self.slots: list[Slot] = []
        #: A window typed by the agent ("mardi matin"): slots are looked for in it only.
        self.window: tuple[datetime, datetime] | None = None

    # -- building ------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="booking"):
            key = "booking.panel.move_title" if self.moving else "booking.panel.title"
            yield Label(inert(t(key, name=self.prospect.display_name), "bold", single_line=True))
            yield Static(id="moving")
            yield Static(id="zones", classes="hint")
            with Horizontal(id="modes"):
                yield Label(t("booking.panel.mode"))
                yield Select(
                    [
                        (t("booking.panel.mode_propose"), PROPOSE),
                        (t("booking.panel.mode_confirm"), CONFIRM),
                    ],
                    value=PROPOSE,
                    allow_blank=False,
                    id="mode",
                    compact=True,
                )
            yield Static(id="mode_hint", classes="hint")
            with Horizontal(id="fields"):
                with Vertical():
                    yield Label(t("booking.panel.kind"))
                    yield Select([], allow_blank=True, id="kind", compact=True)
                with Vertical():
                    yield Label(t("booking.panel.agent"))
                    yield Select([], allow_blank=True, id="agent", compact=True)
                with Vertical():
                    yield Label(t("booking.panel.location"))
                    yield Select([], allow_blank=True, id="location", compact=True)
            yield Label(t("booking.panel.slots"), classes="section")
            yield OptionList(id="slots")
            example = self._example_time()
            yield Static(t("booking.panel.at", example=example), classes="hint")
            placeholder = t("booking.panel.at_placeholder", example=example)
            yield Input(placeholder=placeholder, id="at", compact=True)
            yield Static(id="problem", classes="error")
            yield Label(t("booking.panel.hint"), classes="hint")

    def _example_time(self) -> str:
        """A time to type, as the examples show it: three days from today at 15:00."""
        day = (self.app.now() + timedelta(days=3)).date()
        return f"{day.isoformat()} 15:00"

    async def on_mount(self) -> None:
        service = self.app.service
        try:
            self.settings = await service.tenant_settings.get()
            self.agents = [a for a in await service.agents.list() if a.active]
        except Exception as exc:
            notify_error(self.app, exc)
            self.dismiss(None)
            return
        self._fill_fields()
        self._show_context()
        self.query_one("#slots", OptionList).focus()
        self.load_slots()

    def _fill_fields(self) -> None:
        assert self.settings is not None
        booking = self.settings.booking
        kind = self.query_one("#kind", Select)
        kind.set_options([(kind_label(x.key, booking), x.key) for x in booking.types])
        kind.value = self.moving.kind if self.moving else booking.types[0].key
        kind.disabled = self.moving is not None and booking.type_of(self.moving.kind) is not None
        agent = self.query_one("#agent", Select)
        agent.set_options(
            [(t("booking.panel.any_agent"), ANY)] + [(a.name, str(a.id)) for a in self.agents]
        )
        # Moving keeps the agent unless the agent asks for another; a booking takes whoever is free.
        current = self.moving.agent_id if self.moving else None
        agent.value = str(current) if current in {a.id for a in self.agents} else ANY
        location = self.query_one("#location", Select)
        address = self.settings.company.address
        places = [(t("booking.panel.usual_place"), USUAL)]
        if address:
            places.append((t("booking.panel.agency", address=one_line(address, 40)), AGENCY))
        places += [
            (t("booking.panel.property", key=p.key, address=one_line(p.address, 40)), p.key)
            for p in booking.properties
        ]
        places += [(t("booking.panel.by_phone"), PHONE), (t("booking.panel.video"), VIDEO)]
        location.set_options(places)
        location.value = USUAL
        location.disabled = self.moving is not None
        self.query_one("#modes").display = self.moving is None
        self._show_mode()

    def _show_context(self) -> None:
        assert self.settings is not None
        moving = self.query_one("#moving", Static)
        moving.display = self.moving is not None
        if self.moving is not None:
            when = both_times(self.moving.starts_at, self.settings.timezone, self.prospect.timezone)
            label = kind_label(self.moving.kind, self.settings.booking)
            moving.update(Text(t("booking.panel.moving", kind=label, when=str(when))))
        zones = self.query_one("#zones", Static)
        zones.display = self._abroad
        if self._abroad:
            zones.update(
                Text(
                    t(
                        "booking.panel.zones",
                        agency=self.settings.timezone,
                        prospect=self.prospect.timezone,
                    )
                )
            )

    @property
    def _abroad(self) -> bool:
        """Whether the prospect's clock differs from the agency's (now)."""
        if self.settings is None or not self.prospect.timezone:
            return False
        moment = self.app.now()
        return bool(
            both_times(moment, self.settings.timezone, self.prospect.timezone, "HH:mm").prospect
        )

    # -- the request ---------------------------------------------------------------------

    @property
    def kind(self) -> str:
        """The chosen appointment type's key."""
        value = self.query_one("#kind", Select).value
        return str(value) if value is not Select.NULL else "visit"

    @property
    def agent_id(self) -> int | None:
        """The chosen agent, or None for whichever is free."""
        value = self.query_one("#agent", Select).value
        return int(str(value)) if value not in (Select.NULL, ANY) else None

    @property
    def location(self) -> str | None:
        """The chosen place: a property's key, the agency's address, or None (usual)."""
        value = self.query_one("#location", Select).value
        if value in (Select.NULL, USUAL):
            return None
        if value == AGENCY and self.settings is not None:
            return self.settings.company.address
        return str(value)

    @property
    def confirming(self) -> bool:
        """Whether the agent confirms a time the prospect agreed to (else: proposes it)."""
        return self.moving is None and self.query_one("#mode", Select).value == CONFIRM

    @on(Select.Changed)
    def _request_changed(self, event: Select.Changed) -> None:
        if self.settings is not None and event.select.id in ("kind", "agent"):
            self.load_slots()
        if event.select.id in ("mode", "location", "kind"):
            self._show_mode()

    def _show_mode(self) -> None:
        """Say what choosing a time will do, and what confirming still lacks."""
        hint = self.query_one("#mode_hint", Static)
        hint.display = self.moving is None
        key = "booking.panel.confirm_hint" if self.confirming else "booking.panel.propose_hint"
        if self._no_place():
            # What the place lacks says more than the mode's explanation (the mode's choice
            # already says what it does), and in its room: at 80×24 the panel has no line to
            # spare. Confirming needs a place; a proposal without one does not say where to go.
            key = "booking.panel.place_needed" if self.confirming else "booking.panel.place_unsaid"
            hint.update(Text(t(key), style="bold"))
            return
        hint.update(Text(t(key)))

    def _no_place(self) -> bool:
        """Whether the booking would have no place (the type's usual place being none)."""
        if self.location is not None or self.settings is None:
            return False
        item = self.settings.booking.type_of(self.kind)
        if item is not None and item.where == "remote":
            return False  # a call: by phone
        return not (item is not None and item.where == "agency" and self.settings.company.address)

    # -- slots ---------------------------------------------------------------------------

    @work(exclusive=True, group="slots")
    async def load_slots(self) -> None:
        """Ask the core for the next free slots of the current request and list them."""
        slots = self.query_one("#slots", OptionList)
        slots.clear_options()
        slots.add_option(Option(t("booking.panel.loading"), disabled=True))
        try:
            found = await self.app.service.booking.propose_slots(
                self.kind,
                agent_id=self.agent_id,
                after=self.window[0] if self.window else None,
                before=self.window[1] if self.window else None,
                count=SLOT_COUNT,
                ignoring=self.moving.id if self.moving else None,
            )
        except Exception as exc:
            self._problem(exc)
            found = []
        if self.moving is not None:  # its own time is no move
            found = [s for s in found if s.start != self.moving.starts_at]
        self.slots = found
        slots.clear_options()
        if not found:
            assert self.settings is not None
            days = self.settings.booking.horizon_days
            key = "booking.panel.no_slot_then" if self.window else "booking.panel.no_slot"
            slots.add_option(Option(t(key, days=days), disabled=True))
            return
        slots.add_options([Option(self._slot_text(s), id=str(i)) for i, s in enumerate(found)])
        slots.highlighted = 0

    def _slot_text(self, slot: Slot) -> Text:
        assert self.settings is not None
        agent = next((a.name for a in self.agents if a.id == slot.agent_id), "")
        when = slot_label(slot.start, self.settings.timezone)
        text = Text(t("booking.panel.slot_line", when=when, agent=""))
        text.append_text(inert(agent, single_line=True))
        if self._abroad and self.prospect.timezone:
            there = slot_label(slot.start, self.prospect.timezone)
            text.append(t("booking.panel.prospect_time", when=there), style="dim")
        return text

    # -- booking -------------------------------------------------------------------------

    @on(OptionList.OptionSelected, "#slots")
    async def _slot_chosen(self, event: OptionList.OptionSelected) -> None:
        if event.option.id is None:
            return
        slot = self.slots[int(event.option.id)]
        await self._book(slot.start, slot.agent_id)

    @on(Input.Submitted, "#at")
    async def _time_typed(self, event: Input.Submitted) -> None:
        """An exact time books it; a window ("mardi matin") lists the free slots in it."""
        assert self.settings is not None
        raw = event.value.strip()
        try:
            local = datetime.strptime(raw, "%Y-%m-%d %H:%M")
        except ValueError:
            when = await self._read(raw)
            if when is None:
                self._problem(
                    ValueError(
                        t(
                            "booking.panel.bad_at",
                            value=one_line(raw, 30),
                            example=self._example_time(),
                        )
                    )
                )
            elif when.exact:
                await self._book(when.start, self.agent_id)
            else:
                self._problem(None)
                self.window = (when.start, when.end)
                self.load_slots()
                self.query_one("#slots", OptionList).focus()
            return
        await self._book(local.replace(tzinfo=ZoneInfo(self.settings.timezone)), self.agent_id)

    async def _read(self, raw: str) -> When | None:
        try:
            return await self.app.service.booking.read_answer(raw[:200])
        except Exception as exc:
            notify_error(self.app, exc)
            return None

    async def _book(self, start: datetime, agent_id: int | None) -> None:
        booking = self.app.service.booking
        self._problem(None)
        try:
            if self.moving is not None:
                appointment = await booking.move(
                    self.moving.id,
                    start,
                    agent_id=agent_id,
                    conversation_id=self.conversation_id,
                )
            else:
                if self.confirming and self._no_place():
                    raise ValueError(t("booking.panel.place_needed"))
                appointment = await booking.book(
                    self.prospect.id,
                    start,
                    kind=self.kind,
                    agent_id=agent_id,
                    location=self.location,
                    confirmed=self.confirming,
                    conversation_id=self.conversation_id,
                )
        except Exception as exc:
            self._problem(exc)
            if isinstance(exc, SlotTaken) or getattr(exc, "reason", None) == "past":
                self.load_slots()
            return
        self.dismiss(appointment)

    def _problem(self, exc: BaseException | None) -> None:
        """Show why the last try failed (or clear it); the panel stays open."""
        problem = self.query_one("#problem", Static)
        if exc is None:
            problem.update("")
        elif isinstance(exc, BookingRefused):
            problem.update(Text(t("booking.panel.refused", why=one_line(exc.expected, 300))))
        elif isinstance(exc, ValueError) and not isinstance(exc, CoccinelleError):
            problem.update(Text(str(exc)))
        else:
            problem.update(Text(describe(exc)))

    def action_cancel(self) -> None:
        self.dismiss(None)
