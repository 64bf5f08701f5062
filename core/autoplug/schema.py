"""JSON Schema from a function's signature and docstring, for the ``@tool`` decorator.

Supported annotations: ``str``, ``int``, ``float`` (number), ``bool``, ``list[X]``,
``dict`` / ``dict[str, X]``, ``X | None`` / ``Optional[X]``, ``Literal[...]``, and
``Any`` (no constraint). Parameter descriptions come from docstring lines of the
form ``name: description``; the text before them is the tool's description.
Also :func:`json_type`, the JSON name of a parsed value's type, for messages.
"""

from __future__ import annotations

import inspect
import re
import types
import typing
from collections.abc import Callable
from typing import Any

from .errors import ToolDefinitionError

_PARAM_LINE = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?:\([^)]*\))?\s*:\s*(.+)$")
_SIMPLE = {str: "string", int: "integer", float: "number", bool: "boolean"}


def type_schema(annotation: Any, where: str) -> dict[str, Any]:
    """The JSON Schema for one annotation; ``where`` names it in errors."""
    if annotation is inspect.Parameter.empty or annotation is Any:
        return {}
    if annotation in _SIMPLE:
        return {"type": _SIMPLE[annotation]}
    if annotation is type(None):
        return {"type": "null"}
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if annotation is list or origin is list:
        schema: dict[str, Any] = {"type": "array"}
        if args:
            schema["items"] = type_schema(args[0], where)
        return schema
    if annotation is dict or origin is dict:
        schema = {"type": "object"}
        if len(args) == 2:
            schema["additionalProperties"] = type_schema(args[1], where)
        return schema
    if origin is typing.Literal:
        return {"enum": list(args)}
    if origin is typing.Union or origin is types.UnionType:
        members = [a for a in args if a is not type(None)]
        nullable = len(members) < len(args)
        if len(members) == 1:
            inner = type_schema(members[0], where)
            if not nullable:
                return inner
            if set(inner) == {"type"} and isinstance(inner["type"], str):
                return {"type": [inner["type"], "null"]}
            return {"anyOf": [inner, {"type": "null"}]}
        options = [type_schema(m, where) for m in members]
        if nullable:
            options.append({"type": "null"})
        return {"anyOf": options}
    raise ToolDefinitionError(f"{where}: unsupported type annotation {annotation!r}")


def parse_docstring(doc: str | None, names: set[str]) -> tuple[str, dict[str, str]]:
    """Split a docstring into the description and ``{param: description}``.

    A line ``name: text`` (or ``name (type): text``) whose name is one of
    ``names`` starts a parameter's description; indented lines continue it.
    """
    if not doc:
        return "", {}
    description: list[str] = []
    params: dict[str, str] = {}
    current: str | None = None
    for line in inspect.cleandoc(doc).splitlines():
        match = _PARAM_LINE.match(line)
        if match and match.group(1) in names:
            current = match.group(1)
            params[current] = match.group(2).strip()
        elif current is not None and line.strip() and line[: len(line) - len(line.lstrip())]:
            params[current] += " " + line.strip()
        elif not params and line.strip().lower() not in {"args:", "arguments:", "parameters:"}:
            description.append(line)
        else:
            current = None
    return "\n".join(description).strip(), params


def function_schema(
    func: Callable[..., Any], tool_name: str, skip: frozenset[str] = frozenset({"context"})
) -> tuple[str, dict[str, Any]]:
    """The description and the parameters schema of ``func``.

    Keyword-only parameters named in ``skip`` (the injected ``context``) and
    ``*args`` / ``**kwargs`` are left out.
    """
    signature = inspect.signature(func)
    try:
        hints = typing.get_type_hints(func)
    except Exception as exc:  # unresolvable forward reference
        raise ToolDefinitionError(f"tool {tool_name!r}: cannot read type hints: {exc}") from None
    description, docs = parse_docstring(func.__doc__, set(signature.parameters))
    properties: dict[str, Any] = {}
    required: list[str] = []
    for name, param in signature.parameters.items():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        if name in skip and param.kind == param.KEYWORD_ONLY:
            continue
        if param.kind == param.POSITIONAL_ONLY:
            # The door passes every argument by name, so this one could never be given.
            raise ToolDefinitionError(
                f"tool {tool_name!r} parameter {name!r} is positional-only; tools are called "
                "with keyword arguments, so remove the '/' from its signature"
            )
        schema = type_schema(
            hints.get(name, param.annotation), f"tool {tool_name!r} parameter {name!r}"
        )
        schema = dict(schema)
        if name in docs:
            schema["description"] = docs[name]
        if param.default is inspect.Parameter.empty:
            required.append(name)
        elif param.default is None or isinstance(
            param.default, str | int | float | bool | list | dict
        ):
            schema["default"] = param.default
        properties[name] = schema
    parameters: dict[str, Any] = {
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": False,
    }
    return description, parameters


def json_type(value: Any) -> str:
    """The JSON name of a parsed value's type, with its article, for messages.

    ``null``, ``a boolean``, ``a number``, ``a string``, ``an array`` or ``an object``.
    """
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "an array" if isinstance(value, list) else "an object"
