"""The shapes of what has no published schema: Twilio's form callbacks, SendGrid's Event Webhook
and Inbound Parse, and the providers' error bodies.

Written for this project from the providers' documentation (each block names its source; the
same facts, with more context, are in the shared ``docs/providers.md``). A field set is
``required`` (must be there), ``optional`` (may be there); anything else is a difference.
``patterns`` give the value shapes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

SID = {
    "AccountSid": r"AC[0-9a-f]{32}",
    "MessageSid": r"(SM|MM)[0-9a-f]{32}",
    "SmsSid": r"(SM|MM)[0-9a-f]{32}",
    "SmsMessageSid": r"(SM|MM)[0-9a-f]{32}",
    "MessagingServiceSid": r"MG[0-9a-f]{32}",
    "ChannelInstallSid": r"XE[0-9a-f]{32}",
}

# Twilio status callback: twilio.com/docs/messaging/guides/track-outbound-message-status,
# changelog "Addition of RawDlrDoneDate to delivered and undelivered status webhooks",
# twilio.com/docs/api/errors/63016 (ChannelStatusMessage), docs/providers.md §1.5.
TWILIO_STATUS_REQUIRED = {
    "AccountSid",
    "ApiVersion",
    "From",
    "MessageSid",
    "MessageStatus",
    "SmsSid",
    "SmsStatus",
    "To",
}
TWILIO_STATUS_OPTIONAL = {"MessagingServiceSid", "ErrorCode", "ErrorMessage"}
TWILIO_STATUS_POSTED = {"sent", "delivered", "undelivered", "failed", "read", "canceled"}
TWILIO_CHANNEL_FIELDS = {"ChannelPrefix", "ChannelInstallSid", "ChannelToAddress"}
TWILIO_EVENT_TYPES = {
    "delivered": "DELIVERED",
    "read": "READ",
    "undelivered": "UNDELIVERED",
    "failed": "UNDELIVERED",
}

# Twilio inbound message: twilio.com/docs/messaging/guides/webhook-request, docs/providers.md §1.4.
TWILIO_INBOUND_REQUIRED = {
    "AccountSid",
    "ApiVersion",
    "Body",
    "From",
    "MessageSid",
    "NumMedia",
    "NumSegments",
    "ReferralNumMedia",
    "SmsMessageSid",
    "SmsSid",
    "SmsStatus",
    "To",
}
TWILIO_INBOUND_OPTIONAL = {
    "MessagingServiceSid",
    "FromCity",
    "FromState",
    "FromZip",
    "FromCountry",
    "ToCity",
    "ToState",
    "ToZip",
    "ToCountry",
    "OptOutType",
    "ProfileName",
    "WaId",
    "MessageType",
    "ButtonText",
    "ButtonPayload",
    "OriginalRepliedMessageSid",
    "OriginalRepliedMessageSender",
    "Forwarded",
    "FrequentlyForwarded",
    "Latitude",
    "Longitude",
    "Address",
    "Label",
}


def twilio_status(form: Mapping[str, str]) -> list[str]:
    """Differences of a status callback from Twilio's."""
    status = form.get("MessageStatus", "")
    whatsapp = form.get("To", "").startswith("whatsapp:")
    required = set(TWILIO_STATUS_REQUIRED)
    optional = set(TWILIO_STATUS_OPTIONAL)
    if whatsapp:
        required |= TWILIO_CHANNEL_FIELDS
        if status in TWILIO_EVENT_TYPES:
            required.add("EventType")
        if form.get("ErrorCode"):
            required.add("ChannelStatusMessage")
    elif status in ("delivered", "undelivered"):
        required.add("RawDlrDoneDate")
    if status in ("failed", "undelivered"):
        required.add("ErrorCode")
    found = _field_set(form, required, optional)
    if status not in TWILIO_STATUS_POSTED:
        found.append(f"MessageStatus {status!r}: Twilio posts no callback for it")
    if form.get("SmsStatus") != status:
        found.append("SmsStatus differs from MessageStatus")
    if "EventType" in form and form["EventType"] != TWILIO_EVENT_TYPES.get(status):
        found.append(f"EventType {form['EventType']!r} for status {status!r}")
    found += _patterns(form, {**SID, "RawDlrDoneDate": r"\d{10}", "ErrorCode": r"\d{5}"})
    return found


