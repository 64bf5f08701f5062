"""Untrusted JSON: what a model (or a file a user hands over) writes, parsed without crashing.

Python's ``json`` happily returns values that crash a run later, or raises
exceptions that are not ``JSONDecodeError``: an integer of more than 4,300 digits
(``ValueError`` from the int conversion, and later from ``str()``), nesting
deeper than the recursion limit (``RecursionError``), a lone surrogate escape
such as ``"\\ud800"`` (a string that cannot be encoded as UTF-8, so storing or
sending it fails), ``NaN`` and ``1e999`` (not JSON; ``json.dumps`` writes them
back as invalid JSON). :func:`loads` and :func:`raw_decode` refuse all of these
with :class:`UnsafeJSON`, a ``JSONDecodeError`` whose ``msg`` is a one-line
reason, so every caller that already handles malformed JSON handles them too.

:func:`value_problem` checks a value that arrives already parsed (a model object
or provider handing over a dict): the same faults, as a reason or None.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

#: The deepest nesting of arrays and objects accepted from a model. Deeper
#: structures are refused before anything recursive (validation, ``json.dumps``,
#: ``repr``) can meet them; real tool arguments are a few levels deep.
MAX_DEPTH = 100
#: The most digits of an integer accepted (the interpreter's own default limit
#: for converting between ``int`` and ``str``).
MAX_INT_DIGITS = 4300
# An int of more bits than this has more than MAX_INT_DIGITS decimal digits; one of
# exactly this many bits may have either (see _huge).
_MAX_INT_BITS = int(MAX_INT_DIGITS * math.log2(10)) + 1
# The least positive int of more than MAX_INT_DIGITS digits.
_FIRST_HUGE = 10**MAX_INT_DIGITS

_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
_isfinite = math.isfinite
_LONG_DIGITS = re.compile(rf"\d{{{MAX_INT_DIGITS + 1},}}")
_BRACKETS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]')


class UnsafeJSON(json.JSONDecodeError):
    """Raised for JSON that parses but must not be used; ``msg`` says why in one line.

    A subclass of ``json.JSONDecodeError`` (and so of ``ValueError``), so code that
    answers malformed JSON with its message answers these too.
    """


class _Refused(ValueError):
    pass


def _refuse_constant(name: str) -> Any:
    raise _Refused(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise _Refused(f"the number {text[:20]!r} is too large for a float")
    return value


def _deep_at(text: str, start: int, max_depth: int) -> int:
    """Where the nesting in ``text`` (from ``start``) first goes past ``max_depth``, or -1."""
    depth = 0
    for match in _BRACKETS.finditer(text, start):
        token = match.group()
        if token in "[{":
            depth += 1
            if depth > max_depth:
                return match.start()
        elif token in "]}":
            depth -= 1
    return -1


def _lone_surrogate_at(text: str, start: int) -> int:
    """Where the first lone surrogate (escaped or raw) is in ``text``, or -1."""
    raw = _LONE_SURROGATE.search(text, start)
    for match in _SURROGATE_ESCAPE.finditer(text, start):
        if raw is not None and raw.start() < match.start():
            break
        code = int(match.group()[2:], 16)
        after = text[match.end() : match.end() + 6]
        if code < 0xDC00 and re.fullmatch(r"\\u[dD][c-fC-F][0-9a-fA-F]{2}", after):
            continue  # a high surrogate followed by a low one: a pair, one character
        if code >= 0xDC00 and _paired_low(text, match.start()):
            continue
        return match.start()
    return raw.start() if raw is not None else -1


def _paired_low(text: str, at: int) -> bool:
    before = text[max(0, at - 6) : at]
    return bool(re.fullmatch(r"\\u[dD][89abAB][0-9a-fA-F]{2}", before))


def _failure(text: str, start: int, reason: str, pos: int = -1) -> UnsafeJSON:
    return UnsafeJSON(reason, text, max(start, pos))


def _decode(text: str, start: int, max_depth: int, whole: bool) -> tuple[Any, int]:
    decoder = json.JSONDecoder(parse_float=_finite_float, parse_constant=_refuse_constant)
    deep = f"nested deeper than {max_depth} levels"
    try:
        if whole:
            value, end = decoder.decode(text), len(text)
        else:
            value, end = decoder.raw_decode(text, start)
    except json.JSONDecodeError:
        raise
    except RecursionError:
        raise _failure(text, start, deep, _deep_at(text, start, max_depth)) from None
    except _Refused as exc:
        raise _failure(text, start, str(exc)) from None
    except ValueError:
        # The interpreter's int conversion limit: the only other ValueError json raises.
        match = _LONG_DIGITS.search(text, start)
        where = match.start() if match else start
        raise _failure(
            text, start, f"an integer of more than {MAX_INT_DIGITS} digits", where
        ) from None
    chunk = text if whole else text[start:end]
    # Cheap checks first: a text with few brackets cannot be nested deeply, and one
    # with no surrogate (escaped or raw) cannot hold a lone one.
    deep_possible = chunk.count("[") + chunk.count("{") > max_depth
    surrogate_possible = bool(_SURROGATE_ESCAPE.search(chunk) or _LONE_SURROGATE.search(chunk))
    if deep_possible or surrogate_possible:
        problem = value_problem(value, max_depth=max_depth)
        if problem is not None:
            pos = -1
            if problem.startswith("nested"):
                pos = _deep_at(text, start, max_depth)
            else:
                pos = _lone_surrogate_at(text, start)
            raise _failure(text, start, problem, pos)
    return value, end


def loads(text: str | bytes, *, max_depth: int = MAX_DEPTH) -> Any:
    """``json.loads`` for untrusted text; raises :class:`UnsafeJSON` for what must not be used.

    Also raises ``json.JSONDecodeError`` for text that is not JSON, as ``json.loads`` does.
    """
    if isinstance(text, bytes | bytearray):
        text = bytes(text).decode("utf-8", errors="replace")
    value, _ = _decode(text, 0, max_depth, whole=True)
    return value


#: How much deeper than :data:`MAX_DEPTH` a provider's reply body may nest: the
#: envelope around the calls, whose arguments are then checked on their own.
ENVELOPE_DEPTH = 2 * MAX_DEPTH
_ESCAPES = re.compile(
    r"\\\\|\\u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2}|\\u[dD][89a-fA-F][0-9a-fA-F]{2}"
)


def _replace_lone_escape(match: re.Match[str]) -> str:
    token = match.group()
    return "\\ufffd" if len(token) == 6 else token


def loads_envelope(text: str | bytes) -> Any:
    """A provider's reply body, parsed as :func:`loads` with two differences.

    It may nest :data:`ENVELOPE_DEPTH` deep (the calls inside are checked on their
    own, so one bad call is answered as a malformed call, not a failed request),
    and a lone surrogate, escaped or raw, becomes U+FFFD instead of refusing the
    whole body: in reply text it is a stray character, not a fault of the model's call.
    """
    if isinstance(text, bytes | bytearray):
        text = bytes(text).decode("utf-8", errors="replace")
    if "\\u" in text:
        text = _ESCAPES.sub(_replace_lone_escape, text)
    return loads(clean_text(text), max_depth=ENVELOPE_DEPTH)


def raw_decode(text: str, index: int = 0, *, max_depth: int = MAX_DEPTH) -> tuple[Any, int]:
    """``JSONDecoder.raw_decode`` for untrusted text: the value at ``index`` and where it ends."""
    return _decode(text, index, max_depth, whole=False)


def value_problem(
    value: Any, *, max_depth: int = MAX_DEPTH, max_chars: int | None = None, strict: bool = True
) -> str | None:
    """Why an already-parsed value must not be used, in one line, or None when it may.

    Refused: nesting deeper than ``max_depth``, an integer of more than
    :data:`MAX_INT_DIGITS` digits, NaN or infinity, a string holding a lone
    surrogate, and (with ``max_chars``) more than that many characters of strings
    and keys (each value counts one more). With ``strict`` only JSON values
    (dict with string keys, list, str, int, float, bool, None) are accepted;
    without it other objects pass unexamined (a Python caller's own types).
    Iterative, so no value is too deep to be checked.
    """
    if strict and max_chars is None and (type(value) is dict or type(value) is list):
        # The common value, a few levels of plain JSON (a model's tool arguments):
        # accepted by a shorter walk when it certainly passes, else walked in full.
        if _plain(value, _SHALLOW if max_depth > _SHALLOW else max_depth):
            return None
    return _walk_problem(value, max_depth, max_chars, strict)


#: How deep :func:`_plain` recurses before it hands a value to the full walk.
_SHALLOW = 12


def _plain(item: dict[Any, Any] | list[Any], limit: int) -> bool:
    """Whether ``item`` (a dict or list) is certainly usable JSON, ``limit`` levels deep
    at most: exact dicts with str keys and exact lists of strs without a lone
    surrogate, ints of fewer bits than any huge one, finite floats, bools and None.

    False when unsure: the full walk decides (and names the fault)."""
    if limit <= 0:
        return False
    if type(item) is dict:
        for key in item:
            if type(key) is not str or not key.isascii() and _LONE_SURROGATE.search(key):
                return False
        item = item.values()  # type: ignore[assignment]
    for child in item:
        kind = type(child)
        if kind is str:
            if not child.isascii() and _LONE_SURROGATE.search(child):
                return False
        elif kind is dict or kind is list:
            if not _plain(child, limit - 1):
                return False
        elif kind is int:
            if child.bit_length() >= _MAX_INT_BITS:
                return False
        elif kind is float:
            if not _isfinite(child):
                return False
        elif child is not None and kind is not bool:
            return False
    return True


def _walk_problem(value: Any, max_depth: int, max_chars: int | None, strict: bool) -> str | None:
    """:func:`value_problem`'s full walk, which names the fault it finds."""
    if type(value) is not dict and type(value) is not list:
        if not isinstance(value, dict | list | tuple):
            problem = _scalar_problem(value, strict)
            if problem is None and max_chars is not None:
                if (1 + len(value) if isinstance(value, str) else 1) > max_chars:
                    return f"larger than {max_chars:,} characters"
            return problem
    # Scalars are checked where they are met and only containers go on the stack;
    # the strings (keys and values) are gathered and looked at once, at the end.
    texts: list[str] = []
    count = 0  # the values and keys met, each counting one character
    stack: list[tuple[Any, int]] = [(value, 0)]
    pending = stack.append
    while stack:
        item, depth = stack.pop()
        count += 1
        if depth >= max_depth:
            return f"nested deeper than {max_depth} levels"
        depth += 1
        if isinstance(item, dict):
            for key, child in item.items():
                if type(key) is str or (not strict and isinstance(key, str)):
                    texts.append(key)  # a Python caller's str subclass too, without strict
                    count += 1
                elif strict:
                    return f"an object key is {type(key).__name__}, not a string"
                kind = type(child)
                if kind is str:
                    texts.append(child)
                elif kind is int:
                    if child.bit_length() >= _MAX_INT_BITS and _huge(child):
                        return _HUGE_INT
                elif kind is dict or kind is list:
                    pending((child, depth))
                    continue  # counted when taken from the stack
                elif kind is float:
                    if not math.isfinite(child):
                        return _NOT_FINITE
                elif child is not None and kind is not bool:
                    if isinstance(child, dict | list | tuple):
                        pending((child, depth))
                        continue
                    problem = _scalar_problem(child, strict, texts)
                    if problem is not None:
                        return problem
                count += 1
        elif strict and not isinstance(item, list):
            return f"a {type(item).__name__} is not a JSON value"
        else:
            for child in item:  # the same checks as an object's values, written out for speed
                kind = type(child)
                if kind is str:
                    texts.append(child)
                elif kind is int:
                    if child.bit_length() >= _MAX_INT_BITS and _huge(child):
                        return _HUGE_INT
                elif kind is dict or kind is list:
                    pending((child, depth))
                    continue
                elif kind is float:
                    if not math.isfinite(child):
                        return _NOT_FINITE
                elif child is not None and kind is not bool:
                    if isinstance(child, dict | list | tuple):
                        pending((child, depth))
                        continue
                    problem = _scalar_problem(child, strict, texts)
                    if problem is not None:
                        return problem
                count += 1
        if max_chars is not None and count > max_chars:
            return f"larger than {max_chars:,} characters"
    # Python strings never pair surrogates, so joining cannot hide or make a lone one.
    joined = "".join(texts)
    if not joined.isascii() and _LONE_SURROGATE.search(joined):
        return _SURROGATE
    if max_chars is not None and count + len(joined) > max_chars:
        return f"larger than {max_chars:,} characters"
    return None


_SURROGATE = "a string holds a lone surrogate (such as \\ud800), which is not text"
_HUGE_INT = f"an integer of more than {MAX_INT_DIGITS} digits"
_NOT_FINITE = "a number is NaN or infinite, which JSON cannot hold"


def _huge(value: int) -> bool:
    """Whether an int has more than :data:`MAX_INT_DIGITS` digits (exactly: the ints of
    ``_MAX_INT_BITS`` bits have 4,300 digits or 4,301)."""
    bits = value.bit_length()
    return bits > _MAX_INT_BITS or (bits == _MAX_INT_BITS and abs(value) >= _FIRST_HUGE)


def _scalar_problem(item: Any, strict: bool, texts: list[str] | None = None) -> str | None:
    """What is wrong with one value that is not an array or object, or None.

    ``texts``: where the walk gathers its strings; a str subclass (without ``strict``)
    is put there, to be checked and counted with them, as a str is."""
    kind = type(item)
    if kind is str:
        if not item.isascii() and _LONE_SURROGATE.search(item):
            return _SURROGATE
    elif kind is int or (isinstance(item, int) and kind is not bool):
        if item.bit_length() >= _MAX_INT_BITS and _huge(item):
            return _HUGE_INT
    elif kind is float:
        if not math.isfinite(item):
            return _NOT_FINITE
    elif item is None or kind is bool:
        pass
    elif strict:
        return f"a Python {kind.__name__} is not a JSON value"
    elif isinstance(item, str):  # a subclass of str or float: the same faults
        if texts is not None:
            texts.append(item)
        elif not item.isascii() and _LONE_SURROGATE.search(item):
            return _SURROGATE
    elif isinstance(item, float):
        if not math.isfinite(item):
            return _NOT_FINITE
    return None


def clean_text(text: str) -> str:
    """``text`` with each lone surrogate replaced by U+FFFD, so it can be stored and sent."""
    if text.isascii() or not _LONE_SURROGATE.search(text):
        return text
    return _LONE_SURROGATE.sub("\ufffd", text)
