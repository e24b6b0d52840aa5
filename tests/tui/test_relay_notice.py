"""The app on a machine where another program already holds the relay's port: the inbox opens,
the engine runs without a relay, and the agent sees one notice saying so (no error, no
traceback)."""

from __future__ import annotations

import socket

from core.config.settings import RelaySettings, Settings
from core.engine import open_service
from inbox_app.app import InboxApp


async def test_a_taken_relay_port_is_one_notice(tmp_path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        url = f"sqlite+aiosqlite:///{tmp_path / 'inbox.db'}"
        settings = Settings(
            mode="local", database_url=url, language="en", relay=RelaySettings(port=port)
        )
        service = await open_service(settings)
        app = InboxApp(service=service, settings=settings, engine=True)
        try:
            async with app.run_test() as pilot:
                for _ in range(100):
                    if app.engine is not None:
                        break
                    await pilot.pause(0.1)
                assert app.engine is not None, "the engine started without its relay"
                await pilot.pause(0.2)
                shown = [n for n in app._notifications if str(port) in n.message]
                assert len(shown) == 1
                assert shown[0].severity == "warning" and "another program" in shown[0].message
                assert not [n for n in app._notifications if n.severity == "error"]
        finally:
            await service.close()
