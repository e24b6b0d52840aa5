"""The relay over real HTTP on loopback: answers, durability and bad input."""

from __future__ import annotations

import base64
import sqlite3

import pytest

from core.domain.enums import Channel, Provider
from core.service import InboxService
from core.storage import tables as t
from tests.relay_fakes import FakeAdapter, FakeAdapters, body, message, status
from tests.relay_harness import PULL_TOKEN, running_relay


async def test_inbound_sms_is_stored_then_answered_with_empty_twiml(service: InboxService) -> None:
    async with running_relay(service) as relay:
        code, content_type, text = await relay.post(
            "/webhooks/twilio/sms", body(message("SM1", "+33612345678", "Bonjour"))
        )
        assert (code, content_type) == (200, "text/xml")
        assert text.endswith("<Response/>")
        [row] = await relay.stored()
        assert (row.provider, row.endpoint, row.dedupe_key) == ("twilio", "twilio/sms", "SM1")
        assert row.status == "pending" and row.tenant_id == service.ctx.tenant_id
        assert row.headers["url"] == "https://relay.example.fr/webhooks/twilio/sms"


async def test_signature_is_checked_over_the_public_url(service: InboxService) -> None:
    async with running_relay(service, public_url="https://other.example.fr") as relay:
        code, _, _ = await relay.post(
            "/webhooks/twilio/sms", body(message("SM1", "+33612345678", "x"))
        )
        assert code == 401
        assert await relay.stored() == []


async def test_forged_signature_and_wrong_secret_store_nothing(service: InboxService) -> None:
    payload = body(message("SM1", "+33612345678", "Bonjour"))
    async with running_relay(service) as relay:
        forged = await relay.post(
            "/webhooks/twilio/sms", payload, signed=False, headers={"X-Fake-Signature": "00" * 32}
        )
        wrong = await relay.post("/webhooks/twilio/sms", payload, secret="not-the-secret")
        unsigned = await relay.post("/webhooks/twilio/sms", payload, signed=False)
        assert [forged[0], wrong[0], unsigned[0]] == [401, 401, 401]
        assert await relay.stored() == []


@pytest.mark.parametrize(
    "raw",
    [b'{"events": [', b"\xff\xfe not utf-8 \xc3\x28", b'{"no_events": true}', b""],
    ids=["invalid-json", "invalid-utf8", "missing-field", "empty"],
)
async def test_malformed_bodies_get_400_and_store_nothing(
    service: InboxService, raw: bytes
) -> None:
    async with running_relay(service) as relay:
        code, _, _ = await relay.post("/webhooks/vapi", raw)
        assert code == 400
        assert await relay.stored() == []


async def test_body_over_the_limit_gets_413_without_storing(service: InboxService) -> None:
    huge = b'{"events": [], "padding": "' + b"x" * (5 * 1024 * 1024) + b'"}'
    async with running_relay(service) as relay:
        code, _, _ = await relay.post("/webhooks/telegram/777", huge)
        assert code == 413
        assert await relay.stored() == []

        # a request with no declared length is cut off while streaming, too
        async def chunks():
            for _ in range(80):
                yield b"x" * 65_536

        async with relay.http.post(relay.url("/webhooks/vapi"), data=chunks()) as response:
            assert response.status == 413
        assert await relay.stored() == []


async def test_email_endpoint_has_the_larger_limit(service: InboxService) -> None:
    padding = "y" * (2 * 1024 * 1024)
    payload = body(message("m1@x", "marie@example.fr", padding))
    async with running_relay(service) as relay:
        assert (await relay.post("/webhooks/sendgrid/inbound", payload))[0] == 200
        assert (await relay.post("/webhooks/sendgrid/events", payload))[0] == 413


async def test_provider_retries_are_stored_once(service: InboxService) -> None:
    payload = body(status("SM9", "delivered"))
    async with running_relay(service) as relay:
        answers = [await relay.post("/webhooks/twilio/status", payload) for _ in range(3)]
        assert [a[0] for a in answers] == [200, 200, 200]
        assert len(await relay.stored()) == 1
        # the same message id with another status is another event
        assert (await relay.post("/webhooks/twilio/status", body(status("SM9", "read"))))[0] == 200
        assert len(await relay.stored()) == 2


