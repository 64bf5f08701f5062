"""The kernel object: isolated kernels, builtins, registration failures, events, models."""

from __future__ import annotations

import os
import sys
import types

import pytest

from autoplug import (
    CallContext,
    Kernel,
    NoModelConfigured,
    UnknownModelError,
    UsageError,
    hookimpl,
    tool,
)
from autoplug.config import Config
from autoplug.plugins import plugin_name


@tool
def ping() -> str:
    """Ping."""
    return "pong"


class Good:
    name = "good"

    @hookimpl
    def register_tools(self, register):
        register(ping)


class RaisesInRegistration:
    name = "raiser"

    @hookimpl
    def register_tools(self, register):
        register(tool(lambda: 1, name="half"))
        raise RuntimeError("registration exploded")


def test_isolated_kernel_has_only_its_plugins(tmp_path):
    kernel = Kernel(plugins=[Good()], home=tmp_path)
    assert list(kernel.plugins) == ["good"]
    assert [t.qualified_name for t in kernel.tools.all()] == ["good.ping"]


def test_isolated_kernel_with_builtins_by_name(tmp_path):
    kernel = Kernel(plugins=[Good()], builtins=["autoplug_files"], home=tmp_path)
    assert sorted(kernel.plugins) == ["autoplug_files", "good"]
    assert kernel.plugins["autoplug_files"].builtin is True
    assert "read_file" in kernel.tools


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


def test_module_plugin_is_named_by_its_module(tmp_path):
    module = types.ModuleType("my_plugin")
    module.register_tools = hookimpl(lambda register: register(ping))
    assert plugin_name(module) == "my_plugin"
    kernel = Kernel(plugins=[module], home=tmp_path)
    assert kernel.tools.call("ping").value == "pong"


def test_plugin_failing_in_registration_is_failed_and_its_tools_removed(tmp_path):
    kernel = Kernel(plugins=[Good(), RaisesInRegistration()], home=tmp_path)
    info = kernel.plugins["raiser"]
    assert info.status == "failed" and "registration exploded" in info.error
    assert "half" not in kernel.tools and "ping" in kernel.tools


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


def test_hook_on_event_errors_are_reported_and_ignored(tmp_path, capsys):
    seen = []

    class Bad:
        name = "a_bad"

        @hookimpl
        def on_event(self, event):
            raise ValueError("observer bug")

    class Watcher:
        name = "b_watch"

        @hookimpl
        def on_event(self, event):
            seen.append(event)

    kernel = Kernel(plugins=[Watcher(), Bad()], home=tmp_path)
    kernel.emit("something")
    assert seen == ["something"]
    assert "plugin 'a_bad' on_event failed: ValueError: observer bug" in capsys.readouterr().err


def test_a_failed_plugins_on_event_is_not_called_after_it_failed(tmp_path):
    seen: list[str] = []

    class Watcher:
        name = "watch"

        @hookimpl
        def on_event(self, event):
            seen.append(event)

    kernel = Kernel(plugins=[Watcher()], home=tmp_path)
    kernel.emit("before")  # the on_event implementations are looked up (and kept) here
    kernel.fail_plugin("watch", "broke later")
    kernel.emit("after")
    assert seen == ["before"]
    assert kernel.plugins["watch"].status == "failed"


def test_an_observer_registered_after_a_run_is_told_of_the_next_and_one_removed_is_not(tmp_path):
    # kernel_loaded is not the only time a plugin may register an observer into kernel.pm;
    # one registered (or removed) after events were told must be told from then on (or not).
    from autoplug.runs import RunStore
    from autoplug.scripted import ScriptedModel, call

    class Watcher:
        def __init__(self) -> None:
            self.seen: list = []

        @hookimpl
        def on_event(self, event):
            self.seen.append(event)

    kernel = Kernel(plugins=[], builtins=["autoplug_autos"], home=tmp_path)

    def run() -> str:
        model = ScriptedModel([call("final", answer="y")])
        return kernel.run("x", model=model, memory=False).run_id

    run()  # nobody observes this one's events
    watcher = Watcher()
    kernel.pm.register(watcher, name="late.watcher")
    second = run()
    with RunStore.open(tmp_path, second) as store:
        trace = store.events()
    assert trace and [e.to_dict() for e in watcher.seen] == trace
    kernel.pm.unregister(name="late.watcher")
    run()
    kernel.emit("after")
    assert len(watcher.seen) == len(trace)  # gone: told nothing more


