"""One browser session's own ``coccinelle`` process, on textual-serve's ``AppService``.

textual-serve starts the app with Textual's web driver (``TEXTUAL_DRIVER``) and relays its
packets to the browser's websocket; this adds the agent and the database the process runs as,
given in its environment (never on its command line, where ``ps`` would show a database
password), and a stop that cannot hang.
"""

from __future__ import annotations

import asyncio
import contextlib
import shlex
import sys
from asyncio.subprocess import Process
from collections.abc import Awaitable, Callable, Mapping

from textual_serve.app_service import AppService
from textual_serve.download_manager import DownloadManager

from core.config.settings import Settings

STOP_SECONDS = 10.0


def app_command() -> str:
    """The command that opens the inbox (this interpreter, so the same installation)."""
    return shlex.join([sys.executable, "-m", "inbox_app.cli"])


def app_environment(settings: Settings, agent_name: str) -> dict[str, str]:
    """The settings the app process runs with: the server's, as the signed-in agent."""
    env = {
        "COCCINELLE_AGENT": agent_name,
        "COCCINELLE_MODE": settings.mode,
        "COCCINELLE_TENANT": settings.tenant,
        "COCCINELLE_DATA_DIR": str(settings.data_dir),
    }
    if settings.database_url:
        env["COCCINELLE_DATABASE_URL"] = settings.database_url
    if settings.language:
        env["COCCINELLE_LANGUAGE"] = settings.language
    return env


class AppProcess(AppService):
    """textual-serve's app service with an environment of our own."""

    def __init__(
        self,
        command: str,
        environment: Mapping[str, str],
        *,
        write_bytes: Callable[[bytes], Awaitable[None]],
        write_str: Callable[[str], Awaitable[None]],
        close: Callable[[], Awaitable[None]],
    ) -> None:
        super().__init__(
            command,
            write_bytes=write_bytes,
            write_str=write_str,
            close=close,
            download_manager=DownloadManager(),
        )
        self._environment = dict(environment)

    async def _open_app_process(self, width: int = 80, height: int = 24) -> Process:
        # textual-serve runs a shell; run the app itself, so that a kill ends the app, not sh
        environment = self._build_environment(width=width, height=height)
        pipe = asyncio.subprocess.PIPE
        self._process = process = await asyncio.create_subprocess_exec(
            *shlex.split(self.command), stdin=pipe, stdout=pipe, stderr=pipe, env=environment
        )
        assert process.stdin is not None
        self._stdin = process.stdin
        return process

    def _build_environment(self, width: int = 80, height: int = 24) -> dict[str, str]:
        environment = super()._build_environment(width, height)
        environment.update(self._environment)
        return environment

    @property
    def pid(self) -> int | None:
        """The app process's id, once started."""
        return self._process.pid if self._process is not None else None

    async def shut(self) -> None:
        """Ask the app to quit; kill it if it has not within ``STOP_SECONDS``."""
        try:
            await asyncio.wait_for(self.stop(), STOP_SECONDS)
        except (TimeoutError, OSError, RuntimeError):
            if self._process is not None and self._process.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    self._process.kill()
        if self._process is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._process.wait(), STOP_SECONDS)
