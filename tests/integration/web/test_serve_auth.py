"""``coccinelle serve``'s front: nothing of the app without signing in, and sessions that end.

The app process is a stand-in (``fake_app.py``) speaking Textual's web-driver packets, so these
tests check the front itself: who gets in, when a process starts, what it is told.
"""

from __future__ import annotations

import asyncio
import shlex
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import WSMsgType
from aiohttp.test_utils import TestClient, TestServer

from core.config.settings import Settings
from core.team.passwords import hash_password
from inbox_app.web.auth import DEVICE_COOKIE, SESSION_COOKIE
from inbox_app.web.server import Account, ServeConfig, WebServer

FAKE_APP = Path(__file__).with_name("fake_app.py")
PASSWORD = "correct horse battery"
HASH = hash_password(PASSWORD)
ORIGIN = {"Origin": "http://127.0.0.1"}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Directory:
    def __init__(self) -> None:
        self.accounts = {
            "claire martin": Account(1, "Claire Martin", True, HASH),
            "julien": Account(2, "Julien", True, HASH),
            "gone": Account(3, "Gone", False, HASH),
        }

    async def find(self, name: str) -> Account | None:
        return self.accounts.get(name.casefold())


def make_server(tmp_path: Path, **config: object) -> WebServer:
    server = WebServer(
        Settings(data_dir=tmp_path / "data"),
        ServeConfig(**config),  # type: ignore[arg-type]
        Directory(),
        b"k" * 32,
        clock=Clock(),
        command=shlex.join([sys.executable, str(FAKE_APP)]),
    )
    return server


@pytest.fixture
async def server(tmp_path: Path) -> WebServer:
    return make_server(tmp_path)


async def _client(server: WebServer) -> TestClient:
    client = TestClient(TestServer(server.make_app(), host="127.0.0.1"))
    await client.start_server()
    client.session.headers.update({"Origin": f"http://127.0.0.1:{client.port}"})
    return client


@pytest.fixture
async def client(server: WebServer) -> AsyncIterator[TestClient]:
    client = await _client(server)
    yield client
    await server._close_all(client.app)  # a failed test may leave an inbox open
    await client.close()


async def receive(socket):
    """The next websocket message; a test fails rather than waits forever."""
    return await asyncio.wait_for(socket.receive(), 20)


async def sign_in(client: TestClient, name: str = "Claire Martin", password: str = PASSWORD):
    return await client.post(
        "/signin", data={"name": name, "password": password}, allow_redirects=False
    )


def is_sign_in_page(html: str) -> bool:
    return 'name="password"' in html and 'action="/signin"' in html


@pytest.mark.parametrize(
    "method,path",
    [
        ("GET", "/"),
        ("GET", "/ws"),
        ("GET", "/static/js/textual.js"),
        ("GET", "/static/css/xterm.css"),
        ("GET", "/anything/else"),
        ("POST", "/signout"),
        ("POST", "/take"),
    ],
)
async def test_every_app_url_answers_the_sign_in_page(client, server, method, path) -> None:
    response = await client.request(method, path, allow_redirects=False)
    assert response.status == 401
    assert is_sign_in_page(await response.text())
    assert server.running == {}


async def test_a_wrong_password_or_unknown_agent_opens_no_session(client) -> None:
    for name, password in [("Claire Martin", "wrong"), ("Nobody", PASSWORD), ("Gone", PASSWORD)]:
        response = await sign_in(client, name, password)
        assert response.status == 401
        html = await response.text()
        assert "Wrong name or password." in html and is_sign_in_page(html)
        assert SESSION_COOKIE not in response.cookies
    assert (await client.get("/", allow_redirects=False)).status == 401


async def test_the_right_password_opens_the_inbox_page(client) -> None:
    response = await sign_in(client, "claire MARTIN")
    assert response.status == 303
    cookie = response.cookies[SESSION_COOKIE]
    assert cookie["httponly"] and cookie["samesite"] == "Strict" and not cookie["secure"]
    page = await client.get("/")
    html = await page.text()
    assert page.status == 200 and "Claire Martin" in html and "textual-terminal" in html
    assert (await client.get("/static/js/textual.js")).status == 200


async def test_cookies_are_secure_behind_https(tmp_path) -> None:
    server = make_server(tmp_path, public_url="https://inbox.example.com")
    client = await _client(server)
    client.session.headers["Origin"] = "https://inbox.example.com"
    try:
        response = await sign_in(client)
        assert response.status == 303
        assert response.cookies[SESSION_COOKIE]["secure"]
        assert response.cookies[DEVICE_COOKIE]["secure"]
    finally:
        await client.close()


async def test_a_forged_cookie_gets_the_sign_in_page(client) -> None:
    client.session.cookie_jar.update_cookies({SESSION_COOKIE: "forged-token"})
    response = await client.get("/", allow_redirects=False)
    assert response.status == 401 and is_sign_in_page(await response.text())


