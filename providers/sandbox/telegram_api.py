"""The Telegram Bot API on loopback: messages, commands, webhook and long polling."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from typing import TYPE_CHECKING, Any

from aiohttp import web

from providers.sandbox.core import Webhook, json_response, new_id
from providers.sandbox.personas import TINY_PNG, persona_for

if TYPE_CHECKING:
    from providers.sandbox.core import Sandbox


CONFLICT = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)


def fail(code: int, description: str, **parameters: Any) -> web.Response:
    """Telegram's ``{"ok": false, …}`` answer."""
    body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
    if parameters:
        body["parameters"] = parameters
    return json_response(body, status=code)


class TelegramEmulator:
    """One bot; updates go to the webhook when one is set, else wait for ``getUpdates``."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.bot_id = int(sandbox.credentials["telegram"]["bot_token"].split(":")[0])
        self.webhook_url: str | None = None
        self.webhook_secret: str | None = None
        self.commands: list[dict[str, str]] = []
        self.answered: list[str] = []
        #: The notice shown with each answered tap (None: none shown).
        self.answer_texts: dict[str, str | None] = {}
        self._queries: set[str] = set()
        self.updates: list[dict[str, Any]] = []
        self._next_update = 100000
        # Telegram never reuses a chat's message ids; a sandbox restarted by the demo must not
        # either (the app keys messages by chat and id: an id seen in an earlier run would
        # collide and the new message would stay "sending"). Milliseconds keep them rising.
        self._next_message = time.time_ns() // 1_000_000
        self._new_update = asyncio.Event()
        #: file_id → (file_unique_id, file_path, bytes): what getFile and the download serve.
        self.files: dict[str, tuple[str, str, bytes]] = {}
        self._uploads: dict[str, bytes] = {}

    def routes(self, prefix: str) -> list[web.RouteDef]:
        """``/bot{token}/{method}`` and ``/file/bot{token}/{path}`` under ``prefix``."""
        return [
            web.get(prefix + "/file/bot{token}/{path:.+}", self.download),
            web.route("*", prefix + "/bot{token}/{method}", self.handle),
        ]

    def not_found(self, request: web.Request, status: int) -> web.Response:
        """The Bot API's answer for a path it does not serve."""
        return fail(404, "Not Found")

    def store_file(self, content: bytes, folder: str, extension: str) -> dict[str, Any]:
        """Keep a file as Telegram does; its ``file_id``/``file_unique_id``/``file_size``."""
        file_id, unique = new_id("AgAC", 24), new_id("AQAD", 8)
        path = f"{folder}/file_{len(self.files)}.{extension}"
        self.files[file_id] = (unique, path, content)
        return {"file_id": file_id, "file_unique_id": unique, "file_size": len(content)}

    async def download(self, request: web.Request) -> web.Response:
        """``GET /file/bot<token>/<file_path>``: a file's bytes (the token is the auth)."""
        self.sandbox.log("telegram", request, None)
        if request.match_info["token"] != self.sandbox.credentials["telegram"]["bot_token"]:
            return fail(401, "Unauthorized")
        path = request.match_info["path"]
        for _, file_path, content in self.files.values():
            if file_path == path:
                kind = "image/png" if path.endswith(".png") else "application/octet-stream"
                return web.Response(body=content, content_type=kind)
        return fail(404, "Not Found")

    async def _params(self, request: web.Request) -> dict[str, Any]:
        if request.content_type == "application/json":
            data = await request.json()
        elif request.method == "POST":
            post = await request.post()  # form or (chunked) multipart
            data = {}
            for key, value in post.items():
                if isinstance(value, web.FileField):
                    content = value.file.read()
                    self._uploads[key] = content
                    data[key] = {"filename": value.filename, "size": len(content)}
                else:
                    data[key] = value
        else:
            data = {}
        data.update(request.query)
        for key, value in list(data.items()):
            if isinstance(value, str) and value.startswith("attach://"):
                name = value.removeprefix("attach://")
                data[key] = data.pop(name, value)
                if name in self._uploads:
                    self._uploads[key] = self._uploads.pop(name)
        for key in ("reply_markup", "commands", "allowed_updates", "entities"):
            if isinstance(data.get(key), str):
                data[key] = json.loads(data[key])
        return data

    async def handle(self, request: web.Request) -> web.Response:
        """Dispatch one Bot API method."""
        params = await self._params(request)
        self.sandbox.log("telegram", request, params)
        if request.match_info["token"] != self.sandbox.credentials["telegram"]["bot_token"]:
            return fail(401, "Unauthorized")
        method = request.match_info["method"].lower()
        handler = getattr(self, "m_" + method, None)
        if handler is None:
            return fail(404, "Not Found")
        chat = str(params.get("chat_id", "")) or None
        failure = self.sandbox.take_failure("telegram", chat, "telegram") if chat else None
        if failure == "timeout" and not await self.sandbox.timed_out():
            return fail(500, "Internal Server Error")
        if failure == "unauthorized":
            return fail(401, "Unauthorized")
        if failure == "unsubscribed":
            return fail(403, "Forbidden: bot was blocked by the user")
        if failure == "rate_limit":
            return fail(429, "Too Many Requests: retry after 5", retry_after=5)
        if failure == "server_error":
            return fail(500, "Internal Server Error")
        if failure == "invalid_number":
            return fail(400, "Bad Request: chat not found")
        result = await handler(params)
        if isinstance(result, web.Response):
            return result
        return json_response({"ok": True, "result": result})

    # ---------------------------------------------------------------- methods

    def _user(self) -> dict[str, Any]:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": "Coccinelle",
            "username": "coccinelle_sandbox_bot",
        }

    def _message(self, params: dict[str, Any], **content: Any) -> dict[str, Any]:
        if not params.get("chat_id"):
            return {"error": fail(400, "Bad Request: chat_id is empty")}
        if not _valid_keyboard(params.get("reply_markup")):
            return {"error": fail(400, "Bad Request: BUTTON_DATA_INVALID")}
        chat_id = int(params["chat_id"])
        persona = persona_for(chat_id)
        message = {
            "message_id": self._next_message,
            "from": self._user(),
            "chat": {
                "id": chat_id,
                "type": "private" if chat_id > 0 else "group",
                "first_name": persona.name if persona else "Prospect",
            },
            "date": int(time.time()),
            **content,
        }
        self._next_message += 1
        if params.get("reply_markup"):
            message["reply_markup"] = params["reply_markup"]
        if persona:
            self._react(persona, message)
        return message

    async def m_getme(self, params: dict[str, Any]) -> Any:
        return {
            **self._user(),
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    async def m_sendmessage(self, params: dict[str, Any]) -> Any:
        if not params.get("text"):
            return fail(400, "Bad Request: message text is empty")
        return self._unwrap(self._message(params, text=params["text"]))

    async def m_getfile(self, params: dict[str, Any]) -> Any:
        found = self.files.get(str(params.get("file_id") or ""))
        if found is None:
            return fail(400, "Bad Request: invalid file_id")
        unique, path, content = found
        return {
            "file_id": params["file_id"],
            "file_unique_id": unique,
            "file_size": len(content),
            "file_path": path,
        }

    async def m_sendphoto(self, params: dict[str, Any]) -> Any:
        content = self._uploads.pop("photo", b"") or b"photo"
        photo = {**self.store_file(content, "photos", "jpg"), "width": 800, "height": 600}
        extra = {"caption": params["caption"]} if params.get("caption") else {}
        return self._unwrap(self._message(params, photo=[photo], **extra))

    async def m_senddocument(self, params: dict[str, Any]) -> Any:
        doc = params.get("document")
        name = str(doc["filename"]) if isinstance(doc, dict) else str(doc).rsplit("/", 1)[-1]
        content = self._uploads.pop("document", b"") or b"document"
        extension = name.rsplit(".", 1)[-1] if "." in name else "bin"
        document = {**self.store_file(content, "documents", extension), "file_name": name}
        extra = {"caption": params["caption"]} if params.get("caption") else {}
        return self._unwrap(self._message(params, document=document, **extra))

    async def m_sendlocation(self, params: dict[str, Any]) -> Any:
        location = {"latitude": float(params["latitude"]), "longitude": float(params["longitude"])}
        return self._unwrap(self._message(params, location=location))

    async def m_answercallbackquery(self, params: dict[str, Any]) -> Any:
        query_id = str(params.get("callback_query_id") or "")
        if query_id not in self._queries:
            return fail(
                400,
                "Bad Request: query is too old and response timeout expired or query ID is invalid",
            )
        text = params.get("text")
        if text is not None and len(str(text)) > 200:
            return fail(400, "Bad Request: MESSAGE_TOO_LONG")
        self.answered.append(query_id)
        self.answer_texts[query_id] = str(text) if text else None
        return True

    async def m_setmycommands(self, params: dict[str, Any]) -> Any:
        self.commands = list(params.get("commands") or [])
        return True

    async def m_setwebhook(self, params: dict[str, Any]) -> Any:
        self.webhook_url = params.get("url") or None
        self.webhook_secret = params.get("secret_token")
        return True

    async def m_deletewebhook(self, params: dict[str, Any]) -> Any:
        self.webhook_url = self.webhook_secret = None
        return True

    async def m_getupdates(self, params: dict[str, Any]) -> Any:
        if self.webhook_url:
            return fail(
                409,
                CONFLICT,
            )
        offset = int(params.get("offset") or 0)
        self.updates = [u for u in self.updates if u["update_id"] >= offset]
        timeout = float(params.get("timeout") or 0)
        if not self.updates and timeout > 0:
            self._new_update.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._new_update.wait(), timeout)
        limit = int(params.get("limit") or 100)
        return self.updates[:limit]

    @staticmethod
    def _unwrap(message: dict[str, Any]) -> Any:
        return message.get("error", message)

    # ---------------------------------------------------------------- prospects

    def _react(self, persona: Any, sent: dict[str, Any]) -> None:
        chat = {"id": persona.chat_id, "type": "private", "first_name": persona.name}
        user = {
            "id": persona.chat_id,
            "is_bot": False,
            "first_name": persona.name,
            "language_code": "fr",
        }
        buttons = (sent.get("reply_markup") or {}).get("inline_keyboard") or []
        said = str(sent.get("text") or sent.get("caption") or "") + json.dumps(buttons)
        if not self.sandbox.replies.answers(persona, "telegram", said):
            return
        if persona.key == "confirms" and buttons:
            data = buttons[0][0].get("callback_data")
            self.push(
                {
                    "callback_query": {
                        "id": new_id("", 16),
                        "from": user,
                        "chat_instance": "1",
                        "message": sent,
                        "data": data,
                    }
                }
            )
            return
        if persona.calls:
            self.sandbox.vapi.inbound_call(persona.phone)
            return
        if not (persona.reply or persona.photo):
            return
        message: dict[str, Any] = {
            "message_id": self._next_message,
            "from": user,
            "chat": chat,
            "date": int(time.time()),
        }
        self._next_message += 1
        if persona.photo:
            message["photo"] = [
                {**self.store_file(TINY_PNG, "photos", "png"), "width": 1, "height": 1}
            ]
            message["caption"] = persona.reply
        else:
            message["text"] = persona.reply
        self.push({"message": message})

    def push(self, content: dict[str, Any]) -> int:
        """Make an update happen (to the webhook if set, else for getUpdates); its id."""
        update = {"update_id": self._next_update, **content}
        self._next_update += 1
        query = content.get("callback_query")
        if isinstance(query, dict) and query.get("id"):
            self._queries.add(str(query["id"]))
        if self.webhook_url:
            headers = {"Content-Type": "application/json"}
            if self.webhook_secret:
                headers["X-Telegram-Bot-Api-Secret-Token"] = self.webhook_secret
            url = self.sandbox.target("telegram", self.webhook_url) or ""
            self.sandbox.enqueue(
                Webhook("telegram", "update", url, headers, json.dumps(update).encode())
            )
        else:
            self.updates.append(update)
            self._new_update.set()
        return update["update_id"]


def _valid_keyboard(markup: Any) -> bool:
    """An inline keyboard's buttons carry 1 to 64 bytes of ``callback_data`` (Bot API)."""
    if not isinstance(markup, dict):
        return True
    for row in markup.get("inline_keyboard") or []:
        for button in row:
            data = button.get("callback_data")
            if data is not None and not 1 <= len(str(data).encode()) <= 64:
                return False
    return True
