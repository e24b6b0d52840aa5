"""The relay under hostile input, with the real adapters: never a 5xx, never an unsigned event.

Fuzzed bodies and headers go to every endpoint, unsigned (nothing may be stored) and validly
signed (the adapters' parsers meet garbage after the signature check: still no 5xx). A captured
SendGrid request replayed outside its timestamp tolerance is refused; the pull API refuses
missing and wrong tokens and never hands out another tenant's events; bodies over the limit get
413. Example counts are modest so that the suite stays short on CI.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from core.relay.endpoints import installed_endpoints
from core.relay.pull import MAX_WAIT_SECONDS
from tests.hardening.relay_world import (
    MAX_BODY,
    MAX_EMAIL,
    TOKEN_A,
    TOKEN_B,
    World,
    form_body,
    start_world,
    stop_world,
)

BODY_SIGNED = ("/webhooks/twilio", "/webhooks/sendgrid/events", "/webhooks/meta")
FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    running = start_world(tmp_path_factory.mktemp("relay-fuzz"))
    yield running
    stop_world(running)


@pytest.fixture(scope="module")
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=MAX_WAIT_SECONDS + 15) as client:
        yield client


def _paths(world: World) -> list[tuple[str, str]]:
    """(relay, path) of every webhook endpoint; Meta's on the relay whose WhatsApp is Meta."""
    out = []
    for endpoint in installed_endpoints():
        path = endpoint.route.path.replace("{bot_id}", world.bot_id)
        out.append(("meta" if path.startswith("/webhooks/meta") else "twilio", path))
    return out


# -- strategies ----------------------------------------------------------------------------------

JSON_LEAF = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30)
)
JSON = st.recursive(
    JSON_LEAF,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5)
    ),
    max_leaves=20,
)
HEADER_TEXT = st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=60
).map(str.strip)
HEADERS = st.dictionaries(
    st.sampled_from(
        [
            "Content-Type",
            "X-Twilio-Signature",
            "X-Hub-Signature-256",
            "X-Vapi-Secret",
            "Authorization",
            "X-Telegram-Bot-Api-Secret-Token",
            "X-Twilio-Email-Event-Webhook-Signature",
            "X-Twilio-Email-Event-Webhook-Timestamp",
            "X-Forwarded-For",
        ]
    ),
    HEADER_TEXT,
    max_size=5,
)
RAW = st.binary(max_size=2000) | JSON.map(lambda v: json.dumps(v).encode())


@st.composite
def mutated(draw: st.DrawFn, value: Any) -> Any:
    """``value`` (decoded JSON) with a few leaves replaced, keys removed or types changed."""
    if isinstance(value, dict) and value:
        out = dict(value)
        for _ in range(draw(st.integers(0, 3))):
            key = draw(st.sampled_from(sorted(out))) if out else None
            if key is None:
                break
            action = draw(st.sampled_from(["drop", "replace", "recurse"]))
            if action == "drop":
                out.pop(key)
            elif action == "replace":
                out[key] = draw(JSON)
            else:
                out[key] = draw(mutated(out[key]))
        return out
    if isinstance(value, list) and value:
        index = draw(st.integers(0, len(value) - 1))
        return [draw(mutated(v)) if i == index else v for i, v in enumerate(value)]
    return draw(st.one_of(st.just(value), JSON))


