"""autoplug.testing and the pytest plugin's fixtures, as a plugin author uses them."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest

import autoplug_builtins.files
from autoplug import ChatRequest, FunctionCall, Message, ScriptedModel, hookimpl, tool
from autoplug.testing import (
    AGENT_BUILTINS,
    call,
    call_tool,
    installed_plugin,
    isolated_kernel,
    one_step_script,
)


@tool
def shout(text: str, times: int = 1) -> str:
    """Repeat a text in capitals.

    text: what to shout
    times: how many times
    """
    return " ".join([text.upper()] * times)


class ShoutPlugin:
    """A plugin object (not a module) with one tool."""

    name = "shouting"

    @hookimpl
    def register_tools(self, register):
        register(shout)


def ask(model: ScriptedModel) -> object:
    request = ChatRequest(messages=(Message(role="user", content="hi"),))
    return asyncio.run(model.complete(request))


# -- autoplug.testing -------------------------------------------------------


def test_isolated_kernel_holds_only_the_plugins_given(tmp_path):
    kernel = isolated_kernel(ShoutPlugin(), home=tmp_path)
    assert sorted(kernel.plugins) == ["shouting"]
    assert [t.qualified_name for t in kernel.tools.all()] == ["shouting.shout"]


def test_isolated_kernel_without_home_uses_a_fresh_temporary_folder(
    isolated_home, tmp_path, monkeypatch
):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    first, second = isolated_kernel(ShoutPlugin()), isolated_kernel(ShoutPlugin())
    assert first.home != second.home
    assert first.home != isolated_home
    assert first.home.parent == tmp_path and second.home.parent == tmp_path
    assert [p.name for p in first.home.iterdir()] == ["config.toml"]


def test_isolated_kernel_uses_the_home_given(tmp_path, isolated_home):
    home = tmp_path / "given"
    home.mkdir()
    (home / "config.toml").write_text("[limits]\niterations = 7\n")
    kernel = isolated_kernel(ShoutPlugin(), home=home)
    assert kernel.home == home
    assert kernel.config.limits["iterations"] == 7  # the config read is the given home's
    assert not (isolated_home / "config.toml").exists()  # AUTOPLUG_HOME was not touched


def test_isolated_kernel_adds_the_builtins_asked_for(tmp_path):
    kernel = isolated_kernel(ShoutPlugin(), builtins=["autoplug_files"], home=tmp_path)
    assert sorted(kernel.plugins) == ["autoplug_files", "shouting"]
    assert "read_file" in kernel.tools and "shout" in kernel.tools
    assert "web_search" not in kernel.tools


def test_agent_builtins_are_enough_to_run_a_task(tmp_path):
    kernel = isolated_kernel(ShoutPlugin(), builtins=AGENT_BUILTINS, home=tmp_path)
    assert {"runner", "assistant"} <= set(kernel.autos.names())
    run = kernel.run(
        "Shout hi", model=ScriptedModel(one_step_script("shout", {"text": "hi"}, answer="HI"))
    )
    assert (run.status, run.answer) == ("succeeded", "HI")
    assert [a["preview"] for a in run.assets] == ["HI"]


def test_call_tool_returns_the_value(tmp_path):
    kernel = isolated_kernel(ShoutPlugin(), home=tmp_path)
    assert call_tool(kernel, "shout", {"text": "hey", "times": 2}) == "HEY HEY"


def test_call_tool_raises_with_the_error_naming_the_field(tmp_path):
    kernel = isolated_kernel(ShoutPlugin(), home=tmp_path)
    with pytest.raises(AssertionError, match=r"invalid_args.*'shout'.*\$\.times"):
        call_tool(kernel, "shout", {"text": "hey", "times": "twice"})


def test_call_tool_approves_side_effect_tools_only_when_asked(tmp_path, monkeypatch):
    kernel = isolated_kernel(builtins=["autoplug_files"], home=tmp_path / "home")
    monkeypatch.chdir(tmp_path)  # outside a run the workspace is the current directory
    with pytest.raises(AssertionError, match="refused.*side effects"):
        call_tool(kernel, "write_file", {"path": "a.txt", "content": "x"})
    assert not (tmp_path / "a.txt").exists()
    call_tool(kernel, "write_file", {"path": "a.txt", "content": "x"}, approved=True)
    assert (tmp_path / "a.txt").read_text() == "x"


def test_one_step_script_follows_the_llm_protocol():
    replies = one_step_script("shout", {"text": "hi"}, answer="HI", output="loud")
    assert replies == [
        FunctionCall("act", {"subtask": "use shout", "assets": []}),
        FunctionCall(
            "submit_plan",
            {"steps": [{"id": "s1", "tool": "shout", "args": {"text": "hi"}, "output": "loud"}]},
        ),
        FunctionCall("final", {"answer": "HI"}),
    ]


def test_one_step_script_takes_a_subtask():
    [act, _, _] = one_step_script("shout", {}, answer="x", subtask="shout it")
    assert act.arguments == {"subtask": "shout it", "assets": []}


def test_installed_plugin_loads_the_module_an_entry_point_names():
    assert installed_plugin("autoplug_files") is autoplug_builtins.files


def test_installed_plugin_names_the_installed_ones_when_unknown():
    with pytest.raises(LookupError, match=r"'nope'.*installed: .*autoplug_files"):
        installed_plugin("nope")


def test_testing_reexports_the_scripted_model_and_call():
    model = ScriptedModel([call("final", answer="42")])
    response = ask(model)
    assert response.function_calls[0].name == "final"
    assert response.function_calls[0].arguments == {"answer": "42"}


# -- the pytest plugin's fixtures (loaded in this session through pytest11) --


def test_autoplug_home_is_set_in_the_environment_and_empty(autoplug_home):
    assert os.environ["AUTOPLUG_HOME"] == str(autoplug_home)
    assert autoplug_home.is_dir() and list(autoplug_home.iterdir()) == []


def test_autoplug_kernel_builds_an_isolated_kernel_in_autoplug_home(autoplug_kernel, autoplug_home):
    kernel = autoplug_kernel(ShoutPlugin())
    assert kernel.home == autoplug_home
    assert sorted(kernel.plugins) == ["shouting"]
    assert call_tool(kernel, "shout", {"text": "a"}) == "A"


def test_autoplug_kernel_adds_builtins(autoplug_kernel):
    kernel = autoplug_kernel(ShoutPlugin(), builtins=["autoplug_files"])
    assert sorted(kernel.plugins) == ["autoplug_files", "shouting"]


def test_autoplug_kernel_needs_plugins(autoplug_kernel):
    with pytest.raises(TypeError, match="autoplug_kernel\\(\\) got no plugins.*autoplug_plugins"):
        autoplug_kernel()


class TestWithPluginsFixture:
    """A conftest.py-style override of ``autoplug_plugins`` sets the default plugins."""

    @pytest.fixture
    def autoplug_plugins(self):
        return [ShoutPlugin()]

    def test_autoplug_kernel_loads_them_when_called_without_plugins(self, autoplug_kernel):
        assert call_tool(autoplug_kernel(), "shout", {"text": "b", "times": 3}) == "B B B"

    def test_plugins_given_replace_them(self, autoplug_kernel):
        kernel = autoplug_kernel(autoplug_builtins.files)
        assert "shout" not in kernel.tools and "read_file" in kernel.tools


def test_scripted_model_fixture_replies_in_order(scripted_model):
    model = scripted_model([call("brainstorm", thoughts="hmm"), "plain text"])
    assert isinstance(model, ScriptedModel) and model.model_id == "scripted:test"
    assert ask(model).function_calls[0].arguments == {"thoughts": "hmm"}
    assert ask(model).text == "plain text"
    assert len(model.requests) == 2


def test_scripted_model_fixture_takes_a_function_and_a_model_id(scripted_model):
    model = scripted_model(lambda request: request.messages[-1].content.upper(), model_id="s:x")
    assert ask(model).text == "HI"
    assert model.model_id == "s:x"


def test_the_pytest_plugin_loads_by_entry_point_in_a_fresh_session(tmp_path):
    (tmp_path / "test_fixtures.py").write_text(
        textwrap.dedent(
            """
            import os
            from autoplug import hookimpl, tool

            @tool
            def double(n: int) -> int:
                '''Double a number.

                n: the number
                '''
                return n * 2

            class Doubling:
                name = "doubling"

                @hookimpl
                def register_tools(self, register):
                    register(double)

            def test_fixtures(autoplug_kernel, autoplug_home, scripted_model):
                kernel = autoplug_kernel(Doubling())
                assert kernel.tools.call("double", {"n": 21}).value == 42
                assert os.environ["AUTOPLUG_HOME"] == str(autoplug_home)
                assert scripted_model(["x"]).model_id == "scripted:test"
            """
        )
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_ADDOPTS"}
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "1 passed" in proc.stdout


def test_the_pytest_plugin_imports_no_heavy_library():
    code = (
        "import sys, autoplug.pytest_plugin; "
        "heavy = {'jsonschema', 'httpx', 'bs4', 'lancedb', 'pyarrow', 'numpy', 'cookiecutter'}; "
        "print(sorted(heavy & set(sys.modules)))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == "[]"


def test_the_template_folder_exists_for_a_source_checkout():
    from autoplug.cli.new_plugin import template_dir

    assert template_dir() == Path(__file__).resolve().parent.parent / "plugin_template"


def test_the_plugin_guide_shows_every_hook_and_fixture():
    import inspect

    from autoplug import hookspecs

    guide = (Path(__file__).resolve().parent.parent / "docs" / "plugins.md").read_text()
    hooks = [
        (name, fn)
        for name, fn in vars(hookspecs).items()
        if inspect.isfunction(fn) and hasattr(fn, "autoplug_spec")
    ]
    assert len(hooks) >= 9
    for name, fn in hooks:
        signature = f"{name}({', '.join(inspect.signature(fn).parameters)})"
        assert f"**`{signature}`**" in guide, f"docs/plugins.md lacks the hook {signature}"
        assert f"def {name}(" in guide, f"docs/plugins.md has no example of {name}"
    for fixture in ("autoplug_home", "autoplug_plugins", "autoplug_kernel", "scripted_model"):
        assert f"`{fixture}`" in guide, f"docs/plugins.md lacks the fixture {fixture}"
