"""Tool parameters as the planner reads them: a compact, lossless type notation.

A tool's JSON Schema costs the planner three to four times the tokens of the
same facts written as a typed signature, and the planner prompt pays it for
every tool on every plan. :func:`signature` writes the schema in a notation
models read fluently (TypeScript-like), keeping every fact the planner needs to
write valid arguments: each property, whether it is required (``name?`` when
not), its type, enums and consts, nested objects and arrays, defaults,
descriptions and every other keyword (``minimum``, ``pattern``, ``format``…),
the latter as compact JSON after the type they constrain. Left out: ``title``,
the document keywords (``$schema``, ``$id``, ``$comment``) and whether an object
allows keys it does not list (a planner writes the listed ones either way).

The notation (explained once in the planner prompt)::

    topic: string — what to look up            a required argument, its description
    limit?: integer{"minimum":1} = 10           optional, a constraint, a default
    mode: "fast"|"full"                        an enum
    items: [{name: string, tags?: [string]}]   an array of objects
    meta: {[key]: number}                      an object's other keys (additionalProperties)

A ``$ref`` is written as its target (``#/$defs/NAME``, listed after the
arguments); any keyword the notation has no form for (``allOf``, ``not``,
``if``…) stays as JSON after the type, so no constraint is lost.
"""

from __future__ import annotations

import json
from typing import Any

#: Keywords that only document a schema; the planner needs none of them.
_DROPPED = frozenset({"title", "$schema", "$id", "$comment"})


