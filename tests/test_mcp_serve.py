"""``autoplug mcp serve`` driven as a real client would: the SDK's client against the subprocess.

Over stdio and over streamable HTTP on loopback: list the tools, call a
read-only one, get a validation error with its JSON path, be refused a
side-effect tool, be allowed it under ``--yes``, and run ``run_task`` with a
scripted model. A plugin that prints at import (and a tool that prints while
running) is installed through a real entry point, so stdout must stay protocol.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from notes_run import NOTES, READ_NOTES

pytest.importorskip("mcp", reason="the mcp extra is not installed (pip install 'autoplug[mcp]')")

import anyio  # noqa: E402
from mcp import ClientSession, StdioServerParameters, stdio_client  # noqa: E402

NOISY_PLUGIN = '''
import os, subprocess, sys
from autoplug import hookimpl, tool

print("noisy plugin: hello from import")          # sys.stdout
os.write(1, b"noisy plugin: raw bytes on fd 1\\n")  # the descriptor itself


@tool
def noisy_echo(text: str) -> dict:
    """Echo the text, printing on the way.

    text: what to echo
    """
    print("noisy_echo: printing while running")
    subprocess.run([sys.executable, "-c", "print('noisy_echo: a child printing')"], check=True)
    return {"echo": text}


@tool
async def linger(seconds: float, *, context) -> str:
    """Sleep; when cancelled, leave the file 'cancelled' in the workspace.

    seconds: how long
    """
    import asyncio

    try:
        await asyncio.sleep(seconds)
    except asyncio.CancelledError:
        (context.workspace / "cancelled").write_text("yes")
        raise
    return "slept"


@hookimpl
def register_tools(register):
    register(noisy_echo)
    register(linger)
'''


@pytest.fixture
def served(isolated_home: Path, tmp_path: Path) -> dict[str, Any]:
    """A workspace with notes, a scripted model file, the noisy plugin on PYTHONPATH; the env."""
    site, workspace = tmp_path / "site", tmp_path / "ws"
    site.mkdir()
    workspace.mkdir()
    (site / "noisy_plugin.py").write_text(NOISY_PLUGIN)
    info = site / "autoplug_noisy-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: autoplug-noisy\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[autoplug]\nnoisy = noisy_plugin\n")
    (isolated_home / "config.toml").write_text('[memory]\nbackend = "none"\n')
    (workspace / "notes.txt").write_text(NOTES)
    (workspace / "replies.json").write_text(json.dumps(READ_NOTES))
    env = {**os.environ, "AUTOPLUG_HOME": str(isolated_home)}
    env["PYTHONPATH"] = os.pathsep.join([str(site), env.get("PYTHONPATH", "")])
    env["AUTOPLUG_MODEL"] = f"scripted:{workspace / 'replies.json'}"
    # The server runs elsewhere (MCP clients start servers in / or $HOME): --workspace counts.
    return {"env": env, "workspace": workspace, "home": isolated_home, "cwd": tmp_path}


def serve_args(workspace: Path, *extra: str) -> list[str]:
    return ["-m", "autoplug.cli", "mcp", "serve", "--workspace", str(workspace), *extra]


def over_stdio(served: dict[str, Any], *extra: str) -> Callable[..., Any]:
    """Run ``body(session)`` against ``autoplug mcp serve`` over stdio; returns its value."""

    def run(body: Callable[[ClientSession], Awaitable[Any]]) -> Any:
        params = StdioServerParameters(
            command=sys.executable,
            args=serve_args(served["workspace"], *extra),
            env=served["env"],
            cwd=str(served["cwd"]),
        )

        async def go() -> Any:
            with tempfile.TemporaryFile("w+") as errlog:
                try:
                    with anyio.fail_after(60):
                        async with stdio_client(params, errlog=errlog) as (read, write):
                            async with ClientSession(read, write) as session:
                                await session.initialize()
                                return await body(session)
                finally:
                    errlog.seek(0)
                    served["stderr"] = errlog.read()

        return anyio.run(go)

    return run


def text_of(result: Any) -> str:
    return "\n".join(c.text for c in result.content if c.type == "text")


async def the_whole_tour(session: ClientSession, *, yes: bool, workspace: Path) -> dict[str, Any]:
    """What every transport must do; returns what it saw, for the caller's asserts."""
    seen: dict[str, Any] = {}
    listed = await session.list_tools()
    seen["tools"] = {t.name: t for t in listed.tools}
    seen["read"] = await session.call_tool("read_file", {"path": "notes.txt"})
    seen["invalid"] = await session.call_tool("read_file", {"path": 7})
    seen["write"] = await session.call_tool("write_file", {"path": "out.txt", "content": "hi"})
    seen["written"] = (
        (workspace / "out.txt").read_text() if (workspace / "out.txt").exists() else None
    )
    seen["noisy"] = await session.call_tool("noisy_echo", {"text": "still protocol"})
    return seen


