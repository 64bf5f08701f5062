"""What the executor's steps are made of: their outcomes, ``$asset`` pointers, and
the awaitable that goes on with a step run inline in its own context.

:class:`StepOutcome`, :func:`resolve_pointer` and :class:`AssetReferenceError` are
importable from :mod:`autoplug.agents.executor` as well, where they were defined.
"""

from __future__ import annotations

import contextvars
import re
from dataclasses import dataclass
from typing import Any

from ..schema import json_type

_INDEX = re.compile(r"0|[1-9][0-9]*")


class AssetReferenceError(Exception):
    """An ``$asset`` reference that cannot be resolved; the message says which and why."""


@dataclass(frozen=True)
class StepOutcome:
    """How one step ended: ``succeeded`` (with its asset), ``failed`` or ``skipped``."""

    step: str
    tool: str
    status: str
    asset: str | None = None
    error: str | None = None
    kind: str | None = None

    def record(self) -> dict[str, Any]:
        """The checkpoint record: ``{"status", "asset", "error", "kind"}``."""
        return {"status": self.status, "asset": self.asset, "error": self.error, "kind": self.kind}


def resolve_pointer(document: Any, pointer: str) -> Any:
    """The part of ``document`` at the JSON pointer ``pointer`` (RFC 6901).

    Raises :class:`AssetReferenceError` saying where the walk stopped and why.
    """
    if pointer == "":
        return document
    if not pointer.startswith("/"):
        raise AssetReferenceError(f'{pointer!r} is not a JSON pointer: it must start with "/"')
    current = document
    walked = ""
    for raw in pointer[1:].split("/"):
        token = raw.replace("~1", "/").replace("~0", "~")
        here = walked or "the root"
        if isinstance(current, dict):
            if token not in current:
                keys = ", ".join(repr(k) for k in list(current)[:10]) or "none"
                raise AssetReferenceError(f"no key {token!r} at {here} (keys: {keys})")
            current = current[token]
        elif isinstance(current, list):
            if not _INDEX.fullmatch(token):
                raise AssetReferenceError(f"{token!r} at {here} is not an array index")
            index = int(token)
            if index >= len(current):
                raise AssetReferenceError(
                    f"index {index} at {here} is out of range (the array has {len(current)} items)"
                )
            current = current[index]
        else:
            raise AssetReferenceError(
                f"{here} holds {json_type(current)}, not an object or array, so it has no {token!r}"
            )
        walked += "/" + raw
    return current


class _InContext:
    """Awaiting this runs ``coro`` in ``context``: every send and throw inside ``context.run``.

    A step run inline started in a copy of the context; when its tool suspends,
    the rest of it runs in the same copy, as the step's own task would have run it.
    """

    __slots__ = ("coro", "context", "started")

    def __init__(self, coro: Any, context: contextvars.Context) -> None:
        self.coro, self.context, self.started = coro, context, False

    def close(self) -> None:
        """Close the coroutine if it never ran (the run stopped before awaiting it)."""
        if not self.started:
            self.coro.close()

    def __await__(self) -> Any:
        self.started = True
        coro, run = self.coro, self.context.run
        sent: Any = None
        thrown: BaseException | None = None
        while True:
            try:
                pending = run(coro.send, sent) if thrown is None else run(coro.throw, thrown)
            except StopIteration as stop:
                return stop.value
            thrown = None
            try:
                sent = yield pending
            except GeneratorExit:
                coro.close()
                raise
            except BaseException as exc:
                thrown, sent = exc, None


_new = object.__new__


def _succeeded(step: str, tool: str, asset: str) -> StepOutcome:
    """``StepOutcome(step, tool, "succeeded", asset=asset)`` without the frozen ``__init__``'s
    six ``object.__setattr__`` calls (one outcome per step); the same frozen value."""
    made = _new(StepOutcome)
    made.__dict__.update(step=step, tool=tool, status="succeeded", asset=asset)
    return made
