"""Fakes that speak real wire formats, for adapter and end-to-end tests."""

from tests.fakes.telegram_api import Call, FakeTelegram, TgGroup, TgUser

__all__ = ["Call", "FakeTelegram", "TgGroup", "TgUser"]
