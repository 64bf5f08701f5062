"""Fixes from the whole-project review: each test failed before its fix.

The CLI cases run the real ``autoplug`` command, as a user would.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from autoplug import CallContext, Kernel, ToolDefinitionError, UsageError, hookimpl, tool
from autoplug.config import CONFIG_TEMPLATE, DEFAULT_LIMITS

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
TASK = "Which is the largest planet? Check the notes file."


def autoplug(*args: str, cwd: Path, stdin: str = "") -> subprocess.CompletedProcess[str]:
    """Run the real ``autoplug`` command with the test's AUTOPLUG_HOME."""
    return subprocess.run(
        [sys.executable, "-m", "autoplug.cli", *args],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        env=os.environ.copy(),
    )


def one_line_error(proc: subprocess.CompletedProcess[str]) -> str:
    """The stderr of a command that failed cleanly: no traceback, an ``error:`` line."""
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.startswith("error: ")]
    assert lines, proc.stderr
    return lines[-1]


# -- the one door: a tool's sys.exit() and a hook's wrong return value ------------


@tool
def quit_now() -> str:
    """Calls sys.exit, as a careless tool might."""
    sys.exit(3)


@tool
async def quit_async() -> str:
    """Calls sys.exit from a coroutine."""
    sys.exit(4)


class Quitters:
    """A plugin whose tools call sys.exit()."""

    @hookimpl
    def register_tools(self, register):
        register(quit_now)
        register(quit_async)


@pytest.mark.parametrize("name", ["quit_now", "quit_async"])
def test_a_tool_calling_sys_exit_fails_its_call_instead_of_ending_the_process(tmp_path, name):
    kernel = Kernel(plugins=[Quitters()], home=tmp_path)

    blocking = kernel.tools.call(name, {})
    in_loop = asyncio.run(kernel.tools.acall(name, {}))

    for result in (blocking, in_loop):
        assert not result.ok and result.kind == "tool_error"
        assert result.error.startswith(f"tool {name!r} failed:")
        assert "sys.exit(" in result.error


@tool
def hello() -> str:
    """Says hello."""
    return "hello"


class BadHook:
    """A before_tool_call hook that returns something that is not a ToolResult."""

    @hookimpl
    def register_tools(self, register):
        register(hello)

    @hookimpl
    def before_tool_call(self, call, context):
        return {"ok": True}


def test_a_before_tool_call_hook_returning_a_non_result_fails_the_call(tmp_path):
    kernel = Kernel(plugins=[BadHook()], home=tmp_path)

    result = kernel.tools.call("hello", {})

    assert not result.ok and result.kind == "tool_error"
    assert "before_tool_call hook returned dict, not a ToolResult" in result.error


# -- record and replay paths ------------------------------------------------------


def test_recording_to_a_folder_is_bad_usage_before_the_run_starts(tmp_path, isolated_home):
    folder = tmp_path / "cassettes"
    folder.mkdir()

    proc = autoplug(
        "run",
        TASK,
        "--model",
        f"replay:{EXAMPLES / 'planets.jsonl'}",
        "--workspace",
        str(EXAMPLES / "workspace"),
        "--record",
        str(folder),
        cwd=tmp_path,
    )

    assert proc.returncode == 2
    assert one_line_error(proc) == (
        f"error: cannot record to {folder}: it is a folder; give a file path such as run.jsonl"
    )
    assert not (isolated_home / "runs").exists() or not any((isolated_home / "runs").iterdir())


def test_recording_to_a_file_still_works(tmp_path):
    cassette = tmp_path / "new" / "run.jsonl"

    proc = autoplug(
        "run",
        TASK,
        "--model",
        f"replay:{EXAMPLES / 'planets.jsonl'}",
        "--workspace",
        str(EXAMPLES / "workspace"),
        "--record",
        str(cassette),
        cwd=tmp_path,
    )

    assert proc.returncode == 0, proc.stderr
    assert "Jupiter" in proc.stdout
    assert len(cassette.read_text().splitlines()) == 4  # the header and three exchanges


