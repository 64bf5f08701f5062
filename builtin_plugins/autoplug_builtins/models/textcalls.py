"""Function calls written as text, for models without native function calling.

With ``function_calling = false`` the provider sends no ``tools``: the offered
functions and the reply shape go into the system prompt, and the reply's text is
parsed leniently (a code fence, prose before or after) into the same
:class:`FunctionCall` objects a native reply gives, so the agents never know
the difference.
"""

from __future__ import annotations

import dataclasses
import json
import re
from typing import Any

from autoplug import safejson
from autoplug.llm import FunctionCall, FunctionSpec, Message, canonical_json

#: At most this many calls are read from one text reply.
MAX_TEXT_CALLS = 8

TEXT_CALL_SHAPE = '{"function": "<name>", "arguments": {<arguments>}}'


def text_call_instructions(functions: tuple[FunctionSpec, ...]) -> str:
    """The system-prompt text that asks for one function call as one JSON object."""
    lines = [
        "You can call the functions below. Reply with exactly one JSON object and",
        f"nothing else, of the form {TEXT_CALL_SHAPE}, where the arguments match",
        "the function's parameters (a JSON Schema).",
        "",
        "Functions:",
    ]
    for spec in functions:
        lines.append(f"- {spec.name}: {spec.description}".rstrip())
        lines.append(f"  parameters: {canonical_json(spec.parameters)}")
    return "\n".join(lines)


def messages_for_text_calls(
    messages: tuple[Message, ...], functions: tuple[FunctionSpec, ...]
) -> tuple[Message, ...]:
    """``messages`` rewritten for a model without function calling.

    Earlier calls become the JSON objects the model is asked to write, function
    results become user messages naming the function, and the instructions of
    :func:`text_call_instructions` join the first system message (some chat
    templates accept only one, and only first).
    """
    names: dict[str, str] = {}
    out: list[Message] = []
    for message in messages:
        if message.role == "assistant" and message.function_calls:
            parts = [message.content] if message.content else []
            for c in message.function_calls:
                if c.id:
                    names[c.id] = c.name
                if c.error and c.raw_arguments is not None:
                    parts.append(c.raw_arguments)
                else:
                    parts.append(canonical_json({"function": c.name, "arguments": c.arguments}))
            # The message's own provider fields (a reasoning text) still go back.
            out.append(Message("assistant", "\n".join(parts), extra=message.extra))
        elif message.role == "tool":
            name = message.name or names.get(message.call_id or "")
            label = f"Result of function {name}" if name else "Function result"
            out.append(Message("user", f"{label}:\n{message.content or ''}"))
        else:
            out.append(Message(message.role, message.content, name=message.name))
    if functions:
        instructions = text_call_instructions(functions)
        if out and out[0].role == "system":
            first = out[0]
            out[0] = Message("system", f"{first.content or ''}\n\n{instructions}".strip())
        else:
            out.insert(0, Message("system", instructions))
    return tuple(out)


_FENCE = re.compile(r"```[A-Za-z0-9_-]*[ \t]*\n?(.*?)```", re.DOTALL)


def find_json_object(text: str) -> tuple[dict[str, Any] | None, str, str | None]:
    """The first JSON object in ``text``, leniently: in a code fence, or after prose.

    Returns ``(object, prose, error)``: ``prose`` is the text around the object
    (stripped); ``error`` says why nothing decoded, and is None when the text
    holds no ``{`` at all (plain prose).
    """
    candidates = [(m.group(1), m.start(), m.end()) for m in _FENCE.finditer(text)]
    candidates.append((text, 0, len(text)))
    first_error: str | None = None
    for chunk, start, end in candidates:
        for i, char in enumerate(chunk):
            if char != "{":
                continue
            try:
                obj, stop = safejson.raw_decode(chunk, i)
            except safejson.UnsafeJSON as exc:
                # JSON that parses but must not be used (too deep, a huge integer, a lone
                # surrogate): the reply is refused whole, not searched for an inner object.
                return None, text.strip(), f"{exc.msg} at character {exc.pos - i + 1} of the object"
            except json.JSONDecodeError as exc:
                if first_error is None:
                    first_error = f"{exc.msg} at character {exc.pos - i + 1} of the object"
                continue
            if isinstance(obj, dict):
                if chunk is text:
                    prose = (text[:i] + text[stop:]).strip()
                else:
                    prose = (text[:start] + text[end:]).strip()
                return obj, prose, None
    return None, text.strip(), first_error


