"""How examples/planets.jsonl was made: `autoplug run --record` against a local server.

There is no network and no API key on the machines this project is built on, so
the model side of the recording is the test suite's loopback OpenAI-compatible
server (tests/openai_server.py), scripted to make the choices a model makes for
this task: hand a subtask to the static agent, plan two independent steps
(list the workspace, read the notes), then answer from the report. Everything
else is the real thing: the real `autoplug run` command, the real HTTP provider,
the real files tools, the real cassette recorder.

Only the builtin plugins are loaded, so the cassette's tool catalog (kept in its
first line) is theirs, whatever else is installed; replaying offers exactly
that catalog. Any change to a prompt changes the requests, so re-record the
cassette in the same commit (tests/test_example.py fails until it is).

Run from the repository root:  python examples/record_planets.py [PATH]
(PATH defaults to examples/planets.jsonl). Then watch it:  autoplug run "Which is the largest planet? Check the notes file." \
    --model replay:examples/planets.jsonl --workspace examples/workspace
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from openai_server import OpenAIServer, Recorded, Reply  # noqa: E402

TASK = "Which is the largest planet? Check the notes file."
PLAN = [
    {"id": "s1", "tool": "list_files", "args": {"pattern": "*.md"}, "output": "files"},
    {"id": "s2", "tool": "read_file", "args": {"path": "notes.md"}, "output": "notes"},
]
ANSWER = (
    "Jupiter is the largest planet: the notes give its mean diameter as 139,820 km, "
    "about 11 times Earth's (12,742 km), ahead of Saturn at 116,460 km."
)


def choose(request: Recorded) -> Reply:
    """What the scripted model answers, from the functions offered and the messages so far."""
    offered = {t["function"]["name"] for t in request.body.get("tools", [])}
    if "submit_plan" in offered:
        return Reply.chat(tool_calls=[("submit_plan", {"steps": PLAN})])
    observed = any(m.get("role") == "tool" for m in request.body["messages"])
    if not observed:
        subtask = "Read the notes file in the workspace and find each planet's size."
        return Reply.chat(tool_calls=[("act", {"subtask": subtask, "assets": []})])
    return Reply.chat(tool_calls=[("final", {"answer": ANSWER})])


BUILTINS = "autoplug_files,autoplug_web,autoplug_models,autoplug_memory,autoplug_autos"


def main() -> None:
    cassette = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "examples" / "planets.jsonl"
    cassette.unlink(missing_ok=True)
    home = Path(tempfile.mkdtemp())
    with OpenAIServer(choose) as server:
        (home / "config.toml").write_text(f'[providers.local]\nbase_url = "{server.url}"\n')
        env = {**os.environ, "AUTOPLUG_HOME": str(home), "AUTOPLUG_LOAD_PLUGINS": BUILTINS}
        out = subprocess.run(
            [
                sys.executable,
                "-m",
                "autoplug.cli",
                "run",
                TASK,
                "--model",
                "local:gpt-4o-mini",
                "--record",
                str(cassette),
                "--workspace",
                str(ROOT / "examples" / "workspace"),
                "--json",
            ],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
    print(out.stderr, file=sys.stderr)
    result = json.loads(out.stdout)
    print(json.dumps({k: result[k] for k in ("status", "answer", "usage")}, indent=2))
    exchanges = len(cassette.read_text().splitlines()) - 1  # the first line is the header
    print(f"wrote {cassette} ({exchanges} exchanges)")


if __name__ == "__main__":
    main()
