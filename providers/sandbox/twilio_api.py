"""Twilio Messages (2010-04-01) on loopback, and Twilio's signed form webhooks."""

from __future__ import annotations

import base64
import re
from email.utils import format_datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlencode

from aiohttp import web

from core.channels.segments import count_segments
from core.storage.types import utcnow
from providers.sandbox.core import WEBHOOK_PATHS, Webhook, json_response, new_id
from providers.sandbox.personas import persona_for

if TYPE_CHECKING:
    from providers.sandbox.core import Sandbox

WINDOW_CLOSED = (
    "Message failed to send because more than 24 hours have passed since the customer last "
    "replied to this number."
)
#: A 1×1 PNG: what the photo persona sends.
TINY_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)
E164 = re.compile(r"^\+[1-9]\d{6,14}$")
ERRORS = {
    "invalid_number": (400, 21211, "The 'To' number {to} is not a valid phone number."),
    "unsubscribed": (400, 21610, "Attempt to send to unsubscribed recipient"),
    "rate_limit": (429, 20429, "Too Many Requests"),
    "server_error": (500, 20500, "Internal Server Error"),
    "unauthorized": (401, 20003, "Authenticate"),
}


def error_body(status: int, code: int, message: str) -> web.Response:
    """Twilio's legacy error body."""
    body = {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }
    headers = {"Retry-After": "2"} if status == 429 else None
    return json_response(body, status=status, headers=headers)


def sign(auth_token: str, url: str, params: dict[str, list[str]]) -> str:
    """``X-Twilio-Signature`` as Twilio computes it (through twilio's own validator)."""
    from twilio.request_validator import RequestValidator

    class _Form(dict[str, list[str]]):
        def getlist(self, key: str) -> list[str]:
            return self[key]

    return RequestValidator(auth_token).compute_signature(url, _Form(params))


