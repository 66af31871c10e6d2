"""Content-addressed request cache: SQLite in WAL mode, one row per successful response.

The key is the sha256 of the canonical request (model, endpoint, messages with image *content
hashes* instead of bytes, generation parameters, schema); see :func:`request_key`. Every HTTP 200
reply is stored — a truncated or invalid one too, since it was paid for and asking again would get
the same — never a transport failure, never an API key. Each reply is committed the moment it
arrives, so a run killed with SIGKILL loses at most the calls that were still in flight.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from curator.records import canonical_json, sha256_hex

_SCHEMA = """
CREATE TABLE IF NOT EXISTS responses (
    key TEXT PRIMARY KEY,
    model TEXT NOT NULL,
    response TEXT NOT NULL,
    created REAL NOT NULL
);
"""


def request_key(material: dict[str, Any]) -> str:
    """sha256 of the canonical JSON of what determines an answer (never secrets or bytes)."""
    return sha256_hex(canonical_json(material))


class ResponseCache:
    """A small SQLite key → response-JSON store, safe to share across threads of one process."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=60)
        self._db.execute("PRAGMA busy_timeout=60000")  # another process writing waits, never "database is locked"
        for attempt in range(50):  # switching a fresh file to WAL needs a moment alone with it
            try:
                self._db.execute("PRAGMA journal_mode=WAL")
                break
            except sqlite3.OperationalError:
                if attempt == 49:
                    raise
                time.sleep(0.1)
        self._db.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL survives process kills
        self._db.executescript(_SCHEMA)

    def get(self, key: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._db.execute("SELECT response FROM responses WHERE key = ?", (key,)).fetchone()
        return json.loads(row[0]) if row else None

    def put(self, key: str, model: str, response: dict[str, Any]) -> None:
        text = json.dumps(response, separators=(",", ":"))
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO responses (key, model, response, created) VALUES (?, ?, ?, ?)",
                             (key, model, text, time.time()))

    def __contains__(self, key: str) -> bool:
        with self._lock:
            return self._db.execute("SELECT 1 FROM responses WHERE key = ?", (key,)).fetchone() is not None

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM responses").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._db.close()