def twilio_inbound(form: Mapping[str, str], media_base: str) -> list[str]:
    """Differences of an inbound-message webhook from Twilio's.

    ``media_base``: the API root ``MediaUrlN`` must start with (``…/2010-04-01/Accounts/AC…``).
    """
    try:
        count = int(form.get("NumMedia", "x"))
    except ValueError:
        return ["NumMedia: not a number"]
    media = {f"{k}{n}" for n in range(count) for k in ("MediaUrl", "MediaContentType")}
    whatsapp = form.get("From", "").startswith("whatsapp:")
    required = TWILIO_INBOUND_REQUIRED | media | ({"WaId", "ProfileName"} if whatsapp else set())
    found = _field_set(form, required, TWILIO_INBOUND_OPTIONAL)
    if form.get("SmsStatus") != "received":
        found.append(f"SmsStatus {form.get('SmsStatus')!r}, not 'received'")
    sid = form.get("MessageSid", "")
    for n in range(count):
        expected = f"{media_base}/Messages/{sid}/Media/"
        url = form.get(f"MediaUrl{n}", "")
        if not (url.startswith(expected) and re.fullmatch(r"ME[0-9a-f]{32}", url[len(expected) :])):
            found.append(f"MediaUrl{n} {url!r} is not a media of message {sid}")
    if form.get("OptOutType") not in (None, "STOP", "START", "HELP"):
        found.append(f"OptOutType {form['OptOutType']!r}")
    found += _patterns(form, SID)
    return found


# SendGrid Event Webhook: twilio.com/docs/sendgrid/for-developers/tracking-events/event
# ("Event objects"), docs/providers.md §2.4.
SENDGRID_EVENT_COMMON = {
    "email": str,
    "timestamp": int,
    "event": str,
    "sg_event_id": str,
    "sg_message_id": str,
}
SENDGRID_EVENT_OPTIONAL = {
    "smtp-id": str,
    "category": (str, list),
    "asm_group_id": int,
    "marketing_campaign_id": int,
    "marketing_campaign_name": str,
}
SENDGRID_EVENT_FIELDS: dict[str, dict[str, Any]] = {
    "processed": {},
    "dropped": {"reason": str, "status": str},
    "delivered": {"response": str, "ip": str, "tls": int},
    "deferred": {"response": str, "attempt": str},
    "bounce": {"type": str, "reason": str, "status": str, "bounce_classification": str},
    "open": {"useragent": str, "ip": str, "sg_machine_open": bool},
    "click": {"url": str, "url_offset": dict, "useragent": str, "ip": str},
    "spamreport": {},
    "unsubscribe": {},
    "group_unsubscribe": {"useragent": str, "ip": str, "asm_group_id": int},
    "group_resubscribe": {"useragent": str, "ip": str, "asm_group_id": int},
}


def sendgrid_event(event: Mapping[str, Any], custom_args: set[str]) -> list[str]:
    """Differences of one Event Webhook event from SendGrid's (``custom_args`` may be added)."""
    kind = event.get("event")
    if kind not in SENDGRID_EVENT_FIELDS:
        return [f"event {kind!r}: not a SendGrid event type"]
    required = {**SENDGRID_EVENT_COMMON, **SENDGRID_EVENT_FIELDS[kind]}
    found = [f"{name}: missing" for name in required if name not in event]
    for name, value in event.items():
        kind_of = required.get(name) or SENDGRID_EVENT_OPTIONAL.get(name)
        if kind_of is None:
            if name not in custom_args:
                found.append(f"{name}: not a field of a {kind} event")
        elif not isinstance(value, kind_of) or (kind_of is int and isinstance(value, bool)):
            found.append(f"{name}: {type(value).__name__}, expected {kind_of}")
    if kind == "click" and set(event.get("url_offset") or {}) != {"index", "type"}:
        found.append("url_offset: expected {index, type}")
    return found


