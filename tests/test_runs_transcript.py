"""`runs show RUN_ID --transcript`: every model exchange and tool step of a run, in order."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from shout_tools import ShoutTools

from autoplug import Kernel
from autoplug.runs import RunStore, transcript
from autoplug.scripted import ScriptedModel, call

AUTOPLUG = str(Path(sys.executable).with_name("autoplug"))


PLAN = call(
    "submit_plan",
    steps=[
        {"id": "s1", "tool": "shout", "args": {"text": "jupiter"}, "output": "loud"},
        {
            "id": "s2",
            "tool": "shout",
            "args": {"text": {"$fill": "a sentence about the loud name"}},
            "output": "sentence",
            "inputs": ["loud"],
        },
        {"id": "s3", "tool": "explode", "args": {"message": "no route"}, "output": "route"},
    ],
)


def kernel(home: Path) -> Kernel:
    return Kernel(plugins=[ShoutTools()], builtins=["autoplug_autos"], home=home)


def run_with_a_fill(home: Path) -> str:
    model = ScriptedModel(
        [
            call("act", subtask="make the name loud", assets=[]),
            PLAN,
            call("shout", text="JUPITER is the largest"),
            call("final", answer="JUPITER"),
        ]
    )
    result = kernel(home).run("Which planet is largest?", model=model)
    assert result.status == "succeeded", result.reason
    return str(result.run_id)


def autoplug(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, AUTOPLUG_HOME=str(home), AUTOPLUG_LOAD_PLUGINS="")
    return subprocess.run(
        [AUTOPLUG, *args], capture_output=True, text=True, env=env, timeout=60, check=False
    )


def test_transcript_json_shows_act_plan_fill_and_final_in_order(tmp_path: Path) -> None:
    run_id = run_with_a_fill(tmp_path)
    result = autoplug(tmp_path, "runs", "show", run_id, "--transcript", "--json")
    assert result.returncode == 0, result.stderr
    entries = json.loads(result.stdout)
    kinds = [(e["kind"], e.get("agent") or e.get("step")) for e in entries]
    assert kinds[:3] == [("model", "dynamic"), ("model", "planner"), ("step", "s1")]
    # s2 waits for s1's asset, s3 runs at once: s3 may end before or after the fill.
    assert ("model", "fill") in kinds and ("step", "s3") in kinds
    assert kinds.index(("model", "fill")) < kinds.index(("step", "s2"))
    assert kinds[-1] == ("model", "dynamic")
    first, plan = entries[0], entries[1]
    assert [m["role"] for m in first["messages_added"]] == ["system", "user"]
    assert "Which planet is largest?" in first["messages_added"][1]["content"]
    assert first["reply"]["function_calls"][0]["name"] == "act"
    assert first["model"] == "scripted:test"
    assert isinstance(first["duration_s"], float) and first["duration_s"] >= 0
    assert set(first["usage"]) == {"input_tokens", "output_tokens"}
    assert "make the name loud" in plan["messages_added"][1]["content"]
    assert "shout" in plan["messages_added"][0]["content"]  # the tool catalog, in the system prompt
    fill = next(e for e in entries if e.get("agent") == "fill")
    assert "a sentence about the loud name" in fill["messages_added"][1]["content"]
    assert "JUPITER" in fill["messages_added"][1]["content"]  # the asset it read
    s1, s2, s3 = (next(e for e in entries if e.get("step") == s) for s in ("s1", "s2", "s3"))
    assert s1 == {
        "kind": "step",
        "act": 1,
        "step": "s1",
        "tool": "shout",
        "args": {"text": "jupiter"},
        "status": "succeeded",
        "preview": "JUPITER",
        "error": None,
        "duration_s": s1["duration_s"],
    }
    assert s2["preview"] == "JUPITER IS THE LARGEST"
    assert s3["status"] == "failed" and "no route" in s3["error"] and s3["preview"] is None
    last = entries[-1]
    # The last turn added only the report of act 1, not the whole history again.
    assert [m["role"] for m in last["messages_added"]] == ["tool"]
    assert json.loads(last["messages_added"][0]["content"])["subtask"] == "make the name loud"
    assert last["reply"]["function_calls"][0]["arguments"] == {"answer": "JUPITER"}


def test_transcript_text_shows_the_prompts_replies_and_steps(tmp_path: Path) -> None:
    run_id = run_with_a_fill(tmp_path)
    result = autoplug(tmp_path, "runs", "show", run_id, "--transcript")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "model call: dynamic" in out and "model call: planner" in out
    assert "model call: fill" in out
    assert "--> user: Task: Which planet is largest?" in out
    assert '<-- assistant: final {"answer": "JUPITER"}' in out
    assert "step 1.s3: explode  failed" in out and "error:" in out


def test_each_prompt_part_is_stored_once_per_run(tmp_path: Path) -> None:
    # Two acts: the planner's system prompt and the dynamic agent's history recur.
    model = ScriptedModel(
        [
            call("act", subtask="first", assets=[]),
            call(
                "submit_plan",
                steps=[{"id": "a", "tool": "shout", "args": {"text": "x"}, "output": "x"}],
            ),
            call("act", subtask="second", assets=[]),
            call(
                "submit_plan",
                steps=[{"id": "b", "tool": "shout", "args": {"text": "y"}, "output": "y"}],
            ),
            call("final", answer="done"),
        ]
    )
    result = kernel(tmp_path).run("two acts", model=model)
    journal = tmp_path / "runs" / str(result.run_id) / "state.jsonl"
    records = [json.loads(line) for line in journal.read_text().splitlines()]
    parts = [json.dumps(r["part"]) for r in records if r["k"] == "part"]
    calls = [r["parts"] for r in records if r["k"] == "call"]
    assert len(calls) == 5
    assert len(parts) == len(set(parts))  # no part twice
    planner_system = [p for p in parts if "Plan the subtask as tool calls" in p]
    assert len(planner_system) == 1  # sent twice, stored once
    # The tool catalog is one paragraph of each act's planner prompt: stored once too.
    assert len([p for p in parts if p.startswith('"Tools')]) == 1
    referred = [i for c in calls for i in c]
    assert len(referred) > len(set(referred))  # later calls refer to messages stored before


def test_every_run_of_a_process_stores_its_own_parts_under_their_canonical_hash(
    tmp_path: Path,
) -> None:
    # The paragraphs' hashes are remembered across the runs of a process; each run's
    # journal must still hold every part it refers to, hashed as the reader expects.
    import hashlib

    from autoplug.llm import canonical_json

    first, second = run_with_a_fill(tmp_path), run_with_a_fill(tmp_path)
    for run_id in (first, second):
        journal = tmp_path / "runs" / run_id / "state.jsonl"
        records = [json.loads(line) for line in journal.read_text().splitlines()]
        parts = {r["id"]: r for r in records if r["k"] == "part"}
        for record in parts.values():
            expected = hashlib.sha256(canonical_json(record["part"]).encode()).hexdigest()
            assert record["hash"] == expected
        referred = {i for r in records if r["k"] == "call" for i in r["parts"]}
        assert referred and referred <= set(parts)
        shown = json.loads(
            autoplug(tmp_path, "runs", "show", run_id, "--transcript", "--json").stdout
        )
        assert "Plan the subtask as tool calls" in json.dumps(shown)


def test_llm_call_events_carry_the_model_and_the_duration(tmp_path: Path) -> None:
    run_id = run_with_a_fill(tmp_path)
    with RunStore.open(tmp_path, run_id) as store:
        calls = [e["data"] for e in store.events() if e["type"] == "llm_call"]
    assert len(calls) == 4
    assert all(c["model"] == calls[0]["model"] and c["model"] for c in calls)
    assert all(isinstance(c["duration_s"], float) and c["duration_s"] >= 0 for c in calls)


def test_an_old_run_folder_without_recorded_calls_still_shows_its_transcript(
    tmp_path: Path,
) -> None:
    run_id = run_with_a_fill(tmp_path)
    state = tmp_path / "runs" / run_id / "state.jsonl"
    kept = [
        line
        for line in state.read_text().splitlines()
        if json.loads(line)["k"] not in ("part", "call")
    ]
    state.write_text("\n".join(kept) + "\n")
    # ... and its llm_call events as the old code wrote them: no model, no duration.
    trace = tmp_path / "runs" / run_id / "trace.jsonl"
    lines = []
    for line in trace.read_text().splitlines():
        event = json.loads(line)
        if event["type"] == "llm_call":
            event["data"].pop("model")
            event["data"].pop("duration_s")
        lines.append(json.dumps(event))
    trace.write_text("\n".join(lines) + "\n")
    with RunStore.open(tmp_path, run_id) as store:
        entries = transcript(store)
    models = [e for e in entries if e["kind"] == "model"]
    assert [e["agent"] for e in models] == ["dynamic", "planner", "fill", "dynamic"]
    assert all(e["model"] == models[0]["model"] and e["model"] for e in models)  # the run's
    assert all(e["messages_added"] is None and e["reply"] is None for e in models)
    assert all(e["duration_s"] is None for e in models)
    assert all(isinstance(e["usage"]["input_tokens"], int) for e in models)
    assert {e["step"] for e in entries if e["kind"] == "step"} == {"s1", "s2", "s3"}
    text = autoplug(tmp_path, "runs", "show", run_id, "--transcript")
    assert text.returncode == 0, text.stderr
    assert "was not recorded" in text.stdout


def test_transcript_of_a_conversation_holds_every_message(tmp_path: Path) -> None:
    from autoplug_builtins.autos import Assistant

    model = ScriptedModel(
        [call("final", answer="Hello, Ada."), call("final", answer="You are Ada.")]
    )
    assistant = Assistant(kernel(tmp_path), model=model)
    assistant.send("Hi, I am Ada.")
    assistant.send("What is my name?")
    result = assistant.close()
    assert result is not None
    result_json = autoplug(tmp_path, "runs", "show", str(result.run_id), "--transcript", "--json")
    assert result_json.returncode == 0, result_json.stderr
    entries = json.loads(result_json.stdout)
    assert [e["agent"] for e in entries] == ["dynamic", "dynamic"]
    first, second = entries
    assert "Task: Hi, I am Ada." in first["messages_added"][1]["content"]
    told = second["messages_added"][1]["content"]
    assert "User: Hi, I am Ada." in told and "Assistant: Hello, Ada." in told
    assert "Task: What is my name?" in told
    assert second["reply"]["function_calls"][0]["arguments"] == {"answer": "You are Ada."}


def test_transcript_of_an_unknown_run_is_a_usage_error(tmp_path: Path) -> None:
    result = autoplug(tmp_path, "runs", "show", "nosuchrun", "--transcript")
    assert result.returncode == 2
    assert "unknown run 'nosuchrun'" in result.stderr