def check_tour(seen: dict[str, Any], *, yes: bool) -> None:
    tools = seen["tools"]
    assert {"read_file", "write_file", "list_files", "noisy_echo"} <= set(tools)
    read_only, writer = tools["read_file"].annotations, tools["write_file"].annotations
    assert (read_only.read_only_hint, read_only.destructive_hint) == (True, False)
    assert (writer.read_only_hint, writer.destructive_hint) == (False, True)
    assert tools["read_file"].input_schema["required"] == ["path"]

    read = seen["read"]
    assert not read.is_error and NOTES.strip() in text_of(read)
    assert read.structured_content == {"result": NOTES}  # a value that is not an object, wrapped

    invalid = seen["invalid"]
    assert invalid.is_error
    assert text_of(invalid) == (
        "invalid arguments for tool 'read_file': $.path: 7 is not of type 'string'"
    )
    assert invalid.structured_content["violations"][0]["path"] == "$.path"

    write = seen["write"]
    if yes:
        assert not write.is_error, text_of(write)
        assert seen["written"] == "hi"
    else:
        assert write.is_error and seen["written"] is None
        assert "tool 'write_file' has side effects and was not approved" in text_of(write)
        assert write.structured_content["kind"] == "refused"

    noisy = seen["noisy"]
    assert not noisy.is_error and noisy.structured_content == {"echo": "still protocol"}


@pytest.mark.slow
def test_serve_over_stdio_lists_calls_validates_and_refuses_side_effects(served):
    ws = served["workspace"]
    seen = over_stdio(served)(lambda s: the_whole_tour(s, yes=False, workspace=ws))
    check_tour(seen, yes=False)
    # What plugins and tools printed went to stderr, and the protocol survived it.
    err = served["stderr"]
    assert "noisy plugin: hello from import" in err and "raw bytes on fd 1" in err
    assert "noisy_echo: printing while running" in err and "a child printing" in err


@pytest.mark.slow
def test_serve_with_yes_runs_a_side_effect_tool_in_the_workspace(served):
    ws = served["workspace"]
    seen = over_stdio(served, "--yes")(lambda s: the_whole_tour(s, yes=True, workspace=ws))
    check_tour(seen, yes=True)


@pytest.mark.slow
def test_serve_tool_option_limits_what_is_offered(served):
    async def body(session: ClientSession) -> Any:
        listed = await session.list_tools()
        other = await session.call_tool("write_file", {"path": "x", "content": "y"})
        return [t.name for t in listed.tools], other

    names, other = over_stdio(served, "--tool", "read_file", "--tool", "noisy_echo")(body)
    assert names == ["read_file", "noisy_echo"]
    assert other.is_error and "unknown tool 'write_file'" in text_of(other)


