"""New conversation: find a prospect by name, phone, e-mail or Telegram chat id (or create them),
then write the first message in the composer (Auto channel, the orchestrator's decision shown).
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import ValidationError
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.timer import Timer
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from core.domain.contact import normalize_email, normalize_phone
from core.domain.decision import Decision, ReplyDraft
from core.domain.enums import Channel
from core.domain.models import Message, Prospect, ProspectDraft
from core.errors import InvalidInput
from core.i18n import t
from inbox_app.errors import notify_error
from inbox_app.list_keys import LIST_BINDINGS, ListKeyActions
from inbox_app.render.safe import inert, one_line
from inbox_app.screens.choice import ChoiceScreen
from inbox_app.screens.composer import ComposerScreen

SEARCH_DELAY = 0.25  # seconds of quiet typing before searching
RESULTS = 20
CREATE = "create"


def _cancel() -> Binding:
    return Binding("escape", "cancel", t("ui.key.cancel"), id="cancel", tooltip=t("ui.tip.cancel"))


def contact_line(prospect: Prospect) -> str:
    """How the prospect is reached, in one short line (for the result list)."""
    parts = [prospect.phone, prospect.email]
    if prospect.telegram_chat_id is not None:
        parts.append(f"Telegram {prospect.telegram_chat_id}")
    return " · ".join(p for p in parts if p) or "—"


class NewConversationScreen(ListKeyActions, ModalScreen[int | None]):
    """Pick the prospect to write to; returns their id (None on Escape)."""

    BINDINGS = [*LIST_BINDINGS, _cancel()]

    def __init__(self) -> None:
        super().__init__()
        self.found: list[Prospect] = []
        self._timer: Timer | None = None

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="new-conversation"):
            yield Label(t("newconv.title"), classes="question")
            yield Input(placeholder=t("newconv.placeholder"), id="query")
            yield OptionList(id="results")
            yield Label(t("newconv.hint"), classes="hint")

    def on_mount(self) -> None:
        self._show([])
        self.query_one("#query", Input).focus()

    @property
    def query_text(self) -> str:
        """What the agent typed."""
        return self.query_one("#query", Input).value.strip()

    @on(Input.Changed, "#query")
    def _typed(self) -> None:
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.set_timer(SEARCH_DELAY, self.search)

    @on(Input.Submitted, "#query")
    async def _submitted(self) -> None:
        await self.search().wait()
        results = self.query_one("#results", OptionList)
        results.focus()
        results.highlighted = 0

    def key_down(self) -> None:
        if self.query_one("#query", Input).has_focus:
            self.query_one("#results", OptionList).focus()

    @work(exclusive=True, group="prospect-search")
    async def search(self) -> None:
        """Look the typed text up among the prospects."""
        query = self.query_text
        try:
            found = await self.app.service.prospects.search(query, RESULTS) if query else []
        except Exception as exc:
            notify_error(self.app, exc)
            return
        self._show(found)

    def _show(self, found: list[Prospect]) -> None:
        self.found = found
        results = self.query_one("#results", OptionList)
        results.clear_options()
        for prospect in found:
            label = inert(one_line(prospect.display_name, 40), "bold", single_line=True)
            label.append("  " + one_line(contact_line(prospect), 60))
            results.add_option(Option(label, id=str(prospect.id)))
        query = one_line(self.query_text, 40)
        create = t("newconv.create_named", query=query) if query else t("newconv.create")
        results.add_option(Option(inert(create), id=CREATE))

    @on(OptionList.OptionSelected, "#results")
    def _picked(self, event: OptionList.OptionSelected) -> None:
        if event.option.id == CREATE:
            self.app.push_screen(NewProspectScreen(self.query_text), self._created)
        elif event.option.id is not None:
            self.dismiss(int(event.option.id))

    def _created(self, prospect_id: int | None) -> None:
        if prospect_id is not None:
            self.dismiss(prospect_id)

    def action_cancel(self) -> None:
        self.dismiss(None)


class NewProspectScreen(ListKeyActions, ModalScreen[int | None]):
    """Create a prospect; when their phone, e-mail or chat id is already known, offer to open
    the existing prospect instead (no second record). Returns the prospect's id."""

    BINDINGS = [
        *LIST_BINDINGS,
        _cancel(),
        Binding("ctrl+s", "create", t("newconv.form.create"), id="create", priority=True),
    ]
    FIELDS = ("display_name", "phone", "email", "telegram_chat_id")

    def __init__(self, typed: str = "") -> None:
        super().__init__()
        self.typed = typed

    def compose(self) -> ComposeResult:
        prefill = _prefill(self.typed)
        labels = {
            "display_name": t("newconv.form.name"),
            "phone": t("newconv.form.phone"),
            "email": t("newconv.form.email"),
            "telegram_chat_id": t("newconv.form.telegram"),
        }
        with Vertical(classes="dialog", id="new-prospect"):
            yield Label(t("newconv.form.title"), classes="question")
            for name in self.FIELDS:
                yield Input(prefill.get(name, ""), placeholder=labels[name], id=name)
            yield Static(id="problem", classes="error")
            yield Label(t("newconv.form.hint"), classes="hint")

    def on_mount(self) -> None:
        self.query_one("#display_name", Input).focus()

    def values(self) -> dict[str, str]:
        """The fields as typed (trimmed; empty ones left out)."""
        typed = {name: self.query_one(f"#{name}", Input).value.strip() for name in self.FIELDS}
        return {k: v for k, v in typed.items() if v}

    def draft(self) -> ProspectDraft:
        """The prospect as typed; ValueError with a translated sentence if something is wrong."""
        values = self.values()
        if not any(values.get(k) for k in ("phone", "email", "telegram_chat_id")):
            raise ValueError(t("newconv.form.need_contact"))
        try:
            return ProspectDraft(**values)
        except ValidationError as exc:
            field = str(exc.errors()[0]["loc"][0]) if exc.errors() else "other"
            value = one_line(values.get(field, ""), 40)
            key = field if field in self.FIELDS else "other"
            raise ValueError(t(f"newconv.bad.{key}", value=value, field=field)) from None

    @on(Input.Submitted)
    async def _submitted(self, event: Input.Submitted) -> None:
        if event.input.id == self.FIELDS[-1]:
            await self.action_create()
        else:
            self.focus_next()

    async def action_create(self) -> None:
        """Create the prospect, or offer the one who already has these details."""
        problem = self.query_one("#problem", Static)
        try:
            draft = self.draft()
        except ValueError as exc:
            problem.update(inert(str(exc)))
            return
        problem.update("")
        service = self.app.service
        try:
            existing = await service.prospects.duplicates(draft)
            if existing:
                self._offer(existing)
                return
            prospect = await service.prospects.create(draft)
        except Exception as exc:
            notify_error(self.app, exc)
            return
        name = one_line(prospect.display_name, 60)
        self.notify(t("newconv.created", name=name), timeout=3, markup=False)
        self.dismiss(prospect.id)

    def _offer(self, existing: list[Prospect]) -> None:
        choices = [
            (
                str(p.id),
                t(
                    "newconv.open_existing",
                    name=one_line(p.display_name, 40),
                    contact=one_line(contact_line(p), 60),
                ),
            )
            for p in existing
        ]

        def picked(key: str | None) -> None:
            if key is not None:
                self.dismiss(int(key))

        self.app.push_screen(ChoiceScreen(t("newconv.duplicate"), choices), picked)

    def action_cancel(self) -> None:
        self.dismiss(None)


