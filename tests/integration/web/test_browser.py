"""End to end in headless Chromium: `coccinelle serve` on the demo, an agent in a browser.

Nothing is faked: the server runs as `coccinelle serve` does, the signed-in agent's own app
process starts the sandbox, the relay and the outbox worker, and the reply goes to the sandbox
and comes back delivered through the relay. Needs Debian's ``chromium`` and ``chromium-driver``
(``apt-get install chromium chromium-driver``) and Selenium; skipped without them.

``COCCINELLE_WEB_SCREENSHOT=path.png`` also saves the inbox as the browser shows it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator

import pytest

from core.config import load_settings
from core.domain.enums import MessageStatus
from core.engine import open_service
from core.team.passwords import hash_password

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # xterm.js then draws with DOM rows, which the test can read
    "--disable-webgl",
    "--disable-3d-apis",
    "--window-size=1400,900",
]
PASSWORD = "browser-test-password"
REPLY = "Bonjour depuis le navigateur"
#: Read at import: the tests' isolation fixture clears COCCINELLE_* variables.
SCREENSHOT = os.environ.get("COCCINELLE_WEB_SCREENSHOT")
#: The machine may be busy (CI, other tests): each step may take this long.
STEP_SECONDS = 120.0

webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)),
        reason=f"no Chromium: {CHROMIUM} and {CHROMEDRIVER} are needed "
        "(apt-get install chromium chromium-driver)",
    ),
]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def _prepare_demo(names: tuple[str, ...] = ("Julien Moreau",)) -> None:
    """The demo agency with passwords for ``names`` (Julien: not the demo's default agent,
    Claire, whom an app told nobody would run as), quiet hours off (the test runs at any hour)."""
    service = await open_service(load_settings())
    try:
        tenant = await service.tenant_settings.get()
        tenant.quiet_hours.enabled = False
        await service.tenant_settings.save(tenant)
        for name in names:
            agent = await service.agents.by_name(name)
            assert agent is not None
            await service.agents.set_password_hash(agent.id, hash_password(PASSWORD))
    finally:
        await service.close()


async def _reply() -> tuple[str, int | None] | None:
    """The reply's status and the agent who sent it, once it is stored."""
    from sqlalchemy import select

    from core.storage.tables import MessageRow

    service = await open_service(load_settings())
    try:
        async with service.db.session() as session:
            query = select(MessageRow.status, MessageRow.sender_id).where(
                MessageRow.content == REPLY
            )
            row = (await session.execute(query)).first()
            return (row[0], row[1]) if row else None
    finally:
        await service.close()


async def _agent_id(name: str) -> int:
    service = await open_service(load_settings())
    try:
        agent = await service.agents.by_name(name)
        assert agent is not None
        return agent.id
    finally:
        await service.close()


@pytest.fixture
def server() -> Iterator[str]:
    asyncio.run(_prepare_demo())
    with _serving() as url:
        yield url


@contextlib.contextmanager
def _serving() -> Iterator[str]:
    """``coccinelle serve`` on a free port, with this process's environment."""
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "inbox_app.cli", "--language", "en", "serve", "--port", str(port)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert "Serving the inbox" in line, line
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture
def browser() -> Iterator[object]:
    with _chromium() as driver:
        yield driver


@contextlib.contextmanager
def _chromium() -> Iterator[object]:
    """A headless Chromium with a profile of its own (its own cookies: its own agent)."""
    from selenium.webdriver.chrome.service import Service

    os.environ.setdefault("SE_AVOID_STATS", "true")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    profile = tempfile.mkdtemp(prefix="coccinelle-chromium-")
    options.add_argument(f"--user-data-dir={profile}")
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def _screen(driver) -> str:
    script = "const r = document.querySelector('.xterm-rows'); return r ? r.innerText : ''"
    return str(driver.execute_script(script) or "")


def _until(
    what: str, check: Callable[[], bool], driver=None, seconds: float = STEP_SECONDS
) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            if check():
                return
        time.sleep(0.5)
    shown = _screen(driver)[:3000] if driver is not None else ""
    raise AssertionError(f"not seen in {seconds:.0f} s: {what}\n{shown}")


def _on_screen(driver, text: str) -> Callable[[], bool]:
    return lambda: text in _screen(driver)