@pytest.mark.slow
def test_serve_agent_runs_a_task_with_progress_and_answers(served):
    progress: list[tuple[float, str | None]] = []

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        progress.append((value, message))

    async def body(session: ClientSession) -> Any:
        listed = await session.list_tools()
        result = await session.call_tool(
            "run_task", {"task": "Which is the largest planet?"}, progress_callback=on_progress
        )
        empty = await session.call_tool("run_task", {"task": ""})
        return [t.name for t in listed.tools], result, empty

    names, result, empty = over_stdio(served, "--agent")(body)
    assert "run_task" in names
    assert not result.is_error, text_of(result)
    assert text_of(result) == "Jupiter"
    assert result.structured_content["status"] == "succeeded"
    assert result.structured_content["answer"] == "Jupiter"
    messages = [m or "" for _, m in progress]
    assert any("read_file" in m for m in messages), messages
    assert [v for v, _ in progress] == sorted(v for v, _ in progress)
    assert empty.is_error and "$.task" in text_of(empty)
    assert empty.structured_content["violations"][0]["path"] == "$.task"


@pytest.mark.slow
def test_a_call_the_client_cancels_is_cancelled_and_the_server_serves_on(served):
    marker = served["workspace"] / "cancelled"

    async def body(session: ClientSession) -> Any:
        with anyio.move_on_after(1.5):  # leaving the scope sends notifications/cancelled
            await session.call_tool("linger", {"seconds": 30})
        with anyio.fail_after(10):
            while not marker.exists():
                await anyio.sleep(0.05)
        return await session.call_tool("read_file", {"path": "notes.txt"})

    after = over_stdio(served)(body)
    assert marker.read_text() == "yes"
    assert not after.is_error and text_of(after) == NOTES


@pytest.mark.slow
def test_run_task_without_a_model_is_an_error_result_saying_how_to_set_one(served):
    del served["env"]["AUTOPLUG_MODEL"]

    async def body(session: ClientSession) -> Any:
        return await session.call_tool("run_task", {"task": "Largest planet?"})

    result = over_stdio(served, "--agent")(body)
    assert result.is_error
    assert text_of(result).startswith("run_task: no model configured: set AUTOPLUG_MODEL")
    assert str(served["home"] / "config.toml") in text_of(result)


