"""Telegram Bot API through aiogram 3 (imported only when the adapter is first used)."""
