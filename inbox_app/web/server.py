"""The aiohttp front of ``coccinelle serve``: sign-in first, then one app process per session.

Routes (under the public URL's path)::

    GET  /signin   the sign-in form          POST /signin   check the password, open a session
    GET  /         the inbox's page          POST /signout  end the session and its process
    GET  /ws       the app's websocket       POST /take     move an open inbox to this tab
    GET  /static/  textual-serve's terminal (xterm.js)

Everything but ``/signin`` answers the sign-in page (401) without a live session, so nothing of
the app — not even its scripts — is reachable unauthenticated, and no process starts before a
sign-in. Forms and the websocket must come from this site (``Origin``), on top of the session
cookie's SameSite=Strict, and the sign-out and take-over forms carry the session's form token.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

from aiohttp import WSMsgType, web

from core.config.settings import Settings
from core.i18n import t
from core.relay.clients import Network, client_address, parse_networks
from core.team.passwords import verify_password
from inbox_app.web import pages
from inbox_app.web.auth import (
    DEVICE_COOKIE,
    SESSION_COOKIE,
    Devices,
    Sessions,
    SignInLimiter,
    SignInLinks,
    WebSession,
    limiter_key,
)
from inbox_app.web.processes import AppProcess, app_command, app_environment

log = logging.getLogger(__name__)

DEVICE_COOKIE_DAYS = 365
MAX_NAME, MAX_PASSWORD = 200, 1024


@dataclass(frozen=True)
class Account:
    """An agent who may sign in."""

    id: int
    name: str
    active: bool
    password_hash: str | None


class Directory(Protocol):
    """Where the agents and their password hashes are looked up."""

    async def find(self, name: str) -> Account | None: ...


@dataclass
class ServeConfig:
    """How ``coccinelle serve`` listens and what it allows."""

    host: str = "127.0.0.1"
    port: int = 8080
    public_url: str | None = None
    max_sessions: int = 20
    idle_minutes: float = 30.0
    link_minutes: float = 15.0
    session_hours: float = 12.0
    trusted_proxies: tuple[str, ...] = ()

    @property
    def url(self) -> str:
        """Where browsers reach the server (without a trailing slash)."""
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")


@dataclass
class Running:
    """An open inbox: its process and its websocket."""

    process: AppProcess
    websocket: web.WebSocketResponse
    last_input: float
    closing: bool = False


@dataclass
class WebServer:
    """The server: sessions, limiter, and the app processes it runs."""

    settings: Settings
    config: ServeConfig
    directory: Directory
    secret: bytes
    clock: Callable[[], float] = time.monotonic
    command: str = field(default_factory=app_command)
    sessions: Sessions = field(init=False)
    limiter: SignInLimiter = field(init=False)
    running: dict[str, Running] = field(default_factory=dict)
    #: How often an open inbox is checked for idleness (seconds).
    idle_check_seconds: float = 15.0

    def __post_init__(self) -> None:
        self.sessions = Sessions(
            lifetime=self.config.session_hours * 3600,
            idle=self.config.idle_minutes * 60,
            clock=self.clock,
        )
        self.limiter = SignInLimiter(clock=self.clock)
        self.links = SignInLinks(lifetime=self.config.link_minutes * 60, clock=self.clock)
        self.devices = Devices(self.secret)
        self._trusted: tuple[Network, ...] = parse_networks(self.config.trusted_proxies)
        parts = urlsplit(self.config.url)
        self.origin = f"{parts.scheme}://{parts.netloc}" if self.config.public_url else None
        self.prefix = parts.path.rstrip("/") if self.config.public_url else ""
        self.secure = parts.scheme == "https"

    # -- the application ---------------------------------------------------------------------

    def make_app(self) -> web.Application:
        """The aiohttp application."""
        app = web.Application(middlewares=[self._headers, self._guard], client_max_size=64 * 1024)
        from textual_serve import server as textual_serve

        statics = Path(textual_serve.__file__).with_name("static")
        app.add_routes(
            [
                web.get("/signin", self.sign_in_form),
                web.post("/signin", self.sign_in),
                web.get("/link", self.link_page),
                web.post("/link", self.link_sign_in),
                web.get("/", self.index),
                web.get("/ws", self.websocket),
                web.post("/signout", self.sign_out),
                web.post("/take", self.take_over),
                web.static("/static", statics),
            ]
        )
        app.on_shutdown.append(self._close_all)
        return app

    def url(self, path: str) -> str:
        """A path of this server as browsers see it (under the public URL's path)."""
        return self.prefix + path

    @web.middleware
    async def _headers(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        response = await handler(request)
        if not response.prepared:
            response.headers.setdefault("Cache-Control", "no-store")
            response.headers.setdefault("X-Frame-Options", "DENY")
            response.headers.setdefault("Content-Security-Policy", "frame-ancestors 'none'")
            response.headers.setdefault("Referrer-Policy", "same-origin")
            response.headers.setdefault("X-Content-Type-Options", "nosniff")
        return response

    @web.middleware
    async def _guard(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        """No session, no app: every path but ``/signin`` answers the sign-in page."""
        if request.path in ("/signin", "/link"):
            return await handler(request)
        token = request.cookies.get(SESSION_COOKIE)
        session = self.sessions.get(token)
        if session is None:
            said = {"notice": t("web.expired")} if token else {}
            return self._sign_in_page(status=401, **said)
        return await handler(request)

    def _session(self, request: web.Request) -> WebSession:
        """The live session of a request the guard let through."""
        session = self.sessions.get(request.cookies.get(SESSION_COOKIE))
        assert session is not None, "the guard admits only requests with a live session"
        return session

    # -- signing in and out --------------------------------------------------------------------

    def _sign_in_page(self, *, status: int = 200, **said: str) -> web.Response:
        html = pages.sign_in(self.url("/signin"), **said)
        return web.Response(text=html, content_type="text/html", status=status)

    async def sign_in_form(self, request: web.Request) -> web.StreamResponse:
        """The sign-in page (the inbox itself when already signed in)."""
        if self.sessions.get(request.cookies.get(SESSION_COOKIE)) is not None:
            raise web.HTTPSeeOther(self.url("/"))
        return self._sign_in_page()

    async def sign_in(self, request: web.Request) -> web.StreamResponse:
        """Check the name and password; open a session and go to the inbox."""
        if not self._same_origin(request):
            return self._refused()
        form = await request.post()
        name = str(form.get("name", ""))[:MAX_NAME].strip()
        password = str(form.get("password", ""))[:MAX_PASSWORD]
        address = self.client(request)
        device = request.cookies.get(DEVICE_COOKIE)
        device_agent = self.devices.agent_of(device)
        account = await self.directory.find(name) if name else None
        key = limiter_key(address, device, device_agent, account.id if account else None)
        wait = self.limiter.wait(key)
        if wait:
            log.info("sign-in refused (too many failures): address=%s", address)
            error = t("web.too_many", seconds=math.ceil(wait))
            return self._sign_in_page(status=429, error=error, name=name)
        stored = account.password_hash if account is not None and account.active else None
        if not await asyncio.to_thread(verify_password, password, stored) or account is None:
            self.limiter.failed(key)
            log.info("sign-in failed: address=%s", address)
            return self._sign_in_page(status=401, error=t("web.wrong"), name=name)
        log.info("signed in: agent=%s address=%s", account.id, address)
        return self._open_session(account, device_agent)

    def _open_session(self, account: Account, device_agent: int | None) -> web.Response:
        """A new session for ``account``, and on to the inbox."""
        session = self.sessions.open(account.id, account.name)
        response = web.Response(status=303, headers={"Location": self.url("/")})
        self._set_cookie(response, SESSION_COOKIE, session.token)
        if device_agent != account.id:
            max_age = DEVICE_COOKIE_DAYS * 86400
            self._set_cookie(response, DEVICE_COOKIE, self.devices.issue(account.id), max_age)
        return response

    # -- one-time links ------------------------------------------------------------------------

    def issue_link(self, account: Account) -> str:
        """A one-time sign-in link for ``account`` (printed by ``coccinelle serve --link``)."""
        return f"{self.config.url}/link?token={self.links.issue(account.id, account.name)}"

    async def link_page(self, request: web.Request) -> web.StreamResponse:
        """A live link's page: a button that signs in (a GET uses nothing up, so a mail
        client's or a chat's link preview cannot spend the link)."""
        token = request.query.get("token", "")[:MAX_NAME]
        agent = self.links.peek(token)
        if agent is None:
            return self._sign_in_page(status=401, error=t("web.link_used"))
        html = pages.notice(
            t("web.link_title", name=agent[1]),
            t("web.link_text", name=agent[1]),
            action=self.url("/link"),
            button=t("web.link_button"),
            form_token=token,
        )
        return web.Response(text=html, content_type="text/html")

    async def link_sign_in(self, request: web.Request) -> web.StreamResponse:
        """Use the link up and open a session, under the same rules as a password's."""
        if not self._same_origin(request):
            return self._refused()
        address = self.client(request)
        key = ("address", address)
        wait = self.limiter.wait(key)
        if wait:
            error = t("web.too_many", seconds=math.ceil(wait))
            return self._sign_in_page(status=429, error=error)
        form = await request.post()
        agent = self.links.redeem(str(form.get("form_token", ""))[:MAX_NAME])
        account = await self.directory.find(agent[1]) if agent is not None else None
        if agent is None or account is None or not account.active or account.id != agent[0]:
            self.limiter.failed(key)
            log.info("sign-in link refused: address=%s", address)
            return self._sign_in_page(status=401, error=t("web.link_used"))
        log.info("signed in with a link: agent=%s address=%s", account.id, address)
        return self._open_session(
            account, self.devices.agent_of(request.cookies.get(DEVICE_COOKIE))
        )

    async def sign_out(self, request: web.Request) -> web.StreamResponse:
        """End the session and close its inbox."""
        session = self._session(request)
        if not await self._form_ok(request, session):
            return self._refused()
        self.sessions.close(session.token)
        await self._close(session.token)
        log.info("signed out: agent=%s", session.agent_id)
        response = self._sign_in_page(notice=t("web.signed_out"))
        response.del_cookie(SESSION_COOKIE, path=self.url("/") if self.prefix else "/")
        return response

    def _set_cookie(
        self, response: web.StreamResponse, name: str, value: str, max_age: int | None = None
    ) -> None:
        response.set_cookie(
            name,
            value,
            max_age=max_age,
            path=self.url("/") if self.prefix else "/",
            httponly=True,
            samesite="Strict",
            secure=self.secure,
        )

    def client(self, request: web.Request) -> str:
        """The caller's address, through the trusted proxies."""
        forwarded = request.headers.get("X-Forwarded-For")
        return client_address(request.remote, forwarded, self._trusted)

    def _same_origin(self, request: web.Request) -> bool:
        """Whether the request comes from a page of this site (browsers send ``Origin``)."""
        origin = request.headers.get("Origin")
        expected = self.origin or f"{request.scheme}://{request.host}"
        return origin is not None and secrets.compare_digest(origin, expected)

    async def _form_ok(self, request: web.Request, session: WebSession) -> bool:
        if not self._same_origin(request):
            return False
        form = await request.post()
        return secrets.compare_digest(str(form.get("form_token", "")), session.form_token)

    def _refused(self) -> web.Response:
        html = pages.notice(t("web.forbidden_title"), t("web.bad_origin"))
        return web.Response(text=html, content_type="text/html", status=403)

    # -- the inbox -------------------------------------------------------------------------

    async def index(self, request: web.Request) -> web.StreamResponse:
        """The inbox's page, or why it cannot open: already open elsewhere, or the server full."""
        session = self._session(request)
        if session.token in self.running:
            html = pages.notice(
                t("web.other_tab_title"),
                t("web.other_tab"),
                action=self.url("/take"),
                button=t("web.other_tab_button"),
                form_token=session.form_token,
            )
            return web.Response(text=html, content_type="text/html", status=409)
        if self._full():
            return self._full_page()
        base = self.config.public_url.rstrip("/") if self.config.public_url else None
        base = base or f"{request.scheme}://{request.host}"
        websocket_url = ("wss:" if base.startswith("https") else "ws:") + base.split(":", 1)[1]
        html = pages.app(
            websocket_url=websocket_url + "/ws",
            static_url=self.url("/static/"),
            agent=session.agent_name,
            sign_out=self.url("/signout"),
            form_token=session.form_token,
        )
        return web.Response(text=html, content_type="text/html")

    def _full(self) -> bool:
        return len(self.running) >= self.config.max_sessions

    def _full_page(self) -> web.Response:
        html = pages.notice(t("web.full_title"), t("web.full", count=self.config.max_sessions))
        return web.Response(text=html, content_type="text/html", status=503)

    async def take_over(self, request: web.Request) -> web.StreamResponse:
        """Close the inbox open in another tab, then open it here."""
        session = self._session(request)
        if not await self._form_ok(request, session):
            return self._refused()
        await self._close(session.token)
        raise web.HTTPSeeOther(self.url("/"))

    async def websocket(self, request: web.Request) -> web.StreamResponse:
        """Start this session's app process and relay it to the browser."""
        session = self._session(request)
        if not self._same_origin(request):
            return self._refused()
        if session.token in self.running:
            return web.Response(status=409, text=t("web.other_tab"))
        if self._full():
            return self._full_page()
        socket = web.WebSocketResponse(heartbeat=15)
        await socket.prepare(request)
        width = _int(request.query.get("width"), 80)
        height = _int(request.query.get("height"), 24)
        process = AppProcess(
            self.command,
            app_environment(self.settings, session.agent_name),
            write_bytes=socket.send_bytes,
            write_str=socket.send_str,
            close=socket.close,
        )
        running = Running(process, socket, self.clock())
        self.running[session.token] = running
        watch = asyncio.create_task(self._watch_idle(session.token, running))
        try:
            await process.start(width, height)
            log.info("app started: agent=%s pid=%s", session.agent_id, process.pid)
            await self._relay(socket, process, session, running)
        finally:
            watch.cancel()
            if self.running.get(session.token) is running:
                del self.running[session.token]
            await process.shut()
            await socket.close()
            log.info("app ended: agent=%s pid=%s", session.agent_id, process.pid)
        return socket

    async def _relay(
        self,
        socket: web.WebSocketResponse,
        process: AppProcess,
        session: WebSession,
        running: Running,
    ) -> None:
        async for message in socket:
            if message.type != WSMsgType.TEXT:
                continue
            try:
                kind, *data = json.loads(message.data)
            except (ValueError, TypeError):
                continue
            if kind == "stdin" and data and isinstance(data[0], str):
                running.last_input = self.clock()
                self.sessions.touch(session.token)
                await process.send_bytes(data[0].encode("utf-8"))
            elif kind == "resize" and data and isinstance(data[0], dict):
                size = data[0]
                await process.set_terminal_size(
                    _int(size.get("width"), 80), _int(size.get("height"), 24)
                )
            elif kind == "ping" and data:
                await socket.send_json(["pong", data[0]])
            elif kind == "blur":
                await process.blur()
            elif kind == "focus":
                await process.focus()

    async def _watch_idle(self, token: str, running: Running) -> None:
        idle = self.config.idle_minutes * 60
        while True:
            await asyncio.sleep(min(self.idle_check_seconds, idle))
            if self.clock() - running.last_input >= idle:
                log.info("app closed after %.0f idle minutes", self.config.idle_minutes)
                await self._close(token)
                return

    async def _close(self, token: str) -> None:
        running = self.running.get(token)
        if running is None or running.closing:
            return
        running.closing = True
        await running.process.shut()
        await running.websocket.close()

    async def _close_all(self, app: web.Application) -> None:
        await asyncio.gather(*(self._close(token) for token in list(self.running)))


def _int(value: object, default: int) -> int:
    try:
        number = int(str(value))
    except ValueError:
        return default
    return number if 1 <= number <= 1000 else default


def load_secret(path: Path) -> bytes:
    """The server's secret for device cookies: kept in ``path`` (created, owner-only)."""
    with contextlib.suppress(FileNotFoundError):
        data = path.read_bytes()
        if len(data) >= 32:
            return data
    path.parent.mkdir(parents=True, exist_ok=True)
    data = secrets.token_bytes(32)
    path.touch(mode=0o600)
    path.write_bytes(data)
    return data
