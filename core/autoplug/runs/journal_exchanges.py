"""What every model call of a run was told and answered, kept in the run's journal.

As in the SQLite form (:mod:`.sqlite_exchanges`), each paragraph of a message's
content and each message's header is a *prompt part* stored once per run: a
``{"k": "part", "id", "hash", "part"}`` record the first time it is seen, and a
call's ``{"k": "call", "seq", ...}`` record lists the ids of its messages' headers.
The parts new to a call and the call itself are appended in one write.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

from ..errors import RunError
from ..llm import canonical_json
from .journal import line

if TYPE_CHECKING:
    from .store import RunStore

#: Message contents are stored split at blank lines (see :mod:`.sqlite_exchanges`).
PARAGRAPH = "\n\n"


_DIGESTS: dict[str, str] = {}  # paragraph -> its digest, for every run of the process
_DIGESTS_MAX = 4096
# paragraph -> the end of its part record's line (after the id), for every run of the process
_TAILS: dict[str, bytes] = {}
_TAILS_MAX = 1024
_TAILS_BYTES = 8 * 1024 * 1024  # the most bytes of text the kept lines may hold
_tails_size = [0]


def _digest(part: Any) -> str:
    """The SHA-256 of a part's canonical JSON; a paragraph's is remembered process-wide.

    Every run of a process sends the same system prompts and catalog paragraphs:
    hashing them once, not once per call of every run, is most of a call's record.
    """
    if isinstance(part, str):
        found = _DIGESTS.get(part)
        if found is None:
            if len(_DIGESTS) >= _DIGESTS_MAX:
                _DIGESTS.clear()
            found = _DIGESTS[part] = hashlib.sha256(
                canonical_json(part).encode("utf-8")
            ).hexdigest()
        return found
    return hashlib.sha256(canonical_json(part).encode("utf-8")).hexdigest()


# (role, its paragraphs' ids) -> the digest of a {"role", "content"} message's header
_HEADERS: dict[tuple[str, tuple[int, ...]], str] = {}


def _header_digest(role: str, chunks: list[int]) -> str:
    """:func:`_digest` of ``{"role": role, "content": None, "chunks": chunks}``, remembered
    process-wide: every run of a process starts with the same messages, whose
    paragraphs get the same ids in each run's journal."""
    key = (role, tuple(chunks))
    found = _HEADERS.get(key)
    if found is None:
        if len(_HEADERS) >= _DIGESTS_MAX:
            _HEADERS.clear()
        header = {"role": role, "content": None, "chunks": chunks}
        found = _HEADERS[key] = hashlib.sha256(canonical_json(header).encode("utf-8")).hexdigest()
    return found


def part_line(part_id: int, digest: str, part: Any) -> bytes:
    """The journal line of ``{"k": "part", "id", "hash", "part"}``: exactly :func:`.journal.line`'s.

    A paragraph's line after its id is encoded once per process (bounded; the same
    system prompt is in every run's journal) and joined to the run's id for it; any
    other part is encoded as it comes. What cannot be encoded raises as
    :func:`.journal.line` does, and is not kept.
    """
    if type(part) is not str:
        return line({"k": "part", "id": part_id, "hash": digest, "part": part})
    tail = _TAILS.get(part)
    if tail is None or not tail.startswith(_HASH_KEY + digest.encode("ascii")):
        tail = b"," + line({"hash": digest, "part": part})[1:]
        if len(_TAILS) >= _TAILS_MAX or _tails_size[0] + len(tail) > _TAILS_BYTES:
            _TAILS.clear()
            _tails_size[0] = 0
        _TAILS[part] = tail
        _tails_size[0] += len(tail)
    return b'{"k":"part","id":%d' % part_id + tail


_HASH_KEY = b',"hash":"'


class ExchangeState:
    """What a run's :class:`JournalExchangeLog` knows, kept by its store (which makes
    the log on each use: the log points at the store, the store not at the log, so
    an ended run's store is freed at once, not left to the garbage collector)."""

    __slots__ = ("calls", "ids", "parts")

    def __init__(self) -> None:
        self.ids: dict[str, int] = {}
        self.parts: dict[int, Any] = {}
        self.calls: dict[int, dict[str, Any]] = {}

    def apply(self, record: dict[str, Any], where: str) -> None:
        """Replay a ``part`` or ``call`` record read from (or just written to) the journal."""
        if record["k"] == "part":
            part_id, digest = record.get("id"), record.get("hash")
            if not isinstance(part_id, int) or not isinstance(digest, str):
                raise RunError(f"{where} is corrupt: a prompt part without its id or hash")
            self.ids[digest] = part_id
            self.parts[part_id] = record.get("part")
            return
        seq = record.get("seq")
        if not isinstance(seq, int) or not isinstance(record.get("parts"), list):
            raise RunError(f"{where} is corrupt: a model call without its seq or parts")
        self.calls[seq] = {
            key: record.get(key)
            for key in ("agent", "team_role", "model", "parts", "reply", "usage", "duration_s")
        }


class JournalExchangeLog:
    """The model calls of one :class:`RunStore`, each keyed by its ``llm_call`` event's ``seq``."""

    def __init__(self, store: RunStore, state: ExchangeState | None = None) -> None:
        self._store = store
        state = state if state is not None else ExchangeState()
        self._ids = state.ids  # part hash -> id
        self._parts = state.parts
        self._calls = state.calls

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
        with self._store._lock:
            new: list[dict[str, Any]] = []
            seen = dict(self._ids)
            ids = [self._message_id(m, seen, new) for m in messages]
            call = {
                "k": "call",
                "seq": seq,
                "agent": agent,
                "team_role": team_role,
                "model": model,
                "parts": ids,
                "reply": reply,
                "usage": usage,
                "duration_s": duration_s,
            }
            data = b"".join(part_line(r["id"], r["hash"], r["part"]) for r in new) + line(call)
            # Not a checkpoint: written with the next one, or at the end of the loop's turn.
            self._store._append_lines([*new, call], durable=False, data=data)

    def _message_id(self, message: dict[str, Any], seen: dict[str, int], new: list) -> int:
        content = message.get("content")
        if not isinstance(content, str):
            return self._part_id(message, seen, new)
        chunks = [self._part_id(chunk, seen, new) for chunk in content.split(PARAGRAPH)]
        header = {**message, "content": None, "chunks": chunks}
        role = message.get("role")
        if len(message) == 2 and type(role) is str:  # {"role", "content"}: most messages
            return self._part_id(header, seen, new, _header_digest(role, chunks))
        return self._part_id(header, seen, new)

    def _part_id(self, part: Any, seen: dict[str, int], new: list, digest: str = "") -> int:
        digest = digest or _digest(part)
        found = seen.get(digest)
        if found is None:
            found = len(seen) + 1
            seen[digest] = found
            new.append({"k": "part", "id": found, "hash": digest, "part": part})
        return found

    def calls(self) -> dict[int, dict[str, Any]]:
        """Every recorded call by ``seq``: agent, team_role, model, parts (ids), reply, usage,
        duration_s."""
        return dict(sorted(self._calls.items()))

    def messages(self) -> dict[int, dict[str, Any]]:
        """Every stored message by the id a call's ``parts`` lists, its content reassembled."""
        messages = {}
        for part_id, part in self._parts.items():
            if not isinstance(part, dict):
                continue  # a paragraph, not a message
            chunks = part.get("chunks")
            if isinstance(chunks, list):
                part = {k: v for k, v in part.items() if k != "chunks"}
                part["content"] = PARAGRAPH.join(str(self._parts.get(i, "")) for i in chunks)
            messages[part_id] = part
        return messages