def test_a_plugin_that_fails_in_kernel_loaded_leaves_no_observer_it_registered(tmp_path):
    seen: list = []

    class Observer:
        @hookimpl
        def on_event(self, event):
            seen.append(event)

    class Fails:
        name = "fails"

        @hookimpl
        def kernel_loaded(self, kernel):
            kernel.pm.register(Observer(), name="fails.observer")
            raise RuntimeError("set-up broke")

    kernel = Kernel(plugins=[Fails()], home=tmp_path)
    assert kernel.plugins["fails"].status == "failed"
    assert "set-up broke" in kernel.plugins["fails"].error
    kernel.emit("event")
    assert seen == []  # what it registered is forgotten (docs/hooks.md), its observer too
    assert kernel.pm.get_plugin("fails.observer") is None


def test_hooks_are_called_in_ascending_plugin_name_order(tmp_path):
    order = []

    def make(label):
        class P:
            name = label

            @hookimpl
            def on_event(self, event):
                order.append(label)

        return P()

    kernel = Kernel(plugins=[make("m"), make("z"), make("a")], home=tmp_path)
    kernel.emit(None)
    kernel.pm.hook.on_event(event=None)
    assert order == ["a", "m", "z", "a", "m", "z"]


def test_model_without_configuration_says_how_to_set_one(tmp_path):
    kernel = Kernel(home=tmp_path)
    with pytest.raises(NoModelConfigured) as info:
        kernel.model()
    message = str(info.value)
    assert "--model openai:gpt-4o-mini" in message and "OPENAI_API_KEY" in message
    assert "ollama" in message and "replay:examples/" in message
    assert info.value.exit_code == 2


def test_unknown_model_provider_and_malformed_id(tmp_path):
    kernel = Kernel(home=tmp_path)
    with pytest.raises(UnknownModelError, match="unknown model provider 'nosuch'"):
        kernel.model("nosuch:thing")
    with pytest.raises(UnknownModelError, match="provider:model"):
        kernel.model("gpt-4o")


def test_model_precedence_env_over_config(tmp_path, monkeypatch):
    (tmp_path / "config.toml").write_text('model = "from:config"\n')
    assert Config.load(tmp_path).default_model() == "from:config"
    monkeypatch.setenv("AUTOPLUG_MODEL", "from:env")
    assert Config.load(tmp_path).default_model() == "from:env"


def test_kernel_import_stays_light():
    code = (
        "import sys, autoplug, autoplug.cli; "
        "heavy = [m for m in ('jsonschema','httpx','bs4','lancedb','pyarrow','numpy','cookiecutter','sentence_transformers','opentelemetry','mcp','mcp_types','anyio','ray') if m in sys.modules]; "
        "print(heavy)"
    )
    import subprocess

    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_kernel_tools_call_fills_the_context_home_with_the_kernels_home(tmp_path):
    @tool
    def where(*, context: CallContext) -> str:
        """Where the call's home is."""
        return str(context.home)

    class Plugin:
        @hookimpl
        def register_tools(self, register):
            register(where)

    kernel = Kernel(plugins=[Plugin()], home=tmp_path / "h")
    assert kernel.tools.call("where").value == str(tmp_path / "h")
    given = CallContext(workspace=tmp_path)  # a context without a home gets the kernel's
    assert kernel.tools.call("where", context=given).value == str(tmp_path / "h")
    other = CallContext(home=tmp_path / "other")
    assert kernel.tools.call("where", context=other).value == str(tmp_path / "other")


def test_kernel_run_arun_and_stream_name_every_option_of_a_run():
    import inspect

    from autoplug.autos import arun_task

    expected = {
        name: param.default
        for name, param in inspect.signature(arun_task).parameters.items()
        if param.kind is inspect.Parameter.KEYWORD_ONLY
    }
    for method in (Kernel.run, Kernel.arun, Kernel.stream):
        params = inspect.signature(method).parameters
        assert list(params)[:2] == ["self", "task"]
        named = {
            n: p.default for n, p in params.items() if p.kind is inspect.Parameter.KEYWORD_ONLY
        }
        assert named == expected, method.__name__
        assert all(
            p.annotation is not inspect.Parameter.empty for p in params.values() if p.name != "self"
        )
    assert inspect.signature(Kernel.run).return_annotation == "RunResult"
    assert inspect.signature(Kernel.arun).return_annotation == "RunResult"


