"""The relay's event loop: uvloop when installed (the relay's CPU goes mostly to the loop)."""

from __future__ import annotations

import asyncio

import pytest

from core.relay.loop import loop_factory, run


def test_the_relay_runs_on_uvloop_when_it_is_installed() -> None:
    pytest.importorskip("uvloop")

    async def which() -> str:
        return type(asyncio.get_running_loop()).__module__

    assert run(which()).startswith("uvloop")


def test_without_uvloop_asyncio_s_own_loop_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins

    real_import = builtins.__import__

    def no_uvloop(name: str, *args: object, **kwargs: object) -> object:
        if name == "uvloop":
            raise ImportError(name)
        return real_import(name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(builtins, "__import__", no_uvloop)
    assert loop_factory() is None

    async def which() -> str:
        return type(asyncio.get_running_loop()).__module__

    assert run(which()).startswith("asyncio")
