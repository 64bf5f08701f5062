"""How examples/team.jsonl was made: `autoplug run --auto manager --record` against a local server.

A manager with three roles (examples/team/config.toml): the architect writes
design.md; then the backend and frontend, at the same time, each read it and
write their file (server.py, index.html); the manager sums up. As for
examples/planets.jsonl, the model side is the test suite's loopback
OpenAI-compatible server (tests/openai_server.py), scripted to make the choices
a model makes here; everything else is real: the `autoplug run` command, the
HTTP provider, the files tools writing into a workspace, the cassette recorder.

Only the builtin plugins are loaded, so the cassette's tool catalog is theirs.
A change to a prompt changes the requests: re-record in the same commit
(tests/test_example.py fails until it is). The script is deterministic:
running it again writes the same cassette.

Run from the repository root:  python examples/record_team.py [PATH]
(PATH defaults to examples/team.jsonl). Then watch the team work offline:

    mkdir -p /tmp/team-home /tmp/team-ws && cp examples/team/config.toml /tmp/team-home/
    AUTOPLUG_HOME=/tmp/team-home autoplug run "Build a tiny todo app." --auto manager \\
        --model replay:examples/team.jsonl --workspace /tmp/team-ws --yes
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from openai_server import OpenAIServer, Recorded, Reply  # noqa: E402

TASK = "Build a tiny todo app."
DESIGN = "# Todo app\n\n- server.py: a JSON API with GET /todos and POST /todos\n- index.html: a page listing the todos\n"
SERVER = (
    "from http.server import BaseHTTPRequestHandler, HTTPServer\n"
    "import json\n\nTODOS = []\n\n\n"
    "class Todos(BaseHTTPRequestHandler):\n"
    "    def do_GET(self):\n"
    "        body = json.dumps(TODOS).encode()\n"
    "        self.send_response(200)\n"
    "        self.end_headers()\n"
    "        self.wfile.write(body)\n\n\n"
    'if __name__ == "__main__":\n'
    '    HTTPServer(("127.0.0.1", 8000), Todos).serve_forever()\n'
)
PAGE = (
    "<!doctype html>\n<title>Todos</title>\n<ul id=todos></ul>\n"
    "<script>fetch('/todos').then(r => r.json()).then(t => "
    "t.forEach(x => todos.append(Object.assign(document.createElement('li'), "
    "{textContent: x}))))</script>\n"
)
PLANS = {
    "architect": [
        {
            "id": "s1",
            "tool": "write_file",
            "args": {"path": "design.md", "content": DESIGN},
            "output": "design",
        }
    ],
    "backend": [
        {"id": "s1", "tool": "read_file", "args": {"path": "design.md"}, "output": "design"},
        {
            "id": "s2",
            "tool": "write_file",
            "args": {"path": "server.py", "content": SERVER},
            "output": "server",
            "inputs": ["design"],
        },
    ],
    "frontend": [
        {"id": "s1", "tool": "read_file", "args": {"path": "design.md"}, "output": "design"},
        {
            "id": "s2",
            "tool": "write_file",
            "args": {"path": "index.html", "content": PAGE},
            "output": "page",
            "inputs": ["design"],
        },
    ],
}
SUBTASKS = {
    "architect": "Design a tiny todo app (a JSON API and one web page); write design.md.",
    "backend": "Write server.py: the JSON API that design.md describes.",
    "frontend": "Write index.html: the page that design.md describes.",
}
ANSWER = (
    "The todo app is built: design.md (the architect's design), server.py (the backend's "
    "JSON API) and index.html (the frontend's page) are in the workspace."
)


def _role(system: str) -> str | None:
    for role in PLANS:
        if f"Your role in the team: {role}." in system:
            return role
    return None


def choose(request: Recorded) -> Reply:
    """What the scripted model answers, from the functions offered and the messages so far."""
    messages = request.body["messages"]
    offered = {t["function"]["name"] for t in request.body.get("tools", [])}
    role = _role(messages[0].get("content") or "")
    observed = [m.get("content") or "" for m in messages if m.get("role") == "tool"]
    if role is not None:
        if "submit_plan" in offered:
            return Reply.chat(tool_calls=[("submit_plan", {"steps": PLANS[role]})])
        if observed:
            done = f"{role}: wrote {PLANS[role][-1]['args']['path']}"
            return Reply.chat(tool_calls=[("final", {"answer": done})])
        return Reply.chat(tool_calls=[("act", {"subtask": SUBTASKS[role], "assets": []})])
    if not observed:
        first = [{"role": "architect", "subtask": SUBTASKS["architect"], "assets": []}]
        return Reply.chat(tool_calls=[("delegate", {"assignments": first})])
    if len(observed) == 1:
        both = [{"role": r, "subtask": SUBTASKS[r], "assets": []} for r in ("backend", "frontend")]
        return Reply.chat(tool_calls=[("delegate", {"assignments": both})])
    return Reply.chat(tool_calls=[("final", {"answer": ANSWER})])


BUILTINS = "autoplug_files,autoplug_web,autoplug_models,autoplug_memory,autoplug_autos"


def main() -> None:
    cassette = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "examples" / "team.jsonl"
    cassette.unlink(missing_ok=True)
    home, workspace = Path(tempfile.mkdtemp()), Path(tempfile.mkdtemp())
    roles = (ROOT / "examples" / "team" / "config.toml").read_text()
    try:
        with OpenAIServer(choose) as server:
            provider = f'[providers.local]\nbase_url = "{server.url}"\n\n'
            (home / "config.toml").write_text(provider + roles)
            env = {**os.environ, "AUTOPLUG_HOME": str(home), "AUTOPLUG_LOAD_PLUGINS": BUILTINS}
            out = subprocess.run(
                [sys.executable, "-m", "autoplug.cli", "run", TASK, "--auto", "manager"]
                + ["--model", "local:gpt-4o-mini", "--record", str(cassette)]
                + ["--workspace", str(workspace), "--yes", "--json"],
                env=env,
                capture_output=True,
                text=True,
                check=False,
            )
        print(out.stderr, file=sys.stderr)
        result = json.loads(out.stdout)
        print(json.dumps({k: result[k] for k in ("status", "answer", "usage")}, indent=2))
        print("workspace:", sorted(p.name for p in workspace.iterdir()))
    finally:
        shutil.rmtree(home, ignore_errors=True)
        shutil.rmtree(workspace, ignore_errors=True)
    # Children record their exchanges in whatever order they finish; a replay matches
    # by hash, not position, so sorting by hash makes the file the same on every run.
    header, *exchanges = cassette.read_text().splitlines()
    exchanges.sort(key=lambda line: json.loads(line)["hash"])
    cassette.write_text("\n".join([header, *exchanges]) + "\n")
    print(f"wrote {cassette} ({len(exchanges)} exchanges)")


if __name__ == "__main__":
    main()
