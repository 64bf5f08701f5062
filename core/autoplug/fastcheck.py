"""The door's compiled argument checks: quick acceptors for the simple schemas most tools have.

:func:`compile_fast` turns a flat schema of simple typed properties (strings,
integers, numbers, booleans, arrays of them, ``minLength``) into a function that
answers True only for arguments the door's full path would accept (its bounds,
:func:`autoplug.toolfaults.argument_problem`, then jsonschema); False means "not
sure" and the door then runs the full check, which also writes the messages.
Every simple value, a property's or an array item's, is tested by one rule
(:func:`_value_lines`): a huge integer, NaN or an infinity and a string holding
a lone surrogate are handed over, and the size cap counts the most the keys
can. For a
schema of simple properties (and arrays of them) the check is written out as
straight-line code (:func:`written_check`), and for a plain tool (sync, no
context, no side effects, no array parameter) :func:`compile_door` writes one
function that checks and calls it: the door's inline path
(:meth:`autoplug.registry.ToolRegistry.call`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from .safejson import _LONE_SURROGATE

#: The most characters of strings and keys (each value counting one more) that one
#: call's arguments may hold; larger arguments are refused before validation.
MAX_ARGUMENT_CHARS = 10_000_000
# Ints past this many bits go to the full check (which refuses past 4,300 digits).
_MAX_FAST_INT_BITS = 14_000
#: The most properties a schema may have for its check to be written out.
_MAX_SPECIAL_PROPERTIES = 12
#: What a door from :func:`compile_door` returns when it is not sure of the arguments
#: (it did not call the tool): the caller takes the full path.
UNSURE: Any = type("Unsure", (), {"__repr__": lambda self: "UNSURE"})()

_KINDS: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
}


def _shape(schema: dict[str, Any]) -> Any:
    """``(checks, arrays, min_chars, required)`` of a schema the checks can compile, or None."""
    if set(schema) - {"type", "properties", "required", "additionalProperties", "description"}:
        return None
    if schema.get("additionalProperties", True) is not False:
        return None
    kinds = _KINDS
    checks: dict[str, tuple[type, ...]] = {}
    arrays: dict[str, tuple[tuple[type, ...], bool]] = {}  # name -> (item types, bool refused)
    min_chars: dict[str, int] = {}  # a string's minLength
    for name, prop in schema.get("properties", {}).items():
        if not isinstance(prop, dict) or type(name) is not str or _LONE_SURROGATE.search(name):
            return None  # a key the full path refuses (a lone surrogate) is never accepted here
        kind = prop.get("type")
        if type(kind) is not str:  # a list of types ("string" or "null") is jsonschema's
            return None
        if kind == "array" and not set(prop) - {"type", "items", "description", "default"}:
            items = prop.get("items")
            if not isinstance(items, dict) or set(items) - {"type", "description"}:
                return None
            if type(items.get("type")) is not str or items["type"] not in kinds:
                return None
            arrays[name] = (kinds[items["type"]], items["type"] != "boolean")
            continue
        if "minLength" in prop:
            shortest = prop["minLength"]
            if kind != "string" or type(shortest) is not int or shortest < 0:
                return None
            min_chars[name] = shortest
        if set(prop) - {"type", "description", "default", "minLength"} or kind not in kinds:
            return None
        checks[name] = kinds[kind]
    return checks, arrays, min_chars, tuple(schema.get("required", ()))


def compile_fast(schema: dict[str, Any]) -> Callable[..., bool] | None:
    """A quick acceptor for flat schemas of simple typed properties (or arrays of them), or None.

    It answers True only for arguments the full path would accept (with the names in
    ``present`` counted as given); anything it is unsure of (False) goes to
    jsonschema, which also produces the messages.
    """
    shape = _shape(schema)
    if shape is None:
        return None
    accept = general_check(*shape)
    checks, arrays, min_chars, required = shape
    return written_check(checks, min_chars, required, accept, arrays) or accept


def general_check(
    checks: dict[str, tuple[type, ...]],
    arrays: dict[str, tuple[tuple[type, ...], bool]],
    min_chars: dict[str, int],
    required: tuple[str, ...],
) -> Callable[..., bool]:
    """The acceptor of any shape :func:`compile_fast` takes: one loop over the arguments."""
    no_bool = {n for n, k in checks.items() if k != (bool,)}
    keys = _key_chars([*checks, *arrays])

    def accept(args: Any, max_chars: int = MAX_ARGUMENT_CHARS, present: Any = ()) -> bool:
        if type(args) is not dict:
            return False
        for name in required:
            if name not in args and name not in present:
                return False
        size = keys
        for name, value in args.items():
            kind = checks.get(name)
            if kind is None:
                array = arrays.get(name)
                if array is None or type(value) is not list:
                    return False
                item_kind, refuse_bool = array
                size += len(value)  # each item counts, as in argument_problem
                for item in value:
                    if not isinstance(item, item_kind) or (refuse_bool and isinstance(item, bool)):
                        return False
                    if isinstance(item, str):  # a subclass too: the full path counts it
                        size += len(item)
                    if _hostile(item):
                        return False
                continue
            if not isinstance(value, kind):
                return False
            if min_chars and name in min_chars and len(value) < min_chars[name]:
                return False
            if name in no_bool and isinstance(value, bool):
                return False
            if isinstance(value, str):
                size += len(value)
            if _hostile(value):
                return False  # unsure: the full check names a huge integer, NaN, a lone surrogate
        return size <= max_chars

    return accept


def _hostile(value: Any) -> bool:
    """Whether a simple value is one the door's bounds refuse (see :mod:`autoplug.safejson`).

    A huge integer, NaN or an infinity, a string holding a lone surrogate; subclasses too.
    """
    if isinstance(value, str):
        return not value.isascii() and _LONE_SURROGATE.search(value) is not None
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return value.bit_length() > _MAX_FAST_INT_BITS
    return isinstance(value, float) and not math.isfinite(value)


def _key_chars(names: list[str]) -> int:
    """What the keys of arguments holding at most ``names`` can count toward the size cap.

    The door counts one call's size two ways (``toolfaults.argument_problem`` for
    flat arguments: a character a value and each key's; ``safejson.value_problem``
    for nested ones: also one a key and one for the object). The checks here count
    the strings' characters and each array's items, and add the most either way
    can count for the keys, so what they accept is within the cap both ways.
    """
    return 1 + sum(len(name) + 2 for name in names)


def _written_lines(
    checks: dict[str, tuple[type, ...]],
    min_chars: dict[str, int],
    required: tuple[str, ...],
    unsure: str,
    arrays: dict[str, tuple[tuple[type, ...], bool]] | None = None,
) -> list[str] | None:
    """The straight-line check of simple properties; ``unsure`` is the statement for "not sure".

    ``arrays``: the properties that are arrays of a simple type (each item tested by
    its exact type in a loop). It ends with the arguments accepted (the caller adds
    what follows). None when the schema has too many properties or requires names
    it does not define.
    """
    arrays = arrays or {}
    names = list(checks) + list(arrays)
    if len(names) > _MAX_SPECIAL_PROPERTIES or not set(required) <= set(names):
        return None
    body = ["if type(args) is not dict:", f"    {unsure}"]
    if required:
        body.append("try:")
        body += [f"    v{names.index(name)} = args[{name!r}]" for name in required]
        body += ["except KeyError:", f"    {unsure}"]
    seen = [str(len(required))]
    strings = False
    for index, name in enumerate(names):
        value, kinds, indent = f"v{index}", checks.get(name), ""
        if name not in required:
            body.append(f"{value} = args.get({name!r}, MISSING)")
            body.append(f"if {value} is not MISSING:")
            seen.append(f"({value} is not MISSING)")
            indent = "    "
        if kinds is None:  # an array: each item counts one, as in the general check
            strings = True
            body += [f"{indent}if type({value}) is not list:", f"{indent}    {unsure}"]
            body.append(f"{indent}size += len({value})")
            body.append(f"{indent}for item in {value}:")
            item_lines = _value_lines(arrays[name][0], "item", unsure)
            if arrays[name][0] == (str,):
                item_lines.append("size += len(item)")
            body += [f"{indent}    {line}" for line in item_lines]
            continue
        if kinds == (str,):
            strings = True
            extra = f" or len({value}) < {min_chars[name]}" if name in min_chars else ""
            body += [f"{indent}{line}" for line in _value_lines(kinds, value, unsure, extra)]
            body.append(f"{indent}size += len({value})")
        else:
            body += [f"{indent}{line}" for line in _value_lines(kinds, value, unsure)]
    keys = _key_chars(names)
    if strings:
        body.insert(0, f"size = {keys}")
    # Every key was one of the properties (no other keys: additionalProperties is false).
    body.append(f"if len(args) != {' + '.join(seen)} or {'size' if strings else keys} > max_chars:")
    body.append(f"    {unsure}")
    return body


def _value_lines(kinds: tuple[type, ...], value: str, unsure: str, extra: str = "") -> list[str]:
    """The test of one simple value (a property's, or an array's item) by its exact type.

    It hands over (``unsure``) what the door's bounds refuse, as :func:`_hostile`: a
    string holding a lone surrogate, NaN or an infinity, an integer past the bound.
    ``extra`` is more of the string's test (its ``minLength``).
    """
    if kinds == (str,):
        test = f"type({value}) is not str{extra}"
        return [
            f"if {test} or (not {value}.isascii() and LONE({value})):",
            f"    {unsure}",
        ]
    if kinds == (bool,):
        return [f"if type({value}) is not bool:", f"    {unsure}"]
    # Comparisons with constants, cheaper than bit_length() or math.isfinite() calls;
    # a NaN fails every comparison.
    if kinds == (int,):
        return [
            f"if type({value}) is not int or not NEG_INT_BOUND < {value} < INT_BOUND:",
            f"    {unsure}",
        ]
    return [  # number: an int or a float, never a bool
        f"kind = type({value})",
        "if kind is int:",
        f"    if not NEG_INT_BOUND < {value} < INT_BOUND:",
        f"        {unsure}",
        f"elif kind is not float or not NEG_INF < {value} < INF:",
        f"    {unsure}",
    ]


def _build(signature: str, body: list[str], **bound: Any) -> Callable[..., Any]:
    """Compile ``def accept(signature): body`` with ``bound`` as its closure."""
    source = "\n".join(
        [f"def make({', '.join(bound)}):", f"    def accept({signature}):"]
        + [f"        {line}" for line in body]
        + ["    return accept"]
    )
    # Names appear only as repr() literals and numbers are ints: the source holds no
    # text of the schema's own, so any property name compiles to the same check.
    scope: dict[str, Any] = {}
    exec(compile(source, "<autoplug door check>", "exec"), scope)
    return scope["make"](**bound)  # type: ignore[no-any-return]


def _bounds() -> dict[str, Any]:
    # |v| < 2**bits exactly when v.bit_length() <= bits, the general check's bound. The
    # negative bound is a constant too: ``-INT_BOUND`` in the check made a 14,000-bit int
    # at every call (a tenth of the door's instructions).
    bound = 1 << _MAX_FAST_INT_BITS
    return {
        "MISSING": object(),
        "INT_BOUND": bound,
        "NEG_INT_BOUND": -bound,
        "INF": math.inf,
        "NEG_INF": -math.inf,
        "LONE": _LONE_SURROGATE.search,
    }


def written_check(
    checks: dict[str, tuple[type, ...]],
    min_chars: dict[str, int],
    required: tuple[str, ...],
    general: Callable[..., bool],
    arrays: dict[str, tuple[tuple[type, ...], bool]] | None = None,
) -> Callable[..., bool] | None:
    """The check of a schema of simple properties, written out as straight-line code, or None.

    ``general`` is :func:`general_check` of the same schema; the written one
    answers True only where it would, without its loop over a table (exact type
    tests, the required names read at once), and hands everything else to it: a
    ``present`` set, a missing or unknown key, an ``int`` subclass, a huge
    integer. So the two never disagree (``test_the_written_check_answers_as_the_general_one``).
    """
    body = _written_lines(
        checks, min_chars, required, "return general(args, max_chars, present)", arrays
    )
    if body is None:
        return None
    body = ["if present:", "    return general(args, max_chars, present)", *body, "return True"]
    return _build(
        "args, max_chars=MAX_CHARS, present=()",
        body,
        general=general,
        MAX_CHARS=MAX_ARGUMENT_CHARS,
        **_bounds(),
    )


def compile_door(schema: dict[str, Any], func: Callable[..., Any]) -> Callable[..., Any] | None:
    """``door(args, max_chars)``: the written check of ``schema``, then ``func(**args)``; or None.

    The door returns the tool's value when the check accepted the arguments, and
    :data:`UNSURE` without calling ``func`` otherwise. None when the schema is not
    one of simple properties alone.
    """
    shape = _shape(schema)
    if shape is None or shape[1]:
        return None
    checks, _, min_chars, required = shape
    body = _written_lines(checks, min_chars, required, "return UNSURE")
    if body is None:
        return None
    return _build(
        "args, max_chars", [*body, "return func(**args)"], func=func, UNSURE=UNSURE, **_bounds()
    )