#: Characters that end a line (``str.splitlines``) but that JSON leaves unescaped:
#: escaped, so a value holding one cannot break the catalog's one-line-per-argument layout.
_LINE_BREAKS = {"\x85": "\\u0085", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def _json(value: Any, **options: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, **options)
    for char, escape in _LINE_BREAKS.items():
        text = text.replace(char, escape)
    return text


def _compact(value: Any) -> str:
    return _json(value, separators=(",", ":"), sort_keys=True)


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def type_text(schema: Any) -> str:
    """The type of one schema in the notation, with its constraints (no description)."""
    if schema is True or schema == {}:
        return "any"
    if schema is False:
        return "never"
    if not isinstance(schema, dict):
        return _compact(schema)
    used = {"description", "default"} | _DROPPED
    if isinstance(schema.get("$ref"), str):
        # A definition, listed after the arguments (``signature``) under this name.
        base, used = schema["$ref"], used | {"$ref"}
    elif "const" in schema:
        base, used = _compact(schema["const"]), used | {"const"}
    elif isinstance(schema.get("enum"), list):
        base = "|".join(_compact(v) for v in schema["enum"]) or "never"
        used = used | {"enum"}
    elif isinstance(schema.get("anyOf"), list) or isinstance(schema.get("oneOf"), list):
        key = "anyOf" if isinstance(schema.get("anyOf"), list) else "oneOf"
        options = [type_text(option) for option in schema[key]]
        # oneOf means exactly one matches: written apart, since it differs from anyOf.
        base = ("|" if key == "anyOf" else " ^ ").join(options) or "never"
        if len(options) > 1:
            base = f"({base})"
        used = used | {key}
    else:
        base, typed = _typed(schema)
        used = used | typed
    extras = {k: v for k, v in schema.items() if k not in used}
    if extras:
        base += _compact(extras)
    return base


def _kind(schema: dict[str, Any]) -> str:
    kind = schema.get("type")
    if isinstance(kind, str):
        return kind
    if kind is None:
        if "properties" in schema or "additionalProperties" in schema:
            return "object"
        if "items" in schema:
            return "array"
    return ""


def _typed(schema: dict[str, Any]) -> tuple[str, set[str]]:
    """The type written from ``type`` and its shape keywords, and the keywords it wrote."""
    kind = schema.get("type")
    if isinstance(kind, list) and all(isinstance(k, str) for k in kind):
        # A union of types: each as it would read alone (an object's shape, an array's items).
        written: list[str] = []
        used = {"type"}
        for one in kind:
            text, more = _typed({**schema, "type": one})
            written.append(text)
            used |= more
        return "|".join(written) or "never", used
    kind = _kind(schema)
    if kind == "object":
        return _object(schema), {"type", "properties", "required", "additionalProperties"}
    if kind == "array":
        items = schema.get("items")
        if items is None:
            return "[any]", {"type"}
        if isinstance(items, list):  # draft-07 tuple form
            return "[" + ", ".join(field_text(i) for i in items) + "]", {"type", "items"}
        return f"[{field_text(items)}]", {"type", "items"}
    if kind:
        return kind, {"type"}
    return "any", set()


def _object(schema: dict[str, Any]) -> str:
    properties = schema.get("properties")
    properties = properties if isinstance(properties, dict) else {}
    extra = schema.get("additionalProperties", True)
    required = schema.get("required") if isinstance(schema.get("required"), list) else []
    parts = [property_text(name, sub, name in required) for name, sub in properties.items()]
    # Required keys that have no schema of their own still have to be there.
    parts += [f"{_key(name)}: any" for name in required if name not in properties]
    if extra is not True and extra != {} and extra is not False:
        parts.append(f"[key]: {field_text(extra)}")
    if not parts:
        return "{}" if extra is False else "object"
    # Other keys are allowed unless additionalProperties says no; a planner writes the
    # listed ones either way, so an open object is written like a closed one.
    return "{" + ", ".join(parts) + "}"


def _key(name: str) -> str:
    return name if name.isidentifier() else _json(name)


def field_text(schema: Any) -> str:
    """A type with its default and description, as it stands inside a larger type."""
    text = type_text(schema)
    if isinstance(schema, dict):
        if "default" in schema:
            text += f" = {_compact(schema['default'])}"
        if schema.get("description"):
            text += f" /* {_one_line(schema['description'])} */"
    return text


def property_text(name: str, schema: Any, required: bool) -> str:
    """One property: ``name: type``, ``name?: type`` when optional."""
    return f"{_key(name)}{'' if required else '?'}: {field_text(schema)}"


def signature(parameters: dict[str, Any], indent: str = "  ") -> str:
    """A tool's parameters, one argument a line: ``name[?]: type = default — description``.

    Definitions (``$defs``) follow as ``#/$defs/NAME = type`` lines, so a ``$ref``
    (kept as written) can be looked up.
    """
    if not isinstance(parameters, dict):
        return f"{indent}{_compact(parameters)}"
    lines = []
    properties = parameters.get("properties")
    required = parameters.get("required") if isinstance(parameters.get("required"), list) else []
    if isinstance(properties, dict):
        for name, sub in properties.items():
            line = f"{_key(name)}{'' if name in required else '?'}: {type_text(sub)}"
            if isinstance(sub, dict):
                if "default" in sub:
                    line += f" = {_compact(sub['default'])}"
                if sub.get("description"):
                    line += f" — {_one_line(sub['description'])}"
            lines.append(indent + line)
    listed = properties if isinstance(properties, dict) else {}
    lines += [f"{indent}{_key(name)}: any" for name in required if name not in listed]
    rest = {
        k: v
        for k, v in parameters.items()
        if k not in ("type", "properties", "required", "$defs", "definitions")
        and k not in _DROPPED
        and k != "description"
    }
    # Top-level keys that are not parameters are refused by the plan checks anyway.
    extra = rest.pop("additionalProperties", True)
    if extra is not True and extra is not False and extra != {}:
        lines.append(f"{indent}[key]: {field_text(extra)}")
    if parameters.get("type", "object") != "object":
        rest["type"] = parameters["type"]
    if rest:
        lines.append(f"{indent}schema also: {_compact(rest)}")
    for group in ("$defs", "definitions"):
        defs = parameters.get(group)
        if isinstance(defs, dict):
            for name, sub in defs.items():
                lines.append(f"{indent}#/{group}/{name} = {field_text(sub)}")
    return "\n".join(lines) if lines else f"{indent}(no arguments)"
