"""`autoplug ui` over HTTP: the JSON pages, downloads, refusals and the token, against the real server.

Each module-level server is the real command (`autoplug ui --no-open --port 0`)
in a subprocess over a home holding real runs made by the scripted model; the
client is httpx over loopback.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import httpx
import pytest
from ui_helpers import (
    AUTOPLUG,
    UiServer,
    extra_missing,
    make_run,
    snapshot,
)

from autoplug.runs import RunStore

pytestmark = pytest.mark.skipif(extra_missing() is not None, reason=str(extra_missing()))

PICTURE_PLAN = [{"id": "draw", "tool": "picture", "args": {}, "output": "image"}]


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    """A home with three runs: one with a failed step, one with an image, one still 'running'."""
    home = tmp_path_factory.mktemp("ui_home")
    first = make_run(home, task="How warm is Oslo?")
    second = make_run(home, task="Draw a PNG picture", steps=PICTURE_PLAN, answer="Drawn.")
    # A run whose owner is gone: listed as interrupted.
    store = RunStore.create(home, task="never finished", model="m:x", auto="runner", workspace=home)
    store.close()
    with open(store.state_path, "a") as journal:  # as if its owner had been another process
        journal.write('{"k": "status", "status": "running", "owner_pid": 999999999}\n')
    home.joinpath("ids.json").write_text(
        json.dumps({"failing": first.run_id, "picture": second.run_id, "dead": store.run_id})
    )
    return home


@pytest.fixture(scope="module")
def client(ui_server):
    with httpx.Client(base_url=ui_server.base, timeout=15) as http:
        yield http


def test_runs_json_lists_runs_newest_first_with_duration_tokens_and_cost(client, ui_ids):
    page = client.get("/runs.json").json()
    assert [r["run_id"] for r in page["runs"]] == [
        ui_ids["dead"],
        ui_ids["picture"],
        ui_ids["failing"],
    ]
    assert page["count"] == 3 and page["next"] is None
    failing = page["runs"][2]
    assert failing["status"] == "succeeded"
    assert failing["task"] == "How warm is Oslo?"
    assert failing["model"] == "scripted:test"
    assert failing["tokens"] > 0 and failing["duration_s"] >= 0
    assert failing["usd"] == 0.0  # the scripted model is free (DESIGN: only real models are priced)
    assert page["runs"][0]["status"] == "interrupted"


def test_runs_json_filters_by_status_and_searches_the_task_case_blind(client, ui_ids):
    interrupted = client.get("/runs.json", params={"status": "interrupted"}).json()
    assert [r["run_id"] for r in interrupted["runs"]] == [ui_ids["dead"]]
    found = client.get("/runs.json", params={"q": "png PICTURE"}).json()
    assert [r["run_id"] for r in found["runs"]] == [ui_ids["picture"]]
    both = client.get("/runs.json", params={"status": "succeeded", "q": "oslo"}).json()
    assert [r["run_id"] for r in both["runs"]] == [ui_ids["failing"]]


def test_runs_json_pages_newest_first_with_a_before_cursor(client, ui_ids):
    first = client.get("/runs.json", params={"limit": 2}).json()
    assert [r["run_id"] for r in first["runs"]] == [ui_ids["dead"], ui_ids["picture"]]
    assert first["next"] == ui_ids["picture"]
    rest = client.get("/runs.json", params={"limit": 2, "before": first["next"]}).json()
    assert [r["run_id"] for r in rest["runs"]] == [ui_ids["failing"]]
    assert rest["next"] is None


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"status": "finished"}, "unknown status 'finished'"),
        ({"limit": "lots"}, "'limit'"),
        ({"limit": "0"}, "limit must be between 1 and 500"),
    ],
)
def test_runs_json_refuses_a_bad_parameter_with_400_naming_it(client, params, named):
    answer = client.get("/runs.json", params=params)
    assert answer.status_code == 400
    assert named in answer.json()["error"]


def test_the_runs_page_is_html_listing_each_run_with_a_link(client, ui_ids):
    answer = client.get("/runs")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/html")
    for run_id in ui_ids.values():
        assert f'href="/runs/{run_id}"' in answer.text


def test_run_json_has_one_graph_node_per_step_and_edges_from_references_and_inputs(client, ui_ids):
    run = client.get(f"/runs/{ui_ids['failing']}.json").json()
    (act,) = run["acts"]
    assert [(s["id"], s["status"]) for s in act["steps"]] == [
        ("oslo", "succeeded"),
        ("bergen", "succeeded"),
        ("boom", "failed"),
    ]
    nodes = {n["step"]: n for n in act["graph"]["nodes"]}
    assert set(nodes) == {"oslo", "bergen", "boom"}
    assert nodes["boom"]["status"] == "failed"
    key = {s["id"]: s["key"] for s in act["steps"]}
    assert sorted(map(tuple, act["graph"]["edges"])) == sorted(
        [(key["oslo"], key["boom"]), (key["bergen"], key["boom"])]
    )
    boom = act["steps"][2]
    assert "the barometer broke" in boom["error"]
    assert boom["started"] and boom["finished"] and boom["duration_s"] >= 0
    assert act["steps"][0]["result"] == '{"city": "Oslo", "temp": 12}'


def test_run_json_carries_the_transcript_and_children(client, ui_ids):
    run = client.get(f"/runs/{ui_ids['failing']}.json").json()
    kinds = [(e["kind"], e.get("agent") or e.get("step")) for e in run["transcript"]]
    assert kinds == [
        ("model", "dynamic"),
        ("model", "planner"),
        ("step", "oslo"),
        ("step", "bergen"),
        ("step", "boom"),
        ("model", "dynamic"),
    ]
    (final,) = run["transcript"][-1]["reply"]["function_calls"]  # the model's own reply
    assert (final["name"], final["arguments"]) == ("final", {"answer": "Mild."})
    assert run["transcript"][0]["messages_added"][0]["role"] == "system"  # what it was told
    assert run["children"] == []


def test_an_unknown_run_is_404_naming_it(client):
    answer = client.get("/runs/20990101-000000-000000-ffff.json")
    assert answer.status_code == 404
    assert "unknown run '20990101-000000-000000-ffff'" in answer.json()["error"]
    assert client.get("/runs/.hidden").status_code == 404


def test_an_asset_downloads_by_name_with_its_type(client, ui_ids):
    answer = client.get(f"/runs/{ui_ids['failing']}/assets/weather")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/json"
    assert "attachment" in answer.headers["content-disposition"]
    assert answer.json() == {"city": "Oslo", "temp": 12}


def test_an_image_asset_is_previewed_inline_and_the_page_shows_it(client, ui_ids):
    run = client.get(f"/runs/{ui_ids['picture']}.json").json()
    (asset,) = run["assets"]
    assert asset["image"] is True
    inline = client.get(asset["download"], params={"inline": "1"})
    assert inline.headers["content-type"] == "image/png"
    assert inline.headers["content-disposition"].startswith("inline")
    assert inline.content.startswith(b"\x89PNG")
    page = client.get(f"/runs/{ui_ids['picture']}").text
    assert f'src="{asset["download"]}?inline=1"' in page


@pytest.mark.parametrize(
    "name", ["state.sqlite", "../state.sqlite", "..%2Fstate.sqlite", "manifest.json", "/etc/passwd"]
)
def test_a_name_not_in_the_manifest_is_404_never_a_file(client, ui_ids, name):
    answer = client.get(f"/runs/{ui_ids['failing']}/assets/{name}")
    assert answer.status_code == 404
    assert b"SQLite" not in answer.content and b"root:" not in answer.content


@pytest.mark.parametrize("path", ["/static/app.py", "/static/..%2Fapp.py", "/static/../app.py"])
def test_static_serves_only_its_own_files(client, path):
    assert client.get(path).status_code == 404
    assert client.get("/static/ui.css").status_code == 200


def test_every_page_forbids_loading_from_another_origin(client):
    policy = client.get("/runs").headers["content-security-policy"]
    assert "default-src 'none'" in policy and "script-src 'self'" in policy


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
def test_writes_are_refused_with_405(client, ui_ids, method):
    answer = client.request(method, f"/runs/{ui_ids['failing']}.json")
    assert answer.status_code == 405
    assert "read-only" in answer.text


def test_a_foreign_host_header_is_refused_on_loopback(client):
    answer = client.get("/runs.json", headers={"Host": "attacker.example:8484"})
    assert answer.status_code == 403
    assert client.get(
        "/runs.json", headers={"Host": f"localhost:{client.base_url.port}"}
    ).is_success


def test_the_live_endpoint_answers_204_until_the_run_changes(client, ui_ids):
    run = client.get(f"/runs/{ui_ids['failing']}.json").json()
    same = client.get(f"/runs/{ui_ids['failing']}/live", params={"v": run["version"]})
    assert same.status_code == 204
    changed = client.get(f"/runs/{ui_ids['failing']}/live", params={"v": "old"})
    assert changed.status_code == 200
    assert changed.headers["x-run-live"] == "0"
    assert changed.headers["x-run-version"] == run["version"]
    assert 'class="act"' in changed.text


def test_viewing_every_page_changes_nothing_in_the_home(home, client, ui_ids):
    before = snapshot(home)
    for run_id in ui_ids.values():
        for path in (f"/runs/{run_id}", f"/runs/{run_id}.json", f"/runs/{run_id}/live"):
            assert client.get(path).status_code == 200
    client.get(f"/runs/{ui_ids['failing']}/assets/weather")
    client.get("/runs?status=failed&q=x")
    client.get("/memory.json", params={"q": "Oslo"})
    assert snapshot(home) == before


def test_the_viewer_never_creates_the_config(tmp_path):
    home = tmp_path / "fresh"
    home.mkdir()
    with UiServer(home) as running:
        assert httpx.get(f"{running.base}/runs.json").json()["runs"] == []
        assert httpx.get(f"{running.base}/memory.json", params={"q": "x"}).status_code == 200
    assert sorted(p.name for p in home.iterdir()) == []


@pytest.mark.slow  # the first search loads LanceDB: several seconds
def test_memory_json_finds_what_a_run_stored_and_counts_no_access(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    home.joinpath("config.toml").write_text('[memory]\nembedder = "hashing"\n')
    make_run(
        home, task="How warm is Oslo in winter?", answer="Cold.", builtins=("autoplug_memory",)
    )
    memory_files = snapshot(home / "memory")
    with UiServer(home) as running:
        answer = httpx.get(
            f"{running.base}/memory.json", params={"q": "Oslo winter"}, timeout=120
        ).json()
        assert answer["note"] is None
        assert any("Oslo" in m["text"] for m in answer["results"])
        assert {"score", "similarity", "importance", "recency", "kind", "created"} <= set(
            answer["results"][0]
        )
        page = httpx.get(f"{running.base}/memory", params={"q": "Oslo winter"}).text
        assert "Oslo in winter" in page
        bad = httpx.get(f"{running.base}/memory.json", params={"q": "x", "k": "0"})
        assert bad.status_code == 400 and "k must be between 1 and 100" in bad.json()["error"]
    assert snapshot(home / "memory") == memory_files


# -- the token on any other address ---------------------------------------------------


def _loopback_alias_works() -> bool:
    try:
        with socket.create_server(("127.0.0.2", 0)):
            return True
    except OSError:
        return False


@pytest.fixture(scope="module")
def token_server(home):
    if not _loopback_alias_works():
        pytest.skip("127.0.0.2 cannot be bound here")
    with UiServer(home, "--host", "127.0.0.2") as running:
        yield running


def test_on_another_address_the_url_carries_a_token_and_no_token_is_403(token_server):
    assert token_server.token and token_server.base.startswith("http://127.0.0.2:")
    answer = httpx.get(f"{token_server.base}/runs.json")
    assert answer.status_code == 403
    assert "needs the token" in answer.text
    assert httpx.get(f"{token_server.base}/runs.json", params={"token": "wrong"}).status_code == 403


def test_the_token_works_once_in_the_url_then_from_its_cookie(token_server):
    with httpx.Client(base_url=token_server.base) as http:
        first = http.get("/runs.json", params={"token": token_server.token})
        assert first.status_code == 200
        assert "HttpOnly" in first.headers["set-cookie"]
        assert http.get("/runs.json").status_code == 200  # the cookie, no ?token=


def test_the_token_works_as_a_bearer_header(token_server):
    headers = {"Authorization": f"Bearer {token_server.token}"}
    assert httpx.get(f"{token_server.base}/runs.json", headers=headers).status_code == 200
    assert (
        httpx.get(
            f"{token_server.base}/runs.json", headers={"Authorization": "Bearer no"}
        ).status_code
        == 403
    )


# -- the command itself ----------------------------------------------------------------


def _ui(home, *args, env_extra=None, code=None):
    env = dict(os.environ, AUTOPLUG_HOME=str(home), **(env_extra or {}))
    command = [AUTOPLUG, "ui", "--no-open", *args] if code is None else [sys.executable, "-c", code]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=60, check=False)


def test_a_port_in_use_is_one_error_line_and_exit_1(tmp_path):
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        result = _ui(tmp_path, "--port", str(port))
    assert result.returncode == 1
    assert result.stderr.startswith(f"error: cannot listen on 127.0.0.1:{port}")
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [(("--host", "no such host!"), "--host 'no such host!'"), (("--port", "70000"), "--port")],
)
def test_a_bad_host_or_port_is_exit_2_naming_it(tmp_path, args, message):
    result = _ui(tmp_path, *args)
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr


def test_without_the_extra_ui_says_what_to_install(tmp_path):
    code = (
        "import sys; sys.modules['uvicorn'] = None; from autoplug.cli import main; "
        "main(['ui', '--no-open'])"
    )
    result = _ui(tmp_path, code=code)
    assert result.returncode == 1
    assert "pip install 'autoplug[ui]'" in result.stderr and "uvicorn" in result.stderr


def test_the_cli_starts_without_importing_the_ui_libraries():
    code = (
        "import sys; from autoplug.cli import build_cli; build_cli(); "
        "print(sorted(m for m in ('starlette', 'uvicorn', 'jinja2', 'selenium') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
