"""The prospect's timeline across channels: messages, notes, calls, links to other threads.

Message metadata read here (written by the relay and the adapters): ``duration_seconds``,
``summary`` and ``transcript`` for calls; ``attachments`` (a list of file names or of
``{"filename"|"name", "content_type", "url"}``); ``location`` (``latitude``, ``longitude``,
``address``).
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.binding import Binding
from textual.message import Message as TextualMessage
from textual.widgets import ListItem, ListView, Static

from core.domain.enums import Direction, MessageKind, MessageStatus
from core.domain.models import Conversation, ConversationSummary, Message, Thread
from core.i18n import format_number, t
from inbox_app.render.safe import clean, inert, one_line
from inbox_app.render.words import channel_name, status_word, when

PROBLEM_STATUSES = {
    MessageStatus.FAILED,
    MessageStatus.UNDELIVERED,
    MessageStatus.UNKNOWN,
    MessageStatus.EXPIRED,
}


class TimelineItem(ListItem):
    """One line group of the timeline; knows the message or the linked conversation it shows."""

    def __init__(
        self,
        body: Text,
        *,
        message: Message | None = None,
        link: int | None = None,
        classes: str = "",
    ) -> None:
        super().__init__(Static(body), classes=classes)
        self.message = message
        self.link = link
        self.expanded = False


class Timeline(ListView):
    """Oldest first; Enter opens a linked conversation or expands a call's transcript."""

    BINDINGS = [
        Binding(
            "j",
            "cursor_down",
            t("ui.key.down"),
            show=False,
            id="timeline_down",
            tooltip=t("ui.tip.down"),
        ),
        Binding(
            "k", "cursor_up", t("ui.key.up"), show=False, id="timeline_up", tooltip=t("ui.tip.up")
        ),
    ]

    class LinkOpened(TextualMessage):
        """The agent opened a link to another conversation."""

        def __init__(self, conversation_id: int) -> None:
            super().__init__()
            self.conversation_id = conversation_id

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.tz: str | None = None

    async def show(self, thread: Thread, tz: str | None) -> None:
        """Draw ``thread`` (replacing what was there), keeping the cursor at the end."""
        self.tz = tz
        await self.clear()
        await self.extend(build_items(thread, tz))
        self.index = len(self) - 1 if len(self) else None
        self.call_after_refresh(self.scroll_end, animate=False)

    def selected_message(self) -> Message | None:
        """The highlighted message, if the highlighted item is one."""
        item = self.highlighted_child
        return item.message if isinstance(item, TimelineItem) else None

    def on_list_view_selected(self, event: ListView.Selected) -> None:
        event.stop()
        item = event.item
        if not isinstance(item, TimelineItem):
            return
        if item.link is not None:
            self.post_message(self.LinkOpened(item.link))
        elif item.message is not None and item.message.kind == MessageKind.CALL:
            item.expanded = not item.expanded
            item.query_one(Static).update(
                message_text(item.message, self.tz, expanded=item.expanded)
            )


def build_items(thread: Thread, tz: str | None) -> list[TimelineItem]:
    """Every item of the timeline, with separators where the conversation changes."""
    convo = thread.conversation
    others = {c.id: c for c in thread.related}
    items: list[TimelineItem] = []
    if convo.switched_from_id:
        items.append(
            _link(t("ui.thread.switched_from", id=convo.switched_from_id), convo.switched_from_id)
        )
    current: int | None = None
    for message in thread.messages:
        if message.conversation_id != current:
            current = message.conversation_id
            items.append(_separator(convo, others.get(current), current))
        classes = "note" if message.kind == MessageKind.NOTE else str(message.direction)
        items.append(TimelineItem(message_text(message, tz), message=message, classes=classes))
    items += [_link(t("ui.thread.switched_to", id=i), i) for i in convo.switched_to_ids]
    if not thread.messages:
        items.append(TimelineItem(Text(t("ui.thread.empty"))))
    return items


def _separator(
    current: Conversation, other: ConversationSummary | None, conversation_id: int
) -> TimelineItem:
    if conversation_id == current.id:
        text = t("ui.thread.this_conversation", channel=channel_name(current.channel))
        return TimelineItem(Text(f"── {text} ──", style="bold"), classes="separator")
    channel = channel_name(other.channel) if other else ""
    status = t(f"common.status.{other.status}") if other else ""
    text = t("ui.thread.earlier_conversation", id=conversation_id, channel=channel, status=status)
    return TimelineItem(
        Text(f"── {text} ──", style="dim"), link=conversation_id, classes="separator"
    )


