"""Texts stored now and put into words later, in the reader's language.

A thread event (a switch link, "appointment booked", "Sara: email channel disabled", automation
paused) is not a message to the prospect and is not stored translated: it is stored as a catalog
key and its parameters, and the agent's screen translates it when it draws it.

    meta["line"] = line("orchestrator.switch.event", channel=channel(Channel.SMS))
    text = render(meta["line"], tz="Europe/Paris")   # "Conversation continued on SMS"

A parameter is plain (text or number, shown as is) or tagged, to be written in the reader's
language: ``moment`` (a date and time), ``channel`` (a channel's name), ``kind`` (an appointment
type), ``phrase`` (another catalog text) or ``phrases`` (several, joined).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from core.i18n import format_datetime, t

Line = dict[str, Any]


def line(key: str, /, **params: Any) -> Line:
    """A text to translate when shown: the catalog ``key`` and its (JSON) parameters."""
    return {"key": key, "params": params}


def moment(value: datetime, zone: str | None = None) -> dict[str, str | None]:
    """A date and time, written "Tuesday 10 March 2026 at 14:30" in ``zone`` (else the reader's)."""
    return {"moment": value.isoformat(), "zone": zone}


def channel(value: object) -> dict[str, str]:
    """A channel, written by its name ("SMS", "E-mail")."""
    return {"channel": str(value)}


def kind(key: str, label: str | None = None) -> dict[str, str | None]:
    """An appointment type: the agency's own ``label`` when it has one, else translated."""
    return {"kind": key, "label": label}


def phrase(key: str, /, **params: Any) -> dict[str, Any]:
    """Another catalog text, translated as a parameter."""
    return {"phrase": key, "params": params}


def phrases(items: list[dict[str, Any]], separator: str = "; ") -> dict[str, Any]:
    """Several ``phrase`` parameters, written one after the other (reasons of a refusal)."""
    return {"phrases": items, "separator": separator}


def is_line(value: object) -> bool:
    """Whether ``value`` is a stored ``line``."""
    return isinstance(value, dict) and isinstance(value.get("key"), str)


def render(stored: Line, tz: str | None = None) -> str:
    """``stored`` in the active language; times in their own zone, else ``tz``."""
    params = stored.get("params") or {}
    return t(stored["key"], **{k: _word(v, tz) for k, v in params.items()})


def _word(value: Any, tz: str | None) -> str:
    if not isinstance(value, dict):
        return "" if value is None else str(value)
    if "moment" in value:
        return _moment(value["moment"], value.get("zone") or tz)
    if "channel" in value:
        return t(f"common.channel.{value['channel']}")
    if "kind" in value:
        if value.get("label"):
            return str(value["label"])
        key = f"appointments.kind.{value['kind']}"
        label = t(key)
        return str(value["kind"]) if label == key else label
    if "phrases" in value:
        return str(value.get("separator") or "; ").join(_word(p, tz) for p in value["phrases"])
    if "phrase" in value:
        return render({"key": value["phrase"], "params": value.get("params")}, tz)
    return ""


def _moment(raw: str, zone: str | None) -> str:
    try:
        value = datetime.fromisoformat(raw)
    except (TypeError, ValueError):
        return str(raw)
    day = format_datetime(value, zone, "EEEE d MMMM y")
    return t("appointments.when.day_time", day=day, time=format_datetime(value, zone, "HH:mm"))
