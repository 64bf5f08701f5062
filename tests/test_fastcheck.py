"""The door's compiled checks against its full path, over hostile values (autoplug.fastcheck)."""

from __future__ import annotations

import asyncio
import math
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from autoplug import fastcheck
from autoplug.registry import ToolRegistry
from autoplug.toolfaults import refusal_of
from autoplug.tools import Tool

NAMES = ["a", "b", "c", "it's"]


class Count(int):
    pass


class Ratio(float):
    pass


class Text(str):
    pass


simple_kinds = st.sampled_from(["string", "integer", "number", "boolean"])
schemas = st.fixed_dictionaries(
    {
        "type": st.just("object"),
        "properties": st.dictionaries(
            st.sampled_from(NAMES),
            simple_kinds.map(lambda k: {"type": k})
            | st.integers(min_value=0, max_value=2).map(
                lambda n: {"type": "string", "minLength": n}
            )
            | simple_kinds.map(lambda k: {"type": "array", "items": {"type": k}}),
            min_size=1,
        ),
        "additionalProperties": st.just(False),
    },
    optional={"required": st.lists(st.sampled_from(NAMES), unique=True)},
)
# Every class of value the door's bounds or types refuse, beside ordinary ones.
hostile = st.sampled_from(
    [
        math.nan,
        math.inf,
        -math.inf,
        Ratio("nan"),
        Ratio("inf"),
        "\ud800",
        "a\udfff",
        "é\udbff",
        Text("\ud800"),
        1 << 14_000,
        -(1 << 14_000),
        (1 << 14_000) - 1,
        10**4300,
        10**4301,
        Count(1 << 14_001),
        True,
        False,
        None,
        (1,),
        b"x",
        [math.nan],
        {"k": 1},
    ]
)
ordinary = st.sampled_from(
    ["", "x", "é", "😀", "\ud83d\ude00", 0, -3, 2**63, 1.5, -0.0, 1e308, Count(2), Ratio(0.5)]
    + [Text("long enough to pass a cap")]  # its characters count, as a str's
)
values = hostile | ordinary | st.text(max_size=3) | st.floats() | st.integers()
arguments = st.dictionaries(
    st.sampled_from([*NAMES, "d"]), values | st.lists(values, max_size=3), max_size=4
)
limits = st.sampled_from([0, 3, 8, 12, 20, 40, fastcheck.MAX_ARGUMENT_CHARS])


def full_tool(schema: dict[str, Any], func: Any) -> Tool:
    """A tool whose calls take the door's full path: no compiled check, no inline door."""
    made = Tool(name="t", func=func, parameters=schema)
    made.check()
    made._fast = False
    made.__dict__["_door"] = False
    return made


def full_accepts(schema: dict[str, Any], args: Any, max_chars: int) -> bool:
    """The full path's answer: the bounds (``argument_problem``), then jsonschema."""
    return refusal_of(full_tool(schema, lambda **kw: kw), args, None, max_chars) is None


@settings(max_examples=400, deadline=None)
@given(schemas, arguments, limits)
def test_the_compiled_checks_accept_only_what_the_full_path_accepts(schema, args, max_chars):
    accepts = full_accepts(schema, args, max_chars)
    shape = fastcheck._shape(schema)
    general = fastcheck.general_check(*shape)
    if general(args, max_chars):
        assert accepts, (schema, args, max_chars)
    written = fastcheck.compile_fast(schema)
    assert written(args, max_chars) == general(args, max_chars)
    calls: list[Any] = []
    door = fastcheck.compile_door(schema, lambda **kw: calls.append(kw) or "ran")
    if door is not None:
        answer = door(args, max_chars)
        assert answer is fastcheck.UNSURE or (answer == "ran" and accepts), (schema, args)
        assert calls == ([] if answer is fastcheck.UNSURE else [args])


def test_the_compiled_checks_hand_over_every_hostile_simple_value():
    # Scalars and array items alike: each class the full path refuses is not accepted here.
    for kind, bad in [
        ("number", math.nan),
        ("number", math.inf),
        ("number", Ratio("-inf")),
        ("integer", 10**4300),
        ("integer", Count(-(10**4300))),
        ("string", "\ud800"),
        ("string", "ok \udfff"),
        ("string", Text("\ud800")),
    ]:
        for prop, args in [
            ({"type": kind}, {"x": bad}),
            ({"type": "array", "items": {"type": kind}}, {"x": [bad]}),
        ]:
            schema = {"type": "object", "properties": {"x": prop}, "additionalProperties": False}
            assert not full_accepts(schema, args, fastcheck.MAX_ARGUMENT_CHARS), args
            assert not fastcheck.compile_fast(schema)(args)
            assert not fastcheck.general_check(*fastcheck._shape(schema))(args)
            door = fastcheck.compile_door(schema, lambda **kw: "ran")
            assert door is None or door(args, fastcheck.MAX_ARGUMENT_CHARS) is fastcheck.UNSURE


def test_the_compiled_checks_count_keys_toward_the_size_cap_as_the_full_path_does():
    schema = {
        "type": "object",
        "properties": {
            "ab": {"type": "string"},
            "n": {"type": "array", "items": {"type": "integer"}},
        },
        "additionalProperties": False,
    }
    fast = fastcheck.compile_fast(schema)
    for args in [{"ab": "xxxx"}, {"n": [1, 2]}, {"ab": "x", "n": [1]}]:
        for max_chars in range(12):
            if fast(args, max_chars):
                assert full_accepts(schema, args, max_chars), (args, max_chars)


def test_the_compiled_checks_count_a_str_subclass_toward_the_size_cap():
    schema = {
        "type": "object",
        "properties": {
            "s": {"type": "string"},
            "l": {"type": "array", "items": {"type": "string"}},
        },
        "additionalProperties": False,
    }
    fast = fastcheck.compile_fast(schema)
    for args in [{"s": Text("x" * 30)}, {"l": [Text("x" * 30)]}]:
        for max_chars in (20, 30, 40, 60):
            accepts = full_accepts(schema, args, max_chars)
            assert accepts == (max_chars >= 40), (args, max_chars)  # 30 characters, and more
            if fast(args, max_chars):
                assert accepts, (args, max_chars)


def test_a_schema_whose_property_name_holds_a_lone_surrogate_is_not_compiled():
    schema = {"type": "object", "properties": {"\ud800": {"type": "integer"}}}
    schema["additionalProperties"] = False
    assert fastcheck._shape(schema) is None
    assert fastcheck.compile_fast(schema) is None


@settings(max_examples=120, deadline=None)
@given(schemas, arguments, limits, st.booleans())
def test_call_and_acall_answer_as_the_full_path_for_sync_and_async_tools(
    schema, args, max_chars, is_async
):
    def sync_tool(**kwargs: Any) -> str:
        return "ran"

    async def async_tool(**kwargs: Any) -> str:
        return "ran"

    accepts = full_accepts(schema, args, max_chars)
    made = Tool(name="t", func=async_tool if is_async else sync_tool, parameters=schema)
    reg = ToolRegistry(max_argument_chars=max_chars)
    reg.add(made, "p")
    for result in (reg.call("t", args), asyncio.run(reg.acall("t", args))):
        if accepts:
            assert result.ok and result.value == "ran", (schema, args, result)
        else:
            assert result.kind == "invalid_args", (schema, args, result)
