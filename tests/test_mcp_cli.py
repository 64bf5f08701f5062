"""The MCP client from the command line, with real servers from PyPI (mcp-server-time and
mcp-server-git, offline over stdio) and the test suite's own server for runs."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("mcp", reason="the mcp extra is not installed (pip install 'autoplug[mcp]')")

from test_mcp_client import kernel_with, server_table  # noqa: E402

from autoplug import CallContext  # noqa: E402
from autoplug.scripted import ScriptedModel  # noqa: E402

needs_time = pytest.mark.skipif(
    importlib.util.find_spec("mcp_server_time") is None,
    reason="mcp-server-time is not installed (it comes with autoplug[dev])",
)
needs_git = pytest.mark.skipif(
    importlib.util.find_spec("mcp_server_git") is None or shutil.which("git") is None,
    reason="mcp-server-git or the git program is not installed",
)


def time_table(**keys: object) -> str:
    lines = [
        "[mcp.time]",
        f"command = {json.dumps(sys.executable)}",
        'args = ["-m", "mcp_server_time", "--local-timezone", "UTC"]',
    ]
    lines += [f"{key} = {json.dumps(value)}" for key, value in keys.items()]
    return "\n".join(lines) + "\n"


def autoplug(home: Path, *args: str, cwd: Path | None = None, timeout: float = 120):
    """Run the real ``autoplug`` command in ``home``."""
    return subprocess.run(
        [sys.executable, "-m", "autoplug.cli", *args],
        cwd=cwd,
        input="",
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "AUTOPLUG_HOME": str(home)},
    )


def write_config(home: Path, *tables: str) -> None:
    (home / "config.toml").write_text('[memory]\nbackend = "none"\n' + "".join(tables))


@needs_time
def test_mcp_list_shows_a_never_listed_server_without_starting_it(isolated_home):
    write_config(isolated_home, time_table())
    done = autoplug(isolated_home, "mcp", "list", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == [
        {
            "name": "time",
            "plugin": "mcp_time",
            "transport": "stdio",
            "command": f"{sys.executable} -m mcp_server_time --local-timezone UTC",
            "status": "loaded",
            "tools": 0,
            "listed_at": None,
            "error": None,
        }
    ]
    plugins = json.loads(autoplug(isolated_home, "plugins", "--json").stdout)
    time_plugin = next(p for p in plugins if p["name"] == "mcp_time")
    assert time_plugin["status"] == "loaded" and time_plugin["note"].startswith("never listed")
    assert not (isolated_home / "state" / "mcp.time.json").exists()


@needs_time
@pytest.mark.slow
def test_refresh_lists_mcp_server_time_whose_read_only_tools_answer(isolated_home):
    write_config(isolated_home, time_table())
    done = autoplug(isolated_home, "mcp", "refresh", "--json")
    assert done.returncode == 0, done.stderr
    (row,) = json.loads(done.stdout)
    assert (row["status"], row["tools"], row["error"]) == ("loaded", 2, None)
    assert row["listed_at"].endswith("Z")
    tools = {t["name"]: t for t in json.loads(autoplug(isolated_home, "tools", "--json").stdout)}
    assert tools["get_current_time"]["plugin"] == "mcp_time"
    assert tools["convert_time"]["side_effects"] is False  # readOnlyHint: true
    assert tools["get_current_time"]["parameters"]["required"] == ["timezone"]
    called = autoplug(
        isolated_home, "tools", "call", "get_current_time", '{"timezone": "Europe/Oslo"}'
    )
    assert called.returncode == 0, called.stderr
    assert json.loads(called.stdout)["timezone"] == "Europe/Oslo"
    bad = autoplug(isolated_home, "tools", "call", "get_current_time", '{"timezone": 5}')
    assert bad.returncode == 2 and "$.timezone: 5 is not of type 'string'" in bad.stderr


def test_refresh_of_one_failing_server_exits_1_and_still_lists_the_other(isolated_home):
    write_config(
        isolated_home, '[mcp.broken]\ncommand = "no-such-mcp-program"\n', server_table("ok")
    )
    done = autoplug(isolated_home, "mcp", "refresh")
    assert done.returncode == 1
    assert "mcp_broken: command 'no-such-mcp-program' not found" in done.stderr
    rows = {
        r["name"]: r for r in json.loads(autoplug(isolated_home, "mcp", "list", "--json").stdout)
    }
    assert rows["broken"]["status"] == "failed" and rows["ok"]["status"] == "loaded"
    plugins = json.loads(autoplug(isolated_home, "plugins", "--json").stdout)
    broken = next(p for p in plugins if p["name"] == "mcp_broken")
    assert (broken["status"], broken["error"]) == (
        "failed",
        "command 'no-such-mcp-program' not found",
    )


def test_refresh_of_an_unknown_or_disabled_server_exits_2(isolated_home):
    write_config(isolated_home, server_table("ok", disabled=True))
    unknown = autoplug(isolated_home, "mcp", "refresh", "nope")
    assert unknown.returncode == 2 and "unknown MCP server 'nope'; known: ok" in unknown.stderr
    disabled = autoplug(isolated_home, "mcp", "refresh", "ok")
    assert disabled.returncode == 2 and "MCP server 'ok' is disabled" in disabled.stderr


def test_mcp_list_without_servers_says_how_to_add_one(isolated_home):
    done = autoplug(isolated_home, "mcp", "list")
    assert done.returncode == 0 and "add an [mcp.NAME] table" in done.stdout
    assert json.loads(autoplug(isolated_home, "mcp", "list", "--json").stdout) == []


def test_a_bad_mcp_table_stops_the_command_with_exit_2(isolated_home):
    write_config(isolated_home, '[mcp.time]\ncommand = "x"\ntimeout_s = -1\n')
    done = autoplug(isolated_home, "tools")
    assert done.returncode == 2
    assert "[mcp.time] timeout_s must be a number > 0, not -1" in done.stderr


def test_autoplug_tools_imports_no_mcp_sdk_with_servers_configured(isolated_home):
    write_config(isolated_home, server_table("one"), server_table("two"), server_table("three"))
    assert autoplug(isolated_home, "mcp", "refresh").returncode == 0
    code = (
        "import sys; from autoplug.cli import main\n"
        "try:\n    main(['tools', '--json'])\n"
        "except SystemExit:\n    pass\n"
        "heavy = [m for m in ('mcp', 'mcp_types', 'anyio', 'pydantic', 'jsonschema') if m in sys.modules]\n"
        "print(heavy, file=sys.stderr)\n"
    )
    env = {**os.environ, "AUTOPLUG_HOME": str(isolated_home)}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    tools = json.loads(done.stdout)
    assert {"mcp_one.echo", "mcp_two.echo", "mcp_three.echo"} <= {
        t["qualified_name"] for t in tools
    }
    assert done.stderr.strip().splitlines()[-1] == "[]"


@needs_git
@pytest.mark.slow
def test_mcp_server_git_write_tools_need_approval(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    git = ["git", "-C", str(repo), "-c", "user.email=t@example.com", "-c", "user.name=T"]
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    (repo / "a.txt").write_text("a\n")
    subprocess.run([*git, "add", "a.txt"], check=True)
    subprocess.run([*git, "commit", "-qm", "first"], check=True)
    (repo / "b.txt").write_text("b\n")
    table = (
        f"[mcp.git]\ncommand = {json.dumps(sys.executable)}\n"
        f'args = ["-m", "mcp_server_git", "--repository", {json.dumps(str(repo))}]\n'
    )
    with kernel_with(tmp_path / "home", table) as kernel:
        kernel.mcp.refresh()
        assert kernel.plugins["mcp_git"].status == "loaded", kernel.plugins["mcp_git"].error
        assert kernel.tools.get("git_status").side_effects is False
        assert kernel.tools.get("git_add").side_effects is True
        status = kernel.tools.call("git_status", {"repo_path": str(repo)})
        assert status.ok and "b.txt" in status.value
        args = {"repo_path": str(repo), "files": ["b.txt"]}
        refused = kernel.tools.call("git_add", args)
        assert refused.kind == "refused"
        staged = subprocess.run(
            [*git, "diff", "--cached", "--name-only"], capture_output=True, text=True
        )
        assert staged.stdout == ""
        assert kernel.tools.call("git_add", args, context=CallContext(approved=True)).ok
        staged = subprocess.run(
            [*git, "diff", "--cached", "--name-only"], capture_output=True, text=True
        )
        assert staged.stdout.split() == ["b.txt"]
        empty = kernel.tools.call("git_add", {"repo_path": str(repo), "files": []})
        assert empty.kind == "invalid_args"  # minItems 1, checked before the server sees it


@needs_time
@pytest.mark.slow
def test_a_scripted_run_passes_an_mcp_tools_asset_to_a_builtin_tool(isolated_home, tmp_path):
    write_config(isolated_home, time_table())
    workspace = tmp_path / "work"
    workspace.mkdir()
    plan = [
        {
            "id": "now",
            "tool": "get_current_time",
            "args": {"timezone": "Europe/Oslo"},
            "output": "now",
        },
        {
            "id": "save",
            "tool": "write_file",
            "args": {"path": "tz.txt", "content": {"$asset": "now", "path": "/timezone"}},
            "output": "saved",
        },
    ]
    replies = [
        {"call": "act", "arguments": {"subtask": "save the time zone", "assets": []}},
        {"call": "submit_plan", "arguments": {"steps": plan}},
        {"call": "final", "arguments": {"answer": "saved"}},
    ]
    (workspace / "replies.json").write_text(json.dumps(replies))
    done = autoplug(
        isolated_home,
        "run",
        "Save Oslo's time zone",
        "--model",
        "scripted:replies.json",
        "--workspace",
        str(workspace),
        "--yes",
        "--json",
        cwd=workspace,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert (result["status"], result["answer"]) == ("succeeded", "saved")
    assert (workspace / "tz.txt").read_text() == "Europe/Oslo"
    assets = {a["name"]: a for a in result["assets"]}
    assert assets["now"]["tool"] == "get_current_time" and assets["now"]["type"] == "json"
    # The run listed the never-listed server before its first plan, and cached it.
    assert json.loads((isolated_home / "state" / "mcp.time.json").read_text())["status"] == "loaded"


def test_a_run_stores_an_mcp_results_images_as_bytes_assets(tmp_path):
    replies = [
        {"call": "act", "arguments": {"subtask": "draw", "assets": []}},
        {
            "call": "submit_plan",
            "arguments": {"steps": [{"id": "p", "tool": "picture", "args": {}, "output": "shot"}]},
        },
        {"call": "final", "arguments": {"answer": "drawn"}},
    ]
    with kernel_with(
        tmp_path / "home", server_table("art"), builtins=["autoplug_mcp", "autoplug_autos"]
    ) as kernel:
        result = kernel.run("Draw", model=ScriptedModel(replies), workspace=tmp_path)
    assert result.status == "succeeded", result.reason
    assets = {a["name"]: a for a in result.assets}
    assert (assets["shot"]["type"], assets["shot"]["preview"]) == ("text", "a red dot")
    assert assets["shot.image1"]["type"] == "bytes" and assets["shot.image2"]["type"] == "bytes"
    assert assets["shot.image1"]["size"] == 70