def test_replaying_from_a_folder_says_it_is_a_folder(tmp_path):
    proc = autoplug("run", TASK, "--model", f"replay:{tmp_path}", cwd=tmp_path)

    assert proc.returncode == 2
    assert (
        one_line_error(proc)
        == f"error: replay cassette {tmp_path} is a folder, not a cassette file"
    )


# -- config file: [prices] and [providers] -----------------------------------------


SCRIPT = [{"call": "final", "arguments": {"answer": "42"}}]


@pytest.mark.parametrize(
    ("toml", "fault"),
    [
        ('[prices."scripted:r.json"]\ninput_per_mtok = "cheap"\n', "input_per_mtok must be"),
        ('[prices."scripted:r.json"]\ninput_per_mtok = -1\n', "input_per_mtok must be"),
        (
            '[prices."scripted:r.json"]\ninput_per_token = 1\n',
            'unknown key [prices."scripted:r.json"] input_per_token',
        ),
        ('[prices]\n"scripted:r.json" = 3\n', "must be a table"),
    ],
)
def test_an_invalid_price_table_is_a_config_error(tmp_path, isolated_home, toml, fault):
    (isolated_home / "config.toml").write_text(toml)
    (tmp_path / "r.json").write_text(json.dumps(SCRIPT))

    proc = autoplug("run", "what is six times seven?", "--model", "scripted:r.json", cwd=tmp_path)

    assert proc.returncode == 2
    error = one_line_error(proc)
    assert error.startswith(f"error: invalid config file {isolated_home / 'config.toml'}: ")
    assert '[prices."scripted:r.json"]' in error and fault in error


def test_a_valid_price_table_prices_the_run(tmp_path, isolated_home):
    (isolated_home / "config.toml").write_text(
        '[memory]\nbackend = "none"\n[prices."scripted:r.json"]\n'
        "input_per_mtok = 1000000\noutput_per_mtok = 0\n"
    )
    (tmp_path / "r.json").write_text(json.dumps(SCRIPT))

    proc = autoplug("run", "six times seven?", "--model", "scripted:r.json", "--json", cwd=tmp_path)

    assert proc.returncode == 0, proc.stderr
    usage = json.loads(proc.stdout)["usage"]
    assert usage["usd"] == pytest.approx(usage["input_tokens"])


def test_a_provider_that_is_not_a_table_is_a_config_error(tmp_path, isolated_home):
    (isolated_home / "config.toml").write_text('[providers]\nvllm = "http://localhost:8000/v1"\n')

    proc = autoplug("run", "hello", "--model", "vllm:qwen", cwd=tmp_path)

    assert proc.returncode == 2
    error = one_line_error(proc)
    assert error.startswith(f"error: invalid config file {isolated_home / 'config.toml'}: ")
    assert "[providers.vllm] must be a table" in error


