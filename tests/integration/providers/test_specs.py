"""The sandbox answers with the shapes of the providers' published OpenAPI specs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from jsonschema import Draft202012Validator

from core.channels.adapter import Attachment, OutgoingMessage
from core.domain.enums import Channel
from providers.sendgrid.adapter import SendGridAdapter

from .conftest import config_for

SPECS = Path("/work/shared/specs")
pytestmark = pytest.mark.skipif(not SPECS.exists(), reason="shared specs not present")


def resolve(node: Any, root: dict[str, Any], depth: int = 0) -> Any:
    """Inline local ``$ref``s and turn OpenAPI 3.0 ``nullable`` into JSON Schema."""
    if depth > 40:
        return {}
    if isinstance(node, list):
        return [resolve(n, root, depth + 1) for n in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        target: Any = root
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        return resolve(target, root, depth + 1)
    out = {
        k: resolve(v, root, depth + 1) for k, v in node.items() if k not in ("example", "examples")
    }
    if out.pop("nullable", False) and "type" in out:
        out["type"] = [out["type"], "null"]
    if out.get("format") in ("date-time-rfc-2822", "phone-number", "uri-map", "currency", "uri"):
        out.pop("format")
    return out


def validator(spec: str, *path: str) -> Draft202012Validator:
    root = json.loads((SPECS / spec).read_text())
    node: Any = root
    for part in path:
        node = resolve(node[part], root) if part == path[-1] else node[part]
    return Draft202012Validator(node)


def twilio_messages_path():
    return ("paths", "/2010-04-01/Accounts/{AccountSid}/Messages.json")


async def test_twilio_create_fetch_list_match_spec(sandbox):
    creds = sandbox.credentials["twilio"]
    base = f"{sandbox.base_urls['twilio']}/2010-04-01/Accounts/{creds['account_sid']}"
    message = validator(
        "twilio_api_v2010.json", "components", "schemas", "api.v2010.account.message"
    )
    async with httpx.AsyncClient(auth=(creds["account_sid"], creds["auth_token"])) as client:
        created = await client.post(
            f"{base}/Messages.json",
            data={"To": "+33612000003", "From": "+33700000001", "Body": "Bonjour"},
        )
        assert created.status_code == 201
        message.validate(created.json())
        fetched = await client.get(f"{base}/Messages/{created.json()['sid']}.json")
        message.validate(fetched.json())
        listed = await client.get(f"{base}/Messages.json", params={"To": "+33612000003"})
        page = json.loads((SPECS / "twilio_api_v2010.json").read_text())
        schema = page["paths"]["/2010-04-01/Accounts/{AccountSid}/Messages.json"]["get"][
            "responses"
        ]["200"]["content"]["application/json"]["schema"]
        Draft202012Validator(resolve(schema, page)).validate(listed.json())
        assert [m["sid"] for m in listed.json()["messages"]] == [created.json()["sid"]]
        invalid = await client.post(
            f"{base}/Messages.json", data={"To": "12", "From": "+33700000001", "Body": "x"}
        )
        assert invalid.status_code == 400
        assert invalid.json() == {
            "code": 21211,
            "message": "The 'To' number 12 is not a valid phone number.",
            "more_info": "https://www.twilio.com/docs/errors/21211",
            "status": 400,
        }
    async with httpx.AsyncClient(auth=(creds["account_sid"], "wrong")) as client:
        denied = await client.get(f"{base}/Messages.json")
        assert denied.status_code == 401 and denied.json()["code"] == 20003


async def test_sendgrid_request_and_responses_match_spec(sandbox, relay):
    root = json.loads((SPECS / "sendgrid_tsg_mail_v3.json").read_text())
    request_schema = resolve(
        root["components"]["requestBodies"]["PostMailSend"]["content"]["application/json"][
            "schema"
        ],
        root,
    )
    error_schema = resolve(root["components"]["schemas"]["ErrorResponse"], root)
    adapter = SendGridAdapter(config_for(sandbox, relay, "sendgrid", "sendgrid"))
    body = adapter.build_body(
        OutgoingMessage(
            channel=Channel.EMAIL,
            to="lea@prospects.test",
            subject="Visite",
            text="t",
            html="<p>h</p>",
            attachments=(Attachment("a.txt", "text/plain", content=b"a"),),
            reply_to="r@coccinelle.test",
            in_reply_to="<m1@x>",
            reference="ref-1",
        )
    )
    Draft202012Validator(request_schema).validate(body)
    url = sandbox.base_urls["sendgrid"] + "/v3/mail/send"
    headers = {"Authorization": "Bearer " + sandbox.credentials["sendgrid"]["api_key"]}
    async with httpx.AsyncClient(headers=headers) as client:
        accepted = await client.post(url, json=body)
        assert accepted.status_code == 202 and accepted.content == b""
        assert accepted.headers["X-Message-Id"]
        rejected = await client.post(url, json={**body, "personalizations": []})
        assert rejected.status_code == 400
        Draft202012Validator(error_schema).validate(rejected.json())
        denied = await client.post(url, json=body, headers={"Authorization": "Bearer nope"})
        assert denied.status_code == 401
        Draft202012Validator(error_schema).validate(denied.json())
