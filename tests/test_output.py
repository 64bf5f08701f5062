"""Structured output (DESIGN "Structured output"): the answer in the shape the caller chose."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autoplug import Kernel, UsageError
from autoplug.agents.dynamic import DECIDE_FUNCTIONS
from autoplug.output import final_function, output_schema_from
from autoplug.runs import RunStore
from autoplug.scripted import ScriptedModel, call

PLANET = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "moons": {"type": "integer", "minimum": 0},
    },
    "required": ["name", "moons"],
    "additionalProperties": False,
}


def kernel_in(tmp_path: Path, limits: dict | None = None) -> Kernel:
    """An isolated kernel with the Runner and Assistant; optional [limits]."""
    if limits:
        lines = ["[limits]"] + [f"{k} = {v}" for k, v in limits.items()]
        (tmp_path / "config.toml").write_text("\n".join(lines) + "\n")
    return Kernel(builtins=["autoplug_autos"], home=tmp_path)


def test_a_valid_answer_is_the_output_and_its_json_text_the_answer(tmp_path):
    model = ScriptedModel([call("final", answer={"name": "Jupiter", "moons": 95})])
    run = kernel_in(tmp_path).run("Largest planet?", model=model, output_schema=PLANET)
    assert run.status == "succeeded"
    assert run.output == {"name": "Jupiter", "moons": 95}
    assert json.loads(run.answer) == run.output
    assert run.to_dict()["output"] == run.output
    offered = {f.name: f for f in model.requests[0].functions}
    assert offered["final"].parameters["properties"]["answer"] == PLANET
    with RunStore.open(tmp_path, run.run_id) as store:
        assert json.loads((store.folder / "output_schema.json").read_text()) == PLANET


def test_without_a_schema_final_is_offered_unchanged_and_output_is_null(tmp_path):
    model = ScriptedModel([call("final", answer="Jupiter")])
    run = kernel_in(tmp_path).run("Largest planet?", model=model)
    assert run.output is None and run.to_dict()["output"] is None
    assert model.requests[0].functions == DECIDE_FUNCTIONS


def test_a_broken_answer_goes_back_with_its_json_paths_and_is_repaired(tmp_path):
    model = ScriptedModel(
        [
            call("final", answer={"name": "Jupiter", "moons": -1, "rings": True}),
            call("final", answer={"name": "Jupiter", "moons": 95}),
        ]
    )
    events = []
    run = kernel_in(tmp_path).run(
        "Largest planet?", model=model, output_schema=PLANET, on_event=events.append
    )
    assert run.status == "succeeded" and run.output == {"name": "Jupiter", "moons": 95}
    told = model.requests[1].messages[-1].to_dict()
    assert told["role"] == "tool" and told["name"] == "final"
    assert "$.answer.moons: -1 is less than the minimum of 0" in told["content"]
    assert "$.answer: Additional properties are not allowed ('rings'" in told["content"]
    assert [e.type for e in events].count("decision_rejected") == 1


def test_exhausted_repairs_fail_the_run_with_the_last_violations(tmp_path):
    kernel = kernel_in(tmp_path, {"output_repairs": 1})
    model = ScriptedModel(
        [
            call("final", answer="Jupiter"),
            call("final", answer={"name": "Jupiter"}),
        ]
    )
    run = kernel.run("Largest planet?", model=model, output_schema=PLANET)
    assert run.status == "failed" and run.output is None and run.answer is None
    assert run.reason == (
        "output_repairs limit reached: the answer broke the output schema after 1 repairs "
        "(output_repairs = 1): $.answer: 'moons' is a required property"
    )
    assert len(model.requests) == 2


def test_output_repairs_zero_fails_on_the_first_broken_answer(tmp_path):
    kernel = kernel_in(tmp_path, {"output_repairs": 0})
    model = ScriptedModel([call("final", answer=[])])
    run = kernel.run("Largest planet?", model=model, output_schema=PLANET)
    assert run.status == "failed" and "$.answer: [] is not of type 'object'" in run.reason


def test_a_negative_output_repairs_is_a_config_error_naming_the_key(tmp_path):
    from autoplug import ConfigError

    with pytest.raises(ConfigError, match="output_repairs"):
        kernel_in(tmp_path, {"output_repairs": -1})


def test_a_pydantic_model_with_nested_defs_gives_a_validated_instance(tmp_path):
    pydantic = pytest.importorskip("pydantic")

    class Moon(pydantic.BaseModel):
        name: str
        radius_km: float

    class Planet(pydantic.BaseModel):
        name: str
        moons: list[Moon]
        largest: Moon | None = None

    class System(pydantic.BaseModel):
        star: str
        planets: list[Planet]

    answer = {
        "star": "Sun",
        "planets": [
            {"name": "Earth", "moons": [{"name": "Moon", "radius_km": 1737.4}]},
        ],
    }
    bad = {"star": "Sun", "planets": [{"name": "Earth", "moons": [{"name": "Moon"}]}]}
    model = ScriptedModel([call("final", answer=bad), call("final", answer=answer)])
    run = kernel_in(tmp_path).run("The solar system?", model=model, output_schema=System)
    assert run.status == "succeeded"
    assert isinstance(run.output, System)
    assert run.output.planets[0].moons[0].radius_km == 1737.4
    assert run.to_dict()["output"]["planets"][0]["largest"] is None
    params = model.requests[0].functions[2].parameters
    assert set(params["$defs"]) == {"Moon", "Planet"}
    assert "$defs" not in params["properties"]["answer"]
    told = model.requests[1].messages[-1].content
    assert "$.answer.planets[0].moons[0]: 'radius_km' is a required property" in told


@pytest.mark.parametrize(
    ("schema", "wanted"),
    [
        ("not a schema", "output_schema must be a JSON Schema (a dict) or a pydantic model"),
        ({"type": "strin"}, "invalid output schema: schema path /type:"),
        ({"$ref": "#/$defs/Nowhere"}, "cannot resolve '#/$defs/Nowhere'"),
        ({"type": "string", "pattern": "(("}, "does not compile in Python"),
        ({"$schema": "http://example.com/mine"}, "unknown dialect"),
        ({"type": "number", "maximum": float("nan")}, "output_schema is not JSON"),
    ],
)
def test_a_bad_schema_is_refused_before_any_run_exists(tmp_path, schema, wanted):
    model = ScriptedModel([call("final", answer="x")])
    with pytest.raises(UsageError, match=None) as caught:
        kernel_in(tmp_path).run("Task?", model=model, output_schema=schema)
    assert wanted in str(caught.value) and "\n" not in str(caught.value)
    assert not (tmp_path / "runs").exists() or not list((tmp_path / "runs").iterdir())


def test_refs_to_the_root_and_to_draft07_definitions_resolve_after_hoisting():
    tree = {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "type": "object",
        "properties": {
            "label": {"$ref": "#/definitions/label"},
            "children": {"type": "array", "items": {"$ref": "#"}},
        },
        "required": ["label"],
        "definitions": {"label": {"type": "string", "minLength": 1}},
    }
    spec = output_schema_from(tree)
    params = spec.final.parameters
    assert params["properties"]["answer"]["properties"]["children"]["items"] == {
        "$ref": "#/properties/answer"
    }
    good = {"answer": {"label": "a", "children": [{"label": "b", "children": []}]}}
    assert spec.violations(good) == []
    bad = {"answer": {"label": "a", "children": [{"label": ""}]}}
    assert spec.violations(bad) == [("$.answer.children[0].label", "'' should be non-empty")]


_names = st.text(alphabet="abcdefgh", min_size=1, max_size=5)


@st.composite
def _schemas(draw):
    """Object schemas with nested local refs to $defs and to places under the root."""
    defs = draw(
        st.dictionaries(
            _names,
            st.sampled_from([{"type": "string"}, {"type": "integer"}]),
            min_size=1,
            max_size=4,
        )
    )
    props = {}
    for name in draw(st.lists(_names, min_size=1, max_size=5, unique=True)):
        target = draw(st.sampled_from(sorted(defs)))
        props[name] = draw(
            st.sampled_from(
                [
                    {"$ref": f"#/$defs/{target}"},
                    {"type": "array", "items": {"$ref": f"#/$defs/{target}"}},
                    {"type": "boolean"},
                    {"type": "array", "items": {"$ref": "#"}},
                ]
            )
        )
    return {"type": "object", "properties": props, "$defs": defs}


@settings(max_examples=60, deadline=None)
@given(_schemas(), st.data())
def test_hoisting_keeps_what_the_schema_accepts_and_refuses(schema, data):
    from jsonschema import Draft202012Validator

    from autoplug.schemacheck import schema_fault

    params = final_function(schema).parameters
    assert schema_fault(params) is None  # every $ref still resolves
    value = data.draw(
        st.recursive(
            st.none() | st.booleans() | st.integers(-3, 3) | _names,
            lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_names, inner, max_size=4),
            max_leaves=12,
        )
    )
    alone = Draft202012Validator(schema).is_valid(value)
    hoisted = Draft202012Validator(params).is_valid({"answer": value})
    assert alone == hoisted


def test_stream_takes_an_output_schema_and_its_answer_event_is_the_json_text(tmp_path):
    import asyncio

    model = ScriptedModel([call("final", answer={"name": "Jupiter", "moons": 95})])

    async def collect():
        return [
            e
            async for e in kernel_in(tmp_path).stream("Largest?", model=model, output_schema=PLANET)
        ]

    events = asyncio.run(collect())
    (answer,) = [e for e in events if e.type == "answer"]
    assert json.loads(answer.data["answer"]) == {"name": "Jupiter", "moons": 95}
    assert events[-1].data["status"] == "succeeded"


def test_a_recorded_run_with_a_schema_replays_to_the_same_output(tmp_path):
    cassette = tmp_path / "shaped.jsonl"
    script = [
        call("final", answer={"name": "Jupiter"}),
        call("final", answer={"name": "Jupiter", "moons": 95}),
    ]
    kernel = Kernel(builtins=["autoplug_autos", "autoplug_models"], home=tmp_path)
    recorded = kernel.run(
        "Largest?", model=ScriptedModel(script), output_schema=PLANET, record=cassette
    )
    replayed = kernel.run("Largest?", model=f"replay:{cassette}", output_schema=PLANET)
    assert replayed.status == "succeeded" and replayed.output == recorded.output
    # Another schema changes the offered final function, so the cassette no longer matches.
    other = dict(PLANET, required=["name"])
    mismatch = kernel.run("Largest?", model=f"replay:{cassette}", output_schema=other)
    assert mismatch.status == "failed" and "replay" in mismatch.reason


def test_a_pydantic_validator_beyond_the_schema_is_repaired_too(tmp_path):
    pydantic = pytest.importorskip("pydantic")

    class Even(pydantic.BaseModel):
        n: int

        @pydantic.field_validator("n")
        @classmethod
        def even(cls, value: int) -> int:
            if value % 2:
                raise ValueError("must be even")
            return value

    model = ScriptedModel([call("final", answer={"n": 3}), call("final", answer={"n": 4})])
    run = kernel_in(tmp_path).run("An even number?", model=model, output_schema=Even)
    assert run.status == "succeeded" and run.output == Even(n=4)
    assert "$.answer.n: Value error, must be even" in model.requests[1].messages[-1].content
