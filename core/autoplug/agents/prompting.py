"""Small pieces the agents share: one-call replies, error turns, previews, bounded errors."""

from __future__ import annotations

import json
from typing import Any

from ..llm import ChatResponse, FunctionCall, Message


def single_call(response: ChatResponse, name: str) -> tuple[FunctionCall | None, str | None]:
    """The one call of ``name`` in ``response``, or None and the error to send back."""
    calls = response.function_calls
    if not calls:
        return None, f"your reply called no function; call {name} exactly once"
    if len(calls) > 1:
        made = ", ".join(c.name for c in calls)
        return None, f"your reply made {len(calls)} calls ({made}); call {name} exactly once"
    call = calls[0]
    if call.name != name:
        return None, f"your reply called {call.name!r}, which is not offered; call {name}"
    if call.error:
        return None, f"the arguments of your {name} call are not a JSON object: {call.error}"
    return call, None


def error_turn(response: ChatResponse, error: str) -> list[Message]:
    """The model's reply followed by ``error``: a tool message per call, else a user message.

    Function-calling APIs require every call in an assistant message to be
    answered by a tool message with its id, so errors about a call go there.
    """
    turn = [response.message()]
    if response.function_calls:
        for call in response.function_calls:
            turn.append(Message("tool", error, call_id=call.id, name=call.name))
    else:
        turn.append(Message("user", error))
    return turn


#: Keywords left out of a schema offered to the model for a function of our own:
#: each only narrows a value that the agent checks on its side anyway (an error
#: goes back to the model), and each costs tokens on every request.
_NARROWING = frozenset({"additionalProperties", "minLength", "minItems"})


def offered_schema(schema: Any, *, descriptions: bool = True) -> Any:
    """One of the agents' own function schemas as offered: the shape, not the narrowing.

    Types, properties and ``required`` stay (the shape the model must write);
    ``additionalProperties: false``, ``minLength`` and ``minItems`` go, and the
    descriptions too unless ``descriptions``. Never used for a tool's schema,
    which is offered whole.
    """
    if isinstance(schema, list):
        return [offered_schema(v, descriptions=descriptions) for v in schema]
    if not isinstance(schema, dict):
        return schema
    out = {}
    for key, value in schema.items():
        if key in _NARROWING or (key == "description" and not descriptions):
            continue
        if key == "properties" and isinstance(value, dict):
            out[key] = {k: offered_schema(v, descriptions=descriptions) for k, v in value.items()}
        else:
            out[key] = offered_schema(value, descriptions=descriptions)
    return out


def bounded_json(value: Any, limit: int) -> str:
    """``json.dumps(value)`` cut to ``limit`` characters, saying how long the whole is."""
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    text = json.dumps(value, ensure_ascii=False, default=str)
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text)} characters in all)"


#: How much of one error or preview is quoted into a prompt or a result (DESIGN:
#: 2,000 characters, keeping the start and the end).
QUOTE_CHARS = 2000

#: How much of one schema violation message goes back to the model.
VIOLATION_CHARS = 300


def clip(text: str, limit: int) -> str:
    """``text`` cut in the middle to at most ``limit`` characters, saying how much was cut.

    Errors are cut in the middle, not at the end: a schema message starts with the
    offending value (which may be a whole asset) and ends with what was wrong with it.
    """
    if len(text) <= limit:
        return text
    keep = max(0, limit - len(f"…[{len(text)} characters cut]…"))
    tail = keep // 3
    head = keep - tail
    cut = len(text) - head - tail
    return f"{text[:head]}…[{cut} characters cut]…{text[len(text) - tail :]}"


def violation_lines(problems: Any, limit: int = VIOLATION_CHARS) -> list[str]:
    """``(json_path, message)`` pairs as ``"path: message"``, each message bounded."""
    return [f"{path}: {clip(message, limit)}" for path, message in problems]


def role_block(ctx: Any) -> str:
    """The system-prompt paragraph of a manager's child run: its role and instructions ("" otherwise)."""
    role = getattr(ctx, "role", None)
    if role is None:
        return ""
    return f"\n\nYour role in the team: {role.name}.\n{role.instructions.strip()}"


#: The shortest a string is cut to in a structured preview (then the whole is cut).
_MIN_STRING = 12
#: List and object lengths a structured preview tries, longest first.
_ITEM_CAPS = (None, 12, 6, 3, 1)


def json_preview(value: Any, limit: int) -> str:
    """``json.dumps(value)`` when it fits in ``limit`` characters, else a preview of its shape.

    Cutting a JSON text at ``limit`` shows the first field whole and hides the rest:
    a search result's long summary pushes its title, links and related items out.
    So a value too long to show whole is shown with every long string cut to the
    same length (``…`` marks a cut) and, when that is not enough, long lists and
    objects cut to their first items (``"…+K more"``), choosing the longest strings
    that fit; only a value still too long is cut at ``limit`` (``…``). Never longer
    than ``limit`` + 1 characters.
    """
    text = json.dumps(value, ensure_ascii=False, default=str)
    if len(text) <= limit:
        return text
    if isinstance(value, dict | list):
        for items in _ITEM_CAPS:
            longest = min(limit, _longest_string(value, limit * 4))
            low, high, best = _MIN_STRING, longest, None
            while low <= high:  # the longest string cut that still fits
                cut = (low + high) // 2
                shown = json.dumps(_shorten(value, cut, items, [limit * 4]), ensure_ascii=False)
                if len(shown) <= limit:
                    best, low = shown, cut + 1
                else:
                    high = cut - 1
            if best is not None:
                return best
        text = json.dumps(_shorten(value, _MIN_STRING, 1, [limit * 4]), ensure_ascii=False)
    return text[:limit] + "…"


def _longest_string(value: Any, budget: int) -> int:
    """The length of the longest string in ``value`` (looking at ``budget`` nodes at most)."""
    longest, stack, seen = 0, [value], 0
    while stack and seen < budget:
        node = stack.pop()
        seen += 1
        if isinstance(node, str):
            longest = max(longest, len(node))
        elif isinstance(node, dict):
            stack.extend(node.values())
            longest = max([longest, *(len(str(k)) for k in node)])
        elif isinstance(node, list):
            stack.extend(node)
    return longest


def _shorten(value: Any, cut: int, items: int | None, budget: list[int]) -> Any:
    """``value`` with strings cut to ``cut`` and containers to ``items`` entries.

    ``budget`` (a one-item list, shared down the tree) bounds the nodes visited, so a
    huge value costs no more than a small one; what is past it becomes ``"…"``.
    """
    budget[0] -= 1
    if budget[0] < 0:
        return "…"
    if isinstance(value, str):
        return value if len(value) <= cut else value[:cut] + "…"
    if isinstance(value, list):
        shown = value if items is None else value[:items]
        out = [_shorten(v, cut, items, budget) for v in shown]
        if len(shown) < len(value):
            out.append(f"…+{len(value) - len(shown)} more")
        return out
    if isinstance(value, dict):
        keys = list(value) if items is None else list(value)[:items]
        result = {k: _shorten(value[k], cut, items, budget) for k in keys}
        if len(keys) < len(value):
            result["…"] = f"+{len(value) - len(keys)} more keys"
        return result
    return value
