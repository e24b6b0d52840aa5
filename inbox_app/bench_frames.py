"""When the app last wrote a frame: the end point of a keypress-to-repaint sample.

Textual's compositor hands each frame to ``App._display``; a headless app drops it there. The
clock wraps that method, turns the frame into the terminal's bytes as a real terminal driver
would (so their cost is in the sample) and notes the time. A sample runs from posting the key to
the last frame written before the app is idle again; how long the harness then takes to see that
the app is idle is not in it.
"""

from __future__ import annotations

import time
from typing import Any

from textual.app import App
from textual.screen import Screen


class FrameClock:
    """Counts the frames an app writes and remembers when the last one was written."""

    def __init__(self, app: App[Any]) -> None:
        self.frames = 0
        self.last: float | None = None
        self._app = app
        self._display = app._display
        app._display = self._timed  # type: ignore[method-assign]

    def _timed(self, screen: Screen[Any], renderable: Any) -> None:
        self._display(screen, renderable)
        if renderable is None or self._app._batch_count:
            return
        render = getattr(renderable, "render_segments", None)
        if render is not None:
            render(self._app.console)
        self.frames += 1
        self.last = time.perf_counter()

    def reset(self) -> None:
        """Forget the frames written so far."""
        self.last = None

    def since(self, start: float) -> float | None:
        """Milliseconds from ``start`` to the last frame written after it (None: no frame)."""
        if self.last is None or self.last < start:
            return None
        return (self.last - start) * 1000
