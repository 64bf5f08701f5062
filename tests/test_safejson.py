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


def _reference_problem(value, *, max_depth=100, max_chars=None, strict=True):
    """value_problem as it was before issue 14's faster walk: one item at a time."""
    import math
    import re

    stack = [(value, 0)]
    size = 0
    while stack:
        item, depth = stack.pop()
        size += 1
        kind = type(item)
        if kind is str:
            size += len(item)
            if re.search("[\ud800-\udfff]", item):
                return "surrogate"
        elif kind is dict or kind is list or isinstance(item, dict | list | tuple):
            if depth >= max_depth:
                return "nested"
            if isinstance(item, dict):
                for key, child in item.items():
                    if type(key) is str or (not strict and isinstance(key, str)):
                        stack.append((key, depth + 1))
                    elif strict:
                        return "key"
                    stack.append((child, depth + 1))
            else:
                if strict and not isinstance(item, list):
                    return "container"
                stack.extend((child, depth + 1) for child in item)
        elif kind is int or (isinstance(item, int) and kind is not bool):
            if abs(item) >= 10**safejson.MAX_INT_DIGITS:  # more than 4,300 digits
                return "int"
        elif kind is float:
            if not math.isfinite(item):
                return "float"
        elif item is None or kind is bool:
            pass
        elif strict:
            return "object"
        elif isinstance(item, str):  # a subclass of str or float, as a Python caller may pass
            size += len(item)
            if re.search("[\ud800-\udfff]", item):
                return "surrogate"
        elif isinstance(item, float) and not math.isfinite(item):
            return "float"
        if max_chars is not None and size > max_chars:
            return "size"
    return None


class Huge(int):
    """A huge integer that hypothesis can print (an int subclass: the walk's slower branch)."""

    def __repr__(self) -> str:
        return f"Huge(<{self.bit_length()} bits>)"


class Text(str):
    pass


class Ratio(float):
    pass


hostile_leaves = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()  # NaN and infinities too
    | st.text(alphabet=st.characters(codec=None), max_size=6)  # lone surrogates too
    | st.builds(object)
    | st.sampled_from([Huge(10**4301), Huge(-(10**4300)), Huge(10**4299), ("a", 1), b"x", 10**30])
    | st.sampled_from(
        [Huge(10**4300), Huge(-(10**4300 - 1)), Text("\ud800"), Text("é"), Ratio("nan"), Ratio(2)]
    )
)
hostile_values = st.recursive(
    hostile_leaves,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.text(max_size=3) | st.integers(0, 3) | st.text(max_size=3).map(Text),
            children,
            max_size=4,
        )
        | st.tuples(children)
    ),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(
    hostile_values,
    st.integers(min_value=0, max_value=8),
    st.none() | st.integers(min_value=0, max_value=60),
    st.booleans(),
)
def test_the_faster_walk_refuses_exactly_what_the_item_walk_refused(
    value, max_depth, max_chars, strict
):
    # Issue 14 made the walk check scalars where it meets them and strings all at once;
    # what it refuses must not change (which fault it names first may, when there are several).
    found = value_problem(value, max_depth=max_depth, max_chars=max_chars, strict=strict)
    expected = _reference_problem(value, max_depth=max_depth, max_chars=max_chars, strict=strict)
    assert (found is None) == (expected is None), (found, expected)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (
            {"a": [1, {"b": "\udc00"}]},
            "a string holds a lone surrogate (such as \\ud800), which is not text",
        ),
        ({"\ud800": 1}, "a string holds a lone surrogate (such as \\ud800), which is not text"),
        ([[[[1]]]], "nested deeper than 3 levels"),
        ({"a": (1, 2)}, "a tuple is not a JSON value"),
        ([1, 2, float("inf")], "a number is NaN or infinite, which JSON cannot hold"),
        ({"n": [10**5000]}, "an integer of more than 4300 digits"),
        ({"k": "x" * 40}, "larger than 30 characters"),
    ],
)
def test_each_fault_is_named_alone(value, reason):
    assert value_problem(value, max_depth=3, max_chars=30) == reason


def test_an_integer_of_4301_digits_is_refused_even_with_the_bits_of_one_of_4300():
    # 10**4300 has as many bits as some 4,300-digit ints: the bit count alone let it through.
    smallest_huge, largest_fine = 10**4300, 10**4300 - 1
    assert smallest_huge.bit_length() == largest_fine.bit_length()
    assert "4300 digits" in value_problem({"n": smallest_huge})
    assert "4300 digits" in value_problem([-smallest_huge])
    assert "4300 digits" in value_problem(smallest_huge)
    assert value_problem({"n": largest_fine}) is None
    assert value_problem(-largest_fine) is None


def test_a_str_subclass_is_checked_and_counted_as_a_string_without_strict():
    # A Python caller's str subclass, as a key or a value, at the top or deeper: a lone
    # surrogate is refused and its characters count toward the size cap, as a str's do.
    surrogate = "a string holds a lone surrogate (such as \\ud800), which is not text"
    for value in ({Text("\ud800"): 1}, {"a": {Text("é\udfff"): None}}, {"a": [Text("\ud800")]}):
        assert value_problem(value, strict=False) == surrogate, value
    for value in ({Text("x" * 40): 1}, {"a": Text("x" * 40)}, {"a": [Text("x" * 40)]}):
        assert value_problem(value, strict=False, max_chars=30) == "larger than 30 characters"
        assert value_problem(value, strict=False, max_chars=60) is None
    assert value_problem({Text("k"): 1}) == "an object key is Text, not a string"  # strict


def _boundary_int(which: int) -> int:
    """An exact int at the digit limit's edge: 4,300 digits or 4,301, either sign."""
    return [10**4300 - 1, 10**4300, -(10**4300), 2**14284, 1 - 10**4300][which]


# Plain JSON values (what the shorter walk accepts) and, apart, one odd value or key
# of each kind it must hand to the full walk, so that a value's only fault is that one.
plain_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=6),  # text() makes no lone surrogates
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=3), children, max_size=4)
    ),
    max_leaves=20,
)
odd_values = st.sampled_from(
    [
        float("nan"),
        float("-inf"),
        "\udc00",
        "é\ud800",
        Text("x"),
        Huge(1),
        Ratio(1),
        (1,),
        b"x",
        {1},
    ]
) | st.integers(min_value=0, max_value=4).map(_boundary_int)
odd_keys = st.sampled_from([1, None, True, 1.5, Text("k"), "\ud800", "é\udfff"])


@settings(max_examples=500, deadline=None)
@given(
    plain_values | hostile_values,
    st.none() | st.tuples(st.just("value"), odd_values) | st.tuples(st.just("key"), odd_keys),
    st.integers(min_value=0, max_value=16),
    st.booleans(),
    st.integers(min_value=0, max_value=16) | st.just(safejson.MAX_DEPTH),
)
def test_the_shorter_walk_of_plain_values_answers_as_the_full_walk(
    value, odd, levels, as_objects, max_depth
):
    # value_problem accepts plain JSON a few levels deep by a shorter walk and hands
    # everything else to the full one: the answer, message included, is the full walk's.
    if odd is not None:
        kind, item = odd
        value = (
            {item: value}
            if kind == "key"
            else {"v": value, "odd": item}
            if as_objects
            else [item, value]
        )
    for _ in range(levels):
        value = {"a": value} if as_objects else [value]
    found = value_problem(value, max_depth=max_depth)
    assert found == safejson._walk_problem(value, max_depth, None, True)
