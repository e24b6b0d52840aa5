"""Twilio Messages (2010-04-01) on loopback, and Twilio's signed form webhooks."""

from __future__ import annotations

import base64
import builtins
import json
import re
from collections.abc import Sequence
from email.utils import format_datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlencode

from aiohttp import web

from core.channels.segments import count_segments
from core.storage.types import utcnow
from providers.sandbox.core import WEBHOOK_PATHS, Webhook, json_response, new_id
from providers.sandbox.personas import TINY_PNG, persona_for

if TYPE_CHECKING:
    from providers.sandbox.core import Sandbox

WINDOW_CLOSED = (
    "Message failed to send because more than 24 hours have passed since the customer last "
    "replied to this number."
)
UNREACHABLE = "Unknown destination handset"
E164 = re.compile(r"^\+[1-9]\d{6,14}$")
#: Single-word replies Twilio handles itself on long codes (case-insensitive).
OPT_OUT_WORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"})
OPT_IN_WORDS = frozenset({"START", "YES", "UNSTOP"})
HELP_WORDS = frozenset({"HELP", "INFO"})
ERRORS = {
    "invalid_number": (400, 21211, "The 'To' number {to} is not a valid phone number."),
    "unsubscribed": (400, 21610, "Attempt to send to unsubscribed recipient"),
    "rate_limit": (429, 20429, "Too Many Requests"),
    "server_error": (500, 20500, "Internal Server Error"),
    "unauthorized": (401, 20003, "Authenticate"),
}


def keyword(text: str) -> str | None:
    """``STOP``/``START``/``HELP`` when ``text`` is one of Twilio's single-word keywords."""
    word = text.strip().upper()
    if word in OPT_OUT_WORDS:
        return "STOP"
    if word in OPT_IN_WORDS:
        return "START"
    return "HELP" if word in HELP_WORDS else None


