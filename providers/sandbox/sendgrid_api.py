"""SendGrid Mail Send v3 on loopback, ECDSA-signed Event Webhook and Inbound Parse posts."""

from __future__ import annotations

import base64
import json
import time
from email.utils import make_msgid
from typing import TYPE_CHECKING, Any

from aiohttp import web

from providers.sandbox.core import WEBHOOK_PATHS, Webhook, json_response, new_id
from providers.sandbox.personas import AUTO_REPLY_HEADERS, TINY_PNG, persona_for

if TYPE_CHECKING:
    from providers.sandbox.core import Sandbox


USER_AGENT = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko)"
BAD_KEY = "The provided authorization grant is invalid, expired, or revoked"


HELP = "http://sendgrid.com/docs/API_Reference/Web_API_v3/Mail/errors.html#message"


def errors_body(status: int, message: str, field: str | None = None) -> web.Response:
    """SendGrid's ``{"errors": [{message, field, help}]}`` answer (``field`` when one is at fault).

    ``help`` is the documentation link SendGrid answers with (see the conformance suite's spec
    notes: the OpenAPI file types it as an object).
    """
    error: dict[str, Any] = {"message": message}
    if field:
        error["field"] = field
    error["help"] = HELP + ("." + field.split(".")[0] if field else "")
    headers = {"Retry-After": "3"} if status == 429 else None
    return json_response({"errors": [error]}, status=status, headers=headers)


#: Events in one batched post (~550 bytes each: well under SendGrid's 768 KB and the relay's 1 MB).
EVENTS_PER_POST = 500