def test_an_agent_signs_in_replies_and_signs_out_in_a_browser(server, browser) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    driver = browser
    driver.get(server + "/")
    assert "password" in driver.page_source  # the sign-in page, nothing of the app
    driver.find_element(By.ID, "name").send_keys("julien moreau")
    driver.find_element(By.ID, "password").send_keys("not the password")
    driver.find_element(By.ID, "sign-in").click()
    _until(  # the click returns before the answer is shown when the machine is busy
        "the wrong password refused",
        lambda: "Wrong name or password." in driver.find_element(By.ID, "error").text,
        seconds=30,
    )
    driver.find_element(By.ID, "password").send_keys(PASSWORD)
    driver.find_element(By.ID, "sign-in").click()

    # the inbox, as Julien (no "which agent are you?")
    _until("the inbox", _on_screen(driver, "Coccinelle Inbox"), driver)
    assert "Julien Moreau" in driver.find_element(By.ID, "agent").text
    _until("the conversations", _on_screen(driver, "Lucas Bonnet"), driver)
    if path := SCREENSHOT:
        time.sleep(2)
        driver.save_screenshot(path)

    keys = driver.find_element(By.CSS_SELECTOR, ".xterm-helper-textarea")
    keys.send_keys("r")  # reply to the conversation under the cursor: it opens with its composer
    _until("the composer", _on_screen(driver, "Reply to"), driver)
    keys.send_keys(REPLY)
    _until("the reply typed", _on_screen(driver, f"{len(REPLY)} characters"), driver)
    keys.send_keys(Keys.CONTROL, "s")
    _until("the composer closed", lambda: "Reply to" not in _screen(driver), driver)

    delivered = (MessageStatus.DELIVERED.value, MessageStatus.READ.value)
    _until(
        "the reply delivered by the sandbox",
        lambda: (asyncio.run(_reply()) or ("", None))[0] in delivered,
        driver,
    )
    reply = asyncio.run(_reply())
    assert reply is not None and reply[1] == asyncio.run(_agent_id("Julien Moreau"))

    driver.find_element(By.ID, "sign-out").click()
    _until("signed out", lambda: "You are signed out." in driver.page_source)
    driver.get(server + "/")
    assert driver.find_element(By.ID, "sign-in") is not None
    driver.get(server + "/static/js/textual.js")
    assert "Sign in" in driver.page_source and "xterm" not in driver.page_source


def _sign_in(driver, server: str, name: str) -> None:
    from selenium.webdriver.common.by import By

    driver.get(server + "/")
    driver.find_element(By.ID, "name").send_keys(name)
    driver.find_element(By.ID, "password").send_keys(PASSWORD)
    driver.find_element(By.ID, "sign-in").click()
    _until(f"{name}'s inbox", _on_screen(driver, "Lucas Bonnet"), driver)
    assert name in driver.find_element(By.ID, "agent").text


def _open_first_conversation(driver) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    # the conversation under the cursor: the same for both agents (same inbox, same order)
    driver.find_element(By.CSS_SELECTOR, ".xterm-helper-textarea").send_keys(Keys.ENTER)


@contextlib.contextmanager
def _fresh_pg_database() -> Iterator[str]:
    """A database of its own on the test server (every process of the test shares it), dropped
    afterwards; skips without ``COCCINELLE_TEST_PG_URL``."""
    import uuid

    from sqlalchemy import make_url, text
    from sqlalchemy.ext.asyncio import create_async_engine

    from tests.conftest import PG_URL

    if not PG_URL:
        pytest.skip("COCCINELLE_TEST_PG_URL is not set: presence needs PostgreSQL (team mode)")
    name = f"coccinelle_web_{uuid.uuid4().hex[:10]}"

    async def run(statement: str) -> None:
        engine = create_async_engine(PG_URL, isolation_level="AUTOCOMMIT")
        try:
            async with engine.connect() as conn:
                await conn.execute(text(statement))
        finally:
            await engine.dispose()

    asyncio.run(run(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        asyncio.run(run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def test_a_second_agent_in_a_second_browser_sees_the_first_ones_presence(monkeypatch) -> None:
    """Team mode: the demo agency on PostgreSQL, two agents in two browsers, one server."""
    with _fresh_pg_database() as url:
        monkeypatch.setenv("COCCINELLE_DATABASE_URL", url)
        monkeypatch.setenv("COCCINELLE_MODE", "demo")
        asyncio.run(_prepare_demo(("Julien Moreau", "Claire Martin")))
        with _serving() as server, _chromium() as first, _chromium() as second:
            _sign_in(first, server, "Julien Moreau")
            _open_first_conversation(first)
            _sign_in(second, server, "Claire Martin")
            _open_first_conversation(second)
            _until(
                "Julien present, in Claire's browser",
                _on_screen(second, "Also here: Julien"),
                second,
            )
            _until(
                "Claire present, in Julien's browser", _on_screen(first, "Also here: Claire"), first
            )