@pytest.mark.slow
def test_a_client_that_disconnects_mid_call_ends_the_server_cleanly(served):
    from mcp_types.version import LATEST_HANDSHAKE_VERSION

    process = subprocess.Popen(
        [sys.executable, *serve_args(served["workspace"])],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=served["env"],
        cwd=served["cwd"],
    )
    assert process.stdin is not None and process.stdout is not None

    def send(message: dict[str, Any]) -> None:
        process.stdin.write((json.dumps(message) + "\n").encode())
        process.stdin.flush()

    initialize = {
        "protocolVersion": LATEST_HANDSHAKE_VERSION,
        "capabilities": {},
        "clientInfo": {"name": "raw", "version": "0"},
    }
    send({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": initialize})
    answer = json.loads(process.stdout.readline())  # the first line on stdout is protocol
    assert answer["id"] == 1 and answer["result"]["serverInfo"]["name"] == "autoplug"
    send({"jsonrpc": "2.0", "method": "notifications/initialized"})
    call = {"name": "linger", "arguments": {"seconds": 60}}
    send({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": call})
    process.stdin.close()  # the client goes away while the call runs
    try:
        process.wait(timeout=30)
    finally:
        process.kill()
    assert process.stderr is not None
    err = process.stderr.read()
    assert process.returncode == 0, err.decode()
    assert b"Traceback" not in err


def test_serve_rejects_an_unknown_tool_name_and_a_bad_http_address(served):
    def serve(*extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, *serve_args(served["workspace"], *extra)],
            input="",
            capture_output=True,
            text=True,
            timeout=60,
            env=served["env"],
        )

    unknown = serve("--tool", "read_fil")
    assert unknown.returncode == 2
    assert "unknown tool 'read_fil'" in unknown.stderr and "read_file" in unknown.stderr
    bad = serve("--http", "nowhere")
    assert bad.returncode == 2 and "--http 'nowhere': expected HOST:PORT" in bad.stderr
    missing = serve("--workspace", str(served["workspace"] / "missing"))
    assert missing.returncode == 2 and "is not a folder" in missing.stderr


def test_serve_over_stdio_ends_cleanly_when_the_client_disconnects(served):
    done = subprocess.run(
        [sys.executable, *serve_args(served["workspace"])],
        input="",
        capture_output=True,
        text=True,
        timeout=60,
        env=served["env"],
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""  # the import-time prints went to stderr
    assert "noisy plugin: hello from import" in done.stderr
    assert "Traceback" not in done.stderr


# -- streamable HTTP -------------------------------------------------------------------


class HttpServer:
    """``autoplug mcp serve --http HOST:0`` in a subprocess; its url and token from stderr."""

    def __init__(self, served: dict[str, Any], host: str, *extra: str) -> None:
        self.errlog = tempfile.TemporaryFile("w+")
        self.process = subprocess.Popen(
            [sys.executable, *serve_args(served["workspace"], "--http", f"{host}:0", *extra)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=served["env"],
            cwd=served["cwd"],
        )
        self.url, self.token = "", None
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.errlog.write(line)
            found = re.search(r"(http://\S+/mcp)$", line.strip())
            if found:
                self.url = found.group(1)
                if is_loopback_host(host):
                    break
            found = re.search(r"token .*: (\S+)$", line.strip())
            if found:
                self.token = found.group(1)
                break
        assert self.url, self.errlog

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(15)


def is_loopback_host(host: str) -> bool:
    return host in ("127.0.0.1", "localhost", "::1")


def over_http(url: str, headers: dict[str, str] | None = None) -> Callable[..., Any]:
    from mcp.client.streamable_http import streamable_http_client
    from mcp.shared._httpx_utils import create_mcp_http_client

    def run(body: Callable[[ClientSession], Awaitable[Any]]) -> Any:
        async def go() -> Any:
            with anyio.fail_after(60):
                async with create_mcp_http_client(headers=headers) as client:
                    async with streamable_http_client(url, http_client=client) as streams:
                        async with ClientSession(streams[0], streams[1]) as session:
                            await session.initialize()
                            return await body(session)

        return anyio.run(go)

    return run


@pytest.mark.slow
def test_serve_over_http_on_loopback_does_the_same(served):
    ws = served["workspace"]
    server = HttpServer(served, "127.0.0.1", "--agent")
    try:
        assert server.token is None  # loopback needs no token

        async def body(session: ClientSession) -> Any:
            seen = await the_whole_tour(session, yes=False, workspace=ws)
            seen["run"] = await session.call_tool("run_task", {"task": "Largest planet?"})
            return seen

        seen = over_http(server.url)(body)
    finally:
        server.stop()
    check_tour(seen, yes=False)
    assert text_of(seen["run"]) == "Jupiter"


@pytest.mark.slow
def test_serve_over_http_off_loopback_requires_the_printed_token(served):
    import httpx2

    server = HttpServer(served, "0.0.0.0", "--yes")
    try:
        assert server.token
        url = server.url.replace("0.0.0.0", "127.0.0.1")
        ping = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
        accept = {"Accept": "application/json, text/event-stream"}
        without = httpx2.post(url, json=ping, headers=accept)
        wrong = httpx2.post(url, json=ping, headers={**accept, "Authorization": "Bearer nope"})
        assert (without.status_code, wrong.status_code) == (401, 403)
        bearer = {"Authorization": f"Bearer {server.token}"}
        seen = over_http(url, bearer)(
            lambda s: the_whole_tour(s, yes=True, workspace=served["workspace"])
        )
    finally:
        server.stop()
    check_tour(seen, yes=True)