def test_the_config_template_shows_each_limit_with_its_real_default():
    """A commented value is the default, unless the line says the default is no limit."""
    lines = CONFIG_TEMPLATE.split("# [limits]\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert lines
    for line in lines:
        setting, _, comment = line.removeprefix("# ").partition("#")
        key, value = next(iter(tomllib.loads(setting).items()))
        if "no limit" in comment:
            assert DEFAULT_LIMITS[key] is None, key
        else:
            assert DEFAULT_LIMITS[key] == value, key


# -- files tools --------------------------------------------------------------------


def test_read_file_on_a_folder_says_it_is_a_folder(tmp_path):
    (tmp_path / "docs").mkdir()
    kernel = Kernel(builtins=["autoplug_files"], home=tmp_path / "home")

    result = kernel.tools.call(
        "read_file", {"path": "docs"}, context=CallContext(workspace=tmp_path)
    )

    assert not result.ok and result.kind == "tool_error"
    assert result.error == (
        "tool 'read_file' failed: IsADirectoryError: 'docs' is a folder, not a file "
        "(list_files lists it)"
    )


def test_a_path_outside_the_workspace_is_refused_without_naming_absolute_folders(tmp_path):
    """The error reaches the model's prompt, which must hold no absolute path (replay)."""
    workspace = tmp_path / "ws"
    workspace.mkdir()
    kernel = Kernel(builtins=["autoplug_files"], home=tmp_path / "home")

    result = kernel.tools.call(
        "read_file", {"path": "../secret.txt"}, context=CallContext(workspace=workspace)
    )

    assert not result.ok
    assert result.error == (
        "tool 'read_file' failed: ValueError: path '../secret.txt' is outside the workspace"
    )


# -- autoplug tools call --------------------------------------------------------------


@pytest.mark.parametrize(
    ("args_json", "said"),
    [("[1, 2]", "an array"), ("null", "null"), ('"x"', "a string"), ("3", "a number")],
)
def test_tools_call_names_the_json_type_of_arguments_that_are_not_an_object(
    tmp_path, args_json, said
):
    proc = autoplug("tools", "call", "read_file", args_json, cwd=tmp_path)

    assert proc.returncode == 2
    assert (
        one_line_error(proc) == f"error: ARGS_JSON must be a JSON object, not {said}: {args_json}"
    )


# -- Kernel(builtins=[...]) -----------------------------------------------------------


def test_an_isolated_kernel_with_a_misspelt_builtin_name_says_so(tmp_path):
    with pytest.raises(UsageError) as caught:
        Kernel(builtins=["autoplug_file"], home=tmp_path)

    assert str(caught.value) == (
        "Kernel(builtins=...): no plugin named 'autoplug_file'; the builtins are "
        "autoplug_autos, autoplug_files, autoplug_mcp, autoplug_memory, autoplug_models, autoplug_otel, "
        "autoplug_web"
    )


def test_an_isolated_kernel_with_builtin_names_loads_just_those(tmp_path):
    kernel = Kernel(builtins=["autoplug_files"], home=tmp_path)

    assert sorted(kernel.plugins) == ["autoplug_files"]
    assert kernel.plugins["autoplug_files"].status == "loaded"
    assert "read_file" in kernel.tools


# -- the wrong command for a run: resume vs chat --resume -----------------------------


def conversation_and_runner_runs(tmp_path: Path, home: Path) -> tuple[str, str]:
    """One Assistant conversation and one Runner run, both failed (so resumable); their ids."""
    (home / "config.toml").write_text('[memory]\nbackend = "none"\n')
    (tmp_path / "f.json").write_text(json.dumps([{"error": "the provider is down"}]))
    chat = autoplug("chat", "--model", "scripted:f.json", cwd=tmp_path, stdin="hello\n")
    assert "turn failed" in chat.stderr, chat.stderr
    run = autoplug("run", "task", "--model", "scripted:f.json", cwd=tmp_path)
    assert run.returncode == 1, run.stderr
    listed = json.loads(autoplug("runs", "--json", cwd=tmp_path).stdout)
    runs = {r["auto"]: r for r in listed}
    assert runs["assistant"]["status"] == runs["runner"]["status"] == "failed"
    return runs["assistant"]["run_id"], runs["runner"]["run_id"]


def test_resume_of_a_conversation_is_bad_usage_and_says_what_to_do(tmp_path, isolated_home):
    conversation, _ = conversation_and_runner_runs(tmp_path, isolated_home)

    proc = autoplug("resume", conversation, cwd=tmp_path)

    assert proc.returncode == 2
    assert one_line_error(proc) == (
        f"error: run {conversation!r} is an Assistant conversation; continue it with "
        f"'autoplug chat --resume {conversation}'"
    )


def test_chat_resume_of_a_runner_run_is_bad_usage(tmp_path, isolated_home):
    _, runner = conversation_and_runner_runs(tmp_path, isolated_home)

    proc = autoplug("chat", "--resume", runner, cwd=tmp_path, stdin="more\n")

    assert proc.returncode == 2
    assert one_line_error(proc) == (
        f"error: run {runner!r} is not a conversation (its Auto is 'runner')"
    )


# -- @tool: a parameter the door could never pass -------------------------------------


def test_a_tool_with_a_positional_only_parameter_is_refused_when_declared():
    def scale(x: int, /, factor: int = 2) -> int:
        """Scales x."""
        return x * factor

    with pytest.raises(ToolDefinitionError) as caught:
        tool(scale)

    assert str(caught.value) == (
        "tool 'scale' parameter 'x' is positional-only; tools are called with keyword "
        "arguments, so remove the '/' from its signature"
    )


def test_a_tool_with_keyword_parameters_is_called_by_name(tmp_path):
    def scale(x: int, factor: int = 2) -> int:
        """Scales x."""
        return x * factor

    class Scaler:
        @hookimpl
        def register_tools(self, register):
            register(scale)

    kernel = Kernel(plugins=[Scaler()], home=tmp_path)

    assert kernel.tools.call("scale", {"x": 3}).value == 6


# -- AUTOPLUG_HOME and the config file's bytes ----------------------------------------


def test_an_autoplug_home_that_is_a_file_is_a_clear_error(tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.write_text("not a folder")
    monkeypatch.setenv("AUTOPLUG_HOME", str(home))

    proc = autoplug("tools", cwd=tmp_path)

    assert proc.returncode == 2
    assert one_line_error(proc) == (
        f"error: cannot create the config file {home / 'config.toml'}: File exists; the "
        f"autoplug home {home} must be a folder autoplug can write (AUTOPLUG_HOME chooses another)"
    )


def test_a_config_file_that_is_not_utf8_is_an_invalid_config_file(tmp_path, isolated_home):
    (isolated_home / "config.toml").write_bytes(b'model = "openai:gpt-4o-mini"\n\xff\n')

    proc = autoplug("tools", cwd=tmp_path)

    assert proc.returncode == 2
    assert one_line_error(proc) == (
        f"error: invalid config file {isolated_home / 'config.toml'}: not UTF-8 text "
        "(byte 0xff at offset 29)"
    )


def test_a_fresh_autoplug_home_gets_the_commented_config(tmp_path, monkeypatch):
    home = tmp_path / "new" / "home"
    monkeypatch.setenv("AUTOPLUG_HOME", str(home))

    proc = autoplug("tools", "--json", cwd=tmp_path)

    assert proc.returncode == 0, proc.stderr
    assert (home / "config.toml").read_text() == CONFIG_TEMPLATE


# -- the Assistant's blocking calls inside an event loop --------------------------------


def test_assistant_send_inside_a_running_loop_raises_blocking_call_in_loop(tmp_path):
    from autoplug import BlockingCallInLoop, ScriptedModel
    from autoplug.scripted import call

    (tmp_path / "config.toml").write_text('[memory]\nbackend = "none"\n')
    kernel = Kernel(builtins=["autoplug_autos", "autoplug_files"], home=tmp_path)
    chat = kernel.autos.get("assistant")(kernel, model=ScriptedModel([call("final", answer="hi")]))

    async def inside() -> str:
        with pytest.raises(BlockingCallInLoop) as caught:
            chat.send("hello")
        result = await chat.asend("hello")  # the async twin works there
        await chat.aclose()
        return f"{caught.value} | {result.answer}"

    said = asyncio.run(inside())

    assert said == (
        "Assistant.send() is blocking and was called inside a running event loop; "
        "use 'await assistant.asend(...)' | hi"
    )


# -- [limits] values that cannot mean what they say -------------------------------------


@pytest.mark.parametrize(
    ("setting", "fault"),
    [
        ("iterations = 2.5", "[limits] iterations must be a whole number >= 1, not 2.5"),
        ("max_tokens = 1e5", "[limits] max_tokens must be a whole number >= 0, not 100000.0"),
        ("concurrency = 0", "[limits] concurrency must be a whole number >= 1, not 0"),
        ("tool_timeout_s = 0", "[limits] tool_timeout_s must be a number > 0, not 0"),
    ],
)
def test_a_limit_that_cannot_mean_what_it_says_is_a_config_error(
    tmp_path, isolated_home, setting, fault
):
    (isolated_home / "config.toml").write_text(f"[limits]\n{setting}\n")

    proc = autoplug("tools", cwd=tmp_path)

    assert proc.returncode == 2
    assert one_line_error(proc) == (
        f"error: invalid config file {isolated_home / 'config.toml'}: {fault}"
    )


def test_fractional_seconds_and_zero_counts_are_valid_limits(tmp_path, isolated_home):
    (isolated_home / "config.toml").write_text(
        "[limits]\ntool_timeout_s = 0.5\nplan_repairs = 0\nmax_usd = 0.25\n"
    )

    kernel = Kernel(home=isolated_home)

    assert kernel.config.limits["tool_timeout_s"] == 0.5
    assert kernel.config.limits["plan_repairs"] == 0
    assert kernel.tools.default_timeout == 0.5


def test_write_file_errors_name_the_relative_path_only(tmp_path):
    """A failed write's error goes into the model's prompt: no absolute path in it."""
    workspace = tmp_path / "ws"
    (workspace / "folder").mkdir(parents=True)
    (workspace / "plain.txt").write_text("x")
    kernel = Kernel(builtins=["autoplug_files"], home=tmp_path / "home")
    approved = CallContext(workspace=workspace, approved=True)

    into_folder = kernel.tools.call(
        "write_file", {"path": "folder", "content": "x"}, context=approved
    )
    under_a_file = kernel.tools.call(
        "write_file", {"path": "plain.txt/note.txt", "content": "x"}, context=approved
    )
    fine = kernel.tools.call(
        "write_file", {"path": "new/note.txt", "content": "hi"}, context=approved
    )

    assert into_folder.error == (
        "tool 'write_file' failed: IsADirectoryError: 'folder' is a folder, not a file"
    )
    assert under_a_file.error.startswith(
        "tool 'write_file' failed: OSError: cannot write 'plain.txt/note.txt': "
    )
    assert str(tmp_path) not in into_folder.error + under_a_file.error
    assert fine.ok and (workspace / "new" / "note.txt").read_text() == "hi"


def test_a_runs_folder_that_cannot_be_made_is_a_clear_error(tmp_path, isolated_home):
    (isolated_home / "config.toml").write_text('[memory]\nbackend = "none"\n')
    (isolated_home / "runs").write_text("a file where the runs folder belongs")
    (tmp_path / "r.json").write_text(json.dumps(SCRIPT))

    proc = autoplug("run", "six times seven?", "--model", "scripted:r.json", cwd=tmp_path)

    assert proc.returncode == 1
    assert one_line_error(proc) == (
        f"error: cannot create a run folder in {isolated_home / 'runs'}: File exists "
        "(it must be a folder autoplug can write)"
    )


# -- autoplug chat's exit status ----------------------------------------------------------


@pytest.mark.parametrize(
    ("replies", "lines", "status"),
    [
        ([{"error": "the provider is down"}], "hello\n", 1),
        ([{"error": "the provider is down"}, SCRIPT[0]], "hello\nagain\n", 0),
        (SCRIPT, "hello\n", 0),
    ],
)
def test_chat_exits_with_the_status_of_its_last_turn(
    tmp_path, isolated_home, replies, lines, status
):
    (isolated_home / "config.toml").write_text('[memory]\nbackend = "none"\n')
    (tmp_path / "r.json").write_text(json.dumps(replies))

    proc = autoplug("chat", "--model", "scripted:r.json", cwd=tmp_path, stdin=lines)

    assert proc.returncode == status, proc.stderr
    assert "Traceback" not in proc.stderr
    assert ("42" in proc.stdout) == (status == 0)


# -- register_commands from real installed plugins ----------------------------------------

COMMANDS_GOOD = '''
import click
from autoplug import hookimpl

@hookimpl
def register_commands(cli):
    @cli.command("hello")
    def hello():
        """Say hello."""
        click.echo("hello from a plugin")
'''

COMMANDS_BROKEN = """
from autoplug import hookimpl

@hookimpl
def register_commands(cli):
    raise RuntimeError("cannot add my command")
"""


@pytest.fixture(scope="module")
def commands_path(tmp_path_factory) -> Path:
    """A site folder with two installed plugins: one adds a command, one fails to."""
    from plugin_packages import make_package, pip_install_target

    root = tmp_path_factory.mktemp("commands_src")
    projects = [
        make_package(root, "cmd-good", "cmd_good", "cmd_good", COMMANDS_GOOD),
        make_package(root, "cmd-broken", "cmd_broken", "cmd_broken", COMMANDS_BROKEN),
    ]
    target = tmp_path_factory.mktemp("commands_site")
    pip_install_target(projects, target)
    return target


def with_plugins(site: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run ``autoplug`` with the plugins installed in ``site`` discoverable."""
    paths = [str(site), os.environ.get("PYTHONPATH", "")]
    return subprocess.run(
        [sys.executable, "-m", "autoplug.cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, paths)), **env},
    )


def test_a_plugin_command_runs_and_a_failing_one_is_a_warning(commands_path):
    proc = with_plugins(commands_path, "hello")

    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "hello from a plugin\n"
    assert proc.stderr == (
        "autoplug: warning: plugin 'cmd_broken' register_commands failed: "
        "RuntimeError: cannot add my command\n"
    )


def test_a_failing_register_commands_is_an_error_exit_under_strict(commands_path):
    proc = with_plugins(commands_path, "tools", AUTOPLUG_STRICT_PLUGINS="1")

    assert proc.returncode == 1
    assert one_line_error(proc) == (
        "error: plugin 'cmd_broken' register_commands failed: RuntimeError: cannot add my command"
    )


# -- register_autos: only Auto subclasses ---------------------------------------------------


class NotAnAuto:
    """A class with a name that is not an Auto."""

    name = "fake"


class RegistersNotAnAuto:
    """A plugin that registers a plain class as an Auto."""

    @hookimpl
    def register_autos(self, register):
        register(NotAnAuto)


def test_registering_a_class_that_is_not_an_auto_fails_the_plugin(tmp_path):
    kernel = Kernel(plugins=[RegistersNotAnAuto()], builtins=["autoplug_autos"], home=tmp_path)

    info = kernel.plugins["RegistersNotAnAuto"]
    assert info.status == "failed"
    assert info.error == (
        f"UsageError: plugin 'RegistersNotAnAuto' registered {NotAnAuto!r} with "
        "register_autos; register a subclass of autoplug.Auto"
    )
    assert "fake" not in kernel.autos
    assert kernel.autos.names() == ["assistant", "manager", "runner"]


def test_an_auto_without_a_name_is_reported_with_the_right_article(tmp_path):
    from autoplug import Auto

    class Nameless(Auto):
        """No name."""

    class RegistersNameless:
        @hookimpl
        def register_autos(self, register):
            register(Nameless)

    kernel = Kernel(plugins=[RegistersNameless()], home=tmp_path)

    assert kernel.plugins["RegistersNameless"].error == (
        "UsageError: plugin 'RegistersNameless' registered an auto without a 'name' attribute"
    )


# -- [memory] settings are checked before a run starts ------------------------


def _scripted_final(tmp_path):
    script = tmp_path / "script.json"
    script.write_text(json.dumps([{"call": "final", "arguments": {"answer": "done"}}]))
    return f"scripted:{script}"


def test_bad_memory_setting_stops_run_before_it_starts(isolated_home, tmp_path):
    (isolated_home / "config.toml").write_text('[memory]\ntop_k = "x"\n')
    out = autoplug("run", "hi", "--model", _scripted_final(tmp_path), cwd=tmp_path)
    assert out.returncode == 2
    assert (
        "[memory] top_k must be a whole number >= 1" in out.stderr and "Traceback" not in out.stderr
    )
    assert not (isolated_home / "runs").exists() or not any((isolated_home / "runs").iterdir())


def test_unknown_memory_backend_is_named_with_the_known_ones(isolated_home, tmp_path):
    (isolated_home / "config.toml").write_text('[memory]\nbackend = "nosuch"\n')
    out = autoplug("run", "hi", "--model", _scripted_final(tmp_path), cwd=tmp_path)
    assert out.returncode == 2
    assert "unknown memory backend 'nosuch'" in out.stderr and "lancedb" in out.stderr


def test_memory_off_runs_without_memory(isolated_home, tmp_path):
    (isolated_home / "config.toml").write_text('[memory]\nbackend = "none"\n')
    out = autoplug("run", "hi", "--model", _scripted_final(tmp_path), cwd=tmp_path)
    assert (out.returncode, out.stdout.strip()) == (0, "done")
