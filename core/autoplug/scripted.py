"""The scripted model: replies taken from a list or a function, every request recorded.

It stands in for the LLM's choices in tests and benchmarks::

    model = ScriptedModel([
        call("act", subtask="read the notes", assets=[]),
        call("submit_plan", steps=[...]),
        call("final", answer="Jupiter"),
    ])

A reply is a :class:`ChatResponse`, a ``str`` (text), a :class:`FunctionCall`
(see :func:`call`), a list of FunctionCalls, a ``(text, [FunctionCall, ...])``
pair, an exception (raised), or a dict
in the JSON form of a ``scripted:PATH`` file (see :func:`reply_from_dict`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from json.encoder import encode_basestring_ascii as _encode_string
from operator import is_ as _is
from pathlib import Path
from typing import Any

from . import safejson
from .errors import ModelError, UsageError
from .llm import ChatRequest, ChatResponse, FunctionCall, Message, TextCallback, Usage


def call(name: str, **arguments: Any) -> FunctionCall:
    """A function call reply: ``call("final", answer="42")``."""
    return FunctionCall(name=name, arguments=arguments)


def estimate_tokens(text: str) -> int:
    """A rough token count (4 characters a token) for models that report none."""
    return max(1, len(text) // 4)


def reply_from_dict(data: dict[str, Any]) -> Any:
    """One reply written as JSON, as a scripted reply object.

    Forms: ``{"text": "..."}``; ``{"call": "NAME", "arguments": {...}}`` (with
    ``"raw_arguments": "..."`` instead, a call whose arguments did not parse);
    ``{"calls": [{"name", "arguments"}, ...]}`` (also ``function_calls``, the
    :meth:`ChatResponse.to_dict` form); ``{"error": "message", "retryable":
    false}`` raises a ModelError. ``text`` may go with calls; ``usage`` and
    ``finish_reason`` are optional. Raises ValueError saying what is wrong.
    """
    if not isinstance(data, dict):
        raise ValueError(f"a reply must be a string or an object, not {type(data).__name__}")
    known = {"text", "call", "arguments", "raw_arguments", "id", "calls", "function_calls"}
    known |= {"error", "retryable", "usage", "finish_reason", "model"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ValueError(f"unknown key(s) {', '.join(unknown)} in reply {json.dumps(data)[:80]}")
    if "error" in data:
        return ModelError(str(data["error"]), retryable=bool(data.get("retryable", False)))
    calls: list[FunctionCall] = []
    if "call" in data:
        calls.append(_call_from(data, "call"))
    for item in data.get("calls") or data.get("function_calls") or []:
        calls.append(_call_from(item, "name"))
    text = data.get("text")
    if text is not None and not isinstance(text, str):
        raise ValueError("'text' of a reply must be a string")
    if not calls and text is None:
        raise ValueError(f"reply {json.dumps(data)[:80]} has neither 'text' nor a call")
    if "usage" in data or "finish_reason" in data:
        return ChatResponse.from_dict(
            {**data, "text": text, "function_calls": [c.to_dict() for c in calls]}
        )
    if calls and text is not None:
        return (text, calls)
    return calls if calls else text


def _call_from(data: Any, key: str) -> FunctionCall:
    if not isinstance(data, dict) or not isinstance(data.get(key), str):
        raise ValueError(f"a call needs {key!r} naming the function: {json.dumps(data)[:80]}")
    if "raw_arguments" in data:
        raw = str(data["raw_arguments"])
        error = f"arguments of {data[key]!r} are not valid JSON"
        return FunctionCall(data[key], {}, id=data.get("id"), raw_arguments=raw, error=error)
    arguments = data.get("arguments", {})
    if not isinstance(arguments, dict):
        raise ValueError(f"'arguments' of call {data[key]!r} must be an object")
    return FunctionCall(data[key], arguments, id=data.get("id"))


def load_replies(path: str | Path) -> list[Any]:
    """The replies of a ``scripted:PATH`` file: a JSON array, or JSON Lines (one per line).

    Raises UsageError naming the file (and line) when it is missing or malformed.
    """
    file = Path(path).expanduser()
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"scripted replies file {file} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read scripted replies file {file}: {exc}") from None
    try:
        whole = safejson.loads(text)
    except safejson.UnsafeJSON as exc:
        raise UsageError(
            f"scripted replies file {file}: {exc.msg} at {_where(text, exc.pos)}"
        ) from None
    except json.JSONDecodeError:
        whole = None
    if isinstance(whole, list):
        items = list(enumerate(whole, start=1))
        where = "item"
    else:
        items, where = [], "line"
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                items.append((number, safejson.loads(line)))
            except json.JSONDecodeError as exc:
                raise UsageError(
                    f"scripted replies file {file} line {number} is not valid JSON: {exc.msg}"
                ) from None
    replies = []
    for number, item in items:
        try:
            replies.append(item if isinstance(item, str) else reply_from_dict(item))
        except ValueError as exc:
            raise UsageError(f"scripted replies file {file} {where} {number}: {exc}") from None
    return replies


def _where(text: str, pos: int) -> str:
    line = text.count("\n", 0, pos) + 1
    return f"line {line} column {pos - (text.rfind(chr(10), 0, pos) + 1) + 1}"


#: One encoder for every estimate: ``json.dumps(value, default=str)`` builds a new
#: one per call, which cost more than encoding a short message.
_ESTIMATE_ENCODER = json.JSONEncoder(default=str)


def _c_estimate_encoder() -> Any:
    """CPython's C encoder made once with the estimate's options, or None without it.

    ``JSONEncoder.encode`` makes one for every call (most of the time of encoding a
    reply's calls). It keeps no state between calls when made without the cycle
    check; a cycle then ends in RecursionError, which the estimate counts as empty,
    as it counted the cycle check's ValueError.
    """
    from json import encoder

    make = getattr(encoder, "c_make_encoder", None)
    if make is None:
        return None
    return make(None, str, _encode_string, None, ": ", ", ", False, False, True)


_C_ESTIMATE = _c_estimate_encoder()


def _dumps_for_estimate(value: Any) -> str:
    """``json.dumps(value, default=str)`` for a token estimate; a value it cannot write counts as empty.

    The agent, not the scripted model, answers an unusable reply (too deep, a huge
    integer): the estimate must not crash first.
    """
    try:
        if _C_ESTIMATE is not None:
            return "".join(_C_ESTIMATE(value, 0))
        return _ESTIMATE_ENCODER.encode(value)
    except (ValueError, TypeError, RecursionError):
        return ""


def _text_chars(value: Any) -> int:
    """``len(json.dumps(value))`` of a message field that is a string or None."""
    return 4 if value is None else len(_encode_string(value))


#: ``len(json.dumps(s))`` of short strings met before (roles, call ids, function
#: names): a look-up costs less than encoding the string again. Emptied when full.
_SHORT_CHARS: dict[str, int] = {}
#: The longest string whose JSON size is kept in that table.
SHORT_TEXT = 64
#: How many sizes the table holds before it is emptied (a process-wide bound).
SHORT_KEPT = 4096


def _short_chars(value: Any) -> int:
    """``len(json.dumps(value))`` of a ``str`` or None field, short ones looked up."""
    if value is None:
        return 4
    known = _SHORT_CHARS.get(value)
    if known is not None:
        return known
    size = len(_encode_string(value))
    if len(value) <= SHORT_TEXT:
        if len(_SHORT_CHARS) >= SHORT_KEPT:
            _SHORT_CHARS.clear()
        _SHORT_CHARS[value] = size
    return size


#: How many lists and long texts one model keeps the sizes of (the least recently
#: used go first): the next request continues one of the last few lists.
KEPT_SIZES = 8


#: From how many characters a message's text is worth remembering (see Sizes.text_chars).
LONG_TEXT = 512

#: The key under which a message's or call's JSON size is kept in its own ``__dict__``
#: (they are frozen dataclasses: the size holds while the object lives, and it goes
#: with the object, so no table is keyed by the id of an object that may be freed and
#: its id reused). Not a field: equality, ``repr`` and ``dataclasses.replace`` ignore
#: it; a copy or a pickle carries it with the same values it measures.
_CHARS = "_scripted_chars"


class Sizes:
    """The JSON sizes a scripted model has measured, so each thing is measured once.

    A prompt's estimate is ``len(json.dumps([m.to_dict() for m in messages]))`` plus
    the same of the offered functions. Each :class:`Message` and :class:`FunctionCall`
    is measured once and its size kept on it (see :data:`_CHARS`): a reply's calls, measured for its output estimate,
    are not measured again when the reply joins the history. A run's history only
    grows: the request after a turn holds the messages of the one before plus the
    turn's, so the last list that began with the same message is found again as a
    prefix (compared item by item, by identity) and its sum continued with the new
    messages; so is a list whose last item was replaced (a planning request: the
    same system message, a new prompt). The offered functions are found again by
    identity, and a long text (the planner's catalog) is measured once for all the
    messages that hold it. Only the last few lists and texts are kept
    (:data:`KEPT_SIZES`), each held while kept, so no id is reused for another.
    """

    __slots__ = ("lists", "texts", "offered")  # no instance dict: one object fewer a model

    def __init__(self) -> None:
        # id of a list's first item -> (the list, its items' sizes, its last item's size)
        self.lists: dict[int, tuple[tuple[Any, ...], int, int]] = {}
        self.texts: dict[int, tuple[str, int]] = {}
        # The offered functions by identity: an agent offers the same tuple every turn.
        self.offered: dict[int, tuple[tuple[Any, ...], int]] = {}

    @staticmethod
    def _keep(table: dict[int, Any], key: int, value: Any) -> None:
        """Keep ``value`` as the most recently used; forget the least recently used."""
        table.pop(key, None)
        table[key] = value
        if len(table) > KEPT_SIZES:
            _drop_oldest(table)

    def offered_chars(self, functions: Sequence[Any]) -> int:
        """:meth:`list_chars` of a request's offered functions, found again by identity.

        The same tuple comes with every turn of an agent (and every plan): it is
        measured once while kept; a table full of other tuples starts again.
        """
        offered = self.offered
        known = offered.get(id(functions))
        if known is not None and known[0] is functions:
            return known[1]
        size = self.list_chars(functions)
        if type(functions) is tuple:
            if len(offered) >= KEPT_SIZES:
                offered.clear()
            offered[id(functions)] = (functions, size)  # held, so its id is not reused
        return size

    def list_chars(self, items: Sequence[Any]) -> int:
        """``len(json.dumps([item.to_dict() for item in items], default=str))``."""
        if type(items) is not tuple:
            items = tuple(items)
        count = len(items)
        if not count:
            return 2
        key = id(items[0])
        lists = self.lists
        last = lists.pop(key, None)
        start = total = tail = 0  # total: the items' sizes, without brackets and commas
        if last is not None:
            prefix, size, tail = last
            if prefix is items:  # the same list again
                lists[key] = last
                return size + 2 * count
            known = len(prefix)
            # By identity only: comparing values could run any object's __eq__.
            if known <= count and all(map(_is, items, prefix)):
                start, total = known, size  # the list before it, and more (a run's history)
            elif known <= count and all(map(_is, items, prefix[:-1])):
                # All but its last item, then others: a planning request's system message
                # comes again with a new prompt (tail: the size of the item replaced).
                start, total = known - 1, size - tail
        if start < count:
            for item in items[start:] if start else items:
                if type(item) is Message:
                    fields = item.__dict__
                    tail = fields.get(_CHARS, -1)  # measured before: kept on the message
                    if tail < 0:
                        tail = fields[_CHARS] = self.item_chars(item)
                else:
                    tail = len(_dumps_for_estimate(item.to_dict()))
                total += tail
        lists[key] = (items, total, tail)  # the most recently used, last
        if len(lists) > KEPT_SIZES:
            _drop_oldest(lists)
        return total + 2 * count  # "[" + the items joined by ", " + "]"

    def item_chars(self, item: Any) -> int:
        """``len(json.dumps(item.to_dict(), default=str))`` of one message or function.

        One message is measured from its strings, each encoded once by the C encoder:
        ``{"role": R, "content": C, "function_calls": [...], "call_id": I, "name": N}``
        with JSON's default separators, the calls as :meth:`calls_chars` measured
        them; anything else (provider fields, a field of another type, a function
        spec) is written whole.
        """
        if type(item) is not Message or item.extra:
            return len(_dumps_for_estimate(item.to_dict()))
        role, content, call_id, name = item.role, item.content, item.call_id, item.name
        short = _SHORT_CHARS
        # A role, call id or name met before is looked up (a missing one, or a field of
        # another type, goes to the checks below).
        role_chars = short.get(role) if type(role) is str else None
        if role_chars is None:
            if type(role) is not str:
                return len(_dumps_for_estimate(item.to_dict()))
            role_chars = _short_chars(role)
        if content is None:
            size = 27 + role_chars  # {"role": R, "content": null}
        elif type(content) is not str:
            return len(_dumps_for_estimate(item.to_dict()))
        elif len(content) >= LONG_TEXT:
            size = 23 + role_chars + self.text_chars(content)
        else:
            size = 23 + role_chars + len(_encode_string(content))
        calls = item.function_calls
        if calls:
            if type(calls) is not tuple:
                return len(_dumps_for_estimate(item.to_dict()))
            # , "function_calls": [...]; one call measured before (a reply joining the
            # history) is read from the call, as _call_chars would read it.
            kept = (
                calls[0].__dict__.get(_CHARS, -1)
                if len(calls) == 1 and type(calls[0]) is FunctionCall
                else -1
            )
            size += 20 + (kept if kept >= 0 else _calls_chars(calls))
        if call_id is not None:
            if type(call_id) is not str:
                return len(_dumps_for_estimate(item.to_dict()))
            size += 13 + (short.get(call_id) or _short_chars(call_id))  # , "call_id": I
        if name is not None:
            if type(name) is not str:
                return len(_dumps_for_estimate(item.to_dict()))
            size += 10 + (short.get(name) or _short_chars(name))  # , "name": N
        return size

    def text_chars(self, text: str) -> int:
        """``len(json.dumps(text))``, kept for a long text that comes again.

        The planner's system prompt (its whole tool catalog) is one string, sent
        again with every plan of a kernel.
        """
        known = self.texts.get(id(text))
        if known is not None and known[0] is text:
            return known[1]
        size = _text_chars(text)
        self._keep(self.texts, id(text), (text, size))
        return size

    def calls_chars(self, calls: tuple[FunctionCall, ...]) -> int:
        """``len(json.dumps([c.to_dict() for c in calls], default=str))``."""
        return _calls_chars(calls)


def _calls_chars(calls: Sequence[FunctionCall]) -> int:
    """``len(json.dumps([c.to_dict() for c in calls], default=str))``, each call measured once.

    ``"[" + a + ", " + b + "]"`` is the sum of ``"[" + a + "]"`` and ``"[" + b + "]"``, so
    the list's size is the sum of each call's :func:`_call_chars`; a call that cannot be
    written (0) makes the whole list count as empty, as ``json.dumps`` of it fails.
    """
    if len(calls) == 1:
        return _call_chars(calls[0])
    total = 0
    for one in calls:
        size = _call_chars(one)
        if not size:
            return 0
        total += size
    return total if calls else 2


def _call_chars(call: FunctionCall) -> int:
    """``len(json.dumps([call.to_dict()], default=str))``, kept on the call (0: cannot be written)."""
    if type(call) is not FunctionCall:
        return len(_dumps_for_estimate([call.to_dict()]))
    fields = call.__dict__
    size = fields.get(_CHARS, -1)
    if size >= 0:
        return size  # measured before: kept on the call
    size = _one_call_chars(call)
    if size < 0:
        size = len(_dumps_for_estimate([call.to_dict()]))
    fields[_CHARS] = size
    return size


def _drop_oldest(table: dict[int, Any]) -> None:
    """Forget the least recently used entries of ``table`` down to :data:`KEPT_SIZES`.

    One model may answer runs in several threads at once: another thread may evict
    the same entry, or change the table between finding its first key and deleting
    it. Neither is an error here (the estimate never depends on what is kept).
    """
    while len(table) > KEPT_SIZES:
        try:
            del table[next(iter(table))]
        except (KeyError, RuntimeError, StopIteration):
            pass  # another thread changed the table first; look again


def _one_call_chars(call: FunctionCall) -> int:
    """``len(json.dumps([call.to_dict()], default=str))`` from its parts, or -1: not sure.

    ``[{"name": N, "arguments": A, "id": I, "raw_arguments": R, "error": E}]``: only
    the arguments are written whole; a call with provider fields, or a field of
    another type, is left to the caller (-1).
    """
    name, ident, raw, error = call.name, call.id, call.raw_arguments, call.error
    if call.extra or type(name) is not str:
        return -1
    if raw is not None or error is not None or (ident is not None and type(ident) is not str):
        for field_ in (ident, raw, error):
            if field_ is not None and type(field_) is not str:
                return -1
    # The arguments written as deep as in the whole list, so a value too deep for the
    # encoder fails here as it would there: [{"arguments": A}] is len(A) + 17.
    arguments = _dumps_for_estimate([{"arguments": call.arguments}])
    if not arguments:
        return 0  # the whole list could not be written: it counts as empty
    # [{"name": ... , "arguments": ... , "id": ... , "raw_arguments": ... , "error": ...}]
    # A name met before is looked up here, and a missing id counts as null, without a
    # call of _short_chars each (a scripted call has no id; the reply's gets one).
    return (
        48
        + (_SHORT_CHARS.get(name) or _short_chars(name))
        + len(arguments)
        + (4 if ident is None else _SHORT_CHARS.get(ident) or _short_chars(ident))
        + (4 if raw is None else len(_encode_string(raw)))
        + (4 if error is None else len(_encode_string(error)))
    )


def as_response(
    reply: Any,
    model_id: str,
    request: ChatRequest,
    sizes: Sizes | None = None,
) -> ChatResponse:
    """Turn one scripted reply into a ChatResponse (raising it if it is an exception).

    The usage is an estimate (:func:`estimate_tokens` of the JSON of the request's
    messages and functions, and of the reply's text and calls). ``sizes`` keeps
    what was measured for the next request (see :class:`Sizes`); the estimate is
    the same with or without it.
    """
    kind = type(reply)
    if kind is FunctionCall and sizes is not None:
        # The common reply, one call: what the general path below makes of it.
        functions = request.functions
        offered = sizes.offered.get(id(functions))
        chars = sizes.list_chars(request.messages) + (
            offered[1]
            if offered is not None and offered[0] is functions
            else sizes.offered_chars(functions)
        )
        fields = reply.__dict__
        out = fields.get(_CHARS, -1)
        if out < 0:  # what _call_chars does, without the call
            out = _one_call_chars(reply)
            if out < 0:
                out = len(_dumps_for_estimate([reply.to_dict()]))
            fields[_CHARS] = out
        if not reply.id:
            given = reply
            reply = FunctionCall(
                given.name, given.arguments, "call_0", given.raw_arguments, given.error
            )
            if given.id is None and not given.extra and out:
                out += 4  # "id": "call_0" where the scripted call had "id": null
                reply.__dict__[_CHARS] = out
            else:
                out = _call_chars(reply)
        return ChatResponse(
            None, (reply,), "tool_calls", Usage(max(1, chars // 4), max(1, out // 4)), model_id
        )
    if kind is not FunctionCall and kind is not str:
        if isinstance(reply, dict):
            reply = reply_from_dict(reply)
        if isinstance(reply, BaseException):
            raise reply
        if isinstance(reply, ChatResponse):
            return reply
    measured = Sizes() if sizes is None else sizes
    prompt_chars = measured.list_chars(request.messages) + measured.offered_chars(request.functions)
    if isinstance(reply, str):
        calls: tuple[FunctionCall, ...] = ()
        text: str | None = reply
    elif isinstance(reply, FunctionCall):
        calls, text = (reply,), None
    elif isinstance(reply, tuple) and len(reply) == 2 and isinstance(reply[0], str):
        text, calls = reply[0], tuple(reply[1])
    elif isinstance(reply, Sequence) and all(isinstance(r, FunctionCall) for r in reply):
        calls, text = tuple(reply), None
    else:
        raise TypeError(
            f"scripted reply {reply!r} is not a str, FunctionCall, ChatResponse or exception"
        )
    if len(calls) == 1:
        first = calls[0]
        if not first.id:
            calls = (
                FunctionCall(
                    first.name, first.arguments, "call_0", first.raw_arguments, first.error
                ),
            )
    elif any(not c.id for c in calls):
        calls = tuple(
            c
            if c.id
            else FunctionCall(
                c.name, c.arguments, id=f"call_{i}", raw_arguments=c.raw_arguments, error=c.error
            )
            for i, c in enumerate(calls)
        )
    # The output: the text and the calls' JSON (measured once: the reply joins the history).
    out_chars = len(text or "") + (_calls_chars(calls) if calls else 2)
    return ChatResponse(
        text=text,
        function_calls=calls,
        finish_reason="tool_calls" if calls else "stop",
        usage=Usage(max(1, prompt_chars // 4), max(1, out_chars // 4)),
        model=model_id,
    )


class ScriptedModel:
    """A Model whose replies come from ``replies`` (a list, in order, or ``f(request)``).

    ``requests`` holds every request received, so a test can assert what was sent.
    A streamed request's text reaches ``on_text`` in pieces of ``chunk_chars``
    characters (all at once when None).
    """

    def __init__(
        self,
        replies: Sequence[Any] | Callable[[ChatRequest], Any],
        model_id: str = "scripted:test",
        *,
        chunk_chars: int | None = None,
    ) -> None:
        self.model_id = model_id
        self.chunk_chars = chunk_chars
        self._replies = replies if callable(replies) else list(replies)
        self._next = 0
        self.requests: list[ChatRequest] = []
        self._sizes = Sizes()

    async def complete(
        self, request: ChatRequest, *, on_text: TextCallback | None = None
    ) -> ChatResponse:
        """The next scripted reply; ModelError when the script has run out."""
        self.requests.append(request)
        if callable(self._replies):
            reply = self._replies(request)
        else:
            if self._next >= len(self._replies):
                raise ModelError(
                    f"scripted model {self.model_id!r} has no reply left for request "
                    f"#{len(self.requests)} (it holds {len(self._replies)})"
                )
            reply = self._replies[self._next]
            self._next += 1
        response = as_response(reply, self.model_id, request, self._sizes)
        if on_text is not None and request.stream and response.text:
            size = self.chunk_chars or len(response.text)
            for start in range(0, len(response.text), size):
                on_text(response.text[start : start + size])
        return response
