"""The templates editor: pick a template, edit it, see the preview with demo values live."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Button, Input, OptionList, Select, Static, TextArea
from textual.widgets.option_list import Option

from core.channels.segments import count_segments
from core.domain.enums import Channel
from core.domain.models import MessageTemplate, TemplateDraft
from core.i18n import t
from core.templates.render import TemplateRenderError, placeholders, render_text
from inbox_app.errors import notify_error
from inbox_app.render.safe import inert, one_line
from inbox_app.render.words import channel_name

#: What the preview fills the variables with.
DEMO_VALUES = {
    "prospect_name": "Marie Dupont",
    "first_name": "Marie",
    "last_name": "Dupont",
    "company_name": "Agence Immobilière Demo",
    "agent_name": "Camille",
    "rdv_date": "12 mars 2026",
    "rdv_time": "15:00",
    "location": "12 rue Mercière, Lyon",
    "calendar_link": "https://agence-demo.fr/rdv",
}


def preview(content: str, channel: Channel) -> Text:
    """The rendered text with demo values, what is missing, and SMS segments."""
    text = Text()
    names = placeholders(content)
    missing = [n for n in names if n not in DEMO_VALUES]
    try:
        rendered = render_text(content, {**DEMO_VALUES, **{n: f"[{n}]" for n in missing}})
    except TemplateRenderError as exc:
        return inert(t("ui.templates.invalid", reason=one_line(exc, 200)), "bold")
    text.append_text(inert(rendered.text))
    text.append("\n\n")
    if missing:
        text.append(
            t("ui.templates.unknown_variables", names=", ".join(missing)) + "\n", style="bold"
        )
    if channel == Channel.SMS:
        info = count_segments(rendered.text)
        text.append(t("ui.counter.segments", count=info.segments, encoding=info.encoding) + "\n")
    if channel == Channel.WHATSAPP and names:
        positional = ", ".join(f"{{{{{i}}}}} = {n}" for i, n in enumerate(names, start=1))
        text.append(t("ui.templates.positional", params=positional) + "\n")
    return text


class TemplateEditor(Widget):
    """List on the left, the editor and its live preview on the right."""

    class Saved(Message):
        """A template was saved."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.templates: dict[str, MessageTemplate] = {}
        self.current: MessageTemplate | None = None

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield OptionList(id="template_list")
            with Vertical(id="template_form"):
                with Horizontal(classes="row"):
                    yield Select(
                        [(channel_name(c), str(c)) for c in Channel],
                        value=str(Channel.SMS),
                        allow_blank=False,
                        id="template_channel",
                    )
                    yield Input(placeholder=t("ui.templates.name"), id="template_name")
                    yield Input(
                        "fr", placeholder=t("ui.templates.language"), id="template_language"
                    )
                yield Input(placeholder=t("ui.templates.subject"), id="template_subject")
                yield TextArea(id="template_content")
                yield Static(id="template_approval", classes="hint")
                yield Static(id="template_preview")
                yield Static(id="template_problem", classes="error")
                with Horizontal(classes="row"):
                    yield Button(t("ui.templates.save"), variant="primary", id="template_save")
                    yield Button(t("ui.templates.new"), id="template_new")

    async def on_mount(self) -> None:
        try:
            await self.load()
        except Exception as exc:
            notify_error(self.app, exc)

    async def load(self, select: int | None = None) -> None:
        """Read the templates again."""
        templates = await self.app.service.templates.list()
        self.templates = {str(x.id): x for x in templates}
        options = self.query_one("#template_list", OptionList)
        options.clear_options()
        options.add_options(
            [
                Option(
                    inert(f"{channel_name(x.channel)} · {one_line(x.name, 24)} ({x.language})"),
                    id=k,
                )
                for k, x in self.templates.items()
            ]
        )
        if select is not None and str(select) in self.templates:
            self.edit(self.templates[str(select)])

    @on(OptionList.OptionSelected, "#template_list")
    def _picked(self, event: OptionList.OptionSelected) -> None:
        self.edit(self.templates[event.option.id or ""])

    def edit(self, template: MessageTemplate | None) -> None:
        """Put ``template`` (None: a new one) in the form."""
        self.current = template
        self.query_one("#template_channel", Select).value = str(
            template.channel if template else Channel.SMS
        )
        self.query_one("#template_name", Input).value = template.name if template else ""
        self.query_one("#template_language", Input).value = template.language if template else "fr"
        self.query_one("#template_subject", Input).value = (
            (template.subject or "") if template else ""
        )
        self.query_one("#template_content", TextArea).text = template.content if template else ""
        approval = ""
        if template and template.channel == Channel.WHATSAPP:
            approval = t(
                "ui.templates.approval",
                state=t(f"ui.templates.approval_state.{template.approval_status or 'draft'}"),
            )
        self.query_one("#template_approval", Static).update(Text(approval))
        self.query_one("#template_problem", Static).update("")
        self._preview()

    @on(TextArea.Changed, "#template_content")
    @on(Select.Changed, "#template_channel")
    def _preview(self) -> None:
        content = self.query_one("#template_content", TextArea).text
        channel = Channel(str(self.query_one("#template_channel", Select).value))
        self.query_one("#template_preview", Static).update(preview(content, channel))

    @on(Button.Pressed, "#template_new")
    def _new(self) -> None:
        self.edit(None)

    @on(Button.Pressed, "#template_save")
    async def save(self) -> None:
        """Validate and save; a refusal is shown in place and nothing is written."""
        problem = self.query_one("#template_problem", Static)
        content = self.query_one("#template_content", TextArea).text
        try:
            render_text(content, {n: "x" for n in placeholders(content)})
            draft = TemplateDraft(
                channel=Channel(str(self.query_one("#template_channel", Select).value)),
                name=self.query_one("#template_name", Input).value.strip(),
                language=self.query_one("#template_language", Input).value.strip(),
                subject=self.query_one("#template_subject", Input).value.strip() or None,
                content=content,
                variables=placeholders(content),
                whatsapp_category=self.current.whatsapp_category if self.current else None,
                approval_status=self.current.approval_status if self.current else None,
            )
            saved = await self.app.service.templates.save(
                draft, self.current.id if self.current else None
            )
        except (
            Exception
        ) as exc:  # pydantic, InvalidInput, TemplateRenderError: all refused in place
            problem.update(inert(_reason(exc)))
            return
        problem.update("")
        self.notify(t("ui.templates.saved", name=one_line(saved.name, 40)), timeout=3, markup=False)
        await self.load(select=saved.id)
        self.post_message(self.Saved())


def _reason(exc: Exception) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        first = errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        return t("ui.settings.refused", field=where, reason=first.get("msg", ""))
    return t("ui.settings.refused_plain", reason=one_line(exc, 300))