def _form(body: bytes) -> list[tuple[str, str]] | None:
    try:
        return sorted(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
    except UnicodeDecodeError:
        return None


def _assert_handled(response: httpx.Response, what: str) -> None:
    assert response.status_code < 500, f"{what}: {response.status_code} {response.text[:200]}"


# -- unsigned and forged: nothing is ever stored ---------------------------------------------------


@FUZZ
@given(data=st.data(), raw=RAW, headers=HEADERS)
def test_unsigned_fuzz_never_5xx_and_stores_nothing(
    world: World, http: httpx.Client, data: st.DataObject, raw: bytes, headers: dict[str, str]
) -> None:
    relay, path = data.draw(st.sampled_from(_paths(world)))
    before = world.stored_count()
    response = http.post(world.url(path, relay), content=raw, headers=headers)
    _assert_handled(response, path)
    assert world.stored_count() == before, f"{path} stored an unsigned request"


@FUZZ
@given(data=st.data())
def test_genuine_requests_with_a_tampered_body_store_nothing(
    world: World, http: httpx.Client, data: st.DataObject
) -> None:
    """A captured signed request whose body was changed: the signature no longer holds."""
    # Providers that sign the body: Twilio (over the form), SendGrid events (ECDSA), Meta (HMAC).
    # Telegram, VAPI and Inbound Parse send a shared secret in a header instead: left out here.
    signed_bodies = [s for s in world.samples if s.endpoint.startswith(BODY_SIGNED)]
    sample = data.draw(st.sampled_from(signed_bodies))
    headers = world.sign(sample.endpoint, sample.headers, sample.body)
    tampered = data.draw(st.binary(min_size=1, max_size=200))
    cut = data.draw(st.integers(0, len(sample.body)))
    body = sample.body[:cut] + tampered + sample.body[cut:]
    if sample.endpoint.startswith("/webhooks/twilio"):
        # Twilio signs the parsed form: bytes that parse to the same form are the same request.
        assume(_form(body) != _form(sample.body))
    relay = "meta" if sample.endpoint.startswith("/webhooks/meta") else "twilio"
    before = world.stored_count()
    response = http.post(world.url(sample.endpoint, relay), content=body, headers=headers)
    assert response.status_code in (400, 401, 403), (sample.endpoint, response.status_code)
    assert world.stored_count() == before


# -- validly signed garbage: the parsers must refuse it cleanly ------------------------------------


@FUZZ
@given(data=st.data())
def test_signed_fuzz_never_5xx(world: World, http: httpx.Client, data: st.DataObject) -> None:
    sample = data.draw(st.sampled_from(world.samples))
    body = _mutated_body(data, sample.endpoint, sample.body, sample.headers)
    headers = world.sign(sample.endpoint, sample.headers, body)
    relay = "meta" if sample.endpoint.startswith("/webhooks/meta") else "twilio"
    response = http.post(world.url(sample.endpoint, relay), content=body, headers=headers)
    _assert_handled(response, sample.endpoint)


def test_a_signed_telegram_update_with_a_sender_of_the_wrong_type_gets_400(
    world: World, http: httpx.Client
) -> None:
    """Found by the fuzz: ``"from": true`` made the adapter raise AttributeError (a 500)."""
    sample = next(s for s in world.samples if s.endpoint.startswith("/webhooks/telegram"))
    update = json.loads(sample.body)
    update["message"]["from"] = True
    body = json.dumps(update).encode()
    before = world.stored_count()
    headers = world.sign(sample.endpoint, sample.headers, body)
    response = http.post(world.url(sample.endpoint), content=body, headers=headers)
    assert response.status_code == 400
    assert world.stored_count() == before


def _mutated_body(data: st.DataObject, path: str, body: bytes, headers: dict[str, str]) -> bytes:
    kind = headers.get("Content-Type", "")
    if path.startswith("/webhooks/twilio"):
        fields = dict(parse_qsl(body.decode(), keep_blank_values=True))
        for key in data.draw(st.lists(st.sampled_from(sorted(fields)), max_size=4)):
            fields[key] = data.draw(st.text(max_size=40))
        if data.draw(st.booleans()):
            fields.pop(data.draw(st.sampled_from(sorted(fields))), None)
        return form_body(fields)
    if "multipart" in kind:
        return _mutated_multipart(data, body)
    try:
        decoded = json.loads(body)
    except ValueError:
        return data.draw(RAW)
    return json.dumps(data.draw(mutated(decoded))).encode()


def _mutated_multipart(data: st.DataObject, body: bytes) -> bytes:
    """An Inbound Parse body with some fields replaced by junk (encodings, headers, JSON)."""
    from providers.sandbox.sendgrid_api import multipart

    parts = []
    for chunk in body.split(b"--xYzZY")[1:-1]:
        head, _, value = chunk.partition(b"\r\n\r\n")
        name = head.split(b'name="', 1)[1].split(b'"', 1)[0].decode()
        value = value.removesuffix(b"\r\n")
        if data.draw(st.integers(0, 3)) == 0:
            value = data.draw(st.binary(max_size=200) | st.text(max_size=80).map(str.encode))
        parts.append((name, value, None, None))
    return multipart("xYzZY", parts)


# -- replay outside the tolerance window ----------------------------------------------------------


def test_sendgrid_event_replayed_outside_the_tolerance_is_refused(
    world: World, http: httpx.Client
) -> None:
    events = [
        {
            "email": "m@example.fr",
            "event": "open",
            "sg_message_id": "replay.1",
            "sg_event_id": "replay-ev",
            "timestamp": 1,
        }
    ]
    body = json.dumps(events).encode()
    path = "/webhooks/sendgrid/events"
    before = world.stored_count()
    for stamp in (str(int(time.time()) - 3600), str(int(time.time()) + 3600), "nan", "inf"):
        headers = {
            "Content-Type": "application/json",
            "X-Twilio-Email-Event-Webhook-Timestamp": stamp,
            "X-Twilio-Email-Event-Webhook-Signature": world.sandbox.sendgrid.sign(stamp, body),
        }
        response = http.post(world.url(path), content=body, headers=headers)
        assert response.status_code in (401, 403), (stamp, response.status_code)
    assert world.stored_count() == before

    fresh = world.sign(path, {"Content-Type": "application/json"}, body)
    assert http.post(world.url(path), content=body, headers=fresh).status_code == 200
    assert world.stored_count() == before + 1


# -- the pull API ---------------------------------------------------------------------------------


@FUZZ
@given(auth=st.one_of(st.none(), HEADER_TEXT, HEADER_TEXT.map(lambda s: ("Bearer " + s).strip())))
def test_pull_refuses_missing_and_wrong_tokens(
    world: World, http: httpx.Client, auth: str | None
) -> None:
    headers = {} if auth is None else {"Authorization": auth}
    if auth and auth.removeprefix("Bearer ").strip() in (TOKEN_A, TOKEN_B):
        return
    events = http.get(world.url("/events"), headers=headers)
    ack = http.post(world.url("/events/ack"), headers=headers, content=b'{"ids": [1, 2, 3]}')
    assert events.status_code == 401 and ack.status_code == 401
    assert "events" not in events.text


@FUZZ
@given(
    after=st.one_of(st.integers(-(2**70), 2**70).map(str), HEADER_TEXT),
    wait=st.sampled_from(["", "0", "-1", "nan", "-inf", "1e400", "x", "0.01"]),
    ids=JSON,
)
def test_pull_never_leaks_another_tenant_and_never_5xx(
    world: World, http: httpx.Client, after: str, wait: str, ids: Any
) -> None:
    auth = {"Authorization": f"Bearer {TOKEN_A}"}
    response = http.get(world.url("/events"), params={"after": after, "wait": wait}, headers=auth)
    _assert_handled(response, "GET /events")
    if response.status_code == 200:
        for event in response.json()["events"]:
            assert b"other tenant" not in base64.b64decode(event["body"])
            assert event["dedupe_key"] != "other-tenant-secret-event"
    acked = http.post(world.url("/events/ack"), headers=auth, content=json.dumps({"ids": ids}))
    _assert_handled(acked, "POST /events/ack")


def test_pull_gives_each_token_its_own_tenant_only(world: World, http: httpx.Client) -> None:
    b = http.get(world.url("/events"), headers={"Authorization": f"Bearer {TOKEN_B}"}).json()
    assert [e["dedupe_key"] for e in b["events"]] == ["other-tenant-secret-event"]
    a = http.get(world.url("/events"), headers={"Authorization": f"Bearer {TOKEN_A}"}).json()
    assert "other-tenant-secret-event" not in [e["dedupe_key"] for e in a["events"]]
    # tenant A cannot acknowledge (hide) tenant B's event
    other_id = b["events"][0]["id"]
    ack = http.post(
        world.url("/events/ack"),
        headers={"Authorization": f"Bearer {TOKEN_A}"},
        content=json.dumps({"ids": [other_id]}),
    )
    assert ack.json() == {"acked": 0}
    again = http.get(world.url("/events"), headers={"Authorization": f"Bearer {TOKEN_B}"}).json()
    assert [e["id"] for e in again["events"]] == [other_id]


# -- size limits ----------------------------------------------------------------------------------


@pytest.mark.parametrize("signed", [False, True])
def test_bodies_over_the_limit_get_413(world: World, http: httpx.Client, signed: bool) -> None:
    before = world.stored_count()
    for relay, path in _paths(world):
        if "{secret}" in path:  # a path secret nobody set up is refused (404) before the body
            continue
        limit = MAX_EMAIL if path == "/webhooks/sendgrid/inbound" else MAX_BODY
        body = b"Body=" + b"x" * (limit + 1)
        headers = world.sign(path, {}, body) if signed else {}
        response = http.post(world.url(path, relay), content=body, headers=headers)
        assert response.status_code == 413, path
    assert world.stored_count() == before


def test_genuine_samples_are_accepted(world: World, http: httpx.Client) -> None:
    """The harness itself: every genuine signed request gets 200 (so the fuzz reaches parsers)."""
    for sample in world.samples:
        relay = "meta" if sample.endpoint.startswith("/webhooks/meta") else "twilio"
        headers = world.sign(sample.endpoint, sample.headers, sample.body)
        response = http.post(
            world.url(sample.endpoint, relay), content=sample.body, headers=headers
        )
        assert response.status_code == 200, (sample.endpoint, response.text)