# Inbound Parse (default mode): twilio.com/docs/sendgrid/for-developers/parsing-email/
# setting-up-the-inbound-parse-webhook ("Default parameters"), docs/providers.md §2.3.
SENDGRID_PARSE_REQUIRED = {
    "headers",
    "from",
    "to",
    "subject",
    "sender_ip",
    "envelope",
    "charsets",
    "SPF",
    "dkim",
    "attachments",
}
SENDGRID_PARSE_OPTIONAL = {
    "text",
    "html",
    "cc",
    "spam_score",
    "spam_report",
    "attachment-info",
    "content-ids",
    "email",
}


def sendgrid_inbound(fields: set[str], files: set[str], count: int) -> list[str]:
    """Differences of an Inbound Parse post from SendGrid's (field names, attachment parts)."""
    found = _field_set(dict.fromkeys(fields, ""), SENDGRID_PARSE_REQUIRED, SENDGRID_PARSE_OPTIONAL)
    expected = {f"attachment{n}" for n in range(1, count + 1)}
    if files != expected:
        found.append(f"attachment parts {sorted(files)}, expected {sorted(expected)}")
    if count and "attachment-info" not in fields:
        found.append("attachment-info: missing")
    return found


# Error bodies. Twilio: twilio.com/docs/usage/twilios-response#response-formats-exceptions;
# SendGrid: twilio.com/docs/sendgrid/api-reference/mail-send/errors; Meta:
# developers.facebook.com/docs/graph-api/guides/error-handling and the WhatsApp error codes page
# (error_data.details, fbtrace_id); Telegram: core.telegram.org/bots/api#making-requests.
ERROR_FIELDS: dict[str, dict[str, Any]] = {
    "twilio": {"code": int, "message": str, "more_info": str, "status": int},
    "telegram": {"ok": bool, "error_code": int, "description": str},
}


def error_body(provider: str, status: int, body: Any) -> list[str]:
    """Differences of an error body from the provider's documented format."""
    if not isinstance(body, dict):
        return ["not a JSON object"]
    found: list[str] = []
    if provider in ERROR_FIELDS:
        for name, kind in ERROR_FIELDS[provider].items():
            if not isinstance(body.get(name), kind):
                found.append(f"{name}: missing or not {kind.__name__}")
        if provider == "twilio" and body.get("status") != status:
            found.append("status differs from the HTTP status")
        if provider == "telegram" and (
            body.get("ok") is not False or body.get("error_code") != status
        ):
            found.append("ok/error_code do not match the HTTP status")
        if (
            provider == "telegram"
            and status == 429
            and "retry_after" not in (body.get("parameters") or {})
        ):
            found.append("parameters.retry_after: missing on a 429")
    elif provider == "sendgrid":
        errors = body.get("errors")
        if not errors:
            return ["errors: missing"]
        for i, error in enumerate(errors):
            if not isinstance(error.get("message"), str):
                found.append(f"errors[{i}].message: missing")
            if not isinstance(error.get("help"), str):
                found.append(f"errors[{i}].help: missing")
            if "field" in error and not isinstance(error["field"], str):
                found.append(f"errors[{i}].field: not a string")
    elif provider == "meta":
        error = body.get("error") or {}
        for name, kind in (
            ("message", str),
            ("type", str),
            ("code", int),
            ("error_subcode", int),
            ("error_data", dict),
            ("fbtrace_id", str),
        ):
            if not isinstance(error.get(name), kind):
                found.append(f"error.{name}: missing or not {kind.__name__}")
        if not isinstance((error.get("error_data") or {}).get("details"), str):
            found.append("error.error_data.details: missing")
    return found


def _field_set(form: Mapping[str, Any], required: set[str], optional: set[str]) -> list[str]:
    found = [f"{name}: missing" for name in sorted(required - set(form))]
    found += [
        f"{name}: not a field the provider sends here"
        for name in sorted(set(form) - required - optional)
    ]
    return found


def _patterns(form: Mapping[str, str], patterns: Mapping[str, str]) -> list[str]:
    return [
        f"{name} {form[name]!r} does not match {pattern}"
        for name, pattern in patterns.items()
        if name in form and not re.fullmatch(pattern, form[name])
    ]