async def test_batch_events_share_one_key_set(service: InboxService) -> None:
    events = [status(f"sg{i}.filter", "delivered") for i in range(40)]
    async with running_relay(service) as relay:
        assert (await relay.post("/webhooks/sendgrid/events", body(*events)))[0] == 200
        assert (await relay.post("/webhooks/sendgrid/events", body(*reversed(events))))[0] == 200
        [row] = await relay.stored()
        assert len(row.dedupe_key) <= 200


async def test_unknown_bot_id_gets_404(service: InboxService) -> None:
    payload = body(message("u1", "123456", "/start"))
    async with running_relay(service) as relay:
        assert (await relay.post("/webhooks/telegram/999", payload))[0] == 404
        assert await relay.stored() == []
        assert (await relay.post("/webhooks/telegram/777", payload))[0] == 200
        assert len(await relay.stored()) == 1


async def test_unconfigured_channel_gets_404(service: InboxService) -> None:
    adapters = FakeAdapters()
    del adapters.by_channel[Channel.VOICE]
    async with running_relay(service, adapters) as relay:
        code, _, _ = await relay.post(
            "/webhooks/vapi", body({"type": "call", "key": "c1", "id": "c1"})
        )
        assert code == 404
        # Meta's endpoint is for a Meta adapter only (this WhatsApp goes through Twilio)
        assert (await relay.post("/webhooks/meta/whatsapp", body()))[0] == 404
        assert await relay.stored() == []


async def test_secret_headers_are_never_stored(service: InboxService) -> None:
    async with running_relay(service) as relay:
        await relay.post(
            "/webhooks/telegram/777",
            body(message("u1", "123456", "salut")),
            headers={"X-Telegram-Bot-Api-Secret-Token": "tg-secret", "Authorization": "Basic abc"},
        )
        [row] = await relay.stored()
        stored = str(row.headers)
        assert "tg-secret" not in stored and "Basic abc" not in stored
        assert row.headers["path_params"] == {"bot_id": "777"}


async def test_query_is_kept_for_ingest_but_not_secrets(service: InboxService) -> None:
    async with running_relay(service) as relay:
        path = "/webhooks/twilio/status?ref=out:42&secret=abc&api_key=k"
        assert (await relay.post(path, body(status("SM1", "sent"))))[0] == 200
        [row] = await relay.stored()
        assert row.headers["query"] == {"ref": "out:42"}
        assert "abc" not in str(row.headers)


async def test_twilio_status_for_whatsapp_goes_to_the_whatsapp_adapter(
    service: InboxService,
) -> None:
    adapters = FakeAdapters()
    async with running_relay(service, adapters) as relay:
        form = b"MessageSid=SM1&MessageStatus=sent&From=whatsapp%3A%2B33600000000"
        code, _, _ = await relay.post("/webhooks/twilio/status", form)
        assert code == 400  # the fake adapter reads JSON only; what matters is who was asked
        assert len(adapters.by_channel[Channel.WHATSAPP].verified) == 1
        assert len(adapters.by_channel[Channel.SMS].verified) == 0


async def test_meta_subscription_challenge(service: InboxService) -> None:
    meta = FakeAdapter(
        Channel.WHATSAPP, provider=Provider.META, credentials={"verify_token": "vt-123"}
    )
    async with running_relay(service, FakeAdapters(whatsapp=meta)) as relay:
        good = "/webhooks/meta/whatsapp?hub.mode=subscribe&hub.verify_token=vt-123&hub.challenge=42"
        async with relay.http.get(relay.url(good)) as response:
            assert (response.status, await response.text()) == (200, "42")
        bad = "/webhooks/meta/whatsapp?hub.mode=subscribe&hub.verify_token=nope&hub.challenge=42"
        async with relay.http.get(relay.url(bad)) as response:
            assert response.status == 403
        code, _, _ = await relay.post(
            "/webhooks/meta/whatsapp", body(message("wamid.1", "+33612345678", "hi"))
        )
        assert code == 200


