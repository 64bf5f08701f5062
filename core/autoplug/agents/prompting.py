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
