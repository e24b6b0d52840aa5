"""Who else is looking at a conversation (team mode).

Each app says which conversation its agent has open with a heartbeat sent through the
``NotifyBridge``; every app keeps what it hears in memory. An entry not refreshed within ``ttl``
seconds (the other app crashed or lost its link) expires. Nothing is stored in the database.

    await presence.viewing(conversation_id)     # when a conversation is opened (None: closed)
    presence.others_in(conversation_id)         # ["Claire", …]; PresenceChanged tells when to ask
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from core.events import EventBus, PresenceChanged
from core.team.pg_listen import NotifyBridge

KIND = "presence"


@dataclass
class _Seen:
    agent_name: str
    conversation_id: int
    expires: float


class Presence:
    """This app's presence announcements and what it knows of the others'.

    Args:
        bridge: the live link (on SQLite nothing is sent and nobody else is seen).
        bus: where ``PresenceChanged`` is published.
        agent_name: shown to the others.
        heartbeat: seconds between announcements while a conversation is open.
        ttl: seconds after which an entry not refreshed is forgotten.
        clock: monotonic seconds (tests move it).
    """

    def __init__(
        self,
        bridge: NotifyBridge,
        bus: EventBus,
        agent_name: str,
        *,
        heartbeat: float = 10.0,
        ttl: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.bridge = bridge
        self.bus = bus
        self.agent_name = agent_name
        self.heartbeat = heartbeat
        self.ttl = ttl
        self.clock = clock
        self.current: int | None = None
        self._seen: dict[str, _Seen] = {}
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Listen for the others and ask them to announce themselves now."""
        if not self.bridge.enabled or self._task is not None:
            return
        self.bridge.on(KIND, self._on_message)
        self._task = asyncio.create_task(self._beat(), name="presence")
        self._announce(ask=True)
        await self.bridge.flush()

    async def viewing(self, conversation_id: int | None) -> None:
        """This agent now has ``conversation_id`` open (None: none)."""
        self.current = conversation_id
        if self._task is not None:
            self._announce()
            await self.bridge.flush()

    def others_in(self, conversation_id: int) -> list[str]:
        """Names of the other agents viewing ``conversation_id``, sorted."""
        now = self.clock()
        return sorted(
            seen.agent_name
            for seen in self._seen.values()
            if seen.conversation_id == conversation_id and seen.expires > now
        )

    def prune(self) -> None:
        """Forget entries whose heartbeat stopped; tell the bus which conversations changed."""
        now = self.clock()
        for origin, seen in list(self._seen.items()):
            if seen.expires <= now:
                del self._seen[origin]
                self.bus.publish(PresenceChanged(seen.conversation_id), forward=False)

    async def close(self) -> None:
        """Tell the others this agent left, and stop."""
        if self._task is None:
            return
        await self.viewing(None)
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None

    def _announce(self, *, ask: bool = False) -> None:
        self.bridge.send(KIND, {"n": self.agent_name, "c": self.current, "q": ask})

    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(min(self.heartbeat, self.ttl / 3))
            if self.current is not None:
                self._announce()
            self.prune()

    def _on_message(self, origin: str, data: dict[str, Any]) -> None:
        name, conversation_id = data.get("n"), data.get("c")
        if not isinstance(name, str) or not (
            conversation_id is None or type(conversation_id) is int
        ):
            return
        before = self._seen.pop(origin, None)
        if conversation_id is not None:
            self._seen[origin] = _Seen(name[:200], conversation_id, self.clock() + self.ttl)
        changed = {s.conversation_id for s in (before, self._seen.get(origin)) if s is not None}
        if before is not None and before.conversation_id == conversation_id:
            changed = set()  # a heartbeat: nothing new to show
        for cid in sorted(changed):
            self.bus.publish(PresenceChanged(cid), forward=False)
        if data.get("q") is True and self.current is not None:
            self._announce()
