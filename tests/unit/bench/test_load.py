"""The load generator signs like Twilio, stops by itself and counts every answer."""

from __future__ import annotations

from urllib.parse import parse_qsl

from aiohttp import web
from twilio.request_validator import RequestValidator

from core.bench.load import post_load, sid_of, twilio_signature, twilio_sms
from inbox_app.commands.bench import NAMES


def test_signature_is_the_one_twilio_checks() -> None:
    form = {"MessageSid": sid_of("00042", 7), "Body": "Bonjour é", "From": "+33612345678"}
    url = "https://relay.example.fr/webhooks/twilio/sms"
    signature = twilio_signature("token", url, form)
    assert RequestValidator("token").validate(url, form, signature)
    assert not RequestValidator("other").validate(url, form, signature)
    assert len(sid_of("00042", 7)) == 34


async def test_bounded_load_counts_answers_and_failures() -> None:
    seen: list[str] = []

    async def handler(request: web.Request) -> web.Response:
        form = dict(parse_qsl((await request.read()).decode()))
        seen.append(form["MessageSid"])
        ok = RequestValidator("t").validate(
            "https://r.invalid/sms", form, request.headers["X-Twilio-Signature"]
        )
        return web.Response(status=200 if ok and len(seen) % 5 else 503)

    app = web.Application()
    app.router.add_post("/sms", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    port = runner.addresses[0][1]
    try:
        result = await post_load(
            f"http://127.0.0.1:{port}/sms",
            twilio_sms("t", "https://r.invalid/sms", "00001"),
            connections=4,
            duration=30,
            limit=50,
        )
    finally:
        await runner.cleanup()
    assert (result.ok, result.failed) == (40, 10)
    assert len(set(seen)) == 50 and len(result.latencies_ms) == 50
    assert sorted({sid_of("00001", n) for n in result.ok_numbers} | set(seen)) == sorted(seen)


def test_the_command_offers_every_measurement() -> None:
    from core.bench.runner import MEASUREMENTS

    assert set(NAMES) == {*MEASUREMENTS, "keys", "serve"}  # the last two measure the app