class SendGridEmulator:
    """Mail Send and the two webhooks; signs events with a P-256 key made at start."""

    from_email = "agence@coccinelle.test"

    def __init__(self, sandbox: Sandbox) -> None:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ec

        self.sandbox = sandbox
        self.mails: dict[str, dict[str, Any]] = {}
        self._key = ec.generate_private_key(ec.SECP256R1())
        der = self._key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        #: The Event Webhook verification key, as SendGrid shows it (base64 DER, no armour).
        self.public_key_b64 = base64.b64encode(der).decode()
        #: Post the events of all the sends since the last flush together, as SendGrid does
        #: (a batch every 30 s or 768 KB); off: one post per send, which tests follow easily.
        self.batch_events = False
        self._batched: list[dict[str, Any]] = []

    def routes(self, prefix: str) -> list[web.RouteDef]:
        """``POST /v3/mail/send`` under ``prefix``."""
        return [web.post(prefix + "/v3/mail/send", self.send)]

    def not_found(self, request: web.Request, status: int) -> web.Response:
        """SendGrid's answer for a route it does not have."""
        if status == 405:
            return errors_body(405, "method not allowed")
        return errors_body(404, "resource not found")

    async def send(self, request: web.Request) -> web.Response:
        """Validate like SendGrid, answer 202 with an empty body and ``X-Message-Id``."""
        raw = await request.read()
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        self.sandbox.log("sendgrid", request, body)
        api_key = self.sandbox.credentials["sendgrid"]["api_key"]
        if request.headers.get("Authorization") != f"Bearer {api_key}":
            return errors_body(401, BAD_KEY)
        problem = self._validate(body)
        if problem:
            return errors_body(400, *problem)
        to = body["personalizations"][0]["to"][0]["email"]
        failure = self.sandbox.take_failure("sendgrid", to, "email")
        if failure == "timeout" and not await self.sandbox.timed_out():
            return errors_body(500, "internal error")
        if failure == "unauthorized":
            return errors_body(401, BAD_KEY)
        if failure == "invalid_number":
            return errors_body(
                400, "Does not contain a valid address.", "personalizations.0.to.0.email"
            )
        if failure == "rate_limit":
            return errors_body(429, "too many requests")
        if failure == "server_error":
            return errors_body(500, "internal error")
        if (body.get("mail_settings") or {}).get("sandbox_mode", {}).get("enable"):
            return web.Response(status=200)
        message_id = new_id("", 22).replace("-", "")
        self.mails[message_id] = body
        custom = {
            **(body.get("custom_args") or {}),
            **(body["personalizations"][0].get("custom_args") or {}),
        }
        self._events(message_id, to, custom, failure)
        persona = persona_for(to)
        said = " ".join(str(c.get("value") or "") for c in body.get("content") or [])
        if persona and failure is None and self.sandbox.replies.answers(persona, "email", said):
            if persona.calls:
                self.sandbox.vapi.inbound_call(persona.phone)
            if persona.auto_reply:
                self.enqueue_inbound(
                    persona.email,
                    persona.name,
                    body,
                    persona.reply or "",
                    subject_prefix="Réponse automatique : ",
                    headers=AUTO_REPLY_HEADERS,
                )
            elif persona.reply:
                photo = (("photo.png", "image/png", TINY_PNG),) if persona.photo else ()
                self.enqueue_inbound(
                    persona.email, persona.name, body, persona.reply, attachments=photo
                )
        return web.Response(status=202, headers={"X-Message-Id": message_id})

    @staticmethod
    def _validate(body: Any) -> tuple[str, str] | None:
        if not isinstance(body, dict):
            return "Bad Request", "body"
        personalizations = body.get("personalizations")
        if not personalizations or not isinstance(personalizations, list):
            return "The personalizations field is required.", "personalizations"
        if not personalizations[0].get("to"):
            return (
                "The to array is required for all personalization objects.",
                "personalizations.0.to",
            )
        if not (body.get("from") or {}).get("email"):
            return "The from object must be provided for every email send.", "from.email"
        if not body.get("subject") and not any(p.get("subject") for p in personalizations):
            return "The subject is required.", "subject"
        content = body.get("content") or []
        if not content and not body.get("template_id"):
            return (
                "Unless a valid template_id is provided, the content parameter is required.",
                "content",
            )
        types = [c.get("type") for c in content]
        if (
            "text/html" in types
            and "text/plain" in types
            and types.index("text/plain") > types.index("text/html")
        ):
            return "text/plain must come before text/html", "content"
        for i, attachment in enumerate(body.get("attachments") or []):
            try:
                base64.b64decode(attachment.get("content", ""), validate=True)
            except ValueError:
                return "The attachment content must be base64 encoded.", f"attachments.{i}.content"
        return None

    # ---------------------------------------------------------------- webhooks

    def sign(self, timestamp: str, body: bytes) -> str:
        """The base64 DER ECDSA (P-256, SHA-256) signature of ``timestamp + body``."""
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec

        return base64.b64encode(
            self._key.sign(timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
        ).decode()

    def _events(
        self, message_id: str, to: str, custom: dict[str, Any], failure: str | None
    ) -> None:
        kinds = {
            "bounce": ["processed", "bounce"],
            "unsubscribed": ["dropped"],
        }.get(failure or "", ["processed", "delivered", "open", "click"])
        events = []
        now = int(time.time())
        for kind in kinds:
            event = {
                "email": to,
                "timestamp": now,
                "event": kind,
                "sg_event_id": new_id("", 22),
                "sg_message_id": f"{message_id}.recvd-sandbox-1-{new_id('', 8)}.0",
                "smtp-id": f"<{message_id}@sandbox.sendgrid.test>",
                "category": ["inbox"],
                **custom,
            }
            if kind == "bounce":
                event.update(
                    type="bounce",
                    status="5.1.1",
                    reason="550 5.1.1 The email account does not exist.",
                    bounce_classification="Invalid Address",
                )
            if kind == "dropped":
                event.update(reason="Unsubscribed Address", status="5.0.0")
            if kind == "delivered":
                event.update(response="250 OK", ip="127.0.0.1", tls=1)
            if kind in ("open", "click"):
                event.update(useragent=USER_AGENT, ip="192.0.2.10")
            if kind == "open":
                event["sg_machine_open"] = False
            if kind == "click":
                event.update(
                    url="https://coccinelle.test/rdv", url_offset={"index": 0, "type": "html"}
                )
            events.append(event)
        if not self.batch_events:
            self.enqueue_events(events)
            return
        if not self._batched:
            self.sandbox.later(self._enqueue_batched)
        self._batched.extend(events)

    def _enqueue_batched(self) -> None:
        """The events batched since the last flush, in posts of ``EVENTS_PER_POST`` at most."""
        events, self._batched = self._batched, []
        for start in range(0, len(events), EVENTS_PER_POST):
            self.enqueue_events(events[start : start + EVENTS_PER_POST])

    def enqueue_events(self, events: list[dict[str, Any]], timestamp: str | None = None) -> None:
        """A signed Event Webhook batch to the relay."""
        body = json.dumps(events).encode() + b"\r\n"
        stamp = timestamp or str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "SendGrid Event API",
            "X-Twilio-Email-Event-Webhook-Signature": self.sign(stamp, body),
            "X-Twilio-Email-Event-Webhook-Timestamp": stamp,
        }
        url = self.sandbox.relay(WEBHOOK_PATHS["sendgrid_events"], "sendgrid") or ""
        self.sandbox.enqueue(Webhook("sendgrid", "events", url, headers, body))

    def enqueue_inbound(
        self,
        sender: str,
        name: str,
        original: dict[str, Any],
        text: str,
        *,
        charset: str = "utf-8",
        attachments: tuple[tuple[str, str, bytes], ...] = (),
        subject_prefix: str = "Re: ",
        headers: dict[str, str] | None = None,
    ) -> str:
        """A reply through Inbound Parse (multipart, texts encoded in ``charset``);
        ``headers`` are added to the e-mail's headers (``Auto-Submitted``…)."""
        message_id = make_msgid(domain="prospects.test")
        thread = (original.get("headers") or {}).get("References", "")
        subject = subject_prefix + (original.get("subject") or "")
        to = original["from"]["email"]
        headers_block = (
            f"From: {name} <{sender}>\r\nTo: {to}\r\nSubject: {subject}\r\n"
            f"Message-ID: {message_id}\r\n"
            + (f"In-Reply-To: {thread.split()[-1]}\r\nReferences: {thread}\r\n" if thread else "")
            + "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
        )
        fields = {
            "headers": headers_block,
            "from": f"{name} <{sender}>",
            "to": to,
            "subject": subject,
            "text": text,
            "html": f"<p>{text}</p>",
            "sender_ip": "127.0.0.1",
            "envelope": json.dumps({"to": [to], "from": sender}),
            "charsets": json.dumps({k: charset for k in ("to", "from", "subject", "text", "html")}),
            "SPF": "pass",
            "dkim": "{@prospects.test : pass}",
            "attachments": str(len(attachments)),
        }
        parts: list[tuple[str, bytes, str | None, str | None]] = []
        for key, value in fields.items():
            encoded = value.encode(
                charset if key in ("from", "subject", "text", "html") else "utf-8"
            )
            parts.append((key, encoded, None, None))
        info = {}
        for n, (filename, kind, content) in enumerate(attachments, start=1):
            parts.append((f"attachment{n}", content, filename, kind))
            info[f"attachment{n}"] = {"filename": filename, "name": filename, "type": kind}
        if info:
            parts.append(("attachment-info", json.dumps(info).encode(), None, None))
        boundary = "xYzZY"
        body = multipart(boundary, parts)
        secret = self.sandbox.credentials["sendgrid"]["inbound_secret"]
        auth = base64.b64encode(f"inbound:{secret}".encode()).decode()
        headers = {
            "Content-Type": f"multipart/form-data; boundary={boundary}",
            "Authorization": f"Basic {auth}",
        }
        url = self.sandbox.relay(WEBHOOK_PATHS["sendgrid_inbound"], "sendgrid") or ""
        self.sandbox.enqueue(Webhook("sendgrid", "inbound", url, headers, body))
        return message_id


def multipart(boundary: str, parts: list[tuple[str, bytes, str | None, str | None]]) -> bytes:
    """A ``multipart/form-data`` body: (name, bytes, filename, content type) per part."""
    out = bytearray()
    for name, value, filename, kind in parts:
        out += f"--{boundary}\r\n".encode()
        disposition = f'form-data; name="{name}"'
        if filename:
            disposition += f'; filename="{filename}"'
        out += f"Content-Disposition: {disposition}\r\n".encode()
        if kind:
            out += f"Content-Type: {kind}\r\n".encode()
        out += b"\r\n" + value + b"\r\n"
    out += f"--{boundary}--\r\n".encode()
    return bytes(out)