def _prefill(typed: str) -> dict[str, str]:
    """The field the search text most likely was (a phone, an address, else the name)."""
    text = typed.strip()
    if not text:
        return {}
    for field, check in (("email", normalize_email), ("phone", normalize_phone)):
        try:
            check(text)
        except InvalidInput:
            continue
        return {field: text}
    return {"display_name": text}


@dataclass(frozen=True)
class NoConversation:
    """What the composer reads of a thread, for a prospect written to for the first time."""

    prospect: Prospect
    messages: tuple[Message, ...] = ()
    conversation: None = None


class FirstMessageComposer(ComposerScreen):
    """The composer on a prospect rather than a conversation: the message goes through the
    pipeline into their conversation on the channel chosen (opened if needed), which then
    shows."""

    def __init__(self, prospect: Prospect) -> None:
        super().__init__(NoConversation(prospect))  # type: ignore[arg-type]

    async def ask_decision(self, draft: ReplyDraft) -> Decision:
        return await self.outbound.decide_first(self.thread.prospect.id, draft, self.channel())

    async def queue(self, draft: ReplyDraft, send_at):
        return await self.outbound.send_first(
            self.thread.prospect.id, draft, channel=self.channel(), send_at=send_at
        )

    def sent(self, message: Message) -> None:
        app = self.app
        self.dismiss()
        app.call_later(app.open_conversation, message.conversation_id)

    def home_channel(self) -> Channel:
        prospect = self.thread.prospect
        reachable = prospect.reachable_channels()
        if prospect.preferred_channel in reachable:
            return prospect.preferred_channel
        return reachable[0] if reachable else Channel.SMS


def start_new_conversation(app) -> None:
    """Ask for the prospect, then open the first-message composer on them."""

    async def chosen(prospect_id: int | None) -> None:
        if prospect_id is None:
            return
        try:
            prospect = await app.service.prospects.get(prospect_id)
        except Exception as exc:
            notify_error(app, exc)
            return
        app.push_screen(FirstMessageComposer(prospect))

    app.push_screen(NewConversationScreen(), chosen)
