"""The MCP client against a real server of our own (tests/mcp_server.py) over stdio: the faults."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("mcp", reason="the mcp extra is not installed (pip install 'autoplug[mcp]')")

from mcp_server import LONG_NAME, PNG  # noqa: E402

from autoplug import CallContext, Kernel  # noqa: E402
from autoplug.state import read_state  # noqa: E402
from autoplug_builtins.mcp.names import tool_name  # noqa: E402

SERVER = str(Path(__file__).resolve().parent / "mcp_server.py")


def server_table(name: str, *args: str, **keys: object) -> str:
    """A [mcp.NAME] table starting tests/mcp_server.py with ``args``."""
    lines = [
        f"[mcp.{name}]",
        f"command = {json.dumps(sys.executable)}",
        f"args = {json.dumps([SERVER, *args])}",
    ]
    lines += [f"{key} = {json.dumps(value)}" for key, value in keys.items()]
    return "\n".join(lines) + "\n"


def kernel_with(home: Path, *tables: str, builtins: list[str] | None = None) -> Kernel:
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text('[memory]\nbackend = "none"\n' + "".join(tables))
    return Kernel(builtins=builtins or ["autoplug_mcp"], home=home)


@pytest.fixture
def log(tmp_path: Path) -> Path:
    folder = tmp_path / "log"
    folder.mkdir()
    return folder


@pytest.fixture
def faults(tmp_path: Path, log: Path):
    """A refreshed kernel with the fault server as mcp_faults."""
    kernel = kernel_with(tmp_path / "home", server_table("faults", "--log", str(log), timeout_s=30))
    kernel.mcp.refresh()
    yield kernel
    kernel.close()


def starts(log: Path) -> int:
    path = log / "starts"
    return len(path.read_text().splitlines()) if path.exists() else 0


def test_loading_a_kernel_never_starts_a_server(tmp_path, log):
    with kernel_with(tmp_path, server_table("faults", "--log", str(log))) as kernel:
        info = kernel.plugins["mcp_faults"]
        assert (info.status, info.error) == ("loaded", None)
        assert info.note.startswith("never listed")
        assert len(kernel.tools) == 0
    assert starts(log) == 0


def test_a_listing_is_cached_and_the_next_kernel_reads_it_without_starting_the_server(
    tmp_path, log
):
    home = tmp_path / "home"
    with kernel_with(home, server_table("faults", "--log", str(log))) as kernel:
        kernel.mcp.refresh()
    assert starts(log) == 1
    cached = read_state(home, "mcp.faults")
    assert cached["status"] == "loaded" and cached["server"]["name"] == "autoplug-test-server"
    code = (
        "import sys; from autoplug import Kernel; k = Kernel.load(); "
        "print(len(k.tools), k.plugins['mcp_faults'].status, 'mcp' in sys.modules); k.close()"
    )
    env = {**os.environ, "AUTOPLUG_HOME": str(home)}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    count, status, imported = out.stdout.split()
    assert int(count) >= 11 and status == "loaded" and imported == "False", out.stderr
    assert starts(log) == 1


def test_a_changed_command_makes_the_cached_list_stale(tmp_path, log):
    home = tmp_path / "home"
    with kernel_with(home, server_table("faults", "--log", str(log))) as kernel:
        kernel.mcp.refresh()
        assert "echo" in kernel.tools
    with kernel_with(home, server_table("faults", "--log", str(log), "--tools", "1")) as kernel:
        assert kernel.plugins["mcp_faults"].note.startswith("never listed")
        assert "echo" not in kernel.tools


@pytest.mark.slow
def test_every_page_of_a_thousand_tools_is_listed(tmp_path):
    with kernel_with(tmp_path, server_table("big", "--tools", "1000")) as kernel:
        kernel.mcp.refresh()
        names = {t.name for t in kernel.tools.all()}
        assert {f"many_{i}" for i in range(1000)} <= names
        assert kernel.tools.call("many_999", {"text": "last"}).value == {
            "echo": "last",
            "tool": "many_999",
        }


def test_one_failing_server_never_hides_another(tmp_path, log):
    tables = [
        '[mcp.missing]\ncommand = "no-such-mcp-server-anywhere"\n',
        server_table("exits", "--exit-at-start", "fatal: the token is not set"),
        server_table("silent", "--silent", timeout_s=1),
        server_table("good", "--log", str(log)),
    ]
    with kernel_with(tmp_path, *tables) as kernel:
        kernel.mcp.refresh()
        errors = {
            name: kernel.plugins[f"mcp_{name}"].error for name in ("missing", "exits", "silent")
        }
        assert errors == {
            "missing": "command 'no-such-mcp-server-anywhere' not found",
            "exits": "the server exited before answering initialize; "
            "stderr: fatal: the token is not set",
            "silent": "the server did not answer initialize within 1 s",
        }
        assert {kernel.plugins[f"mcp_{n}"].status for n in errors} == {"failed"}
        assert kernel.plugins["mcp_good"].status == "loaded"
        assert kernel.tools.call("echo", {"text": "still here"}).ok
        rows = {row["name"]: row for row in kernel.mcp.rows()}
        assert rows["exits"]["error"] == errors["exits"] and rows["good"]["tools"] >= 11


def test_arguments_are_validated_in_the_schemas_draft07_dialect_before_the_server_sees_them(
    faults,
):
    tool = faults.tools.get("refs")
    assert tool.parameters["$schema"].startswith("http://json-schema.org/draft-07/")
    bad = faults.tools.call("refs", {"point": {"x": 1}})
    assert (bad.kind, bad.violations) == (
        "invalid_args",
        (("$.point", "'y' is a required property"),),
    )
    assert faults.tools.call("refs", {"point": {"x": 1, "y": 2.5}}).value == "3.5"


def test_an_unresolvable_ref_makes_only_that_tool_unusable(faults):
    broken = faults.tools.get("broken_ref")
    assert "cannot resolve" in broken.unusable and "/properties/p" in broken.unusable
    assert broken.description.startswith("[unusable: ")
    result = faults.tools.call("broken_ref", {})
    assert result.kind == "tool_error" and "'#/definitions/missing'" in result.error
    assert faults.tools.call("echo", {"text": "ok"}).ok


def test_names_with_dots_or_too_long_are_mapped_and_called_by_their_original_name(faults):
    dotted = tool_name("mcp_faults", "dotted.name.tool")
    long_name = tool_name("mcp_faults", LONG_NAME)
    assert dotted != "dotted.name.tool" and len("mcp_faults__" + long_name) <= 64
    assert faults.tools.call(dotted, {"text": "a"}).value == {
        "echo": "a",
        "tool": "dotted.name.tool",
    }
    assert faults.tools.call(f"mcp_faults.{long_name}", {"text": "b"}).value["tool"] == LONG_NAME


def test_structured_content_is_the_value_else_the_text_parts_joined(faults):
    assert faults.tools.call("echo", {"text": "hi"}).value == {"echo": "hi", "tool": "echo"}
    shout = faults.tools.call("shout", {"text": "hi"}, context=CallContext(approved=True))
    assert shout.value == "HI\n!"


def test_text_with_images_keeps_the_text_as_value_and_each_image_as_bytes(faults):
    result = faults.tools.call("picture", {})
    assert result.value == "a red dot"
    assert result.assets == (("image1", PNG), ("image2", PNG))


def test_an_is_error_result_is_a_failed_call_with_the_servers_text(faults):
    result = faults.tools.call("fail", {})
    assert (result.ok, result.kind) == (False, "tool_error")
    assert "the disk is full" in result.error and "'fail'" in result.error


def test_side_effects_follow_read_only_hint_and_need_approval(faults):
    assert faults.tools.get("echo").side_effects is False
    assert faults.tools.get("shout").side_effects is True  # no annotations at all
    assert faults.tools.get("grow").side_effects is True  # readOnlyHint false
    refused = faults.tools.call("shout", {"text": "x"})
    assert refused.kind == "refused" and "side effects" in refused.error


def test_auto_approve_runs_side_effect_tools_without_asking(tmp_path):
    with kernel_with(tmp_path, server_table("trusted", auto_approve=True)) as kernel:
        kernel.mcp.refresh()
        shout = kernel.tools.get("shout")
        assert (shout.side_effects, shout.auto_approve) == (True, True)
        assert kernel.tools.call("shout", {"text": "go"}).value == "GO\n!"


def test_a_timed_out_call_is_cancelled_with_mcp_cancellation(faults, log):
    started = time.monotonic()
    result = asyncio.run(faults.tools.acall("hang", {}, timeout=1.5))
    assert result.kind == "timeout" and "1.5 s" in result.error
    assert time.monotonic() - started < 10
    deadline = time.monotonic() + 10
    while not (log / "cancelled").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert (log / "cancelled").exists(), "the server never saw notifications/cancelled"
    # The same server process answers the next call: cancelling did not kill it.
    assert faults.tools.call("echo", {"text": "after"}).ok
    assert starts(log) == 1


@pytest.mark.slow
def test_timeout_s_bounds_each_call_also_through_the_blocking_door(tmp_path, log):
    table = server_table("slowpoke", "--log", str(log), timeout_s=8)
    with kernel_with(tmp_path, table) as kernel:
        kernel.mcp.refresh()
        assert kernel.plugins["mcp_slowpoke"].status == "loaded", kernel.plugins[
            "mcp_slowpoke"
        ].error
        assert kernel.tools.get("hang").timeout == 8
        result = kernel.tools.call("hang", {})
        assert not result.ok and "no answer within 8 s; the call was cancelled" in result.error
        deadline = time.monotonic() + 10
        while not (log / "cancelled").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert (log / "cancelled").exists()


def test_a_server_that_dies_mid_call_is_restarted_once_for_the_next_call(faults, log):
    crash = faults.tools.call("crash", {})
    assert crash.kind == "tool_error"
    assert "exited" in crash.error and "stderr: mcp_server: crashing on purpose" in crash.error
    assert faults.tools.call("echo", {"text": "back"}).value["echo"] == "back"
    assert starts(log) == 2
    assert not faults.tools.call("crash", {}).ok
    again = faults.tools.call("echo", {"text": "x"})
    assert not again.ok and "already restarted once" in again.error
    assert starts(log) == 2


def test_tools_list_changed_lists_the_server_again(faults):
    assert "grown" not in faults.tools
    assert faults.tools.call("grow", {}, context=CallContext(approved=True)).ok
    deadline = time.monotonic() + 10
    while "grown" not in faults.tools and time.monotonic() < deadline:
        time.sleep(0.05)
    assert faults.tools.call("grown", {"text": "new"}, context=CallContext(approved=True)).ok
    cached = read_state(faults.home, "mcp.faults")
    assert "grown" in [t["name"] for t in cached["tools"]]


def test_a_plan_after_tools_list_changed_offers_the_new_tool(faults, tmp_path):
    from autoplug.agents.context import RunContext
    from autoplug.agents.static import StaticAgent
    from autoplug.assets import AssetStore
    from autoplug.scripted import ScriptedModel, call

    one = call(
        "submit_plan", steps=[{"id": "s", "tool": "echo", "args": {"text": "x"}, "output": "o"}]
    )
    model = ScriptedModel([one, one])
    ctx = RunContext(
        kernel=faults, model=model, run_id=None, task="t", workspace=tmp_path, assets=AssetStore()
    )
    asyncio.run(StaticAgent(ctx).run("echo x", [], 1))
    assert "- echo:" in model.requests[0].messages[0].content
    assert "- grown:" not in model.requests[0].messages[0].content
    assert faults.tools.call("grow", {}, context=CallContext(approved=True)).ok
    deadline = time.monotonic() + 10
    while "grown" not in faults.tools and time.monotonic() < deadline:
        time.sleep(0.05)
    asyncio.run(StaticAgent(ctx).run("echo x", [], 2))
    system = model.requests[1].messages[0].content
    assert "- grown: A tool added at run time" in system


def test_an_mcp_tool_never_takes_a_bare_name_from_a_builtin_or_another_plugin(tmp_path):
    from autoplug import hookimpl, tool

    @tool
    def echo(text: str) -> str:
        """Another plugin's echo."""
        return "plugin " + text

    class Other:
        name = "other"

        @hookimpl
        def register_tools(self, register):
            register(echo)

    (tmp_path / "config.toml").write_text(server_table("faults"))
    kernel = Kernel(plugins=[Other()], builtins=["autoplug_mcp"], home=tmp_path)
    kernel.mcp.refresh()
    with kernel:
        assert kernel.tools.call("echo", {"text": "a"}).value == "plugin a"
        assert kernel.tools.call("mcp_faults.echo", {"text": "a"}).value["echo"] == "a"
        assert kernel.tools.model_name(kernel.tools.get("mcp_faults.echo")) == "mcp_faults__echo"


