"""Which failed sends surely never reached the provider (``providers._common.never_reached``):
those the outbox may send again without asking the provider first."""

from __future__ import annotations

import socket
from urllib.error import URLError

import aiohttp
import httpx
import pytest
from aiohttp.client_reqrep import ConnectionKey

from providers._common import never_reached
from providers._httpx import map_httpx_error


def _raised_from(outer: BaseException, inner: BaseException) -> BaseException:
    """``outer`` raised while handling ``inner`` (as an SDK wraps its transport's error)."""
    try:
        try:
            raise inner
        except BaseException:
            raise outer  # noqa: B904 (the implicit context is what is tested)
    except BaseException as exc:
        return exc


def _connector_error() -> aiohttp.ClientConnectorError:
    key = ConnectionKey("api.twilio.com", 443, True, True, None, None, None)
    return aiohttp.ClientConnectorError(key, ConnectionRefusedError(111, "refused"))


@pytest.mark.parametrize(
    "error",
    [
        ConnectionRefusedError(111, "Connection refused"),
        socket.gaierror(-2, "Name or service not known"),
        httpx.ConnectError("All connection attempts failed"),
        URLError(ConnectionRefusedError(111, "Connection refused")),
        _connector_error(),
        _raised_from(RuntimeError("TelegramNetworkError"), _connector_error()),
    ],
    ids=["refused", "dns", "httpx-connect", "urllib", "aiohttp-connector", "wrapped"],
)
def test_no_connection_made_is_never_reached(error: BaseException) -> None:
    assert never_reached(error)


@pytest.mark.parametrize(
    "error",
    [
        TimeoutError(),
        httpx.ReadTimeout("timed out"),
        aiohttp.ServerDisconnectedError(),
        ConnectionResetError(104, "reset"),
        URLError("timed out"),
    ],
    ids=["timeout", "read-timeout", "disconnected", "reset", "urllib-timeout"],
)
def test_a_request_that_may_have_left_is_not(error: BaseException) -> None:
    assert not never_reached(error)


def test_the_adapters_error_says_so() -> None:
    assert map_httpx_error(httpx.ConnectError("refused"), "meta").unsent
    assert not map_httpx_error(httpx.ReadTimeout("late"), "meta").unsent
