"""Starting the Textual app (imported only when the inbox is opened)."""

from __future__ import annotations

from core.config.settings import Settings


def run_app(settings: Settings) -> int:
    """Open the inbox and return the exit code."""
    from core.logs import configure_logging
    from inbox_app.app import InboxApp

    configure_logging(settings.data_dir)
    app = InboxApp(settings=settings, engine=True)
    app.run()
    return int(app.return_code or 0)