async def test_healthz(service: InboxService) -> None:
    async with running_relay(service) as relay, relay.http.get(relay.url("/healthz")) as response:
        assert response.status == 200
        assert (await response.json())["status"] == "ok"


async def test_pull_api_redelivers_until_acknowledged(service: InboxService) -> None:
    auth = {"Authorization": f"Bearer {PULL_TOKEN}"}
    async with running_relay(service) as relay:
        for i in range(3):
            await relay.post(
                "/webhooks/twilio/sms", body(message(f"SM{i}", "+33612345678", f"m{i}"))
            )
        async with relay.http.get(relay.url("/events?after=0"), headers=auth) as response:
            page = await response.json()
        assert [e["dedupe_key"] for e in page["events"]] == ["SM0", "SM1", "SM2"]
        assert b"m1" in base64.b64decode(page["events"][1]["body"])
        first, second = page["events"][0]["id"], page["events"][1]["id"]
        async with relay.http.post(
            relay.url("/events/ack"), json={"ids": [first, second]}, headers=auth
        ) as response:
            assert (await response.json())["acked"] == 2
        async with relay.http.get(relay.url("/events?after=0"), headers=auth) as response:
            again = await response.json()
        assert [e["dedupe_key"] for e in again["events"]] == ["SM2"]
        assert again["cursor"] == again["events"][-1]["id"]


async def test_pull_api_long_polls_until_an_event_arrives(service: InboxService) -> None:
    import asyncio

    auth = {"Authorization": f"Bearer {PULL_TOKEN}"}
    async with running_relay(service) as relay:

        async def pull() -> dict:
            async with relay.http.get(relay.url("/events?after=0&wait=20"), headers=auth) as r:
                return await r.json()

        waiting = asyncio.create_task(pull())
        await asyncio.sleep(0.05)
        assert not waiting.done()
        await relay.post("/webhooks/twilio/sms", body(message("SM1", "+33612345678", "hi")))
        page = await asyncio.wait_for(waiting, 10)
        assert [e["dedupe_key"] for e in page["events"]] == ["SM1"]


async def test_pull_api_refuses_bad_tokens(service: InboxService) -> None:
    async with running_relay(service) as relay:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic x"}):
            async with relay.http.get(relay.url("/events"), headers=headers) as response:
                assert response.status == 401
            async with relay.http.post(
                relay.url("/events/ack"), json={"ids": [1]}, headers=headers
            ) as response:
                assert response.status == 401
        auth = {"Authorization": f"Bearer {PULL_TOKEN}"}
        async with relay.http.get(relay.url("/events?after=abc"), headers=auth) as response:
            assert response.status == 400


async def test_pull_api_refuses_an_endless_wait_at_once(service: InboxService) -> None:
    """``wait=1e400`` (infinity) is a bad request, not a poll held for the longest wait."""
    import asyncio

    auth = {"Authorization": f"Bearer {PULL_TOKEN}"}
    async with running_relay(service) as relay:
        for wait in ("1e400", "inf", "-inf"):
            url = relay.url(f"/events?after=0&wait={wait}")
            async with relay.http.get(url, headers=auth) as response:
                assert response.status == 400
                assert "numbers" in (await asyncio.wait_for(response.json(), 5))["error"]


async def test_pull_api_token_reads_its_own_tenant_only(service: InboxService) -> None:
    async with running_relay(
        service, pull_tokens={"other-tenant": service.ctx.tenant_id + 1}
    ) as relay:
        await relay.post("/webhooks/twilio/sms", body(message("SM1", "+33612345678", "hi")))
        auth = {"Authorization": "Bearer other-tenant"}
        async with relay.http.get(relay.url("/events"), headers=auth) as response:
            assert (await response.json())["events"] == []
        assert await relay.count(t.InboundEventRow) == 1