def test_kernel_arun_hands_every_option_to_the_run_unchanged(tmp_path, monkeypatch):
    import asyncio
    import inspect

    import autoplug.autos as autos

    seen: dict = {}

    async def capture(kernel, task, **options):
        seen.update(options, task=task)
        return "result"

    monkeypatch.setattr(autos, "arun_task", capture)
    names = [
        n
        for n, p in inspect.signature(Kernel.arun).parameters.items()
        if p.kind is inspect.Parameter.KEYWORD_ONLY
    ]
    given = {name: object() for name in names}  # a value of its own for each option
    kernel = Kernel(plugins=[], home=tmp_path)
    assert asyncio.run(kernel.arun("t", **given)) == "result"
    assert seen == {**given, "task": "t"}


def test_a_misspelt_run_option_is_a_type_error_naming_it(tmp_path):
    from autoplug.scripted import ScriptedModel

    kernel = Kernel(plugins=[], builtins=["autoplug_autos"], home=tmp_path)
    with pytest.raises(TypeError, match="'modle'"):
        kernel.run("x", modle=ScriptedModel([]))
    with pytest.raises(TypeError, match="'aprove'"):
        kernel.stream("x", aprove=True)


def test_kernel_run_returns_a_run_result(tmp_path):
    from autoplug import RunResult
    from autoplug.scripted import ScriptedModel, call

    kernel = Kernel(plugins=[], builtins=["autoplug_autos"], home=tmp_path)
    result = kernel.run("x", model=ScriptedModel([call("final", answer="y")]), memory=False)
    assert isinstance(result, RunResult)
    assert (result.status, result.answer) == ("succeeded", "y")


def test_dir_of_autoplug_shows_only_public_names():
    import autoplug

    names = dir(autoplug)
    assert names == sorted([*autoplug.__all__, "__version__"])
    assert all(getattr(autoplug, name) is not None for name in names)
    assert "annotations" not in names and "Any" not in names


def test_a_relative_home_is_still_the_same_folder_after_the_working_directory_changes(
    tmp_path, monkeypatch
):
    # AUTOPLUG_HOME=./home (or Kernel(home="home")) and code that changes the current
    # directory mid-run: the run's asset files, its claim and the memory stay in that home.
    from autoplug.runs import list_runs
    from autoplug.scripted import ScriptedModel
    from autoplug.testing import isolated_kernel, one_step_script

    monkeypatch.chdir(tmp_path)
    (tmp_path / "elsewhere").mkdir()

    @tool
    def wander(text: str) -> str:
        """Change the current directory and return a value too big to keep inline.

        text: what to repeat
        """
        os.chdir(tmp_path / "elsewhere")
        return text * 5000

    class Wandering:
        @hookimpl
        def register_tools(self, register):
            register(wander)

    kernel = isolated_kernel(Wandering(), builtins=True, home="home")
    model = ScriptedModel(one_step_script("wander", {"text": "ab"}, answer="ok"))
    result = kernel.run("wander", model=model, approve=True)
    assert [a["name"] for a in result.assets] == ["result"], result
    folder = tmp_path / "home" / "runs" / result.run_id
    assert [p.name for p in (folder / "assets").iterdir()]  # the big asset's own file
    assert (folder / "owner.lock").read_text().strip() == ""  # the claim was given up
    assert list((tmp_path / "elsewhere").iterdir()) == []
    assert list_runs(tmp_path / "home")[0]["status"] == "succeeded"


def test_a_named_registry_sees_what_is_added_or_removed_after_a_lookup():
    from autoplug.kernel import NamedRegistry

    class Thing:
        def __init__(self, name):
            self.name = name

    registry = NamedRegistry("embedder")
    first = Thing("e")
    registry.add(first, "builtin_one", True)
    assert registry.get("e") is first and registry.names() == ["e"]
    mine = Thing("e")
    registry.add(mine, "mine", False)  # a non-builtin plugin's entry wins over a builtin's
    assert registry.get("e") is mine
    registry.add(Thing("other"), "mine", False)
    assert registry.names() == ["e", "other"] and "other" in registry
    registry.remove_plugin("mine")
    assert registry.get("e") is first and "other" not in registry
    with pytest.raises(UsageError, match="unknown embedder 'other'"):
        registry.get("other")
