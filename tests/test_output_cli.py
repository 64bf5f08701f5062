"""Structured output through the CLI: `autoplug run --output-schema` over the OpenAI wire,
in text mode, bad schema files, and a SIGKILLed run resumed with its schema kept."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from openai_server import OpenAIServer, Reply, providers_toml

AUTOPLUG = str(Path(sys.executable).with_name("autoplug"))

SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "properties": {
        "planet": {"type": "string"},
        "moons": {"type": "array", "items": {"$ref": "#/$defs/Moon"}},
    },
    "required": ["planet", "moons"],
    "$defs": {
        "Moon": {
            "type": "object",
            "properties": {"name": {"type": "string"}},
            "required": ["name"],
        }
    },
}
GOOD = {"planet": "Jupiter", "moons": [{"name": "Io"}, {"name": "Europa"}]}
BAD = {"planet": "Jupiter", "moons": [{"title": "Io"}]}


def home_with(tmp_path: Path, url: str, **settings) -> dict[str, str]:
    home = tmp_path / "home"
    home.mkdir()
    (home / "config.toml").write_text(
        '[memory]\nbackend = "none"\n' + providers_toml("loop", url, **settings)
    )
    (tmp_path / "schema.json").write_text(json.dumps(SCHEMA))
    return dict(
        os.environ, AUTOPLUG_HOME=str(home), AUTOPLUG_LOAD_PLUGINS="autoplug_autos,autoplug_models"
    )


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [AUTOPLUG, *args], capture_output=True, text=True, env=env, timeout=120, check=False
    )


@pytest.mark.slow
def test_run_output_schema_over_the_openai_wire_repairs_then_prints_the_output(tmp_path):
    replies = [
        Reply.chat(tool_calls=[("final", {"answer": BAD})]),
        Reply.chat(tool_calls=[("final", {"answer": GOOD})]),
    ]
    with OpenAIServer(replies) as server:
        env = home_with(tmp_path, server.url)
        schema = str(tmp_path / "schema.json")
        done = cli(env, "run", "Largest planet?", "--model", "loop:m", "--output-schema", schema)
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout) == GOOD
        final = [t for t in server.requests[0].body["tools"] if t["function"]["name"] == "final"]
        params = final[0]["function"]["parameters"]
        assert params["$defs"] == SCHEMA["$defs"]
        assert params["properties"]["answer"]["properties"]["moons"]["items"] == {
            "$ref": "#/$defs/Moon"
        }
        told = server.requests[1].body["messages"][-1]
        assert told["role"] == "tool"
        assert "$.answer.moons[0]: 'name' is a required property" in told["content"]
    run_id = json.loads(cli(env, "runs", "--json").stdout)[0]["run_id"]
    shown = cli(env, "runs", "show", run_id, "--json")
    assert json.loads(shown.stdout)["output"] == GOOD
    text = cli(env, "runs", "show", run_id).stdout
    assert "output:\n{\n" in text and '"planet": "Jupiter"' in text


@pytest.mark.slow
def test_run_json_carries_output_in_text_mode_and_null_without_a_schema(tmp_path):
    replies = [
        Reply.chat(text=json.dumps({"function": "final", "arguments": {"answer": GOOD}})),
        Reply.chat(text='{"function": "final", "arguments": {"answer": "Jupiter"}}'),
    ]
    with OpenAIServer(replies) as server:
        env = home_with(tmp_path, server.url, function_calling=False)
        schema = str(tmp_path / "schema.json")
        shaped = cli(
            env, "run", "Largest?", "--model", "loop:m", "--output-schema", schema, "--json"
        )
        plain = cli(env, "run", "Largest?", "--model", "loop:m", "--json")
        assert "tools" not in server.requests[0].body
        # Text mode describes the same final function, with the schema, in the prompt.
        assert '"$defs":{"Moon"' in server.requests[0].body["messages"][0]["content"]
    assert shaped.returncode == 0, shaped.stderr
    result = json.loads(shaped.stdout)
    assert result["output"] == GOOD and json.loads(result["answer"]) == GOOD
    assert plain.returncode == 0, plain.stderr
    result = json.loads(plain.stdout)
    assert result["output"] is None and result["answer"] == "Jupiter"


@pytest.mark.parametrize(
    ("content", "wanted"),
    [
        (None, "cannot read"),
        ("{not json", "not valid JSON"),
        ("[1, 2]", "a JSON Schema must be an object"),
        ('{"type": "objekt"}', "invalid output schema: schema path /type"),
        ('{"$ref": "#/$defs/Gone"}', "cannot resolve '#/$defs/Gone'"),
    ],
)
def test_a_bad_output_schema_file_is_one_line_and_exit_2(tmp_path, content, wanted):
    env = home_with(tmp_path, "http://127.0.0.1:9/v1")
    path = tmp_path / "bad.json"
    if content is not None:
        path.write_text(content)
    done = cli(env, "run", "x", "--model", "loop:m", "--output-schema", str(path))
    assert done.returncode == 2
    assert done.stderr.startswith(f"error: --output-schema {path}: ")
    assert wanted in done.stderr and done.stderr.count("\n") == 1
    assert not list((Path(env["AUTOPLUG_HOME"]) / "runs").glob("*"))


# -- a run killed before its final answer, resumed with its schema --------------------

PLUGIN = '''
"""A test plugin: a slow tool and a stateless scripted model that answers in a shape."""

import json
import os
import time
from pathlib import Path

from autoplug import hookimpl, tool
from autoplug.scripted import ScriptedModel, call

DIR = Path(os.environ["SHAPED_DIR"])


@tool
def slow_count(n: int) -> int:
    """Count slowly.

    n: the number to count to
    """
    with open(DIR / "slow.txt", "a") as counter:
        counter.write("called\\n")
    time.sleep(float(os.environ.get("SHAPED_SLOW_S", "0")))
    return n


def reply(request):
    if any(f.name == "submit_plan" for f in request.functions):
        steps = [{"id": "s1", "tool": "slow_count", "args": {"n": 95}, "output": "count"}]
        return call("submit_plan", steps=steps)
    final = next(f for f in request.functions if f.name == "final")
    with open(DIR / "final.jsonl", "a") as seen:
        seen.write(json.dumps(final.parameters) + "\\n")
    if "count" in " ".join(m.content or "" for m in request.messages if m.role == "tool"):
        return call("final", answer={"planet": "Jupiter", "moons": 95})
    return call("act", subtask="count the moons", assets=[])


class Provider:
    name = "shaped"

    def model(self, model_name, config):
        return ScriptedModel(reply, model_id=f"shaped:{model_name}")


@hookimpl
def register_tools(register):
    register(slow_count)


@hookimpl
def register_models(register):
    register(Provider())
'''

COUNT_SCHEMA = {
    "type": "object",
    "properties": {"planet": {"type": "string"}, "moons": {"type": "integer"}},
    "required": ["planet", "moons"],
}


@pytest.mark.slow
def test_a_run_killed_before_final_resumes_with_its_output_schema(tmp_path):
    site, home, counters = tmp_path / "site", tmp_path / "home", tmp_path / "counters"
    for folder in (site, home, counters):
        folder.mkdir()
    (site / "shaped_plugin.py").write_text(PLUGIN)
    info = site / "autoplug_shaped-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: autoplug-shaped\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[autoplug]\nshaped = shaped_plugin\n")
    (home / "config.toml").write_text(
        '[limits]\ntool_timeout_s = 600\n[memory]\nbackend = "none"\n'
    )
    (tmp_path / "schema.json").write_text(json.dumps(COUNT_SCHEMA))
    env = dict(
        os.environ,
        AUTOPLUG_HOME=str(home),
        PYTHONPATH=str(site),
        SHAPED_DIR=str(counters),
        AUTOPLUG_LOAD_PLUGINS="shaped,autoplug_autos",
    )
    args = ["run", "How many moons has Jupiter?", "--model", "shaped:m", "--json"]
    args += ["--output-schema", str(tmp_path / "schema.json"), "--workspace", str(tmp_path)]
    proc = subprocess.Popen(
        [AUTOPLUG, *args],
        env=dict(env, SHAPED_SLOW_S="300"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while not (counters / "slow.txt").exists():  # the slow step has started
            assert proc.poll() is None, "the run ended before its slow step"
            assert time.monotonic() < deadline, "the slow step never started"
            time.sleep(0.02)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    (run,) = json.loads(cli(env, "runs", "--json").stdout)
    assert run["status"] == "interrupted"

    resumed = cli(env, "resume", run["run_id"], "--json")
    assert resumed.returncode == 0, resumed.stderr
    result = json.loads(resumed.stdout)
    assert result["status"] == "succeeded"
    assert result["output"] == {"planet": "Jupiter", "moons": 95}
    # Every decide request offered the schema: the act before the kill, and after the
    # resume (given no --output-schema) the act again (it was in flight) and the final.
    offered = [json.loads(line) for line in (counters / "final.jsonl").read_text().splitlines()]
    assert len(offered) == 3
    assert all(p["properties"]["answer"] == COUNT_SCHEMA for p in offered)