async def test_truncated_multipart_gets_400(service: InboxService) -> None:
    boundary = "xYzZY"
    complete = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="text"\r\n\r\nBonjour\r\n'
        f"--{boundary}--\r\n"
    ).encode()
    headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
    async with running_relay(service) as relay:
        cut = await relay.post("/webhooks/sendgrid/inbound", complete[:-12], headers=headers)
        assert cut[0] == 400
        no_boundary = {"Content-Type": "multipart/form-data"}
        assert (await relay.post("/webhooks/sendgrid/inbound", complete, headers=no_boundary))[
            0
        ] == 400
        email = relay.adapters.by_channel[Channel.EMAIL]
        assert email.parsed == []  # refused before the adapter read it
        # a complete body gets past the check (this fake adapter then wants JSON: 400 from it)
        assert (await relay.post("/webhooks/sendgrid/inbound", complete, headers=headers))[0] == 400
        assert len(email.parsed) == 1
        assert await relay.stored() == []


async def test_signature_over_the_encoded_callback_url_survives_normalisation(
    service: InboxService,
) -> None:
    from tests.relay_fakes import sign

    payload = body(status("SM1", "sent"))
    signed_url = "https://relay.example.fr/webhooks/twilio/status?ref=sara%3A12%3Aconfirm"
    headers = {"X-Fake-Signature": sign(signed_url, payload)}
    async with running_relay(service) as relay:
        # the client sends ?ref=sara:12:confirm (yarl normalises the query)
        url = relay.url("/webhooks/twilio/status?ref=sara%3A12%3Aconfirm")
        async with relay.http.post(url, data=payload, headers=headers) as response:
            assert response.status == 200
        [row] = await relay.stored()
        assert row.headers["query"] == {"ref": "sara:12:confirm"}
        forged = {"X-Fake-Signature": sign(signed_url, payload, "other-secret")}
        async with relay.http.post(url, data=payload, headers=forged) as response:
            assert response.status == 401


async def test_pull_api_slows_token_guessing_and_hammering(service: InboxService) -> None:
    good = {"Authorization": f"Bearer {PULL_TOKEN}"}
    async with running_relay(service) as relay:
        for _ in range(10):
            async with relay.http.get(
                relay.url("/events"), headers={"Authorization": "Bearer guess"}
            ) as response:
                assert response.status == 401
        async with relay.http.get(
            relay.url("/events"), headers={"Authorization": "Bearer guess"}
        ) as response:
            assert response.status == 429  # this address guessed too often
            assert int(response.headers["Retry-After"]) > 0
        async with relay.http.get(relay.url("/events"), headers=good) as response:
            assert response.status == 200  # the right token is never locked out by guesses


def test_rate_limiter_buckets_refill_with_time() -> None:
    from core.relay.limits import RateLimiter

    now = [0.0]
    limiter = RateLimiter(capacity=3, per_second=1.0, clock=lambda: now[0])
    assert [limiter.take("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.take("a") == 1.0 and limiter.blocked("a") == 1.0
    assert limiter.take("b") == 0.0  # keys are independent
    now[0] += 1.0
    assert limiter.take("a") == 0.0


async def test_a_status_refused_by_a_locked_database_gets_a_5xx_and_its_retry_is_stored(
    service: InboxService, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The relay never answers 2xx for an event it could not store: a 503, which the provider
    (and the sandbox) retries, and the retry is stored once the lock is free."""
    if service.db.dialect != "sqlite":
        pytest.skip("SQLite's single write lock")
    from core.relay import sqlite_log

    monkeypatch.setattr(sqlite_log, "BUSY_SECONDS", 0.2)
    payload = body(status("SM7", "delivered"))
    other = sqlite3.connect(str(service.db.engine.url.database), isolation_level=None)
    try:
        async with running_relay(service) as relay:
            other.execute("BEGIN IMMEDIATE")  # another program holding the write lock
            assert (await relay.post("/webhooks/twilio/status", payload))[0] == 503
            other.execute("COMMIT")
            assert await relay.stored() == []
            assert (await relay.post("/webhooks/twilio/status", payload))[0] == 200
            assert len(await relay.stored()) == 1
    finally:
        other.close()