class TwilioEmulator:
    """The Messages resource and its webhooks."""

    sms_number = "+33700000001"
    whatsapp_number = "+33700000002"

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.messages: dict[str, dict[str, Any]] = {}

    def routes(self, prefix: str) -> list[web.RouteDef]:
        """The Messages endpoints under ``prefix``."""
        base = prefix + "/2010-04-01/Accounts/{account}/Messages"
        return [
            web.post(base + ".json", self.create),
            web.get(base + ".json", self.list),
            web.get(base + "/{sid}.json", self.fetch),
            web.get(base + "/{sid}/Media/{media}", self.media),
        ]

    # ---------------------------------------------------------------- API

    def _authorized(self, request: web.Request) -> bool:
        creds = self.sandbox.credentials["twilio"]
        expected = base64.b64encode(
            f"{creds['account_sid']}:{creds['auth_token']}".encode()
        ).decode()
        return (
            request.headers.get("Authorization") == f"Basic {expected}"
            and request.match_info["account"] == creds["account_sid"]
        )

    async def create(self, request: web.Request) -> web.Response:
        """``POST /Accounts/{sid}/Messages.json`` → 201 Message."""
        form = parse_qs(await request.text(), keep_blank_values=True)
        self.sandbox.log("twilio", request, form)
        if not self._authorized(request):
            return error_body(*ERRORS["unauthorized"])
        one = {k: v[0] for k, v in form.items()}
        to = one.get("To")
        if not to:
            return error_body(400, 21604, "A 'To' phone number is required.")
        if not (one.get("From") or one.get("MessagingServiceSid")):
            return error_body(400, 21603, "A 'From' phone number is required.")
        if not (one.get("Body") or form.get("MediaUrl") or one.get("ContentSid")):
            return error_body(400, 21619, "A text message body or media urls must be specified.")
        failure = self.sandbox.take_failure("twilio", to)
        if failure == "outside_window" and one.get("ContentSid"):
            failure = None  # an approved template is what WhatsApp accepts outside the window
        if failure == "timeout":
            await self.sandbox.hang()
        if failure in ERRORS or not E164.match(to.removeprefix("whatsapp:")):
            status, code, text = ERRORS.get(failure or "invalid_number", ERRORS["invalid_number"])
            return error_body(status, code, text.format(to=to))
        message = self._record(one, form)
        answer = json_response(message, status=201)  # as created, before the lifecycle
        self._lifecycle(message, one.get("StatusCallback"), failure)
        return answer

    def _record(self, one: dict[str, str], form: dict[str, list[str]]) -> dict[str, Any]:
        account = self.sandbox.credentials["twilio"]["account_sid"]
        sid = new_id("MM" if form.get("MediaUrl") else "SM")
        body = one.get("Body", "")
        now = format_datetime(utcnow(), usegmt=True)
        segments = count_segments(body).segments if body else 1
        uri = f"/2010-04-01/Accounts/{account}/Messages/{sid}"
        message = {
            "account_sid": account,
            "api_version": "2010-04-01",
            "body": body,
            "date_created": now,
            "date_sent": None,
            "date_updated": now,
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": one.get("From"),
            "messaging_service_sid": one.get("MessagingServiceSid"),
            "num_media": str(len(form.get("MediaUrl", []))),
            "num_segments": str(segments),
            "price": None,
            "price_unit": "USD",
            "sid": sid,
            "status": "queued",
            "subresource_uris": {"media": f"{uri}/Media.json", "feedback": f"{uri}/Feedback.json"},
            "to": one["To"],
            "uri": f"{uri}.json",
        }
        self.messages[sid] = message
        return message

    async def fetch(self, request: web.Request) -> web.Response:
        """``GET /Messages/{sid}.json``."""
        self.sandbox.log("twilio", request, None)
        if not self._authorized(request):
            return error_body(*ERRORS["unauthorized"])
        message = self.messages.get(request.match_info["sid"])
        if message is None:
            return error_body(404, 20404, f"The requested resource {request.path} was not found")
        return json_response(message)

    async def list(self, request: web.Request) -> web.Response:
        """``GET /Messages.json`` with ``To`` / ``From`` filters, newest first."""
        self.sandbox.log("twilio", request, None)
        if not self._authorized(request):
            return error_body(*ERRORS["unauthorized"])
        size = int(request.query.get("PageSize", "50"))
        items = [
            m
            for m in reversed(self.messages.values())
            if request.query.get("To") in (None, m["to"])
            and request.query.get("From") in (None, m["from"])
        ][:size]
        uri = request.path + "?" + urlencode({"PageSize": size, "Page": 0})
        return json_response(
            {
                "messages": items,
                "end": max(len(items) - 1, 0),
                "first_page_uri": uri,
                "next_page_uri": None,
                "page": 0,
                "page_size": size,
                "previous_page_uri": None,
                "start": 0,
                "uri": uri,
            }
        )

    async def media(self, request: web.Request) -> web.Response:
        """A prospect's photo (inbound ``MediaUrlN`` points here; Basic auth as for the API)."""
        self.sandbox.log("twilio", request, None)
        if not self._authorized(request):
            return error_body(*ERRORS["unauthorized"])
        return web.Response(body=TINY_PNG, content_type="image/png")

    def media_url(self, message_sid: str) -> str:
        """Where the photo of an inbound message can be fetched."""
        account = self.sandbox.credentials["twilio"]["account_sid"]
        return (
            f"{self.sandbox.base_urls['twilio']}/2010-04-01/Accounts/{account}/Messages/"
            f"{message_sid}/Media/{new_id('ME')}"
        )

    # ---------------------------------------------------------------- webhooks

    def _lifecycle(
        self, message: dict[str, Any], callback: str | None, failure: str | None
    ) -> None:
        whatsapp = message["to"].startswith("whatsapp:")
        if failure == "outside_window" and whatsapp:
            steps = [("queued", None), ("failed", "63016")]
        else:
            steps = [("queued", None), ("sent", None), ("delivered", None)]
            if whatsapp:
                steps.append(("read", None))
        for status, code in steps:
            message["status"] = status  # the final state is what fetch shows afterwards
            if code:
                message["error_code"] = int(code)
                message["error_message"] = WINDOW_CLOSED
            if callback:
                self.enqueue_status(callback, message, status, code)
        persona = persona_for(message["to"])
        channel = "whatsapp" if whatsapp else "sms"
        if not (
            persona
            and failure is None
            and self.sandbox.replies.answers(
                persona, channel, message.get("body") or message["sid"]
            )
        ):
            return
        if persona.calls:
            self.sandbox.vapi.inbound_call(persona.phone)
        if persona.reply or persona.photo:
            self.enqueue_inbound(
                persona.phone,
                message["from"] or self.sms_number,
                persona.reply or "",
                whatsapp=whatsapp,
                profile_name=persona.name,
                media=[self.media_url(message["sid"])] if persona.photo else (),
                opt_out="STOP" if persona.opt_out else None,
            )

    def _form_webhook(self, kind: str, url: str | None, params: dict[str, str | list[str]]) -> None:
        form = {k: v if isinstance(v, list) else [v] for k, v in params.items()}
        token = self.sandbox.credentials["twilio"]["auth_token"]
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "User-Agent": "TwilioProxy/1.1",
            "I-Twilio-Idempotency-Token": new_id("", 32),
        }
        if url:
            headers["X-Twilio-Signature"] = sign(token, url, form)
        body = urlencode([(k, v) for k, values in form.items() for v in values]).encode()
        self.sandbox.enqueue(Webhook("twilio", kind, url or "", headers, body))

    def enqueue_status(
        self, url: str, message: dict[str, Any], status: str, code: str | None
    ) -> None:
        """A status callback for ``message`` to the ``StatusCallback`` URL."""
        params: dict[str, str | list[str]] = {
            "AccountSid": message["account_sid"],
            "ApiVersion": "2010-04-01",
            "From": message["from"] or "",
            "MessageSid": message["sid"],
            "MessageStatus": status,
            "SmsSid": message["sid"],
            "SmsStatus": status,
            "To": message["to"],
        }
        if message["to"].startswith("whatsapp:"):
            params["ChannelPrefix"] = "whatsapp"
            params["ChannelToAddress"] = message["to"].removeprefix("whatsapp:")
            if status in ("delivered", "read"):
                params["EventType"] = status.upper()
        if code:
            params["ErrorCode"] = code
        self._form_webhook("status", url, params)

    def enqueue_inbound(
        self,
        sender: str,
        to: str,
        text: str,
        *,
        whatsapp: bool = False,
        profile_name: str | None = None,
        media: tuple[str, ...] | list[str] = (),
        opt_out: str | None = None,
        location: tuple[float, float, str] | None = None,
        button_payload: str | None = None,
    ) -> str:
        """A prospect's message to the relay's inbound URL; returns its ``MessageSid``."""
        sid = new_id("SM" if not media else "MM")
        account = self.sandbox.credentials["twilio"]["account_sid"]
        prefix = "whatsapp:" if whatsapp else ""
        params: dict[str, str | list[str]] = {
            "AccountSid": account,
            "ApiVersion": "2010-04-01",
            "Body": text,
            "From": prefix + sender.removeprefix("whatsapp:"),
            "MessageSid": sid,
            "NumMedia": str(len(media)),
            "NumSegments": "1",
            "ReferralNumMedia": "0",
            "SmsMessageSid": sid,
            "SmsSid": sid,
            "SmsStatus": "received",
            "To": prefix + to.removeprefix("whatsapp:"),
        }
        for n, url in enumerate(media):
            params[f"MediaUrl{n}"] = url
            params[f"MediaContentType{n}"] = "image/png"
        if whatsapp:
            params["ProfileName"] = profile_name or ""
            params["WaId"] = sender.lstrip("+").removeprefix("whatsapp:")
            params["MessageType"] = "image" if media else "location" if location else "text"
        if opt_out:
            params["OptOutType"] = opt_out
        if location:
            params["Latitude"], params["Longitude"], params["Label"] = (
                str(location[0]),
                str(location[1]),
                location[2],
            )
        if button_payload:
            params["ButtonPayload"] = button_payload
            params["ButtonText"] = text
        self._form_webhook("inbound", self.sandbox.relay(WEBHOOK_PATHS["twilio_inbound"]), params)
        return sid
