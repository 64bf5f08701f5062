"""Why a replayed request has no recorded answer: what differs from the nearest recorded request.

A replay matches requests by hash, so a miss alone says nothing useful. The
nearest recorded request is the one sharing the longest run of leading messages
(then the closest message count, then the most equal functions); the
explanation names the first message that differs (its number and role, and the
two texts around the first differing character) and the functions offered now
but not recorded, recorded but not offered now, or offered with another
description or schema.
"""

from __future__ import annotations

import json
from typing import Any

CONTEXT = 40
"""Characters shown before the first difference of two message texts."""

SHOWN = 80
"""Characters shown of each side from the first difference on."""


def _leading_equal(a: list[Any], b: list[Any]) -> int:
    count = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        count += 1
    return count


def _closeness(now: dict[str, Any], recorded: dict[str, Any]) -> tuple[int, int, int]:
    messages, old = now.get("messages", []), recorded.get("messages", [])
    functions = {json.dumps(f, sort_keys=True) for f in now.get("functions", [])}
    same = sum(json.dumps(f, sort_keys=True) in functions for f in recorded.get("functions", []))
    return _leading_equal(messages, old), -abs(len(messages) - len(old)), same


def nearest(now: dict[str, Any], recorded: list[dict[str, Any]]) -> int | None:
    """The index in ``recorded`` of the request nearest to ``now`` (None when there is none)."""
    if not recorded:
        return None
    return max(range(len(recorded)), key=lambda i: _closeness(now, recorded[i]))


def _text(message: dict[str, Any]) -> str:
    content = message.get("content")
    if content:
        return str(content)
    calls = message.get("function_calls") or []
    return json.dumps(calls, sort_keys=True, ensure_ascii=False) if calls else ""


def _flat(text: str) -> str:
    return text.replace("\n", "\\n")


def text_difference(old: str, new: str) -> str:
    """``recorded '…abc…' but now '…abd…'`` around the first character that differs."""
    at = _leading_equal(list(old), list(new))
    start = max(0, at - CONTEXT)
    lead = "…" if start else ""

    def side(text: str) -> str:
        part = text[start : at + SHOWN]
        tail = "…" if len(text) > at + SHOWN else ""
        return repr(lead + _flat(part) + tail) if text[start:] else "(end of text)"

    return f"recorded {side(old)} but now {side(new)}"


def message_difference(now: list[dict[str, Any]], old: list[dict[str, Any]]) -> str | None:
    """Which message differs first, and how; None when the messages are equal."""
    at = _leading_equal(now, old)
    if at == len(now) == len(old):
        return None
    if at == len(old):
        extra = now[at]
        return (
            f"the request has {len(now) - len(old)} more messages than the recording, "
            f"from message {at + 1} ({extra.get('role')}): {_flat(_text(extra))[:SHOWN]!r}"
        )
    if at == len(now):
        return (
            f"the request has {len(now)} messages, the recording {len(old)} "
            f"(from message {at + 1}, {old[at].get('role')})"
        )
    a, b = old[at], now[at]
    where = f"message {at + 1} ({b.get('role')})"
    if a.get("role") != b.get("role"):
        return f"{where} was a {a.get('role')} message in the recording"
    if _text(a) != _text(b):
        return f"{where} differs: {text_difference(_text(a), _text(b))}"
    fields = sorted(k for k in {*a, *b} if a.get(k) != b.get(k))
    return f"{where} differs in {', '.join(fields)}"


def function_difference(now: list[dict[str, Any]], old: list[dict[str, Any]]) -> str | None:
    """The offered functions that differ from the recording's; None when they are the same."""
    mine = {f.get("name"): f for f in now}
    theirs = {f.get("name"): f for f in old}
    parts = []
    added = sorted(str(n) for n in mine.keys() - theirs.keys())
    missing = sorted(str(n) for n in theirs.keys() - mine.keys())
    if added:
        parts.append(f"offers {', '.join(added)}, not offered in the recording")
    if missing:
        parts.append(f"does not offer {', '.join(missing)}, offered in the recording")
    for name in sorted(str(n) for n in mine.keys() & theirs.keys()):
        fields = [
            k for k in ("description", "parameters") if mine[name].get(k) != theirs[name].get(k)
        ]
        if fields:
            parts.append(f"function {name} has another {' and '.join(fields)}")
    if not parts and [f.get("name") for f in now] != [f.get("name") for f in old]:
        parts.append("offers the same functions in another order")
    return "the request " + "; ".join(parts) if parts else None


def explain(now: dict[str, Any], recorded: list[tuple[int, dict[str, Any]]]) -> str:
    """What differs between ``now`` and the nearest of ``recorded`` (``(line, request)`` pairs)."""
    index = nearest(now, [r for _, r in recorded])
    if index is None:
        return "the cassette records no requests"
    line, old = recorded[index]
    parts = [
        function_difference(now.get("functions", []), old.get("functions", [])),
        message_difference(now.get("messages", []), old.get("messages", [])),
    ]
    found = "; ".join(p for p in parts if p) or "the model differs"
    return f"nearest recorded request (line {line}): {found}"
