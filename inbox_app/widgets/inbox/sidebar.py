"""The inbox sidebar: channels with their counts, then the saved views."""

from __future__ import annotations

from textual.message import Message
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from core.domain.enums import Channel
from core.i18n import t
from core.service import View
from inbox_app.render.words import channel_name

ALL = "all"


class Sidebar(OptionList):
    """Pick a channel ("all" or one) or a saved view; counts are (unread, total)."""

    class Picked(Message):
        """The agent picked a channel or a view."""

        def __init__(self, channel: Channel | None, view: View) -> None:
            super().__init__()
            self.channel = channel
            self.view = view

    class Considered(Message):
        """The highlight moved to a channel or a view (not picked yet: its page may be read)."""

        def __init__(self, channel: Channel | None, view: View) -> None:
            super().__init__()
            self.channel = channel
            self.view = view

    def __init__(self, **kwargs: object) -> None:
        options: list[Option | None] = [Option(t("ui.inbox.all"), id=ALL)]
        options += [Option(channel_name(c), id=f"channel:{c}") for c in Channel]
        options.append(None)
        options += [Option(t(f"ui.view.{v}"), id=f"view:{v}") for v in View if v is not View.ALL]
        super().__init__(*options, **kwargs)  # type: ignore[arg-type]
        self._counts: dict[str, tuple[int, int]] | None = None

    @property
    def counts(self) -> dict[str, tuple[int, int]] | None:
        """The (unread, total) counts shown, None before the first."""
        return self._counts

    def show_counts(self, counts: dict[str, tuple[int, int]]) -> None:
        """Refresh the channel lines with (unread, total) counts (only the lines that changed)."""
        if counts == self._counts:
            return
        self._counts = dict(counts)
        for key in (ALL, *Channel):
            unread, total = counts.get(str(key), (0, 0))
            name = t("ui.inbox.all") if key == ALL else channel_name(key)
            ident = ALL if key == ALL else f"channel:{key}"
            label = t("ui.inbox.count", name=name, unread=unread, total=total)
            self.replace_option_prompt(ident, label)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.post_message(self.Picked(*choice(event.option.id)))

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        event.stop()
        self.post_message(self.Considered(*choice(event.option.id)))


def choice(ident: str | None) -> tuple[Channel | None, View]:
    """The channel and the view an option of the sidebar stands for."""
    ident = ident or ALL
    if ident.startswith("channel:"):
        return Channel(ident.split(":", 1)[1]), View.ALL
    if ident.startswith("view:"):
        return None, View(ident.split(":", 1)[1])
    return None, View.ALL
