"""VAPI's ``/call`` on loopback, and its server messages (status updates, end-of-call report)."""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import time
import uuid
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from aiohttp import web

from core.storage.types import utcnow
from providers.sandbox.core import WEBHOOK_PATHS, Webhook, json_response
from providers.sandbox.personas import persona_for

if TYPE_CHECKING:
    from providers.sandbox.core import Sandbox


def nest_error(status: int, message: str, error: str) -> web.Response:
    """VAPI's (NestJS) error body."""
    headers = {"Retry-After": "10"} if status == 429 else None
    return json_response(
        {"message": message, "error": error, "statusCode": status}, status=status, headers=headers
    )


def iso(moment: Any) -> str:
    """An ISO-8601 UTC time as VAPI writes it (milliseconds, ``Z``)."""
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


#: How the sandbox authenticates its server messages: the current credential-based schemes
#: (``hmac``: ``x-signature`` = hex HMAC-SHA256 of ``{timestamp}.{body}`` with ``x-timestamp``;
#: ``bearer``: ``Authorization: Bearer <secret>``) and the legacy ``X-Vapi-Secret`` header.
SERVER_AUTH_MODES = ("hmac", "bearer", "legacy")


class VapiEmulator:
    """Outbound calls that ring, talk and end with a report."""

    assistant_id = "asst-sandbox-0001"
    phone_number_id = "pn-sandbox-0001"
    org_id = "org-sandbox-0001"
    number = "+33700000004"

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.calls: dict[str, dict[str, Any]] = {}
        #: Which of ``SERVER_AUTH_MODES`` the server messages carry (all valid at once is allowed).
        self.server_auth: tuple[str, ...] = ("hmac", "legacy")

    def routes(self, prefix: str) -> list[web.RouteDef]:
        """``POST /call``, ``GET /call``, ``GET /call/{id}`` under ``prefix``."""
        return [
            web.post(prefix + "/call", self.create),
            web.get(prefix + "/call", self.list),
            web.get(prefix + "/call/{id}", self.fetch),
        ]

    def not_found(self, request: web.Request, status: int) -> web.Response:
        """NestJS's answer for a route it does not have."""
        return nest_error(404, f"Cannot {request.method} {request.path}", "Not Found")

    def _authorized(self, request: web.Request) -> bool:
        return (
            request.headers.get("Authorization")
            == f"Bearer {self.sandbox.credentials['vapi']['api_key']}"
        )

    async def create(self, request: web.Request) -> web.Response:
        """Start a call: 201 with the call ``queued``; it rings, talks and ends at ``flush``."""
        try:
            body = await request.json()
        except ValueError:
            body = None
        self.sandbox.log("vapi", request, body)
        if not self._authorized(request):
            return nest_error(
                401,
                "Invalid Key. Hot tip, you may be using the private key instead of the public key.",
                "Unauthorized",
            )
        number = ((body or {}).get("customer") or {}).get("number")
        failure = self.sandbox.take_failure("vapi", number, "voice") if number else None
        if not number or failure == "invalid_number":
            return nest_error(
                400,
                "customer.number must be a valid phone number in the E.164 format",
                "Bad Request",
            )
        if failure == "timeout" and not await self.sandbox.timed_out():
            return nest_error(500, "Internal server error", "Internal Server Error")
        if failure == "unauthorized":
            return nest_error(401, "Invalid Key.", "Unauthorized")
        if failure == "rate_limit":
            return nest_error(429, "Too Many Requests", "Too Many Requests")
        if failure == "server_error":
            return nest_error(500, "Internal server error", "Internal Server Error")
        now = iso(utcnow())
        call = {
            "id": str(uuid.uuid4()),
            "orgId": self.org_id,
            "type": "outboundPhoneCall",
            "status": "queued",
            "createdAt": now,
            "updatedAt": now,
            "assistantId": body.get("assistantId"),
            "phoneNumberId": body.get("phoneNumberId"),
            "customer": body["customer"],
        }
        self.calls[call["id"]] = call
        answer = json_response(call, status=201)  # as created, before it rings
        self.play_call(call)
        return answer

    async def fetch(self, request: web.Request) -> web.Response:
        """One call."""
        self.sandbox.log("vapi", request, None)
        if not self._authorized(request):
            return nest_error(401, "Invalid Key.", "Unauthorized")
        call = self.calls.get(request.match_info["id"])
        return json_response(call) if call else nest_error(404, "Call not found", "Not Found")

    async def list(self, request: web.Request) -> web.Response:
        """Calls, newest first."""
        self.sandbox.log("vapi", request, None)
        if not self._authorized(request):
            return nest_error(401, "Invalid Key.", "Unauthorized")
        return json_response(
            list(reversed(self.calls.values()))[: int(request.query.get("limit", "100"))]
        )

    def auth_headers(self, body: bytes) -> dict[str, str]:
        """The server-authentication headers of one server message (``server_auth``)."""
        secret = self.sandbox.credentials["vapi"]["webhook_secret"]
        headers: dict[str, str] = {}
        if "hmac" in self.server_auth:
            stamp = str(int(time.time() * 1000))
            signed = stamp.encode() + b"." + body
            headers["x-timestamp"] = stamp
            headers["x-signature"] = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
        if "bearer" in self.server_auth:
            headers["Authorization"] = f"Bearer {secret}"
        if "legacy" in self.server_auth:
            headers["X-Vapi-Secret"] = secret
        return headers

    def _post(self, message: dict[str, Any], effect: Any = None) -> None:
        body = json.dumps({"message": message}).encode()
        headers = {"Content-Type": "application/json", **self.auth_headers(body)}
        url = self.sandbox.relay(WEBHOOK_PATHS["vapi"], "vapi") or ""
        self.sandbox.enqueue(Webhook("vapi", message["type"], url, headers, body, effect=effect))

    def _phone_number(self) -> dict[str, Any]:
        return {
            "provider": "vapi",
            "name": "Agence Coccinelle",
            "assistantId": self.assistant_id,
            "numberDesiredAreaCode": "33",
        }

    def play_call(self, call: dict[str, Any], duration: float = 42.0) -> None:
        """Queue ringing → in-progress → ended, then the end-of-call report.

        The call resource changes as each message is posted (``flush``), as it does at VAPI.
        """
        started = utcnow()
        ended = started + timedelta(seconds=duration)
        persona = persona_for(call["customer"].get("number"))
        name = persona.name if persona else "Prospect"
        updates = {
            "ringing": {},
            "in-progress": {"startedAt": iso(started)},
            "ended": {"endedAt": iso(ended), "endedReason": "customer-ended-call"},
        }
        for status, change in updates.items():
            extra = {"endedReason": "customer-ended-call"} if status == "ended" else {}
            state = {**call, **change, "status": status, "updatedAt": iso(utcnow())}
            for done in list(updates)[: list(updates).index(status)]:
                state.update(updates[done])
            self._post(
                {
                    "type": "status-update",
                    "status": status,
                    "call": state,
                    "customer": call["customer"],
                    "phoneNumber": self._phone_number(),
                    "timestamp": int(started.timestamp() * 1000),
                    **extra,
                },
                effect=_Update(call, state),
            )
        transcript = (
            f"AI: Bonjour {name}, ici l'agence Coccinelle.\n"
            "User: Bonjour, oui je confirme le rendez-vous de jeudi.\n"
            "AI: Parfait, à jeudi !"
        )
        minutes = round(duration / 60, 4)
        costs = [
            {"type": "transport", "provider": "twilio", "minutes": minutes, "cost": 0.02},
            {"type": "vapi", "subType": "normal", "minutes": minutes, "cost": 0.1},
        ]
        final = {
            **call,
            "status": "ended",
            "startedAt": iso(started),
            "endedAt": iso(ended),
            "endedReason": "customer-ended-call",
            "cost": 0.12,
            "updatedAt": iso(ended),
        }
        self._post(
            {
                "type": "end-of-call-report",
                "call": final,
                "customer": call["customer"],
                "phoneNumber": self._phone_number(),
                "endedReason": "customer-ended-call",
                "startedAt": final["startedAt"],
                "endedAt": final["endedAt"],
                "cost": 0.12,
                "costs": costs,
                "artifact": {
                    "transcript": transcript,
                    "recordingUrl": f"https://storage.vapi.test/{call['id']}-mono.wav",
                    "messages": [],
                },
                "analysis": {
                    "summary": f"{name} confirme le rendez-vous de jeudi.",
                    "successEvaluation": "true",
                },
                "timestamp": int(ended.timestamp() * 1000),
            },
            effect=_Update(call, final),
        )

    def inbound_call(self, number: str) -> str:
        """A prospect calls in; returns the call id."""
        now = iso(utcnow())
        call: dict[str, Any] = {
            "id": str(uuid.uuid4()),
            "orgId": self.org_id,
            "type": "inboundPhoneCall",
            "status": "ringing",
            "createdAt": now,
            "updatedAt": now,
            "customer": {"number": number},
            "phoneNumberId": self.phone_number_id,
            "assistantId": self.assistant_id,
        }
        self.calls[call["id"]] = call
        self.play_call(call)
        return call["id"]


class _Update:
    """The call resource taking the state a server message announced, once it is posted."""

    def __init__(self, call: dict[str, Any], state: dict[str, Any]) -> None:
        self.call, self.state = call, copy.deepcopy(state)

    def __call__(self) -> None:
        self.call.update(self.state)
