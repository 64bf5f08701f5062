"""The planner's typed signatures: compact, and still every fact needed to write valid arguments."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from signature_reader import example, parse_signature, parse_type

from autoplug.agents.signatures import signature, type_text

NESTED = {
    "type": "object",
    "properties": {
        "title": {"type": "string", "description": "the report's title"},
        "sections": {
            "type": "array",
            "description": "in order",
            "items": {
                "type": "object",
                "properties": {
                    "heading": {"type": "string"},
                    "level": {"enum": [1, 2, 3]},
                    "tags": {"type": "array", "items": {"type": "string"}},
                    "author": {
                        "type": "object",
                        "properties": {"name": {"type": "string"}, "email": {"type": "string"}},
                        "required": ["name"],
                    },
                },
                "required": ["heading", "level", "author"],
                "additionalProperties": False,
            },
        },
        "format": {"enum": ["md", "html"], "default": "md"},
        "limit": {"type": "integer", "minimum": 1, "maximum": 50},
        "scores": {"type": "object", "additionalProperties": {"type": "number"}},
        "note": {"type": ["string", "null"]},
    },
    "required": ["title", "sections"],
    "additionalProperties": False,
}


def test_a_nested_schema_reads_as_one_typed_line_per_argument():
    assert signature(NESTED).splitlines() == [
        "  title: string — the report's title",
        "  sections: [{heading: string, level: 1|2|3, tags?: [string], author: {name: string, email?: string}}] — in order",
        '  format?: "md"|"html" = "md"',
        '  limit?: integer{"maximum":50,"minimum":1}',
        "  scores?: {[key]: number}",
        "  note?: string|null",
    ]


def test_the_signature_costs_far_fewer_characters_than_the_schema():
    assert len(signature(NESTED)) * 2 < len(json.dumps(NESTED))


def test_a_value_written_from_the_signature_alone_is_valid():
    value = example(parse_signature(signature(NESTED)))
    assert not list(Draft202012Validator(NESTED).iter_errors(value))
    assert value["sections"][0]["author"] == {"name": "x"}


def test_keywords_without_a_notation_stay_as_json_after_the_type():
    schema = {"type": "string", "pattern": "^[a-z]+$", "format": "email", "title": "dropped"}
    assert type_text(schema) == 'string{"format":"email","pattern":"^[a-z]+$"}'
    assert type_text({"allOf": [{"type": "string"}]}) == 'any{"allOf":[{"type":"string"}]}'


def test_refs_are_written_as_their_target_and_the_definitions_follow():
    schema = {
        "type": "object",
        "properties": {"pet": {"$ref": "#/$defs/Pet"}},
        "required": ["pet"],
        "$defs": {"Pet": {"type": "object", "properties": {"name": {"type": "string"}}}},
    }
    assert signature(schema).splitlines() == [
        "  pet: #/$defs/Pet",
        "  #/$defs/Pet = {name?: string}",
    ]


def test_a_value_holding_a_line_separator_stays_on_its_line():
    schema = {"type": "object", "properties": {"k": {"enum": ["a\u2028b", "c\x85"]}}}
    assert signature(schema) == '  k?: "a\\u2028b"|"c\\u0085"'
    assert len(signature(schema).splitlines()) == 1


def test_odd_schemas_are_written_not_refused():
    assert signature({"type": "object"}) == "  (no arguments)"
    assert type_text(True) == "any" and type_text(False) == "never"
    assert type_text({"type": "array"}) == "[any]"
    assert type_text({"enum": []}) == "never"
    assert type_text(["not", "a", "schema"]) == '["not","a","schema"]'
    assert signature([1]) == "  [1]"
    # A key that is not an identifier is quoted, so it reads back exactly.
    assert type_text({"type": "object", "properties": {"a b": {"type": "string"}}}) == (
        '{"a b"?: string}'
    )


# -- the property: any nested schema of these keywords reads back well enough to fill --

names = st.from_regex(r"[a-z][a-z0-9_]{0,7}", fullmatch=True) | st.sampled_from(["a b", "x-y"])
words = st.text(alphabet="abcdefgh ,.", min_size=1, max_size=20).filter(
    lambda t: t.strip() and "*/" not in t
)
leaves = st.one_of(
    st.sampled_from([{"type": t} for t in ("string", "integer", "number", "boolean", "null")]),
    st.lists(st.text(max_size=5) | st.integers(-5, 5), min_size=1, max_size=4, unique=True).map(
        lambda values: {"enum": values}
    ),
    st.just({"type": ["string", "null"]}),
    st.just({}),
)


def _described(schema: st.SearchStrategy) -> st.SearchStrategy:
    return st.tuples(schema, st.none() | words).map(
        lambda pair: {**pair[0], "description": pair[1]} if pair[1] else pair[0]
    )


def _objects(children: st.SearchStrategy) -> st.SearchStrategy:
    def build(properties: dict, flags: list[bool], closed: bool) -> dict:
        required = [k for k, flag in zip(properties, flags, strict=False) if flag]
        schema = {"type": "object", "properties": properties, "required": required}
        if closed:
            schema["additionalProperties"] = False
        return schema

    return st.builds(
        build,
        st.dictionaries(names, children, min_size=1, max_size=4),
        st.lists(st.booleans(), min_size=4, max_size=4),
        st.booleans(),
    )


schemas = st.recursive(
    _described(leaves),
    lambda children: _described(
        _objects(children) | children.map(lambda items: {"type": "array", "items": items})
    ),
    max_leaves=12,
)


@settings(max_examples=150, deadline=None)
@given(_objects(schemas))
def test_every_required_key_type_enum_and_nested_shape_survives_the_signature(schema):
    text = signature(schema)
    read = parse_signature(text)
    assert set(read["properties"]) == set(schema["properties"])
    assert set(read["required"]) == set(schema["required"])
    value = example(read)
    errors = [e.message for e in Draft202012Validator(schema).iter_errors(value)]
    assert not errors, (text, value, errors)


@settings(max_examples=100, deadline=None)
@given(schemas)
def test_every_property_enum_value_and_description_is_in_the_text(schema):
    text = type_text(schema)
    parse_type(text)  # reads back whole, nothing left over
    stack = [schema]
    while stack:
        node = stack.pop()
        for value in node.get("enum", []):
            written = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
            for char in "\x85\u2028\u2029":
                written = written.replace(char, f"\\u{ord(char):04x}")
            assert written in text
        for name, sub in (node.get("properties") or {}).items():
            assert (name if name.isidentifier() else json.dumps(name)) in text
            stack.append(sub)
        if isinstance(node.get("items"), dict):
            stack.append(node["items"])
        if node is not schema and node.get("description"):
            assert " ".join(node["description"].split()) in text
