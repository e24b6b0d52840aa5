"""Starting the Textual app (imported only when the inbox is opened)."""

from __future__ import annotations

from core.config.settings import Settings


def run_app(settings: Settings) -> int:
    """Open the inbox and return the exit code."""
    from inbox_app.app import InboxApp

    app = InboxApp(settings=settings)
    app.run()
    return int(app.return_code or 0)