def test_close_stops_every_server_process(tmp_path, log):
    kernel = kernel_with(tmp_path, server_table("faults", "--log", str(log)))
    kernel.mcp.refresh()
    pids = [int(p) for p in (log / "pids").read_text().split()]
    kernel.close()
    deadline = time.monotonic() + 10
    alive = pids
    while alive and time.monotonic() < deadline:
        alive = [p for p in alive if Path(f"/proc/{p}").exists()]
        time.sleep(0.05)
    assert alive == []


@pytest.fixture
def http_server(log):
    """The fault server over streamable HTTP on a free loopback port, requiring a key header."""
    import socket
    import urllib.error
    import urllib.request

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, SERVER, "--http", str(port), "--key", "sesame", "--log", str(log)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/mcp"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=1)
        except urllib.error.HTTPError:
            break  # it answers (401 without the key)
        except OSError:
            time.sleep(0.1)
    yield url
    process.terminate()
    process.wait(10)


def test_a_streamable_http_server_is_reached_with_its_headers(tmp_path, http_server):
    good = f'[mcp.web]\nurl = "{http_server}"\nheaders = {{ X-Test-Key = "sesame" }}\n'
    bad = f'[mcp.nokey]\nurl = "{http_server}"\ntimeout_s = 10\n'
    with kernel_with(tmp_path, good, bad) as kernel:
        kernel.mcp.refresh()
        assert kernel.plugins["mcp_web"].status == "loaded", kernel.plugins["mcp_web"].error
        assert kernel.tools.call("echo", {"text": "over http"}).value["echo"] == "over http"
        assert kernel.plugins["mcp_nokey"].status == "failed"
        assert kernel.plugins["mcp_nokey"].error == (
            f"the server refused initialize: HTTP 401 Unauthorized from {http_server}"
        )
        rows = {r["name"]: r for r in kernel.mcp.rows()}
        assert rows["web"]["transport"] == "http" and rows["web"]["url"] == http_server


def test_a_server_that_cannot_restart_for_a_call_is_recorded_failed(tmp_path, log):
    home, flag = tmp_path / "home", tmp_path / "broken"
    table = server_table("faults", "--fail-if", str(flag), timeout_s=30)
    with kernel_with(home, table) as kernel:
        kernel.mcp.refresh()
        flag.write_text("fatal: the disk went away")
        assert not kernel.tools.call("crash", {}).ok
        restart = kernel.tools.call("echo", {"text": "x"})
        assert not restart.ok
        assert (
            "exited before answering initialize; stderr: fatal: the disk went away" in restart.error
        )
        assert kernel.plugins["mcp_faults"].status == "failed"
        assert read_state(home, "mcp.faults")["status"] == "failed"
        assert "echo" in kernel.tools  # still registered for this kernel