def parse_text_call(
    text: str, functions: tuple[FunctionSpec, ...]
) -> tuple[str | None, tuple[FunctionCall, ...]]:
    """Read a function call written as one JSON object in a reply's text.

    Returns ``(text, calls)`` as a native reply would have them. Every further
    object naming an offered function is a further call (so several calls in one
    reply are refused as with native calling); plain prose stays text; JSON that does not parse or does not name an offered function
    becomes a FunctionCall with ``error`` set (``raw_arguments`` keeps the
    reply), so the agent can give the error back to the model.
    """
    if not functions:
        return text, ()
    obj, prose, error = find_json_object(text)
    if obj is None:
        if error is None:
            return text, ()
        name = _guess_function_name(text, functions)
        message = f"the reply is not one valid JSON object ({error}); reply with {TEXT_CALL_SHAPE}"
        return None, (FunctionCall(name, {}, id="call_0", raw_arguments=text, error=message),)
    calls = [_text_call_from_object(obj, functions)]
    # Further objects that name an offered function are further calls, as a native
    # reply with several tool calls would be: the agents then answer "exactly one
    # call per reply" instead of silently running the first. Other JSON stays prose.
    while len(calls) < MAX_TEXT_CALLS:
        more, rest, _ = find_json_object(prose)
        if more is None or _named_function(more) not in {f.name for f in functions}:
            break
        call = _text_call_from_object(more, functions)
        calls.append(dataclasses.replace(call, id=f"call_{len(calls)}"))
        prose = rest
    return prose or None, tuple(calls)


def _named_function(obj: dict[str, Any]) -> Any:
    """The function name a call-shaped object gives (``function``, ``name`` or ``tool``)."""
    name = obj.get("function", obj.get("name", obj.get("tool")))
    return name.get("name") if isinstance(name, dict) else name


def _guess_function_name(text: str, functions: tuple[FunctionSpec, ...]) -> str:
    match = re.search(r'"(?:function|name)"\s*:\s*"([^"]+)"', text)
    if match:
        return match.group(1)
    return functions[0].name if len(functions) == 1 else ""


def _text_call_from_object(
    obj: dict[str, Any], functions: tuple[FunctionSpec, ...]
) -> FunctionCall:
    offered = [f.name for f in functions]
    raw = canonical_json(obj)
    name: Any = obj.get("function", obj.get("name", obj.get("tool")))
    args: Any = obj.get("arguments", obj.get("parameters", obj.get("args")))
    if isinstance(name, dict):  # the OpenAI shape {"function": {"name", "arguments"}}
        name, args = name.get("name"), name.get("arguments", args)
    if name is None and args is None and len(functions) == 1:
        # Small models often write only the arguments of the one function offered.
        name, args = functions[0].name, obj
    if not isinstance(name, str) or not name:
        error = f'the JSON object has no "function" naming one of: {", ".join(offered)}'
        return FunctionCall("", {}, id="call_0", raw_arguments=raw, error=error)
    if name not in offered:
        error = f"unknown function {name!r}; offered: {', '.join(offered)}"
        return FunctionCall(name, {}, id="call_0", raw_arguments=raw, error=error)
    if isinstance(args, str):
        try:
            args = safejson.loads(args) if args.strip() else {}
        except json.JSONDecodeError as exc:
            error = f"the arguments of {name!r} are not valid JSON: {exc.msg}"
            return FunctionCall(name, {}, id="call_0", raw_arguments=args, error=error)
    if args is None:
        args = {}
    if not isinstance(args, dict):
        error = f'"arguments" of {name!r} must be a JSON object, not {type(args).__name__}'
        return FunctionCall(name, {}, id="call_0", raw_arguments=raw, error=error)
    return FunctionCall(name, args, id="call_0")