def twilio_date(moment: Any = None) -> str:
    """A date as Twilio's JSON writes it (RFC 2822, GMT)."""
    return format_datetime(moment or utcnow(), usegmt=True)


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
    """The Messages resource, its media, the opt-out list and the webhooks."""

    sms_number = "+33700000001"
    whatsapp_number = "+33700000002"
    #: The WhatsApp sender's channel installation (``ChannelInstallSid`` of its callbacks).
    channel_install_sid = "XE" + "5a" * 16

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.messages: dict[str, dict[str, Any]] = {}
        #: message SID → media SID → (content type, bytes)
        self.media_files: dict[str, dict[str, tuple[str, bytes]]] = {}
        #: (prospect, our number) pairs that answered STOP and not yet START (SMS/MMS).
        self.opted_out: set[tuple[str, str]] = set()

    def routes(self, prefix: str) -> list[web.RouteDef]:
        """The Messages endpoints under ``prefix``."""
        base = prefix + "/2010-04-01/Accounts/{account}/Messages"
        return [
            web.post(base + ".json", self.create),
            web.get(base + ".json", self.list),
            web.get(base + "/{sid}.json", self.fetch),
            web.get(base + "/{sid}/Media.json", self.media_list),
            web.get(base + "/{sid}/Media/{media}.json", self.media_fetch),
            web.get(base + "/{sid}/Media/{media}", self.media),
        ]

    def not_found(self, request: web.Request, status: int) -> web.Response:
        """Twilio's 404 for a resource it does not have."""
        return error_body(404, 20404, f"The requested resource {request.path} was not found")

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
        whatsapp = to.startswith("whatsapp:")
        failure = self.sandbox.take_failure("twilio", to, "whatsapp" if whatsapp else "sms")
        if failure == "timeout" and not await self.sandbox.timed_out():
            return error_body(*ERRORS["server_error"])  # nobody is listening any more
        if failure == "unauthorized":
            return error_body(*ERRORS["unauthorized"])
        if failure in ("invalid_number", "rate_limit", "server_error") or not E164.match(
            to.removeprefix("whatsapp:")
        ):
            status, code, text = ERRORS[failure or "invalid_number"]
            return error_body(status, code, text.format(to=to))
        sender = (one.get("From") or "").removeprefix("whatsapp:")
        if failure == "unsubscribed" or (
            not whatsapp and (to, sender or self.sms_number) in self.opted_out
        ):
            return error_body(*ERRORS["unsubscribed"])
        if failure == "outside_window" and (not whatsapp or one.get("ContentSid")):
            failure = None  # only free-form WhatsApp messages are bound to the 24 h window
        message = self._record(one, form)
        answer = json_response(message, status=201)  # as created, before the lifecycle
        self._lifecycle(message, one.get("StatusCallback"), failure)
        return answer

    @staticmethod
    def _template_body(one: dict[str, str]) -> str:
        """The text of a Content API template as Twilio reports it: its variables filled in."""
        try:
            variables = json.loads(one.get("ContentVariables") or "{}")
        except ValueError:
            variables = {}
        values = (
            [str(variables[k]) for k in sorted(variables, key=str)]
            if isinstance(variables, dict)
            else []
        )
        return " ".join([f"[{one['ContentSid']}]", *values])

    def _record(self, one: dict[str, str], form: dict[str, list[str]]) -> dict[str, Any]:
        account = self.sandbox.credentials["twilio"]["account_sid"]
        sid = new_id("MM" if form.get("MediaUrl") else "SM")
        body = one.get("Body", "")
        if one.get("ContentSid") and not body:
            body = self._template_body(one)
        now = twilio_date()
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
        self.media_files[sid] = {
            new_id("ME"): ("image/png", TINY_PNG) for _ in form.get("MediaUrl", [])
        }
        return message

    async def fetch(self, request: web.Request) -> web.Response:
        """``GET /Messages/{sid}.json``."""
        self.sandbox.log("twilio", request, None)
        if not self._authorized(request):
            return error_body(*ERRORS["unauthorized"])
        message = self.messages.get(request.match_info["sid"])
        if message is None:
            return self.not_found(request, 404)
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
        return json_response(self._page(request.path, "messages", items, size))

    @staticmethod
    def _page(path: str, key: str, items: builtins.list[Any], size: int) -> dict[str, Any]:
        uri = path.split("/2010-04-01", 1)[-1]
        uri = "/2010-04-01" + uri + "?" + urlencode({"PageSize": size, "Page": 0})
        return {
            key: items,
            "end": max(len(items) - 1, 0),
            "first_page_uri": uri,
            "next_page_uri": None,
            "page": 0,
            "page_size": size,
            "previous_page_uri": None,
            "start": 0,
            "uri": uri,
        }

    def _media_item(self, message: dict[str, Any], media_sid: str) -> dict[str, Any]:
        kind, _ = self.media_files[message["sid"]][media_sid]
        base = message["uri"].removesuffix(".json")
        return {
            "account_sid": message["account_sid"],
            "content_type": kind,
            "date_created": message["date_created"],
            "date_updated": message["date_updated"],
            "parent_sid": message["sid"],
            "sid": media_sid,
            "uri": f"{base}/Media/{media_sid}.json",
        }

    async def media_list(self, request: web.Request) -> web.Response:
        """``GET /Messages/{sid}/Media.json``: the media of a message."""
        self.sandbox.log("twilio", request, None)
        if not self._authorized(request):
            return error_body(*ERRORS["unauthorized"])
        message = self.messages.get(request.match_info["sid"])
        if message is None:
            return self.not_found(request, 404)
        items = [self._media_item(message, sid) for sid in self.media_files[message["sid"]]]
        size = int(request.query.get("PageSize", "50"))
        return json_response(self._page(request.path, "media_list", items[:size], size))

    async def media_fetch(self, request: web.Request) -> web.Response:
        """``GET /Messages/{sid}/Media/{ME}.json``: one media's metadata."""
        self.sandbox.log("twilio", request, None)
        if not self._authorized(request):
            return error_body(*ERRORS["unauthorized"])
        message = self.messages.get(request.match_info["sid"])
        media_sid = request.match_info["media"]
        if message is None or media_sid not in self.media_files.get(message["sid"], {}):
            return self.not_found(request, 404)
        return json_response(self._media_item(message, media_sid))

    async def media(self, request: web.Request) -> web.Response:
        """A media file's content (``MediaUrlN``); Basic auth as for the API."""
        self.sandbox.log("twilio", request, None)
        if not self._authorized(request):
            return error_body(*ERRORS["unauthorized"])
        files = self.media_files.get(request.match_info["sid"], {})
        found = files.get(request.match_info["media"])
        if found is None:
            return self.not_found(request, 404)
        return web.Response(body=found[1], content_type=found[0])

    def media_url(self, message_sid: str, media_sid: str) -> str:
        """Where a media file of ``message_sid`` is fetched (with the account's credentials)."""
        account = self.sandbox.credentials["twilio"]["account_sid"]
        return (
            f"{self.sandbox.base_urls['twilio']}/2010-04-01/Accounts/{account}/Messages/"
            f"{message_sid}/Media/{media_sid}"
        )

    # ---------------------------------------------------------------- lifecycle

    def _advance(self, message: dict[str, Any], status: str, code: str | None) -> None:
        """What Twilio's resource shows once a status happened (applied when it is posted)."""
        now = utcnow()
        message["status"] = status
        message["date_updated"] = twilio_date(now)
        if status == "sent":
            message["date_sent"] = twilio_date(now)
        if code:
            message["error_code"] = int(code)
            message["error_message"] = WINDOW_CLOSED if code == "63016" else UNREACHABLE

    def _lifecycle(
        self, message: dict[str, Any], callback: str | None, failure: str | None
    ) -> None:
        whatsapp = message["to"].startswith("whatsapp:")
        steps: list[tuple[str, str | None]]
        if failure == "outside_window":
            steps = [("failed", "63016")]
        elif failure == "bounce":
            steps = [("sent", None), ("undelivered", "30005")]
        else:
            steps = [("sent", None), ("delivered", None), *([("read", None)] if whatsapp else [])]
        for status, code in steps:  # no callback for "queued": it is the create's answer
            effect = _Effect(self, message, status, code)
            if callback:
                self.enqueue_status(callback, message, status, code, effect=effect)
            else:
                self.sandbox.later(effect)
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
                (message["from"] or self.sms_number),
                persona.reply or "",
                whatsapp=whatsapp,
                profile_name=persona.name,
                media=[("image/png", TINY_PNG)] if persona.photo else (),
            )

    # ---------------------------------------------------------------- webhooks

    def _form_webhook(
        self,
        kind: str,
        url: str | None,
        params: dict[str, str | builtins.list[str]],
        effect: Any = None,
    ) -> None:
        url = self.sandbox.target("twilio", url)
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
        self.sandbox.enqueue(Webhook("twilio", kind, url or "", headers, body, effect=effect))

    def enqueue_status(
        self,
        url: str,
        message: dict[str, Any],
        status: str,
        code: str | None,
        *,
        effect: Any = None,
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
        if message.get("messaging_service_sid"):
            params["MessagingServiceSid"] = message["messaging_service_sid"]
        if code:
            params["ErrorCode"] = code
        if message["to"].startswith("whatsapp:"):
            params["ChannelPrefix"] = "whatsapp"
            params["ChannelInstallSid"] = self.channel_install_sid
            params["ChannelToAddress"] = message["to"].removeprefix("whatsapp:")
            event = {"delivered": "DELIVERED", "read": "READ"}.get(status)
            if code:
                event = "UNDELIVERED"
                params["ChannelStatusMessage"] = WINDOW_CLOSED if code == "63016" else UNREACHABLE
            if event:
                params["EventType"] = event
        elif status in ("delivered", "undelivered"):
            params["RawDlrDoneDate"] = utcnow().strftime("%y%m%d%H%M")
        self._form_webhook("status", url, params, effect)

    def enqueue_inbound(
        self,
        sender: str,
        to: str,
        text: str,
        *,
        whatsapp: bool = False,
        profile_name: str | None = None,
        media: Sequence[str | tuple[str, bytes]] = (),
        opt_out: str | None = None,
        location: tuple[float, float, str] | None = None,
        button_payload: str | None = None,
    ) -> str:
        """A prospect's message to the relay's inbound URL; returns its ``MessageSid``.

        ``media``: URLs, or (content type, bytes) that the sandbox serves under the inbound
        message (``MediaUrlN`` = ``…/Messages/{MM}/Media/{ME}``, fetched with Basic auth).
        A single-word STOP/START on SMS changes the opt-out list, as Twilio does.
        """
        sid = new_id("SM" if not media else "MM")
        account = self.sandbox.credentials["twilio"]["account_sid"]
        prefix = "whatsapp:" if whatsapp else ""
        prospect, ours = sender.removeprefix("whatsapp:"), to.removeprefix("whatsapp:")
        params: dict[str, str | list[str]] = {
            "AccountSid": account,
            "ApiVersion": "2010-04-01",
            "Body": text,
            "From": prefix + prospect,
            "MessageSid": sid,
            "NumMedia": str(len(media)),
            "NumSegments": "1",
            "ReferralNumMedia": "0",
            "SmsMessageSid": sid,
            "SmsSid": sid,
            "SmsStatus": "received",
            "To": prefix + ours,
        }
        self._store_inbound(sid, params, text)
        for n, item in enumerate(media):
            if isinstance(item, str):
                url, kind = item, "image/png"
            else:
                kind, content = item
                media_sid = new_id("ME")
                self.media_files[sid][media_sid] = (kind, content)
                url = self.media_url(sid, media_sid)
            params[f"MediaUrl{n}"] = url
            params[f"MediaContentType{n}"] = kind
        if whatsapp:
            params["ProfileName"] = profile_name or ""
            params["WaId"] = prospect.lstrip("+")
            params["MessageType"] = "image" if media else "location" if location else "text"
        else:
            opt_out = opt_out or keyword(text)
            if opt_out == "STOP":
                self.opted_out.add((prospect, ours))
            elif opt_out == "START":
                self.opted_out.discard((prospect, ours))
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
        self._form_webhook(
            "inbound", self.sandbox.relay(WEBHOOK_PATHS["twilio_inbound"], "twilio"), params
        )
        return sid

    def _store_inbound(self, sid: str, params: dict[str, Any], text: str) -> None:
        """Keep the inbound message as a resource (fetch, media list), as Twilio does."""
        account = params["AccountSid"]
        uri = f"/2010-04-01/Accounts/{account}/Messages/{sid}"
        now = twilio_date()
        self.messages[sid] = {
            "account_sid": account,
            "api_version": "2010-04-01",
            "body": text,
            "date_created": now,
            "date_sent": now,
            "date_updated": now,
            "direction": "inbound",
            "error_code": None,
            "error_message": None,
            "from": params["From"],
            "messaging_service_sid": None,
            "num_media": params["NumMedia"],
            "num_segments": "1",
            "price": None,
            "price_unit": "USD",
            "sid": sid,
            "status": "received",
            "subresource_uris": {"media": f"{uri}/Media.json", "feedback": f"{uri}/Feedback.json"},
            "to": params["To"],
            "uri": f"{uri}.json",
        }
        self.media_files[sid] = {}


class _Effect:
    """A status change of a message, applied when its callback is posted."""

    def __init__(
        self, emulator: TwilioEmulator, message: dict[str, Any], status: str, code: str | None
    ) -> None:
        self.emulator, self.message, self.status, self.code = emulator, message, status, code

    def __call__(self) -> None:
        self.emulator._advance(self.message, self.status, self.code)
