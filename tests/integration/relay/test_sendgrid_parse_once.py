"""An Inbound Parse mail is parsed once per request: the relay's verification, dedupe keys and
parse share one python-multipart parse, and ingest parses the stored body once more."""

from __future__ import annotations

import threading

import pytest

from core.channels import multipart as form
from core.channels.adapter import AdapterConfig, WebhookRequest
from core.channels.errors import MalformedWebhook
from core.service import InboxService
from providers.sandbox.sendgrid_api import multipart
from providers.sendgrid.adapter import SendGridAdapter
from tests.integration.relay.test_sendgrid_path_secret import inbound_mail
from tests.relay_fakes import FakeAdapters
from tests.relay_harness import running_relay

SECRET = "sg-parse-once-secret-7a6b"


def _count_parsers(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    real = form.MultipartParser

    def counted(*args: object, **kwargs: object) -> object:
        calls.append(threading.get_ident())
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(form, "MultipartParser", counted)
    return calls


async def test_one_parse_in_the_relay_one_at_ingest(
    service: InboxService, monkeypatch: pytest.MonkeyPatch
) -> None:
    sendgrid = SendGridAdapter(
        AdapterConfig(
            base_url="http://sendgrid.invalid",
            credentials={"api_key": "SG.k", "inbound_secret": SECRET},
        )
    )
    calls = _count_parsers(monkeypatch)
    body, headers = inbound_mail()
    async with running_relay(service, FakeAdapters(email=sendgrid)) as relay:  # type: ignore[arg-type]
        url = relay.url(f"/webhooks/sendgrid/inbound/{SECRET}")
        async with relay.http.post(url, data=body, headers=headers) as response:
            assert response.status == 200
        assert len(calls) == 1  # verify, parse and dedupe_keys shared it
        await relay.worker.run_once()
        [event] = await relay.stored()
    assert event.status == "processed", event.error
    assert event.dedupe_key == "sendgrid:inbound:<m1@example.fr>"
    assert len(calls) == 2  # ingest parses the stored body once


async def test_a_large_mail_is_parsed_off_the_event_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _count_parsers(monkeypatch)
    big = b"x" * (form.THREAD_THRESHOLD_BYTES + 1)
    body = multipart("b0", [("from", b"a@b.c", None, None), ("f", big, "f.bin", "text/plain")])
    request = WebhookRequest(
        "POST", "https://r.invalid/in", {"content-type": "multipart/form-data; boundary=b0"}, body
    )
    await form.prepare_form(request, len(body))
    parts = form.form_parts(request)
    assert [p.name for p in parts] == ["from", "f"] and parts[1].data == big
    assert calls and calls[0] != threading.get_ident() and len(calls) == 1


@pytest.mark.parametrize(
    "body",
    [
        b'--b0\r\nContent-Disposition: form-data; name="from"\r\n\r\na@b.c\r\n',  # no closing
        b'--b0\r\nContent-Disposition: form-data; name="from"\r\n\r\na@b.c\r\n--b0--\r\n'[:-9],
        b"not a form at all",
    ],
)
def test_a_cut_off_or_malformed_form_is_refused(body: bytes) -> None:
    with pytest.raises(MalformedWebhook):
        form.parse_form(body, "multipart/form-data; boundary=b0")
