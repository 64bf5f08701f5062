"""Hand-built tool schemas: their dialect, their validator, and what makes them unusable.

A schema is validated in the dialect its ``$schema`` names (draft-07, 2019-09 or
2020-12, also draft-04 and -06; none means 2020-12). A ``$ref`` that cannot be
resolved — a remote one is never fetched — or a ``pattern`` Python cannot compile
makes the tool *unusable* (DESIGN "Tool schemas"): :func:`schema_fault` says why,
naming the schema path, and the door answers every call with that reason.
jsonschema is imported only here, inside the functions.
"""

from __future__ import annotations

import re
from typing import Any

# Keywords whose values are data, not subschemas: a {"$ref": ...} inside them is a value.
_DATA_KEYWORDS = frozenset({"enum", "const", "default", "examples", "description", "title"})


def validator_class(schema: Any) -> tuple[Any, str | None]:
    """The jsonschema validator class for ``schema``'s dialect, and a fault or None.

    An unknown ``$schema`` is a fault (the 2020-12 class comes back with it).
    """
    from jsonschema import Draft202012Validator
    from jsonschema.validators import validator_for

    if not isinstance(schema, dict) or "$schema" not in schema:
        return Draft202012Validator, None
    found = validator_for(schema, default=None)
    if found is None:
        named = str(schema["$schema"])[:200]
        return Draft202012Validator, (
            f"schema path /$schema: unknown dialect {named!r} "
            "(known: draft-07, 2019-09, 2020-12, draft-04, draft-06)"
        )
    return found, None


def make_validator(schema: dict[str, Any]) -> Any:
    """A validator for ``schema`` in its dialect, resolving only local references.

    The empty registry means a remote ``$ref`` is never fetched: validation
    meets it as ``Unresolvable``, which :func:`schema_fault` reports first.
    """
    from referencing import Registry

    cls, _ = validator_class(schema)
    return cls(schema, registry=Registry())


def _pointer(path: list[Any]) -> str:
    return "/" + "/".join(str(p).replace("~", "~0").replace("/", "~1") for p in path)


def _walk(schema: Any) -> Any:
    """Every (path, subschema dict, under a nested ``$id``) of ``schema``, iteratively.

    Data keywords (``enum``, ``const``, ``default``, ...) are not walked into.
    """
    stack: list[tuple[list[Any], Any, bool]] = [([], schema, False)]
    while stack:
        path, node, under_id = stack.pop()
        if isinstance(node, dict):
            yield path, node, under_id
            inner = under_id or (bool(path) and "$id" in node)
            for key, child in node.items():
                if key not in _DATA_KEYWORDS and isinstance(child, dict | list):
                    stack.append((path + [key], child, inner))
        elif isinstance(node, list):
            for index, child in enumerate(node):
                if isinstance(child, dict | list):
                    stack.append((path + [index], child, under_id))


def schema_fault(schema: dict[str, Any]) -> str | None:
    """Why a hand-built ``schema`` cannot be used, naming the schema path, or None.

    Faults: an unknown ``$schema`` dialect, a ``pattern`` (or a
    ``patternProperties`` key) Python's ``re`` cannot compile, a ``$ref`` that
    does not resolve (remote references are never fetched). References under a
    nested ``$id`` resolve against that base and are left to validation time.
    """
    cls, fault = validator_class(schema)
    if fault is not None:
        return fault
    refs: list[tuple[list[Any], str]] = []
    for path, node, under_id in _walk(schema):
        pattern = node.get("pattern")
        if isinstance(pattern, str):
            problem = _regex_problem(pattern)
            if problem:
                return f"schema path {_pointer(path + ['pattern'])}: {problem}"
        props = node.get("patternProperties")
        if isinstance(props, dict):
            for key in props:
                problem = _regex_problem(key)
                if problem:
                    return f"schema path {_pointer(path + ['patternProperties'])}: {problem}"
        ref = node.get("$ref")
        if isinstance(ref, str) and not under_id:
            refs.append((path, ref))
    if not refs:
        return None
    from referencing import Registry
    from referencing.exceptions import Unresolvable

    resolver = cls(schema, registry=Registry())._resolver
    for path, ref in refs:
        try:
            resolver.lookup(ref)
        except Unresolvable:
            remote = "" if ref.startswith("#") else " (remote references are never fetched)"
            return f"schema path {_pointer(path + ['$ref'])}: cannot resolve {ref[:200]!r}{remote}"
        except Exception as exc:  # a malformed pointer or URI
            return f"schema path {_pointer(path + ['$ref'])}: cannot resolve {ref[:200]!r}: {exc}"
    return None


def _regex_problem(pattern: str) -> str | None:
    try:
        re.compile(pattern)
    except (re.error, RecursionError, OverflowError, ValueError) as exc:
        return f"pattern {pattern[:200]!r} does not compile in Python: {exc}"
    return None
