"""Record and replay: every model exchange of a run in a JSONL cassette, answered again offline.

The first line is the header: the format version and the tool catalog the run
offered (each tool's name as models saw it, its plugin, description, parameters
and side effects; null when recorded outside a run)::

    {"cassette_format": 2, "tools": [{"name": "read_file", "plugin": "autoplug_files", ...}]}

A replay offers exactly that catalog (see :mod:`autoplug.catalog`), so a
cassette replays wherever the same tools are installed, whatever else is. A
file with no header is format 1 (no catalog). Then one line per exchange::

    {"hash": "<sha256>", "model": "openai:gpt-4o-mini",
     "request": {...ChatRequest.to_dict()...},
     "response": {...ChatResponse.to_dict()...}}

(or ``"error": {"message", "retryable"}`` instead of ``response`` when the
model raised a ModelError). ``hash`` is :func:`autoplug.llm.request_hash` of the
*recorded* model's id and the request, so a cassette keeps which model answered;
the replay model hashes each request under the model ids its cassette holds, so
``replay:PATH`` answers whatever model recorded it. Requests are matched by
hash, never by position; identical requests get their answers in recorded order.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from pathlib import Path
from typing import Any

from autoplug import ChatRequest, ChatResponse, Message, ModelError, ReplayMismatch, UsageError
from autoplug.llm import Model, TextCallback, request_hash

from .replay_diff import explain
from .wire import shorten

FORMAT = 2
"""The cassette format this version writes and the newest it reads."""


def header(catalog: list[dict[str, Any]] | None) -> dict[str, Any]:
    """The first line of a cassette: the format version and the tool catalog."""
    return {"cassette_format": FORMAT, "tools": catalog}


def _first_line(path: Path) -> str | None:
    with path.open("r", encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                return line
    return None


class RecordingModel:
    """Wraps a Model and appends every exchange to a cassette file.

    It keeps the wrapped model's ``model_id`` so prices and budgets still apply.
    Lines are written whole under a lock, so concurrent requests (asyncio tasks
    or threads) never interleave; the file is appended to, never truncated.
    """

    def __init__(
        self, model: Model, path: str | Path, catalog: list[dict[str, Any]] | None = None
    ) -> None:
        self.inner = model
        self.model_id = model.model_id
        self.path = Path(path).expanduser()
        self.catalog = catalog
        self._lock = threading.Lock()
        # Checked now, before the run starts: a cassette that cannot be written is bad usage.
        if self.path.is_dir():
            raise UsageError(
                f"cannot record to {self.path}: it is a folder; give a file path such as run.jsonl"
            )
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8"):
                pass
            first = _first_line(self.path)
        except (OSError, UnicodeDecodeError) as exc:
            why = getattr(exc, "strerror", None) or exc
            raise UsageError(f"cannot record to {self.path}: {why}") from None
        if first is None:
            self._append(header(catalog))
        else:
            self._check_appendable(first)

    def _check_appendable(self, first: str) -> None:
        """Appending is fine only to a cassette of this format and this catalog."""
        try:
            found = json.loads(first)
        except json.JSONDecodeError:
            found = None
        if not isinstance(found, dict) or found.get("cassette_format") != FORMAT:
            raise UsageError(
                f"cannot record to {self.path}: it is not an empty file or a cassette of "
                f"format {FORMAT}; record to a new file"
            )
        if found.get("tools") != self.catalog:
            raise UsageError(
                f"cannot record to {self.path}: it was recorded with another tool catalog; "
                "record to a new file"
            )

    async def complete(
        self, request: ChatRequest, *, on_text: TextCallback | None = None
    ) -> ChatResponse:
        """Ask the wrapped model, then record the exchange (a ModelError is recorded too)."""
        entry: dict[str, Any] = {
            "hash": request_hash(self.model_id, request),
            "model": self.model_id,
            "request": request.to_dict(),
        }
        try:
            response = await self.inner.complete(request, on_text=on_text)
        except ModelError as exc:
            entry["error"] = {"message": str(exc), "retryable": exc.retryable}
            self._append(entry)
            raise
        entry["response"] = response.to_dict()
        self._append(entry)
        return response

    def _append(self, entry: dict[str, Any]) -> None:
        line = json.dumps(entry, ensure_ascii=False, sort_keys=True) + "\n"
        with self._lock, self.path.open("a", encoding="utf-8") as handle:
            handle.write(line)


def load_cassette(path: Path) -> list[dict[str, Any]]:
    """The lines of a cassette, the header first (``{}`` for format 1, which has none).

    Each exchange gains ``"line"``, its line number. Raises UsageError naming the
    file and line when it is unusable, or when a newer autoplug wrote it.
    """
    if path.is_dir():
        raise UsageError(f"replay cassette {path} is a folder, not a cassette file")
    if not path.is_file():
        raise UsageError(f"replay cassette {path} does not exist (record one with --record PATH)")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read replay cassette {path}: {exc}") from None
    entries: list[dict[str, Any]] = []
    head: dict[str, Any] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"replay cassette {path} line {number}"
        try:
            entry = json.loads(line)
        except json.JSONDecodeError as exc:
            raise UsageError(
                f"{where} is not valid JSON: {exc.msg} at column {exc.colno}"
            ) from None
        if not isinstance(entry, dict):
            raise UsageError(f"{where} must be a JSON object")
        if "cassette_format" in entry:
            if entries or head:
                raise UsageError(f"{where}: the cassette header must be the first line")
            head = _checked_header(entry, where)
            continue
        entry["line"] = number
        missing = [k for k in ("hash", "model") if not isinstance(entry.get(k), str)]
        if missing:
            raise UsageError(f"{where} lacks {', '.join(repr(k) for k in missing)}")
        if "response" in entry:
            try:
                ChatResponse.from_dict(entry["response"])
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                raise UsageError(f"{where} has a malformed response: {exc!r}") from None
        elif not isinstance(entry.get("error"), dict):
            raise UsageError(f"{where} has neither 'response' nor 'error'")
        entries.append(entry)
    return [head, *entries]


def _checked_header(entry: dict[str, Any], where: str) -> dict[str, Any]:
    version = entry["cassette_format"]
    if isinstance(version, bool) or not isinstance(version, int) or version < 2:
        raise UsageError(f"{where}: cassette_format must be a whole number >= 2, got {version!r}")
    if version > FORMAT:
        raise UsageError(
            f"{where}: the cassette is of format {version}, written by a newer autoplug; "
            f"this one reads formats up to {FORMAT}"
        )
    tools = entry.get("tools")
    valid = tools is None or (
        isinstance(tools, list)
        and all(isinstance(t, dict) and isinstance(t.get("name"), str) for t in tools)
    )
    if not valid:
        raise UsageError(f"{where}: 'tools' must be null or a list of tools with a 'name'")
    return entry


def describe_request(request: ChatRequest) -> str:
    """A one-line summary of a request for error messages: size, functions, last message."""
    functions = ", ".join(f.name for f in request.functions) or "none"
    last: Message | None = request.messages[-1] if request.messages else None
    if last is None:
        said = "no messages"
    else:
        content = last.content or json.dumps([c.to_dict() for c in last.function_calls])
        said = f"last message ({last.role}): {shorten(content, 120)!r}"
    return f"{len(request.messages)} messages, functions: {functions}, {said}"


class ReplayModel:
    """Answers requests from a cassette, matched by canonical hash."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path).expanduser()
        self.model_id = f"replay:{path}"
        head, *entries = load_cassette(self.path)
        self.format: int = head.get("cassette_format", 1)
        self.catalog: list[dict[str, Any]] | None = head.get("tools")
        """The tools the recording run offered; None when not recorded (format 1)."""
        self._requests = [(e["line"], e.get("request") or {}) for e in entries]
        # Recorded model ids, in first-seen order: requests are hashed under each.
        self.recorded_models: list[str] = list(dict.fromkeys(e["model"] for e in entries))
        self._answers: dict[str, deque[dict[str, Any]]] = {}
        for entry in entries:
            self._answers.setdefault(entry["hash"], deque()).append(entry)
        self._lock = threading.Lock()
        self.replayed = 0

    def _take(self, request: ChatRequest) -> dict[str, Any]:
        with self._lock:
            used_up = False
            for model_id in self.recorded_models:
                queue = self._answers.get(request_hash(model_id, request))
                if queue:
                    self.replayed += 1
                    return queue.popleft()
                used_up = used_up or queue is not None
        if used_up:
            raise ReplayMismatch(
                f"replay cassette {self.path} has all its answers to this request were used: "
                f"{describe_request(request)}"
            )
        raise ReplayMismatch(
            f"replay cassette {self.path} has no recorded answer for this request "
            f"({len(request.messages)} messages, functions: "
            f"{', '.join(f.name for f in request.functions) or 'none'}); "
            f"{explain(request.to_dict(), self._requests)}"
        )

    async def complete(
        self, request: ChatRequest, *, on_text: TextCallback | None = None
    ) -> ChatResponse:
        """The recorded answer (or recorded ModelError); ReplayMismatch when there is none."""
        entry = self._take(request)
        if "error" in entry:
            error = entry["error"]
            raise ModelError(str(error.get("message")), retryable=bool(error.get("retryable")))
        response = ChatResponse.from_dict(entry["response"])
        if on_text is not None and request.stream and response.text:
            on_text(response.text)
        return response
