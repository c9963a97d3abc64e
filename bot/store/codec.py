"""The one place where message bodies and personal fields are encoded for storage.

Everything personal (names, family aliases, message text, queued payloads) passes through `Codec`
and is stored as Fernet tokens (AES-128-CBC + HMAC-SHA256, from `cryptography`). Ids, roles,
timestamps and counters stay in the clear so Redis can index them.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken

from bot.errors import ConfigError

KEY_FILE = "naast.key"


class Codec:
    def __init__(self, key: bytes | str) -> None:
        try:
            self._fernet = Fernet(key)
        except (ValueError, TypeError) as exc:
            raise ConfigError("NAAST_DATA_KEY is not a valid Fernet key (32 url-safe base64 bytes)") from exc

    @staticmethod
    def new_key() -> str:
        return Fernet.generate_key().decode()

    @classmethod
    def from_key_file(cls, data_dir: Path) -> Codec:
        """Load the key in data_dir, creating it (mode 0600) on first start."""
        data_dir.mkdir(parents=True, exist_ok=True)
        path = data_dir / KEY_FILE
        if not path.exists():
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(cls.new_key())
        return cls(path.read_text().strip())

    def seal(self, text: str) -> str:
        return self._fernet.encrypt(text.encode()).decode()

    def open(self, token: str | bytes) -> str:
        try:
            return self._fernet.decrypt(token).decode()
        except InvalidToken as exc:
            raise ConfigError("stored data cannot be decrypted: wrong NAAST_DATA_KEY?") from exc

    def seal_json(self, obj: Any) -> str:
        return self.seal(json.dumps(obj, separators=(",", ":"), ensure_ascii=False))

    def open_json(self, token: str | bytes) -> Any:
        return json.loads(self.open(token))
