"""Small translated words the screens share: channel tags, statuses, times, money."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from babel.dates import format_timedelta

from core.domain.enums import Channel, MessageStatus, Priority
from core.i18n import babel_locale, format_datetime, format_money, format_relative, t


def channel_name(channel: Channel | str | None) -> str:
    """ "SMS", "E-mail"… in the active language."""
    return t(f"common.channel.{channel}") if channel else t("ui.channel.auto")


def place_name(location: str | None) -> str:
    """An appointment's place: an address, or "By phone" / "Video call" translated."""
    if location == "phone":
        return t("booking.panel.by_phone")
    if location == "video":
        return t("booking.panel.video")
    return location or ""


def channel_tag(channel: Channel | str) -> str:
    """A short fixed-width tag for list columns (readable without colour)."""
    return t(f"ui.tag.{channel}")


def priority_name(priority: Priority | str) -> str:
    """ "Urgent", "High"…"""
    return t(f"common.priority.{priority}")


def priority_mark(priority: Priority | str) -> str:
    """ "!!", "!", "↓" or nothing: urgent and high stand out in the list, low steps back."""
    return {Priority.URGENT: "!!", Priority.HIGH: "!", Priority.LOW: "↓"}.get(
        Priority(priority), ""
    )


#: Colours that repeat what the marks say (readable without colour: "!!", "!", "↓").
PRIORITY_STYLES = {
    Priority.URGENT: "bold red",
    Priority.HIGH: "bold dark_orange",
    Priority.MEDIUM: "",
    Priority.LOW: "dim",
}
#: Each channel's colour; its tag (SMS, WA, MAIL, TG, CALL) says the same without colour.
CHANNEL_STYLES = {
    Channel.SMS: "cyan",
    Channel.WHATSAPP: "green",
    Channel.EMAIL: "dodger_blue2",
    Channel.TELEGRAM: "deep_sky_blue1",
    Channel.VOICE: "magenta",
}


def priority_style(priority: Priority | str) -> str:
    """The colour of a priority (its mark carries the same meaning)."""
    return PRIORITY_STYLES.get(Priority(priority), "")


def channel_style(channel: Channel | str) -> str:
    """The colour of a channel's tag."""
    try:
        return CHANNEL_STYLES.get(Channel(channel), "")
    except ValueError:
        return ""


def status_word(status: MessageStatus | str) -> str:
    """A delivery status in words."""
    return t(f"common.message_status.{status}")


def relative(moment: datetime | None, now: datetime) -> str:
    """ "5 min ago"; empty for no time."""
    return format_relative(moment, now) if moment else ""


def when(moment: datetime | None, tz: str | None = None) -> str:
    """A short date and time in ``tz``."""
    return format_datetime(moment, tz, "short") if moment else ""


def money(amount: Decimal | float | None, currency: str | None = "EUR") -> str:
    """An amount, or empty."""
    return format_money(amount, currency or "EUR") if amount is not None else ""


def duration(seconds: float | None) -> str:
    """ "3 min", "2 h"…; empty for no value."""
    if seconds is None:
        return ""
    return format_timedelta(timedelta(seconds=seconds), format="short", locale=babel_locale())
