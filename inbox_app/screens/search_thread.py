"""A conversation opened from a search: the matching words highlighted in the thread, and
`n` / `N` moving to the next / previous matching message."""

from __future__ import annotations

from textual.binding import Binding

from core.i18n import t
from core.service.conversations import THREAD_LIMIT
from core.storage.text import match_spans
from inbox_app.screens.conversation import ConversationScreen
from inbox_app.widgets.conversation.timeline import Timeline, message_text

HIGHLIGHT = "reverse bold"


def _b(key: str, action: str, name: str) -> Binding:
    return Binding(
        key, action, t(f"searchui.key.{name}"), id=name, tooltip=t(f"searchui.tip.{name}")
    )


class SearchThreadScreen(ConversationScreen):
    """The conversation screen with the search ``query``'s matches marked and reachable."""

    #: Every match is marked: the whole thread is read at once.
    FIRST_PAGE = THREAD_LIMIT
    BINDINGS = [
        _b("n", "next_match", "next_match"),
        _b("N", "previous_match", "previous_match"),
    ]

    def __init__(self, conversation_id: int, query: str) -> None:
        super().__init__(conversation_id)
        self.query_words = query
        #: The timeline positions of the matching messages, oldest first.
        self.matches: list[int] = []

    async def reload(self) -> None:
        """Read and draw the thread, then mark the matches (the cursor on the newest)."""
        await super().reload()
        if self.thread is None:
            return
        timeline = self.query_one(Timeline)
        await timeline.reveal_all()
        first_time = not self.matches
        self.matches = self._mark(timeline)
        if first_time and self.matches:
            timeline.index = self.matches[-1]
            timeline.scroll_to_item(self.matches[-1])

    def _mark(self, timeline: Timeline) -> list[int]:
        found = []
        for position, item in enumerate(timeline.items):
            message = item.message
            if message is None or not message.content:
                continue
            if not match_spans(
                " ".join((message.subject or "", message.content)), self.query_words
            ):
                continue
            body = message_text(message, self.tz)
            header_end = body.plain.find("\n") + 1  # the words in the header are not the match
            for start, end in match_spans(body.plain[header_end:], self.query_words):
                body.stylize(HIGHLIGHT, header_end + start, header_end + end)
            timeline.set_body(item, body)
            found.append(position)
        return found

    def _go(self, step: int) -> None:
        if not self.matches:
            self.notify(t("searchui.no_match"), timeout=4)
            return
        timeline = self.query_one(Timeline)
        here = timeline.index if timeline.index is not None else -1
        if step > 0:
            later = [p for p in self.matches if p > here]
            target = later[0] if later else self.matches[0]
        else:
            earlier = [p for p in self.matches if p < here]
            target = earlier[-1] if earlier else self.matches[-1]
        timeline.index = target
        timeline.scroll_to_item(target)
        n = self.matches.index(target) + 1
        self.notify(t("searchui.match", n=n, total=len(self.matches)), timeout=2)

    def action_next_match(self) -> None:
        """The next matching message (after the last, the first)."""
        self._go(1)

    def action_previous_match(self) -> None:
        """The previous matching message (before the first, the last)."""
        self._go(-1)
