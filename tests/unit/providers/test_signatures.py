"""Signature checks with the providers' published algorithms and known keys."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import json
import time
from urllib.parse import urlencode

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from core.channels.errors import SignatureError
from providers.meta.adapter import MetaWhatsAppAdapter
from providers.sendgrid.adapter import SendGridAdapter
from providers.telegram.adapter import TelegramAdapter
from providers.twilio.sms import TwilioSmsAdapter

from .helpers import config, request

# The test vector of twilio's own suites (providers.md §1.7).
TWILIO_URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
TWILIO_PARAMS = {
    "CallSid": "CA1234567890ABCDE",
    "Caller": "+14158675309",
    "Digits": "1234",
    "From": "+14158675309",
    "To": "+18005551212",
}
TWILIO_SIGNATURE = "RSOYDt4T1cUTdK1PDd93/VVr8B8="


def twilio() -> TwilioSmsAdapter:
    return TwilioSmsAdapter(config(account_sid="AC1", auth_token="12345"))


def test_twilio_known_vector_passes():
    twilio().verify(
        request(urlencode(TWILIO_PARAMS).encode(), TWILIO_URL, x_twilio_signature=TWILIO_SIGNATURE)
    )


def test_twilio_port_is_forgiven():
    url = TWILIO_URL.replace("mycompany.com", "mycompany.com:443")
    twilio().verify(
        request(urlencode(TWILIO_PARAMS).encode(), url, x_twilio_signature=TWILIO_SIGNATURE)
    )


@pytest.mark.parametrize(
    ("body", "url"),
    [
        (urlencode({**TWILIO_PARAMS, "Digits": "1235"}).encode(), TWILIO_URL),
        (urlencode(TWILIO_PARAMS).encode(), TWILIO_URL.replace("bar=2", "bar=3")),
        (urlencode(TWILIO_PARAMS).encode(), TWILIO_URL.replace("https", "http")),
        (urlencode({**TWILIO_PARAMS, "Extra": "1"}).encode(), TWILIO_URL),
    ],
)
def test_twilio_changed_byte_or_url_fails(body, url):
    with pytest.raises(SignatureError):
        twilio().verify(request(body, url, x_twilio_signature=TWILIO_SIGNATURE))


def test_twilio_missing_header_is_named():
    with pytest.raises(SignatureError, match="X-Twilio-Signature"):
        twilio().verify(request(urlencode(TWILIO_PARAMS).encode(), TWILIO_URL))


# SendGrid: ECDSA P-256 / SHA-256 over timestamp + raw body, key as base64 DER.
KEY = ec.derive_private_key(0x5EED, ec.SECP256R1())
PUBLIC = base64.b64encode(
    KEY.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
).decode()
EVENTS = (
    b'[{"email":"a@b.c","event":"delivered","sg_event_id":"e1",'
    b'"sg_message_id":"m1.x","timestamp":1}]\r\n'
)


def sendgrid_signed(body: bytes, stamp: str) -> tuple[SendGridAdapter, object]:
    signature = base64.b64encode(
        KEY.sign(stamp.encode() + body, ec.ECDSA(hashes.SHA256()))
    ).decode()
    adapter = SendGridAdapter(config(api_key="k", options={"event_public_key": PUBLIC}))
    return adapter, request(
        EVENTS,
        x_twilio_email_event_webhook_signature=signature,
        x_twilio_email_event_webhook_timestamp=stamp,
    )


def test_sendgrid_signature_passes():
    adapter, signed = sendgrid_signed(EVENTS, str(int(time.time())))
    adapter.verify(signed)


def test_sendgrid_changed_byte_fails():
    adapter, signed = sendgrid_signed(EVENTS, str(int(time.time())))
    for body in (EVENTS.replace(b"delivered", b"delivereD"), EVENTS.rstrip(b"\r\n")):
        with pytest.raises(SignatureError):
            adapter.verify(dataclasses.replace(signed, body=body))


def test_sendgrid_stale_timestamp_fails_even_if_signed():
    stale = str(int(time.time() - SendGridAdapter.timestamp_tolerance - 60))
    adapter, signed = sendgrid_signed(EVENTS, stale)
    with pytest.raises(SignatureError, match="too old"):
        adapter.verify(signed)


def test_sendgrid_other_key_fails():
    adapter, signed = sendgrid_signed(EVENTS, str(int(time.time())))
    other = ec.generate_private_key(ec.SECP256R1()).public_key()
    der = other.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    adapter = SendGridAdapter(
        config(api_key="k", options={"event_public_key": base64.b64encode(der).decode()})
    )
    with pytest.raises(SignatureError):
        adapter.verify(signed)


def test_meta_hub_signature():
    body = json.dumps({"object": "whatsapp_business_account", "entry": []}).encode()
    good = "sha256=" + hmac.new(b"app-secret", body, hashlib.sha256).hexdigest()
    adapter = MetaWhatsAppAdapter(
        config(access_token="t", app_secret="app-secret", verify_token="v")
    )
    adapter.verify(request(body, x_hub_signature_256=good))
    with pytest.raises(SignatureError):
        adapter.verify(request(body + b" ", x_hub_signature_256=good))
    with pytest.raises(SignatureError, match="X-Hub-Signature-256"):
        adapter.verify(request(body))


def test_telegram_secret_token():
    adapter = TelegramAdapter(config(bot_token="1:a", webhook_secret="s3cret"))
    adapter.verify(request(b"{}", x_telegram_bot_api_secret_token="s3cret"))
    for wrong in ("s3cre", "s3cret ", ""):
        with pytest.raises(SignatureError):
            adapter.verify(request(b"{}", x_telegram_bot_api_secret_token=wrong))


@pytest.mark.parametrize("token", ["12345", "", "k" * 64, "k" * 65, "é" * 40])
def test_twilio_signature_is_hmac_sha1_whatever_the_token_length(token: str) -> None:
    from providers.twilio.signature import signature_of

    data = TWILIO_URL + "".join(k + TWILIO_PARAMS[k] for k in sorted(TWILIO_PARAMS))
    expected = hmac.new(token.encode(), data.encode(), hashlib.sha1).digest()
    form = {k: [v] for k, v in TWILIO_PARAMS.items()}
    assert signature_of(token, TWILIO_URL, form) == base64.b64encode(expected).decode()
