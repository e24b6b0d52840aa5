"""Opening a file with the system's program: ``$COCCINELLE_OPENER`` if set, else ``open`` on
macOS, ``xdg-open`` elsewhere. Run without a shell, with the file as its one argument."""

from __future__ import annotations

import asyncio
import os
import shlex
import shutil
import sys
from pathlib import Path

from core.errors import ConfigurationError
from core.i18n import t


def opener_command() -> list[str]:
    """The program (with its own arguments) that opens a file.

    Raises:
        ConfigurationError: none is set and none is installed.
    """
    configured = os.environ.get("COCCINELLE_OPENER", "").strip()
    if configured:
        return shlex.split(configured)
    program = shutil.which("open" if sys.platform == "darwin" else "xdg-open")
    if program is None:
        raise ConfigurationError(t("attachui.no_opener"))
    return [program]


async def open_file(path: Path, timeout: float = 10.0) -> None:
    """Hand ``path`` to the opener and wait (briefly) for it to accept it.

    Raises:
        ConfigurationError: no opener, or it failed.
    """
    command = [*opener_command(), str(path)]
    try:
        process = await asyncio.create_subprocess_exec(
            *command,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
            start_new_session=True,
        )
    except OSError as exc:
        raise ConfigurationError(
            t("attachui.opener_failed", name=path.name, code=exc.strerror)
        ) from None
    try:
        code = await asyncio.wait_for(process.wait(), timeout)
    except TimeoutError:
        return  # still running (a viewer that stays open): it has the file
    if code != 0:
        raise ConfigurationError(t("attachui.opener_failed", name=path.name, code=code))
