"""Sign-in sessions, device cookies and the failed sign-in limiter of ``coccinelle serve``.

A session is a random token (``secrets.token_urlsafe``) kept in memory, sent back in an
HttpOnly, SameSite=Strict cookie (Secure behind HTTPS); it ends on sign-out, after
``lifetime`` seconds, or after ``idle`` seconds without a request. A restarted server knows no
session: every browser signs in again.

Failed sign-ins are limited per client address, like the pull API's wrong tokens, so guessing
gets slow at once. So that nobody can lock the right agent out by failing from the same address
(an office behind one NAT, a shared proxy), a browser where an agent once signed in carries a
device cookie for that agent, signed with the server's secret: its attempts for that agent are
counted on their own bucket, which only that browser's failures fill (OWASP's "device cookies").
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from core.relay.limits import RateLimiter

SESSION_COOKIE = "coccinelle_session"
DEVICE_COOKIE = "coccinelle_device"


@dataclass
class WebSession:
    """One signed-in browser: who, since when, and the token its forms must carry."""

    token: str
    agent_id: int
    agent_name: str
    started: float
    seen: float
    form_token: str = field(default_factory=lambda: secrets.token_urlsafe(24))


@dataclass
class Sessions:
    """The signed-in sessions, by token; ``clock`` (monotonic seconds) is injectable."""

    lifetime: float = 12 * 3600
    idle: float = 30 * 60
    clock: Callable[[], float] = time.monotonic
    _by_token: dict[str, WebSession] = field(default_factory=dict)

    def open(self, agent_id: int, agent_name: str) -> WebSession:
        """A new session for the agent."""
        now = self.clock()
        token = secrets.token_urlsafe(32)
        session = WebSession(token, agent_id, agent_name, now, now)
        self._by_token[token] = session
        return session

    def get(self, token: str | None) -> WebSession | None:
        """The live session of ``token`` (its idle clock restarts), else None."""
        if not token:
            return None
        session = self._by_token.get(token)
        if session is None:
            return None
        now = self.clock()
        if now - session.started > self.lifetime or now - session.seen > self.idle:
            del self._by_token[token]
            return None
        session.seen = now
        return session

    def close(self, token: str) -> WebSession | None:
        """End a session (sign-out); the ended session, if there was one."""
        return self._by_token.pop(token, None)

    def touch(self, token: str) -> None:
        """Activity in the app (a key, a click) keeps the session alive."""
        session = self._by_token.get(token)
        if session is not None:
            session.seen = self.clock()


@dataclass
class SignInLinks:
    """One-time sign-in links printed by ``coccinelle serve --link``: a random token per link,
    kept in memory, good for one sign-in within ``lifetime`` seconds (a restart forgets them)."""

    lifetime: float = 15 * 60
    clock: Callable[[], float] = time.monotonic
    _by_token: dict[str, tuple[int, str, float]] = field(default_factory=dict)

    def issue(self, agent_id: int, agent_name: str) -> str:
        """A new link token for the agent."""
        token = secrets.token_urlsafe(32)
        self._by_token[token] = (agent_id, agent_name, self.clock() + self.lifetime)
        return token

    def peek(self, token: str | None) -> tuple[int, str] | None:
        """The agent a live token signs in, without using it up."""
        entry = self._by_token.get(token or "")
        if entry is None:
            return None
        if self.clock() >= entry[2]:
            del self._by_token[token or ""]
            return None
        return entry[0], entry[1]

    def redeem(self, token: str | None) -> tuple[int, str] | None:
        """Use the token up: the agent it signs in, or None (unknown, used, expired)."""
        agent = self.peek(token)
        if agent is not None:
            del self._by_token[token or ""]
        return agent


@dataclass
class Devices:
    """Device cookies: ``<agent id>.<nonce>.<mac>``, signed with the server's secret."""

    secret: bytes

    def issue(self, agent_id: int) -> str:
        """A new device cookie for ``agent_id``."""
        body = f"{agent_id}.{secrets.token_urlsafe(16)}"
        return f"{body}.{self._mac(body)}"

    def agent_of(self, cookie: str | None) -> int | None:
        """The agent a genuine device cookie was issued for, else None (forged, malformed)."""
        if not cookie or cookie.count(".") != 2:
            return None
        body, _, mac = cookie.rpartition(".")
        if not hmac.compare_digest(mac, self._mac(body)):
            return None
        try:
            return int(body.split(".", 1)[0])
        except ValueError:
            return None

    def _mac(self, body: str) -> str:
        return hmac.new(self.secret, body.encode(), hashlib.sha256).hexdigest()[:32]


@dataclass
class SignInLimiter:
    """Failed sign-ins: ``capacity`` at once, refilled at ``per_second``, per address, or per
    device cookie when the browser carries one for the agent it signs in as."""

    capacity: float = 5
    per_second: float = 1 / 30
    clock: Callable[[], float] = time.monotonic
    _limiter: RateLimiter = field(init=False)

    def __post_init__(self) -> None:
        self._limiter = RateLimiter(self.capacity, self.per_second, self.clock)

    def wait(self, key: tuple[str, str]) -> float:
        """Seconds this key must still wait before it may try (0: now)."""
        return self._limiter.blocked(key)

    def failed(self, key: tuple[str, str]) -> None:
        """Count one failure."""
        self._limiter.take(key)


def limiter_key(
    address: str, device: str | None, device_agent: int | None, agent_id: int | None
) -> tuple[str, str]:
    """The bucket a sign-in attempt counts on: its device cookie's when that cookie is genuine
    and for the agent signing in, else its address's."""
    if device and device_agent is not None and device_agent == agent_id:
        return ("device", device)
    return ("address", address)
