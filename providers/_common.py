"""Small helpers shared by the adapters: reading webhook bodies and provider times."""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar
from urllib.parse import parse_qs, unquote, unquote_to_bytes

from pydantic import BaseModel, ValidationError

from core.channels.adapter import WebhookRequest
from core.channels.errors import MalformedWebhook

M = TypeVar("M", bound=BaseModel)


class FormData(dict[str, list[str]]):
    """A decoded form: every key maps to its list of values (what Twilio's validator reads)."""

    def getlist(self, key: str) -> list[str]:
        """All values of ``key`` (empty when absent)."""
        return self.get(key, [])

    def first(self, key: str, default: str | None = None) -> str | None:
        """The first value of ``key``, or ``default``."""
        values = self.get(key)
        return values[0] if values else default


#: Where ``read_json`` keeps the parsed body in ``WebhookRequest.parsed``.
JSON_KEY = "json"


def read_form(request: WebhookRequest) -> FormData:
    """The URL-encoded body of ``request``, parsed once per request (treat it as read-only).

    Raises:
        MalformedWebhook: the body is not UTF-8 form data.
    """
    cached = request.parsed.get("form")
    if isinstance(cached, FormData):
        return cached
    if isinstance(cached, dict):  # parsed by the relay already (``parse_qs`` of the UTF-8 body)
        request.parsed["form"] = form = FormData(cached)
        return form
    form = parse_form(request.body)
    request.parsed["form"] = form
    return form


#: An escaped separator: a value holding ``&`` or ``=`` must be split before it is unquoted.
_ESCAPED_SEPARATOR = re.compile("%(?:26|3[dD])")
_ESCAPED_SEPARATOR_BYTES = re.compile(b"%(?:26|3[dD])")


def parse_form(body: bytes) -> FormData:
    """A URL-encoded body, exactly as ``parse_qs(body.decode(), keep_blank_values=True)``.

    The body is unquoted in one call rather than name by name and value by value (the
    relay's hottest parse): splitting on ``&`` and ``=`` afterwards gives the same fields as
    long as no ``%26`` or ``%3D`` could have become one, else ``parse_qs`` does it. Undecodable
    escapes still become U+FFFD one field at a time, as the separators are ASCII and end any
    unfinished UTF-8 sequence.

    Raises:
        MalformedWebhook: the body is not UTF-8.
    """
    if body.isascii():  # as a provider sends it: every other byte escaped
        if _ESCAPED_SEPARATOR_BYTES.search(body):
            return FormData(parse_qs(body.decode(), keep_blank_values=True))
        text = unquote_to_bytes(body.replace(b"+", b" ")).decode("utf-8", "replace")
    else:
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise MalformedWebhook("body: not UTF-8 form data") from None
        if _ESCAPED_SEPARATOR.search(text):
            return FormData(parse_qs(text, keep_blank_values=True))
        text = unquote(text.replace("+", " "))
    form = FormData()
    for field in text.split("&"):
        if field:
            name, _, value = field.partition("=")
            values = form.get(name)
            if values is None:
                form[name] = [value]
            else:
                values.append(value)
    return form


def read_json(request: WebhookRequest) -> Any:
    """The JSON body of ``request``, parsed once per request (verify, parse and dedupe keys
    all read it; the value is shared: read it, do not change it).

    Raises:
        MalformedWebhook: the body is not JSON.
    """
    if JSON_KEY in request.parsed:
        return request.parsed[JSON_KEY]
    try:
        value = json.loads(request.body)
    except (ValueError, UnicodeDecodeError):
        raise MalformedWebhook("body: not valid JSON") from None
    request.parsed[JSON_KEY] = value
    return value


def require(data: Mapping[str, Any], key: str, where: str = "") -> Any:
    """``data[key]``, or a ``MalformedWebhook`` naming the missing field."""
    value = data.get(key) if isinstance(data, Mapping) else None
    if value is None or value == "" or value == []:
        raise MalformedWebhook(f"missing required field {where + key}")
    return value


def mapping(data: Any, where: str) -> Mapping[str, Any]:
    """``data`` when it is a JSON object, else a ``MalformedWebhook`` naming ``where``."""
    if not isinstance(data, Mapping):
        raise MalformedWebhook(f"{where or 'body'}: expected an object")
    return data


def from_unix(value: Any) -> datetime | None:
    """A UTC datetime from unix seconds (int or numeric string); None if unreadable."""
    try:
        return datetime.fromtimestamp(float(value), tz=UTC)
    except (TypeError, ValueError, OverflowError):
        return None


def from_iso(value: Any) -> datetime | None:
    """A UTC datetime from an ISO-8601 string (``Z`` accepted); None if unreadable."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def from_rfc2822(value: Any) -> datetime | None:
    """A UTC datetime from an RFC 2822 date (Twilio's JSON dates); None if unreadable."""
    if not value:
        return None
    try:
        return parsedate_to_datetime(str(value)).astimezone(UTC)
    except (TypeError, ValueError):
        return None


def retry_after(value: Any) -> float | None:
    """Seconds from a ``Retry-After`` header or a ``retry_after`` field; None if absent."""
    if value is None:
        return None
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return None
    return max(seconds, 0.0)


def validated(model: type[M], data: Any) -> M:
    """``data`` read into ``model``: the one place a typed payload's bad input is refused.

    Raises:
        MalformedWebhook: naming the first field at fault (``message.call.id: …``).
    """
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in first["loc"])
        raise MalformedWebhook(f"{where.lstrip('.') or 'body'}: {first['msg']}") from None


def never_reached(exc: BaseException) -> bool:
    """Whether ``exc`` (or what it was raised from) says no connection to the provider was made:
    refused, unreachable, a name not resolved. A request failed so cannot have been taken;
    a timeout or a connection lost mid-request may have been."""
    import aiohttp
    import httpx

    seen: set[int] = set()
    stack: list[BaseException | None] = [exc]
    while stack:
        current = stack.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, (*_NOT_CONNECTED, httpx.ConnectError, aiohttp.ClientConnectorError)):
            return True
        reason = getattr(current, "reason", None)  # urllib's URLError (SendGrid's client)
        stack += [current.__cause__, current.__context__]
        if isinstance(reason, BaseException):
            stack.append(reason)
    return False


#: OS errors raised before a request could leave.
_NOT_CONNECTED = (ConnectionRefusedError, socket.gaierror)