async def test_an_idle_or_old_session_ends(client, server) -> None:
    await sign_in(client)
    assert (await client.get("/")).status == 200
    server.clock.now += server.config.idle_minutes * 60 + 1  # type: ignore[attr-defined]
    response = await client.get("/", allow_redirects=False)
    assert response.status == 401
    assert "Your session has ended" in await response.text()
    await sign_in(client)
    for _ in range(int(server.config.session_hours * 2) + 1):  # active, but too long
        server.clock.now += 29 * 60  # type: ignore[attr-defined]
        last = await client.get("/", allow_redirects=False)
    assert last.status == 401


async def test_forms_from_another_site_are_refused(client) -> None:
    for origin in ({"Origin": "https://evil.example"}, {"Origin": ""}):
        response = await client.post(
            "/signin", data={"name": "Claire Martin", "password": PASSWORD}, headers=origin
        )
        assert response.status == 403 and SESSION_COOKIE not in response.cookies
    await sign_in(client)
    token = _page_form_token(await (await client.get("/")).text())
    foreign = await client.post("/signout", data={"form_token": token}, headers=ORIGIN)
    assert foreign.status == 403
    no_token = await client.post("/signout", data={"form_token": "guess"})
    assert no_token.status == 403
    assert (await client.get("/")).status == 200  # still signed in
    out = await client.post("/signout", data={"form_token": token})
    assert out.status == 200 and "You are signed out." in await out.text()
    assert (await client.get("/", allow_redirects=False)).status == 401


async def test_the_app_process_starts_after_sign_in_and_knows_its_agent(client, server) -> None:
    await sign_in(client)
    async with client.ws_connect("/ws?width=90&height=30") as socket:
        first = await receive(socket)
        assert first.type == WSMsgType.BINARY and first.data == b"agent=Claire Martin"
        await socket.send_json(["stdin", "r"])
        echoed = await receive(socket)
        assert echoed.data == b"key=r"
        assert len(server.running) == 1
        # a second tab of the same session is told, and may take the inbox over
        second = await client.get("/")
        assert second.status == 409 and "Open it here" in await second.text()
    # the browser closed the tab: the process ends
    for _ in range(200):
        if not server.running:
            break
        await _pause()
    assert server.running == {}


async def test_signing_out_closes_the_open_inbox(client, server) -> None:
    await sign_in(client)
    token = _page_form_token(await (await client.get("/")).text())
    async with client.ws_connect("/ws") as socket:
        await receive(socket)
        await client.post("/signout", data={"form_token": token})
        closing = await receive(socket)
        assert closing.type in (WSMsgType.CLOSE, WSMsgType.CLOSED, WSMsgType.CLOSING)
    assert server.running == {}


async def test_a_full_server_says_so(tmp_path) -> None:
    server = make_server(tmp_path, max_sessions=1)
    first, second = await _client(server), await _client(server)
    try:
        await sign_in(first)
        await sign_in(second, "Julien")
        async with first.ws_connect("/ws") as socket:
            await receive(socket)
            full = await second.get("/")
            assert full.status == 503 and "The inbox is full" in await full.text()
    finally:
        await first.close()
        await second.close()


async def test_an_idle_inbox_is_closed(client, server) -> None:
    server.idle_check_seconds = 0.01
    await sign_in(client)
    async with client.ws_connect("/ws") as socket:
        await receive(socket)
        server.clock.now += server.config.idle_minutes * 60  # type: ignore[attr-defined]
        closing = await receive(socket)
        assert closing.type in (WSMsgType.CLOSE, WSMsgType.CLOSED, WSMsgType.CLOSING)
    assert server.running == {}


async def test_failed_sign_ins_are_limited_per_address(client, server) -> None:
    for _ in range(int(server.limiter.capacity)):
        assert (await sign_in(client, password="wrong")).status == 401
    blocked = await sign_in(client)  # even the right password waits: guessing is slowed
    assert blocked.status == 429 and "Too many failed attempts" in await blocked.text()
    server.clock.now += 1 / server.limiter.per_second  # type: ignore[attr-defined]
    assert (await sign_in(client)).status == 303


async def test_others_failing_cannot_lock_out_an_agent_who_signed_in_here_before(
    server,
) -> None:
    agent, attacker = await _client(server), await _client(server)
    try:
        assert (await sign_in(agent)).status == 303  # this browser gets its device cookie
        await agent.post("/signout", data={"form_token": _form_token(server)})
        for _ in range(20):  # the same address (an office's NAT) guesses
            await sign_in(attacker, password="wrong")
        assert (await sign_in(attacker)).status == 429
        assert (await sign_in(agent)).status == 303  # the agent still gets in
        # the device cookie counts only for its own agent
        assert (await sign_in(agent, "Julien", "wrong")).status == 429
    finally:
        await agent.close()
        await attacker.close()