def _link(label: str, conversation_id: int) -> TimelineItem:
    return TimelineItem(Text(f"↪ {label}", style="underline"), link=conversation_id, classes="link")


def message_text(message: Message, tz: str | None, *, expanded: bool = False) -> Text:
    """The header line and the body of one timeline item, all untrusted parts inert."""
    text = Text()
    text.append_text(_header(message, tz))
    text.append("\n")
    meta = message.metadata or {}
    if message.kind == MessageKind.CALL:
        _call(text, meta, expanded)
    if message.subject:
        text.append_text(inert(message.subject, "bold", single_line=True))
        text.append("\n")
    if message.content and not _repeats_summary(message, meta):
        text.append_text(
            inert(message.content, "italic" if message.kind == MessageKind.NOTE else "")
        )
    _attachments(text, meta.get("attachments"))
    _location(text, meta.get("location"))
    _automation(text, message, meta)
    if message.status in PROBLEM_STATUSES:
        reason = message.error_message or message.error_code or t("ui.thread.no_reason")
        text.append("\n")
        text.append(t("ui.thread.problem", status=status_word(message.status)) + " ", style="bold")
        text.append_text(inert(reason, single_line=True))
        text.append(" " + t("ui.thread.resend_hint"), style="dim")
    return text


def _automation(text: Text, message: Message, meta: dict[str, Any]) -> None:
    """Why the automation policy held this message, or why Sara left an inbound one alone."""
    held = meta.get("automation")
    if isinstance(held, dict) and message.status == MessageStatus.HELD:
        reason = str(held.get("reason", ""))
        text.append("\n" + t(f"automation.reason_{reason}") + " (Ctrl+R)", style="dim")
    automated = meta.get("automated")
    if isinstance(automated, str) and message.direction == Direction.INBOUND:
        why = t(f"automation.why_{automated}")
        text.append("\n" + t("automation.inbound_automated", why=why), style="dim")


def _header(message: Message, tz: str | None) -> Text:
    arrow = "←" if message.direction == Direction.INBOUND else "→"
    sender = t(f"common.sender.{message.sender_type}")
    parts = [channel_name(message.channel), when(message.created_at, tz)]
    if message.kind == MessageKind.NOTE:
        return Text(f"✎ {t('ui.thread.note')} · {sender} · {parts[1]}", style="bold")
    if message.direction == Direction.OUTBOUND or message.status != MessageStatus.RECEIVED:
        parts.append(status_word(message.status))
    return Text(f"{arrow} {sender} · " + " · ".join(parts), style="bold")


def _repeats_summary(message: Message, meta: dict[str, Any]) -> bool:
    """A call whose text is its summary (as VAPI reports it), already shown as the summary."""
    summary = meta.get("summary")
    return (
        message.kind == MessageKind.CALL
        and isinstance(summary, str)
        and summary.strip() == message.content.strip()
    )


def _call(text: Text, meta: dict[str, Any], expanded: bool) -> None:
    seconds = meta.get("duration_seconds", meta.get("duration"))
    if isinstance(seconds, int | float):
        minutes, rest = divmod(int(seconds), 60)
        text.append(t("ui.thread.call_duration", minutes=minutes, seconds=rest) + "\n")
    if meta.get("summary"):
        text.append(t("ui.thread.call_summary") + " ", style="bold")
        text.append_text(inert(meta["summary"]))
        text.append("\n")
    transcript = meta.get("transcript")
    if transcript:
        if expanded:
            text.append(t("ui.thread.transcript") + "\n", style="bold")
            text.append_text(
                inert(
                    transcript if isinstance(transcript, str) else "\n".join(map(str, transcript))
                )
            )
            text.append("\n")
        else:
            text.append(t("ui.thread.transcript_hint") + "\n", style="dim")


def _attachments(text: Text, attachments: Any) -> None:
    for item in attachments or []:
        name = (
            item.get("filename") or item.get("name") or item.get("url")
            if isinstance(item, dict)
            else item
        )
        text.append("\n" + t("ui.thread.attachment") + " ", style="bold")
        text.append_text(inert(name, single_line=True))


def _location(text: Text, location: Any) -> None:
    if not isinstance(location, dict):
        return
    lat, lon = location.get("latitude"), location.get("longitude")
    text.append("\n" + t("ui.thread.location") + " ", style="bold")
    if isinstance(lat, int | float) and isinstance(lon, int | float):
        text.append(f"{format_number(lat, 5)}, {format_number(lon, 5)}")
    if location.get("address"):
        text.append(" — ")
        text.append_text(inert(location["address"], single_line=True))


def plain(message: Message) -> str:
    """The message's text, cleaned, on one line (for notifications and tests)."""
    return one_line(clean(message.content))
