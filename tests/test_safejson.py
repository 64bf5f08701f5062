"""Untrusted JSON (autoplug.safejson): hostile model output parses or is refused, never crashes."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autoplug import safejson
from autoplug.safejson import (
    UnsafeJSON,
    clean_text,
    loads,
    loads_envelope,
    raw_decode,
    value_problem,
)

BOUNDED = settings(max_examples=60, deadline=None)

# Arbitrary JSON values, including deep nesting, huge integers and surrogates in strings.
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4)
    ),
    max_leaves=30,
)


def deep(levels: int, leaf: str = "1") -> str:
    return '{"a": ' * levels + leaf + "}" * levels


def test_ordinary_json_parses_as_json_loads_would():
    text = '{"a": [1, 2.5, "x", null, true], "b": {"c": "😀 \\ud83d\\ude00"}}'
    assert loads(text) == json.loads(text)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ('{"n": ' + "9" * 5000 + "}", "an integer of more than 4300 digits"),
        (deep(1500), "nested deeper than 100 levels"),
        (deep(150), "nested deeper than 100 levels"),
        ('{"s": "\\ud800"}', "lone surrogate"),
        ('{"s": "\\udc00 after"}', "lone surrogate"),
        ('{"s\\ud800": 1}', "lone surrogate"),
        ('{"n": NaN}', "NaN is not a JSON number"),
        ('{"n": 1e999}', "too large for a float"),
    ],
)
def test_hostile_json_is_refused_with_a_one_line_reason(text, reason):
    with pytest.raises(UnsafeJSON) as caught:
        loads(text)
    assert reason in caught.value.msg
    assert "\n" not in caught.value.msg
    assert isinstance(caught.value, json.JSONDecodeError)  # callers' handlers catch it


def test_the_refusal_points_at_the_fault():
    text = '{"ok": 1, "s": "\\ud800"}'
    with pytest.raises(UnsafeJSON) as caught:
        loads(text)
    assert text[caught.value.pos :].startswith("\\ud800")


def test_nesting_up_to_the_limit_is_accepted():
    assert loads(deep(100)) is not None


def test_raw_decode_finds_the_object_and_its_end():
    assert raw_decode('say {"a": 1} ok', 4) == ({"a": 1}, 12)
    with pytest.raises(UnsafeJSON):
        raw_decode("x " + deep(500), 2)


def test_envelope_allows_deeper_bodies_and_replaces_lone_surrogates():
    assert loads_envelope(deep(150)) is not None
    assert loads_envelope('{"t": "a\\ud800b \\ud83d\\ude00"}') == {"t": "a\ufffdb 😀"}
    assert loads_envelope('{"t": "\\\\ud800"}') == {"t": "\\ud800"}  # an escaped backslash
    with pytest.raises(UnsafeJSON):
        loads_envelope(deep(300))


def test_value_problem_checks_parsed_values_iteratively():
    nested: list = []
    for _ in range(5000):
        nested = [nested]
    assert value_problem(nested) == "nested deeper than 100 levels"
    assert value_problem({"n": 10**5000}) == "an integer of more than 4300 digits"
    assert "lone surrogate" in value_problem({"s": "\ud800"})
    assert "NaN" in value_problem([float("nan")])
    assert value_problem({1: "x"}) == "an object key is int, not a string"
    assert value_problem({"x": object()}) == "a Python object is not a JSON value"
    assert value_problem({"x": object()}, strict=False) is None
    assert value_problem("x" * 100, max_chars=50) == "larger than 50 characters"
    assert value_problem({"a": [1, "b", None, True, 2.5]}) is None


def test_clean_text_replaces_only_lone_surrogates():
    assert clean_text("a\ud800b😀") == "a\ufffdb😀"
    assert clean_text("plain") == "plain"


@BOUNDED
@given(json_values)
def test_every_json_text_parses_or_is_refused_never_crashes(value):
    text = json.dumps(value)
    try:
        parsed = loads(text)
    except UnsafeJSON as exc:
        assert exc.msg and "\n" not in exc.msg
    else:
        assert parsed == value
        json.dumps(parsed).encode("utf-8")  # what parses can be stored and sent


@BOUNDED
@given(st.text(max_size=200), st.integers(min_value=0, max_value=3000))
def test_arbitrary_text_and_deep_nesting_never_crash_the_parser(noise, levels):
    for text in (noise, "[" * levels + noise, deep(levels, json.dumps(noise))):
        try:
            loads(text)
        except json.JSONDecodeError as exc:
            assert exc.msg


def test_module_documents_its_limits():
    assert safejson.MAX_DEPTH == 100 and safejson.MAX_INT_DIGITS == 4300