async def test_a_forged_device_cookie_does_not_bypass_the_limiter(client, server) -> None:
    for _ in range(int(server.limiter.capacity)):
        await sign_in(client, password="wrong")
    client.session.cookie_jar.update_cookies({DEVICE_COOKIE: "1.nonce.0123456789abcdef"})
    assert (await sign_in(client)).status == 429


def _page_form_token(html: str) -> str:
    return html.split('name="form_token" value="', 1)[1].split('"', 1)[0]


def _form_token(server: WebServer) -> str:
    return next(iter(server.sessions._by_token.values())).form_token


async def _pause() -> None:
    await asyncio.sleep(0.05)


async def test_after_a_restart_an_open_browser_is_asked_to_sign_in_again(tmp_path) -> None:
    before = make_server(tmp_path)
    client = await _client(before)
    try:
        await sign_in(client)
        cookie = client.session.cookie_jar.filter_cookies(client.make_url("/"))[SESSION_COOKIE]
    finally:
        await client.close()
    after = await _client(make_server(tmp_path))  # the same secret, no sessions in memory
    try:
        after.session.cookie_jar.update_cookies({SESSION_COOKIE: cookie.value})
        response = await after.get("/", allow_redirects=False)
        html = await response.text()
        assert response.status == 401 and "Your session has ended" in html
        assert is_sign_in_page(html)
    finally:
        await after.close()


async def test_pages_speak_the_agents_language(client) -> None:
    from core import i18n

    i18n.set_language("fr")
    try:
        html = await (await client.get("/signin")).text()
        assert "Mot de passe" in html and 'lang="fr"' in html
    finally:
        i18n.set_language("en")


def test_the_device_secret_is_kept_private_and_reused(tmp_path) -> None:
    from inbox_app.web.server import load_secret

    path = tmp_path / "data" / "serve-secret"
    first = load_secret(path)
    assert load_secret(path) == first and len(first) >= 32
    assert path.stat().st_mode & 0o077 == 0


def _link_token(link: str) -> str:
    return link.split("token=", 1)[1]


async def test_a_one_time_link_signs_in_once(client, server) -> None:
    link = server.issue_link(Account(2, "Julien", True, None))  # no password needed
    assert link.startswith(server.config.url + "/link?token=")
    token = _link_token(link)
    page = await client.get(f"/link?token={token}")  # a preview spends nothing
    html = await page.text()
    assert page.status == 200 and "Sign in as Julien" in html and SESSION_COOKIE not in page.cookies
    assert (await client.get(f"/link?token={token}")).status == 200
    used = await client.post("/link", data={"form_token": token}, allow_redirects=False)
    assert used.status == 303 and SESSION_COOKIE in used.cookies
    inbox = await client.get("/")
    assert inbox.status == 200 and "Julien" in await inbox.text()
    # the same link a second time, from a browser with no session: refused
    other = await _client(server)
    try:
        again = await other.post("/link", data={"form_token": token}, allow_redirects=False)
        assert again.status == 401 and "already used" in await again.text()
        assert SESSION_COOKIE not in again.cookies
        assert (await other.get(f"/link?token={token}")).status == 401
        assert (await other.get("/", allow_redirects=False)).status == 401
    finally:
        await other.close()


async def test_a_link_expires_and_follows_the_session_rules(client, server) -> None:
    token = _link_token(server.issue_link(Account(1, "Claire Martin", True, None)))
    server.clock.now += server.config.link_minutes * 60  # type: ignore[attr-defined]
    late = await client.post("/link", data={"form_token": token}, allow_redirects=False)
    assert late.status == 401 and SESSION_COOKIE not in late.cookies
    # from another site: refused, and the link is not spent
    token = _link_token(server.issue_link(Account(1, "Claire Martin", True, None)))
    foreign = await client.post("/link", data={"form_token": token}, headers=ORIGIN)
    assert foreign.status == 403
    # an agent made inactive since the link was printed gets nothing
    gone = _link_token(server.issue_link(Account(3, "Gone", True, None)))
    refused = await client.post("/link", data={"form_token": gone}, allow_redirects=False)
    assert refused.status == 401 and SESSION_COOKIE not in refused.cookies
    # a session opened by a link ends like any other
    assert (await client.post("/link", data={"form_token": token})).status == 200
    assert (await client.get("/")).status == 200
    server.clock.now += server.config.idle_minutes * 60 + 1  # type: ignore[attr-defined]
    assert (await client.get("/", allow_redirects=False)).status == 401


async def test_guessed_link_tokens_are_limited(client, server) -> None:
    for _ in range(int(server.limiter.capacity)):
        await client.post("/link", data={"form_token": "guess"})
    token = _link_token(server.issue_link(Account(1, "Claire Martin", True, None)))
    blocked = await client.post("/link", data={"form_token": token}, allow_redirects=False)
    assert blocked.status == 429 and SESSION_COOKIE not in blocked.cookies
