"""Adapters and the sandbox are found by entry point; ``import providers`` stays cheap."""

from __future__ import annotations

import subprocess
import sys

from core.channels.adapter import ChannelAdapter
from core.channels.registry import SANDBOX_GROUP, adapter_names, load_adapter, load_plugin
from core.channels.runtime import ADAPTER_NAMES


def test_every_adapter_is_registered_with_its_name():
    assert set(ADAPTER_NAMES.values()) <= set(adapter_names())
    for name in ADAPTER_NAMES.values():
        cls = load_adapter(name)
        assert issubclass(cls, ChannelAdapter) and cls.name == name
        assert cls.credential_names and cls.capabilities.rate_per_second > 0


def test_sandbox_is_registered():
    start = load_plugin(SANDBOX_GROUP, "default")
    assert callable(start)


def test_import_providers_loads_no_sdk():
    code = (
        "import sys, providers, providers.sandbox; "
        "names = ('aiogram', 'twilio', 'sendgrid', 'aiohttp', 'httpx'); "
        "heavy = [m for m in names if m in sys.modules]; "
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
