"""The protocol's value types: hand-written constructors that keep every dataclass behaviour."""

from __future__ import annotations

import dataclasses
import inspect
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from autoplug.llm import (
    ChatRequest,
    ChatResponse,
    FunctionCall,
    Message,
    Usage,
    canonical_json,
)

HAND_WRITTEN = (FunctionCall, Message, Usage, ChatRequest, ChatResponse)


@pytest.mark.parametrize("cls", HAND_WRITTEN)
def test_each_constructor_takes_exactly_the_fields_in_order(cls):
    # A field added to the class but not to its __init__ would be silently missing.
    parameters = list(inspect.signature(cls.__init__).parameters.values())[1:]
    fields = dataclasses.fields(cls)
    assert [p.name for p in parameters] == [f.name for f in fields]
    for parameter, field in zip(parameters, fields, strict=True):
        if field.default is not dataclasses.MISSING:
            assert parameter.default == field.default
        elif field.default_factory is not dataclasses.MISSING:
            assert parameter.default is None  # None stands for a fresh default
        else:
            assert parameter.default is inspect.Parameter.empty


REQUIRED = {
    FunctionCall: {"name": "f", "arguments": {"a": 1}},
    Message: {"role": "user"},
    Usage: {},
    ChatRequest: {"messages": (Message("user", "x"),)},
    ChatResponse: {},
}


@pytest.mark.parametrize("cls", HAND_WRITTEN)
def test_a_value_built_by_hand_behaves_as_a_frozen_dataclass(cls):
    made = cls(**REQUIRED[cls])
    for field in dataclasses.fields(cls):
        if field.name in REQUIRED[cls]:
            expected = REQUIRED[cls][field.name]
        elif field.default_factory is not dataclasses.MISSING:
            expected = field.default_factory()
        else:
            expected = field.default
        assert getattr(made, field.name) == expected
    # Every field given, by keyword: each kept as given.
    given = {f.name: getattr(made, f.name) for f in dataclasses.fields(cls)}
    assert vars(cls(**given)) == given and cls(**given) == made
    assert dataclasses.replace(made) == made and dataclasses.asdict(made) == dataclasses.asdict(
        cls(**given)
    )
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(made, dataclasses.fields(cls)[0].name, "changed")
    assert repr(made).startswith(f"{cls.__name__}(")


def test_a_default_mutable_field_is_fresh_for_each_value():
    one, two = Message("user", "a"), Message("user", "a")
    assert one.extra == {} and one.extra is not two.extra
    assert FunctionCall("f", {}).extra is not FunctionCall("f", {}).extra
    assert ChatResponse().usage == Usage() and ChatResponse().extra is not ChatResponse().extra


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=5), children, max_size=4)
    ),
    max_leaves=20,
)


@given(json_values)
def test_canonical_json_is_what_json_dumps_writes(value):
    expected = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert canonical_json(value) == expected


def test_canonical_json_refuses_and_writes_what_json_dumps_does_for_odd_values():
    # The encoder made once has no cycle check of its own: a cycle is still json's ValueError.
    cyclic: list = []
    cyclic.append(cyclic)
    with pytest.raises(ValueError, match="Circular reference detected"):
        canonical_json(cyclic)
    with pytest.raises(TypeError, match="not JSON serializable"):
        canonical_json({"a": object()})
    with pytest.raises(TypeError):
        canonical_json({1: "a", "b": 2})  # sorting mixed key types fails, as in json.dumps
    for odd in ({2: (1, 2), 0: 1.5, -1: 10**300}, [float("nan"), -float("inf")], "\u2028é"):
        expected = json.dumps(odd, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        assert canonical_json(odd) == expected


def test_canonical_json_of_a_value_deeper_than_the_recursion_limit_raises_as_json_does():
    deep: list = []
    for _ in range(100_000):
        deep = [deep]
    with pytest.raises(RecursionError):
        json.dumps(deep, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    with pytest.raises(RecursionError):
        canonical_json(deep)
