"""Telegram bots through aiogram 3 (``Bot`` on an ``AiohttpSession`` pointed at ``base_url``)."""

from __future__ import annotations

import asyncio
import hmac
import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, ClassVar

from core.channels.adapter import (
    AdapterConfig,
    Capabilities,
    ChannelAdapter,
    NormalizedEvent,
    OutgoingMessage,
    PolledEvent,
    SendResult,
    WebhookRequest,
    WebhookRoute,
)
from core.channels.errors import PermanentProviderError, ProviderError, SignatureError
from core.domain.enums import Channel, MessageStatus, Provider
from providers._common import read_json, require
from providers.telegram.errors import map_error
from providers.telegram.parse import parse_update

SECRET_HEADER = "x-telegram-bot-api-secret-token"


class TelegramAdapter(ChannelAdapter):
    """Telegram through the Bot API.

    Options: ``bot_id`` (the bot's numeric id, used as the recipient of inbound messages and in
    dedupe keys; the token's prefix when unset). Credentials: ``bot_token``, ``webhook_secret``
    (the ``secret_token`` given to ``setWebhook``, echoed in ``X-Telegram-Bot-Api-Secret-Token``).
    ``to`` is a chat id; the provider id of a sent message is ``<chat_id>:<message_id>``.
    """

    name = "telegram"
    provider = Provider.TELEGRAM
    channel = Channel.TELEGRAM
    credential_names: ClassVar[tuple[str, ...]] = ("bot_token", "webhook_secret")
    secret_headers: ClassVar[frozenset[str]] = frozenset({SECRET_HEADER})
    webhooks = (WebhookRoute("telegram", "/webhooks/telegram/{bot_id}", (Channel.TELEGRAM,)),)
    capabilities = Capabilities(
        max_length=4096,
        media=True,
        documents=True,
        location=True,
        buttons=True,
        cost_per_unit=Decimal("0"),
        cost_unit="free",
        typical_delivery_seconds=5.0,
        rate_per_second=30.0,
        rate_per_recipient_per_second=1.0,
        media_download=True,
        polling=True,
    )

    def __init__(self, config: AdapterConfig) -> None:
        super().__init__(config)
        self._bot: Any = None

    @property
    def bot_id(self) -> str:
        """The bot's id: the ``bot_id`` option, else the token's numeric prefix."""
        return str(
            self.config.options.get("bot_id") or self.config.credentials["bot_token"].split(":")[0]
        )

    def owns_route(self, path_params: Mapping[str, str]) -> bool:
        """Whether the path names this bot (``/webhooks/telegram/{bot_id}``)."""
        named = path_params.get("bot_id")
        return named is None or named == self.bot_id

    def _aiogram(self) -> Any:
        if self._bot is None:
            from aiogram import Bot
            from aiogram.client.session.aiohttp import AiohttpSession
            from aiogram.client.telegram import TelegramAPIServer

            server = TelegramAPIServer.from_base(self.config.base_url.rstrip("/"))
            session = AiohttpSession(api=server, timeout=self.config.timeout)
            self._bot = Bot(self.config.credentials["bot_token"], session=session)
        return self._bot

    async def _call(self, coro: Any) -> Any:
        try:
            return await coro
        except Exception as exc:
            raise map_error(exc) from exc

    # ---------------------------------------------------------------- sending

    @staticmethod
    def _chat(to: str) -> int | str:
        return int(to) if to.lstrip("-").isdigit() else to

    def _keyboard(self, message: OutgoingMessage) -> Any:
        if not message.buttons:
            return None
        from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

        rows = [[InlineKeyboardButton(text=b.title, callback_data=b.id)] for b in message.buttons]
        return InlineKeyboardMarkup(inline_keyboard=rows)

    async def send(self, message: OutgoingMessage) -> SendResult:
        """sendMessage, sendPhoto, sendDocument or sendLocation, by what ``message`` holds.

        A message answering a button tap first acknowledges it (answerCallbackQuery); a message
        with nothing else to send is only that acknowledgement.
        """
        bot = self._aiogram()
        chat = self._chat(message.to)
        markup = self._keyboard(message)
        nothing_else = not (message.text or message.attachments or message.location)
        if message.callback_query_id:
            await self._acknowledge(message, required=nothing_else)
            if nothing_else:
                return SendResult(
                    provider_message_id=f"callback:{message.callback_query_id}",
                    status=MessageStatus.SENT,
                    cost=Decimal("0"),
                )
        if message.location is not None:
            sent = await self._call(
                bot.send_location(
                    chat, message.location.latitude, message.location.longitude, reply_markup=markup
                )
            )
            if message.text:
                await self._call(bot.send_message(chat, message.text))
        elif message.attachments:
            sent = await self._send_file(bot, chat, message, markup)
        else:
            sent = await self._send_text(bot, chat, message.text, markup)
        return SendResult(
            provider_message_id=f"{sent.chat.id}:{sent.message_id}",
            status=MessageStatus.SENT,
            cost=Decimal("0"),
            raw={"message_id": sent.message_id, "chat_id": sent.chat.id},
        )

    async def _send_text(self, bot: Any, chat: int | str, text: str, markup: Any) -> Any:
        """sendMessage, in parts of at most 4096 characters; the buttons go with the last."""
        size = self.capabilities.max_length or 4096
        parts = [text[i : i + size] for i in range(0, len(text), size)] or [text]
        first = None
        for index, part in enumerate(parts):
            last = index == len(parts) - 1
            sent = await self._call(
                bot.send_message(chat, part, reply_markup=markup if last else None)
            )
            first = first or sent
        return first

    async def _send_file(
        self, bot: Any, chat: int | str, message: OutgoingMessage, markup: Any
    ) -> Any:
        from aiogram.types import BufferedInputFile

        first = message.attachments[0]
        file: Any = first.url or BufferedInputFile(first.content or b"", filename=first.filename)
        caption = first.caption or message.text or None
        if first.content_type.startswith("image/"):
            call = bot.send_photo(chat, file, caption=caption, reply_markup=markup)
        else:
            call = bot.send_document(chat, file, caption=caption, reply_markup=markup)
        sent = await self._call(call)
        for extra in message.attachments[1:]:
            more: Any = extra.url or BufferedInputFile(
                extra.content or b"", filename=extra.filename
            )
            await self._call(bot.send_document(chat, more, caption=extra.caption))
        return sent

    async def _acknowledge(self, message: OutgoingMessage, *, required: bool) -> None:
        """Answer the tap; a query too old to answer must not stop the reply that goes with it."""
        assert message.callback_query_id is not None
        try:
            await self.answer_button(message.callback_query_id, message.callback_text)
        except ProviderError:
            if required:
                raise

    async def answer_button(self, callback_query_id: str, text: str | None = None) -> None:
        """Acknowledge a button tap (``extra["callback_query_id"]`` of the inbound event)."""
        await self._call(self._aiogram().answer_callback_query(callback_query_id, text=text))

    async def set_commands(self, commands: list[tuple[str, str]]) -> None:
        """The bot's command menu (setMyCommands): ``[(command, description), …]``."""
        from aiogram.types import BotCommand

        await self._call(
            self._aiogram().set_my_commands(
                [BotCommand(command=c.lstrip("/"), description=d) for c, d in commands]
            )
        )

    async def set_webhook(self, url: str, secret: str | None = None) -> None:
        """Have Telegram post updates to ``url`` with our secret token."""
        token = secret or self.config.credentials.get("webhook_secret")
        await self._call(self._aiogram().set_webhook(url, secret_token=token))

    async def delete_webhook(self) -> None:
        """Stop webhook delivery (needed before long polling)."""
        await self._call(self._aiogram().delete_webhook())

    async def get_updates(
        self, offset: int | None = None, timeout: int = 0
    ) -> list[dict[str, Any]]:
        """Long polling: raw update dicts (``parse`` reads them as a webhook body would)."""
        bot = self._aiogram()
        updates = await self._call(
            bot.get_updates(
                offset=offset, timeout=timeout, request_timeout=int(self.config.timeout + timeout)
            )
        )
        return [u.model_dump(mode="json", exclude_none=True, by_alias=True) for u in updates]

    async def poll(self, cursor: str | None, wait: float) -> list[PolledEvent]:
        """``getUpdates`` after ``cursor`` (an update id), each update stored as its webhook
        body; the cursor moves past each one once it is committed."""
        offset = int(cursor) if cursor else None
        updates = await self.get_updates(offset=offset, timeout=int(wait))
        return [
            PolledEvent(
                endpoint="telegram/poll",
                body=json.dumps(update, ensure_ascii=False, separators=(",", ":")).encode(),
                content_type="application/json",
                cursor=str(int(update["update_id"]) + 1),
            )
            for update in updates
        ]

    async def download_media(self, reference: str) -> tuple[bytes, str]:
        """getFile, then ``/file/bot<token>/<file_path>``; ``reference`` is a ``file_id``."""
        import io
        import mimetypes

        bot = self._aiogram()
        file = await self._call(bot.get_file(reference))
        if not file.file_path:
            raise PermanentProviderError(
                "Telegram gave no file_path (file too big?)", provider="telegram", code="file"
            )
        buffer = io.BytesIO()
        await self._call(bot.download_file(file.file_path, destination=buffer))
        kind = mimetypes.guess_type(file.file_path)[0] or "application/octet-stream"
        return buffer.getvalue(), kind

    async def check_connection(self) -> None:
        """getMe."""
        await self._call(asyncio.wait_for(self._aiogram().get_me(), self.config.timeout + 1))

    async def close(self) -> None:
        """Close aiogram's HTTP session."""
        if self._bot is not None:
            await self._bot.session.close()
            self._bot = None

    # ---------------------------------------------------------------- webhooks

    def verify(self, request: WebhookRequest) -> None:
        """``X-Telegram-Bot-Api-Secret-Token`` equals our ``webhook_secret`` (constant time)."""
        given = request.header(SECRET_HEADER)
        if not given:
            raise SignatureError("missing header X-Telegram-Bot-Api-Secret-Token")
        expected = self.config.credentials.get("webhook_secret", "")
        if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
            raise SignatureError("X-Telegram-Bot-Api-Secret-Token does not match")

    def parse(self, request: WebhookRequest) -> list[NormalizedEvent]:
        """One Update."""
        return parse_update(read_json(request), self.bot_id)

    def parse_update(self, update: dict[str, Any]) -> list[NormalizedEvent]:
        """One update from ``get_updates`` (long polling)."""
        return parse_update(update, self.bot_id)

    def dedupe_keys(self, request: WebhookRequest) -> list[str]:
        """``telegram:<bot_id>:<update_id>``."""
        update = read_json(request)
        if not isinstance(update, dict):
            from core.channels.errors import MalformedWebhook

            raise MalformedWebhook("body: expected an Update object")
        return [f"telegram:{self.bot_id}:{require(update, 'update_id')}"]
