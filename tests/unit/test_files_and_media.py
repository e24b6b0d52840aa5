"""Attachments saved safely; media fetched only from the provider's own public hosts."""

from __future__ import annotations

import httpx
import pytest
from aiohttp import web

from core.errors import InvalidInput
from core.files import safe_filename, save_attachment
from core.media import MediaPolicy, check_url, fetch_media


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("../../etc/passwd", "passwd"),
        ("/home/agent/.ssh/id_rsa", "id_rsa"),
        ("C:\\Windows\\system32\\evil.exe", "evil.exe"),
        ("CON.txt", "attachment.txt"),
        ("nul", "attachment"),
        ("facture\u202egnp.exe", "facturegnp.exe"),
        ("bail\x1b[31m.pdf", "bail_31m.pdf"),
        ("Contrat_Location.pdf", "Contrat_Location.pdf"),
        ("  ..  ", "attachment"),
        ("photo du bien.jpg", "photo du bien.jpg"),
    ],
)
def test_safe_filename(raw, expected) -> None:
    assert safe_filename(raw) == expected


def test_saving_stays_in_the_folder_never_overwrites_and_caps_size(tmp_path) -> None:
    folder = tmp_path / "downloads"
    folder.mkdir()
    first = save_attachment(folder, "../contrat.pdf", b"one")
    second = save_attachment(folder, "contrat.pdf", b"two")
    assert first.parent == folder.resolve() and second.name == "contrat (1).pdf"
    assert first.read_bytes() == b"one"
    with pytest.raises(InvalidInput, match="MB"):
        save_attachment(folder, "big.bin", b"x" * 11, limit=10)
    with pytest.raises(InvalidInput, match="folder"):
        save_attachment(tmp_path / "missing", "a.txt", b"x")
    assert sorted(p.name for p in folder.iterdir()) == ["contrat (1).pdf", "contrat.pdf"]


@pytest.mark.parametrize(
    "url",
    [
        "http://api.twilio.com/2010-04-01/Media/ME1",  # not https
        "https://evil.example.com/photo.jpg",  # not a provider host
        "https://user:pw@api.twilio.com/x",  # credentials in URL
        "file:///etc/passwd",
    ],
)
async def test_urls_outside_the_policy_are_refused(url) -> None:
    with pytest.raises(InvalidInput):
        await check_url(url, MediaPolicy.for_provider("twilio"))


async def test_an_allowed_name_that_resolves_to_loopback_is_refused() -> None:
    policy = MediaPolicy(hosts=("localhost",))
    with pytest.raises(InvalidInput, match="public address"):
        await check_url("https://localhost/photo.jpg", policy)


@pytest.fixture
async def media_server():
    app = web.Application()

    async def photo(_request):
        return web.Response(body=b"\xff\xd8jpeg", content_type="image/jpeg")

    async def huge(_request):
        return web.Response(body=b"x" * 5000, content_type="application/octet-stream")

    async def bounce(_request):
        raise web.HTTPFound("http://127.0.0.2:9/internal")

    app.router.add_get("/photo.jpg", photo)
    app.router.add_get("/huge", huge)
    app.router.add_get("/bounce", bounce)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    await runner.cleanup()


async def test_fetch_from_trusted_origin_caps_size_and_checks_redirects(media_server) -> None:
    policy = MediaPolicy(hosts=(), trusted_origins=frozenset({media_server}), max_bytes=1000)
    async with httpx.AsyncClient() as client:
        content, kind = await fetch_media(f"{media_server}/photo.jpg", policy, client)
        assert content.startswith(b"\xff\xd8") and kind == "image/jpeg"
        with pytest.raises(InvalidInput, match="bytes"):
            await fetch_media(f"{media_server}/huge", policy, client)
        with pytest.raises(InvalidInput):
            await fetch_media(f"{media_server}/bounce", policy, client)
