"""What every model call of a run was told and answered, kept in the run's SQLite.

Each paragraph of a message's content (split at blank lines) and each message's
header (its role, call id, function calls and the ids of its paragraphs) is a
*prompt part*, stored once per run in a content-addressed table
(``prompt_parts``: its SHA-256 and its JSON); a call's row (``model_calls``)
lists the ids of its messages' headers in order, with the reply,
the model id, the usage and the duration. The dynamic agent resends its whole
history on every turn and the planner its tool catalog on every act: stored by
reference, each distinct part costs its size once, whatever the number of calls.

The tables are made on the first write, so a run folder made before they existed
still opens, reads (no calls recorded) and, on resume, starts recording.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from typing import TYPE_CHECKING, Any

from ..errors import RunError
from ..llm import canonical_json

if TYPE_CHECKING:
    from .sqlite_store import SqliteRunStore as RunStore

#: Message contents are stored split at blank lines: a prompt's recurring paragraphs
#: (the planner's tool catalog, the dynamic agent's system prompt) are stored once.
PARAGRAPH = "\n\n"

TABLES = """
CREATE TABLE IF NOT EXISTS prompt_parts (
    id INTEGER PRIMARY KEY, hash TEXT NOT NULL UNIQUE, part TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS model_calls (
    seq INTEGER PRIMARY KEY, agent TEXT, team_role TEXT, model TEXT, parts TEXT NOT NULL,
    reply TEXT, usage TEXT, duration_s REAL
);
"""


class ExchangeLog:
    """The model calls of one :class:`RunStore`, each keyed by its ``llm_call`` event's ``seq``."""

    def __init__(self, store: RunStore) -> None:
        self._store = store
        self._ready = False

    def save(
        self,
        seq: int,
        *,
        agent: str,
        model: str,
        messages: list[dict[str, Any]],
        reply: dict[str, Any],
        usage: dict[str, Any],
        duration_s: float,
        team_role: str | None = None,
    ) -> None:
        """Record one model call: its messages (by reference), reply, model, usage, duration."""
        store = self._store
        with store._lock:
            try:
                if not self._ready:
                    store._conn.executescript(TABLES)  # commits on its own
                    self._ready = True
                with store._conn:  # one transaction: the parts and the row, or neither
                    ids = [self._message_id(m) for m in messages]
                    store._conn.execute(
                        "INSERT OR REPLACE INTO model_calls (seq, agent, team_role, model, parts,"
                        " reply, usage, duration_s) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        (
                            seq,
                            agent,
                            team_role,
                            model,
                            json.dumps(ids),
                            canonical_json(reply),
                            canonical_json(usage),
                            duration_s,
                        ),
                    )
            except sqlite3.Error as exc:
                raise RunError(
                    f"run {store.run_id!r}: cannot write {store.state_path}: {exc}"
                ) from None

    def _message_id(self, message: dict[str, Any]) -> int:
        """Store a message as its paragraphs (parts) and a header part that lists them."""
        content = message.get("content")
        if not isinstance(content, str):
            return self._part_id(message)
        chunks = [self._part_id(chunk) for chunk in content.split(PARAGRAPH)]
        return self._part_id({**message, "content": None, "chunks": chunks})

    def _part_id(self, part: Any) -> int:
        text = canonical_json(part)
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
        conn = self._store._conn
        conn.execute(
            "INSERT OR IGNORE INTO prompt_parts (hash, part) VALUES (?, ?)", (digest, text)
        )
        return int(
            conn.execute("SELECT id FROM prompt_parts WHERE hash = ?", (digest,)).fetchone()[0]
        )

    def calls(self) -> dict[int, dict[str, Any]]:
        """Every recorded call by ``seq``: agent, team_role, model, parts (ids), reply, usage,
        duration_s. Empty for a run folder made before calls were recorded."""
        store = self._store
        if not self._has_tables():
            return {}
        rows = store._query(
            "SELECT seq, agent, team_role, model, parts, reply, usage, duration_s"
            " FROM model_calls ORDER BY seq"
        )
        return {
            r[0]: {
                "agent": r[1],
                "team_role": r[2],
                "model": r[3],
                "parts": store._load(r[4], "model call"),
                "reply": store._load(r[5], "model call") if r[5] else None,
                "usage": store._load(r[6], "model call") if r[6] else None,
                "duration_s": r[7],
            }
            for r in rows
        }

    def messages(self) -> dict[int, dict[str, Any]]:
        """Every stored message by the id a call's ``parts`` lists, its content reassembled."""
        if not self._has_tables():
            return {}
        rows = self._store._query("SELECT id, part FROM prompt_parts")
        parts = {r[0]: self._store._load(r[1], "prompt part") for r in rows}
        messages = {}
        for part_id, part in parts.items():
            if not isinstance(part, dict):
                continue  # a paragraph, not a message
            chunks = part.get("chunks")
            if isinstance(chunks, list):
                part = {k: v for k, v in part.items() if k != "chunks"}
                part["content"] = PARAGRAPH.join(str(parts.get(i, "")) for i in chunks)
            messages[part_id] = part
        return messages

    def _has_tables(self) -> bool:
        found = self._store._query(
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'"
            " AND name IN ('prompt_parts', 'model_calls')"
        )
        return found[0][0] == 2
