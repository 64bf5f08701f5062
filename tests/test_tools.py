"""The @tool decorator's schemas and the one door: ToolRegistry.call / acall."""

from __future__ import annotations

import asyncio
import dataclasses
import sys
import time
from pathlib import Path
from typing import Literal

import pytest

from autoplug import (
    BlockingCallInLoop,
    CallContext,
    Kernel,
    Tool,
    ToolDefinitionError,
    ToolRefused,
    ToolResult,
    hookimpl,
    tool,
)
from autoplug.registry import ToolRegistry


@tool
def forecast(city: str, days: int = 1) -> dict:
    """Forecast for a city.

    city: the city's name
    days: how many days ahead
    """
    return {"city": city, "days": days}


@tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


def registry(*tools: object, hook: object = None) -> ToolRegistry:
    reg = ToolRegistry(hook)
    for t in tools:
        reg.add(t, "tests")
    return reg


# -- schemas from type hints ---------------------------------------------------


def test_tool_schema_from_hints_and_docstring():
    assert forecast.description == "Forecast for a city."
    assert forecast.parameters == {
        "type": "object",
        "properties": {
            "city": {"type": "string", "description": "the city's name"},
            "days": {"type": "integer", "description": "how many days ahead", "default": 1},
        },
        "required": ["city"],
        "additionalProperties": False,
    }


def test_tool_schema_covers_lists_dicts_optional_literal_float_bool():
    @tool
    def f(
        xs: list[int],
        tags: dict[str, str],
        blob: dict,
        mode: Literal["fast", "slow"],
        ratio: float,
        flag: bool = False,
        note: str | None = None,
    ) -> None:
        """Doc."""

    props = f.parameters["properties"]
    assert props["xs"] == {"type": "array", "items": {"type": "integer"}}
    assert props["tags"] == {"type": "object", "additionalProperties": {"type": "string"}}
    assert props["blob"] == {"type": "object"}
    assert props["mode"] == {"enum": ["fast", "slow"]}
    assert props["ratio"] == {"type": "number"}
    assert props["flag"] == {"type": "boolean", "default": False}
    assert props["note"] == {"type": ["string", "null"], "default": None}
    assert f.parameters["required"] == ["xs", "tags", "blob", "mode", "ratio"]


def test_tool_options_name_side_effects_timeout():
    removed = []

    @tool(name="rm-rf", side_effects=True, timeout=3)
    def remove(path: str) -> str:
        """Remove."""
        removed.append(path)
        return f"removed {path}"

    assert (remove.name, remove.side_effects, remove.timeout) == ("rm-rf", True, 3)
    reg = registry(remove)
    # The door honours the options: reachable by the given name only, refused unapproved.
    assert reg.call("remove", {"path": "x"}).kind == "unknown_tool"
    assert reg.call("rm-rf", {"path": "x"}).kind == "refused" and removed == []
    approved = reg.call("rm-rf", {"path": "x"}, context=CallContext(approved=True))
    assert approved.value == "removed x" and removed == ["x"]


def test_tool_context_parameter_is_injected_not_in_schema():
    @tool
    def where(*, context: CallContext) -> str:
        """Where am I."""
        return str(context.workspace)

    assert where.parameters["properties"] == {}
    result = registry(where).call("where", {}, context=CallContext(workspace=Path("/tmp")))
    assert result.value == "/tmp"


def test_tool_unsupported_annotation_is_rejected_naming_parameter():
    with pytest.raises(ToolDefinitionError, match="parameter 'x'"):

        @tool
        def bad(x: complex) -> None:
            """Doc."""


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


def test_tool_name_must_match_model_api_pattern():
    with pytest.raises(ToolDefinitionError, match="name must match"):
        tool(add, name="has space")


def test_hand_built_schema_is_checked_against_meta_schema():
    bad = Tool(name="bad", func=lambda: None, parameters={"type": "object", "properties": 3})
    with pytest.raises(
        ToolDefinitionError, match="plugin 'tests' tool 'bad': invalid parameters schema"
    ):
        registry(bad)
    good = Tool(
        name="echo",
        func=lambda text: text,
        parameters={"type": "object", "properties": {"text": {"type": "string", "minLength": 2}}},
    )
    reg = registry(good)
    assert reg.call("echo", {"text": "hi"}).value == "hi"
    assert reg.call("echo", {"text": "h"}).kind == "invalid_args"


# -- the door ------------------------------------------------------------------


def test_call_returns_value_on_success():
    assert registry(add).call("add", {"a": 2, "b": 3}) == ToolResult(ok=True, value=5)


def test_call_unknown_tool_names_close_matches():
    result = registry(add, forecast).call("forcast", {})
    assert (result.ok, result.kind) == (False, "unknown_tool")
    assert "unknown tool 'forcast'" in result.error and "'forecast'" in result.error


def test_call_reports_every_violation_with_its_json_path():
    result = registry(forecast).call("forecast", {"days": "two", "extra": 1})
    assert result.kind == "invalid_args"
    paths = [p for p, _ in result.violations]
    assert "$.days" in paths and "$" in paths
    messages = " ".join(m for _, m in result.violations)
    assert "'city' is a required property" in messages
    assert "Additional properties are not allowed" in messages
    assert result.error.startswith("invalid arguments for tool 'forecast'")


def test_call_rejects_bool_for_integer_and_non_object_args():
    reg = registry(add)
    assert reg.call("add", {"a": True, "b": 1}).kind == "invalid_args"
    assert reg.call("add", [1, 2]).kind == "invalid_args"
    # an integral float is an integer for JSON Schema
    assert reg.call("add", {"a": 1.0, "b": 2}).ok


def test_call_turns_a_tool_exception_into_tool_error():
    @tool
    def boom() -> None:
        """Fails."""
        raise RuntimeError("disk on fire")

    result = registry(boom).call("boom", {})
    assert (result.ok, result.kind) == (False, "tool_error")
    assert result.error == "tool 'boom' failed: RuntimeError: disk on fire"


def test_side_effect_tool_is_refused_without_approval_and_runs_with_it():
    ran = []

    @tool(side_effects=True)
    def launch() -> str:
        """Launch."""
        ran.append(1)
        return "launched"

    reg = registry(launch)
    refused = reg.call("launch", {})
    assert refused.kind == "refused" and "has side effects and was not approved" in refused.error
    assert ran == []
    assert reg.call("launch", {}, context=CallContext(approved=True)).value == "launched"


def test_async_tool_runs_through_blocking_call():
    @tool
    async def later(x: int) -> int:
        """Later."""
        await asyncio.sleep(0)
        return x * 2

    assert registry(later).call("later", {"x": 4}).value == 8


def test_blocking_call_inside_running_loop_raises_clearly():
    reg = registry(add)

    async def inside():
        reg.call("add", {"a": 1, "b": 2})

    with pytest.raises(BlockingCallInLoop, match="acall"):
        asyncio.run(inside())


def test_acall_enforces_timeout_on_sync_and_async_tools():
    @tool(timeout=0.05)
    def slow_sync() -> None:
        """Slow."""
        time.sleep(5)

    @tool
    async def slow_async() -> None:
        """Slow."""
        await asyncio.sleep(5)

    reg = registry(slow_sync, slow_async)
    started = time.monotonic()
    r1 = asyncio.run(reg.acall("slow_sync", {}))
    # asyncio.run returns without joining the abandoned thread (it sleeps 5 s).
    assert time.monotonic() - started < 2
    r2 = asyncio.run(reg.acall("slow_async", {}, timeout=0.05))
    assert (r1.kind, r2.kind) == ("timeout", "timeout")
    assert r1.error == (
        "tool 'slow_sync' timed out after 0.05 s; its thread was abandoned "
        "(a sync tool cannot be stopped)"
    )
    assert r2.error == "tool 'slow_async' timed out after 0.05 s"


def test_acall_runs_sync_tool_in_worker_thread():
    import threading

    @tool
    def which_thread() -> str:
        """Thread."""
        return threading.current_thread().name

    result = asyncio.run(registry(which_thread).acall("which_thread", {}))
    assert result.value != threading.main_thread().name


# -- name clashes --------------------------------------------------------------


def test_bare_name_goes_to_non_builtin_then_first_plugin_name():
    def mk(label: str) -> Tool:
        return tool(lambda: label, name="search", description=label)

    reg = ToolRegistry()
    reg.add(mk("builtin"), "autoplug_web", builtin=True)
    reg.add(mk("zeta"), "zeta")
    reg.add(mk("alpha"), "alpha")
    assert reg.call("search", {}).value == "alpha"
    assert reg.call("zeta.search", {}).value == "zeta"
    assert reg.call("autoplug_web__search", {}).value == "builtin"
    winners = {t.plugin: reg.call_name(t) for t in reg.all()}
    assert winners == {
        "alpha": "search",
        "zeta": "zeta.search",
        "autoplug_web": "autoplug_web.search",
    }
    assert reg.model_name(reg.get("zeta.search")) == "zeta__search"


# -- hooks around the door -----------------------------------------------------


class Recorder:
    name = "recorder"

    def __init__(self, refuse: bool = False, answer: object = None) -> None:
        self.seen: list[tuple[str, object]] = []
        self.refuse = refuse
        self.answer = answer

    @hookimpl
    def register_tools(self, register):
        register(add)

    @hookimpl
    def before_tool_call(self, call, context):
        self.seen.append(("before", call.tool, dict(call.args)))
        if self.refuse:
            raise ToolRefused("policy says no")
        return self.answer

    @hookimpl
    def after_tool_call(self, call, result, context):
        self.seen.append(("after", call.tool, result.value))


def test_hook_before_and_after_tool_call_see_each_call(tmp_path):
    rec = Recorder()
    kernel = Kernel(plugins=[rec], home=tmp_path)
    assert kernel.tools.call("add", {"a": 1, "b": 2}).value == 3
    assert rec.seen == [("before", "recorder.add", {"a": 1, "b": 2}), ("after", "recorder.add", 3)]


def test_hook_before_tool_call_can_refuse_or_short_circuit(tmp_path):
    refusing = Kernel(plugins=[Recorder(refuse=True)], home=tmp_path)
    result = refusing.tools.call("add", {"a": 1, "b": 2})
    assert result.kind == "refused" and "policy says no" in result.error

    canned = Kernel(plugins=[Recorder(answer=ToolResult(ok=True, value=42))], home=tmp_path)
    assert canned.tools.call("add", {"a": 1, "b": 2}).value == 42


def test_hook_before_tool_call_not_reached_by_invalid_args(tmp_path):
    rec = Recorder()
    kernel = Kernel(plugins=[rec], home=tmp_path)
    assert kernel.tools.call("add", {"a": "x"}).kind == "invalid_args"
    assert rec.seen == []


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


# -- hostile input at the door (issue 10) ----------------------------------------

from typing import Any  # noqa: E402

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from autoplug.registry import MAX_ARGUMENT_CHARS  # noqa: E402


@tool
def take_any(x: Any = None) -> str:
    """Accept anything.

    x: any value
    """
    return "ok"


def nested(levels: int) -> list:
    value: list = []
    for _ in range(levels):
        value = [value]
    return value


def hand_built(name: str, schema: dict, func: Any = None) -> Tool:
    return Tool(name=name, func=func or (lambda **kw: kw), parameters=schema)


def test_door_refuses_arguments_nested_past_the_recursion_limit():
    result = registry(take_any).call("take_any", {"x": nested(5000)})
    assert result.kind == "invalid_args"
    assert result.error == (
        "invalid arguments for tool 'take_any': the arguments are nested deeper than 100 levels"
    )


def test_door_refuses_a_huge_integer_before_validation():
    result = registry(take_any).call("take_any", {"x": 10**5000})
    assert result.kind == "invalid_args" and "more than 4300 digits" in result.error


def test_door_refuses_oversized_arguments_before_validation():
    reg = registry(take_any)
    result = reg.call("take_any", {"x": "y" * (MAX_ARGUMENT_CHARS + 1)})
    assert result.kind == "invalid_args"
    assert "larger than 10,000,000 characters" in result.error
    small = ToolRegistry(max_argument_chars=10)
    small.add(take_any, "tests")
    assert small.call("take_any", {"x": "y" * 20}).kind == "invalid_args"
    assert small.call("take_any", {"x": "y"}).ok


def test_unresolvable_ref_makes_the_tool_unusable_not_an_exception():
    schema = {"type": "object", "properties": {"a": {"$ref": "#/$defs/missing"}}}
    reg = registry(hand_built("broken", schema))
    assert reg.get("broken").unusable == (
        "schema path /properties/a/$ref: cannot resolve '#/$defs/missing'"
    )
    result = reg.call("broken", {"a": 1})
    assert result.kind == "tool_error"
    assert result.error == (
        "tool 'broken' is unusable: schema path /properties/a/$ref: cannot resolve '#/$defs/missing'"
    )


def test_remote_ref_is_never_fetched_and_makes_the_tool_unusable():
    schema = {"type": "object", "properties": {"a": {"$ref": "http://127.0.0.1:9/s.json"}}}
    reg = registry(hand_built("remote", schema))
    result = reg.call("remote", {"a": 1})
    assert result.kind == "tool_error" and "remote references are never fetched" in result.error


def test_pattern_python_cannot_compile_makes_the_tool_unusable():
    schema = {"type": "object", "properties": {"a": {"type": "string", "pattern": "\\p{L}+"}}}
    reg = registry(hand_built("letters", schema))
    result = reg.call("letters", {"a": "x"})
    assert result.kind == "tool_error"
    assert (
        "schema path /properties/a/pattern" in result.error and "does not compile" in result.error
    )


def test_unusable_tool_is_never_offered_to_a_model(tmp_path):
    from autoplug.agents.dynamic import tool_lines
    from autoplug.agents.planner import tool_catalog

    schema = {"type": "object", "properties": {"a": {"$ref": "#/$defs/missing"}}}

    class Plugin:
        @hookimpl
        def register_tools(self, register):
            register(hand_built("broken", schema))
            register(add)

    kernel = Kernel(plugins=[Plugin()], home=tmp_path)
    assert "broken" not in tool_catalog(kernel.tools) and "add" in tool_catalog(kernel.tools)
    assert "broken" not in tool_lines(kernel)


def test_schema_is_validated_in_the_dialect_its_schema_names():
    draft7 = {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "type": "object",
        "definitions": {"n": {"type": "integer"}},
        "properties": {"a": {"$ref": "#/definitions/n"}, "b": {"items": [{"type": "string"}]}},
    }
    reg = registry(hand_built("old", draft7))
    assert reg.get("old").unusable is None
    assert reg.call("old", {"a": 1, "b": ["x"]}).ok
    bad = reg.call("old", {"a": 1, "b": [3]})  # draft-07 tuple "items": b[0] must be a string
    assert bad.kind == "invalid_args" and "$.b[0]" in bad.error
    unknown = registry(hand_built("odd", {"$schema": "urn:nope", "type": "object"}))
    assert "unknown dialect 'urn:nope'" in unknown.get("odd").unusable


class Custom(BaseException):
    """A BaseException subclass that is not an Exception."""


def test_a_tool_raising_a_base_exception_fails_its_call():
    def raises() -> None:
        raise Custom("deep trouble")

    reg = registry(hand_built("custom", {"type": "object"}, raises))
    assert reg.call("custom", {}).error == "tool 'custom' failed: Custom: deep trouble"
    result = asyncio.run(reg.acall("custom", {}))
    assert result.error == "tool 'custom' failed: Custom: deep trouble"


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


def test_keyboard_interrupt_from_a_tool_in_a_worker_thread_fails_only_its_call():
    def interrupts() -> None:
        raise KeyboardInterrupt("from the tool")

    async def async_interrupts() -> None:
        raise KeyboardInterrupt("async")

    reg = registry(
        hand_built("kb", {"type": "object"}, interrupts),
        hand_built("akb", {"type": "object"}, async_interrupts),
    )
    result = asyncio.run(reg.acall("kb", {}))
    assert result.kind == "tool_error" and "KeyboardInterrupt: from the tool" in result.error
    assert "KeyboardInterrupt: async" in asyncio.run(reg.acall("akb", {})).error
    # In the caller's own thread it may be the user's Ctrl-C: it is not swallowed.
    with pytest.raises(KeyboardInterrupt):
        reg.call("kb", {})


def test_the_door_does_not_swallow_the_callers_cancellation():
    async def slow() -> None:
        await asyncio.sleep(30)

    async def cancels_itself() -> None:
        raise asyncio.CancelledError()

    reg = registry(
        hand_built("slow", {"type": "object"}, slow),
        hand_built("selfcancel", {"type": "object"}, cancels_itself),
    )

    async def main() -> tuple[bool, ToolResult]:
        task = asyncio.create_task(reg.acall("slow", {}))
        await asyncio.sleep(0.05)
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            cancelled = True
        else:
            cancelled = False
        return cancelled, await reg.acall("selfcancel", {})

    cancelled, own = asyncio.run(main())
    assert cancelled
    assert own.kind == "tool_error" and "CancelledError" in own.error


def test_an_exception_whose_str_raises_is_a_failed_call():
    class Unprintable(Exception):
        def __str__(self) -> str:
            raise RuntimeError("no")

    def raises() -> None:
        raise Unprintable()

    result = registry(hand_built("unprintable", {"type": "object"}, raises)).call("unprintable", {})
    assert result.error == (
        "tool 'unprintable' failed: Unprintable (its message cannot be shown: RuntimeError)"
    )


def test_a_huge_exception_message_is_cut_keeping_start_and_end():
    def raises() -> None:
        raise ValueError("START" + "x" * 10_000_000 + "END")

    result = registry(hand_built("loud", {"type": "object"}, raises)).call("loud", {})
    assert len(result.error) < 2100
    assert "START" in result.error and result.error.endswith("END")
    assert "characters cut" in result.error


def test_absolute_workspace_paths_in_tool_errors_become_relative(tmp_path):
    def opens(*, context: CallContext) -> None:
        open(context.workspace / "data" / "missing.csv")  # noqa: SIM115

    reg = registry(hand_built("opens", {"type": "object"}, opens))
    result = reg.call("opens", {}, context=CallContext(workspace=tmp_path))
    assert str(tmp_path) not in result.error
    assert result.error == (
        "tool 'opens' failed: FileNotFoundError: [Errno 2] No such file or directory: "
        "'data/missing.csv'"
    )


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=5), children, max_size=4)
    ),
    max_leaves=25,
)


@settings(max_examples=60, deadline=None)
@given(
    st.sampled_from(["add", "take_any", "forecast", "refs", "nope"]),
    json_values,
    st.integers(min_value=0, max_value=1500),
    st.booleans(),
)
def test_the_door_always_returns_a_tool_result(name, value, levels, huge):
    refs = hand_built(
        "refs",
        {
            "type": "object",
            "$defs": {
                "node": {"type": ["array", "object", "integer"], "items": {"$ref": "#/$defs/node"}}
            },
            "properties": {"v": {"$ref": "#/$defs/node"}, "s": {"type": "string", "pattern": "^a"}},
        },
    )
    reg = registry(add, take_any, forecast, refs)
    args_variants = [
        value,
        {"x": value, "v": value, "a": value},
        {"v": nested(levels), "x": 10**4400 if huge else value},
    ]
    for args in args_variants:
        result = reg.call(name, args)
        assert isinstance(result, ToolResult)
        assert result.ok or (result.error and "\n" not in result.error)
        result = asyncio.run(reg.acall(name, args))
        assert isinstance(result, ToolResult)


def test_an_async_tool_blocking_the_loop_is_reported_and_fails_once_the_loop_is_back(capsys):
    @tool(timeout=0.2)
    async def blocker() -> str:
        """Blocks the loop (what an async tool must not do)."""
        time.sleep(0.8)
        return "done"

    @tool(timeout=5)
    async def polite() -> str:
        """Awaits like it should."""
        await asyncio.sleep(0.3)
        return "fine"

    reg = registry(blocker, polite)

    async def both():
        return await asyncio.gather(reg.acall("polite", {}), reg.acall("blocker", {}))

    good, bad = asyncio.run(both())
    assert bad.kind == "timeout"
    assert bad.error.startswith("async tool 'blocker' blocked the event loop for ")
    assert "async tools must not block" in bad.error
    assert good.ok and good.value == "fine"  # not blamed for the loop it could not use
    err = capsys.readouterr().err
    assert "autoplug: async tool 'blocker' has blocked the event loop" in err
    assert "polite" not in err


def test_a_slow_async_tool_that_awaits_is_not_reported_as_blocking(capsys):
    @tool(timeout=0.2)
    async def slow() -> str:
        """Awaits past its timeout."""
        await asyncio.sleep(2)
        return "late"

    result = asyncio.run(registry(slow).acall("slow", {}))
    assert result.error == "tool 'slow' timed out after 0.2 s"
    assert "blocked" not in capsys.readouterr().err


# -- the fast path (issue 14) ----------------------------------------------------


def test_a_hook_plugin_registered_after_calls_still_sees_the_next_call(tmp_path):
    kernel = Kernel(plugins=[], home=tmp_path)
    kernel.tools.add(add, "tests")
    assert kernel.tools.call("add", {"a": 1, "b": 2}).value == 3  # no implementation yet
    rec = Recorder()
    kernel.pm.register(rec, name="late")
    assert kernel.tools.call("add", {"a": 2, "b": 2}).value == 4
    assert rec.seen == [("before", "tests.add", {"a": 2, "b": 2}), ("after", "tests.add", 4)]
    kernel.pm.unregister(rec)
    assert kernel.tools.call("add", {"a": 3, "b": 3}).value == 6
    assert len(rec.seen) == 2  # gone again: not called


def test_a_hook_plugin_registered_later_also_sees_acall(tmp_path):
    kernel = Kernel(plugins=[], home=tmp_path)
    kernel.tools.add(add, "tests")
    asyncio.run(kernel.tools.acall("add", {"a": 1, "b": 1}))
    rec = Recorder(refuse=True)
    kernel.pm.register(rec, name="late")
    result = asyncio.run(kernel.tools.acall("add", {"a": 1, "b": 2}))
    assert result.kind == "refused" and "policy says no" in result.error


def test_call_context_resolves_its_workspace_when_first_read(tmp_path, monkeypatch):
    made = CallContext()
    monkeypatch.chdir(tmp_path)
    assert made.workspace == tmp_path  # the directory when read, not when made
    assert made == CallContext(workspace=tmp_path)
    given = CallContext(workspace=Path("/srv/work"), approved=True)
    assert given.with_home(tmp_path) == CallContext(
        workspace=Path("/srv/work"), approved=True, home=tmp_path
    )
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.workspace = Path("/")  # type: ignore[misc]


def test_results_built_on_the_fast_path_equal_ordinary_results():
    reg = registry(add)
    fast = reg.call("add", {"a": 1, "b": 2})
    assert fast == ToolResult(ok=True, value=3)
    assert repr(fast) == repr(ToolResult(ok=True, value=3))
    assert fast.to_dict() == {"ok": True, "value": 3, "error": None, "kind": None, "violations": []}
    assert dataclasses.replace(fast, value=4) == ToolResult(ok=True, value=4)
    with pytest.raises(dataclasses.FrozenInstanceError):
        fast.value = 5  # type: ignore[misc]


def test_an_async_tool_that_returns_at_once_and_one_that_suspends_both_answer():
    @tool
    async def instant(x: int) -> int:
        """Returns without awaiting."""
        return x * 2

    @tool
    async def later(x: int) -> int:
        """Awaits twice first."""
        await asyncio.sleep(0)
        await asyncio.sleep(0.01)
        return x * 3

    @tool
    async def breaks(x: int) -> int:
        """Raises before its first await."""
        raise ValueError(f"bad {x}")

    reg = registry(instant, later, breaks)

    async def all_three():
        return [await reg.acall(n, {"x": 5}, timeout=5) for n in ("instant", "later", "breaks")]

    first, second, third = asyncio.run(all_three())
    assert (first.value, second.value) == (10, 15)
    assert third.kind == "tool_error" and third.error == "tool 'breaks' failed: ValueError: bad 5"


def test_a_timeout_fires_for_an_async_tool_that_suspends_after_a_first_step():
    @tool
    async def steps_then_hangs() -> str:
        """Awaits briefly, then waits forever."""
        await asyncio.sleep(0)
        await asyncio.Event().wait()
        return "never"

    started = time.monotonic()
    result = asyncio.run(registry(steps_then_hangs).acall("steps_then_hangs", {}, timeout=0.1))
    assert result.error == "tool 'steps_then_hangs' timed out after 0.1 s"
    assert time.monotonic() - started < 3


def test_an_async_tool_that_blocks_after_suspending_is_reported(capsys):
    @tool(timeout=0.1)
    async def naps_then_blocks() -> str:
        """Awaits once, then blocks the loop."""
        await asyncio.sleep(0.01)
        time.sleep(0.5)
        return "done"

    result = asyncio.run(registry(naps_then_blocks).acall("naps_then_blocks", {}))
    assert result.kind == "timeout"
    assert result.error.startswith("async tool 'naps_then_blocks' blocked the event loop for ")
    assert "has blocked the event loop" in capsys.readouterr().err


def test_sync_tools_called_with_acall_reuse_the_threads_of_one_pool():
    import threading

    from autoplug.toolthreads import POOL

    @tool
    def which_thread() -> str:
        """The thread it runs in."""
        return threading.current_thread().name

    reg = registry(which_thread)
    names = {asyncio.run(reg.acall("which_thread", {})).value for _ in range(20)}
    started = POOL.threads_started
    names |= {asyncio.run(reg.acall("which_thread", {})).value for _ in range(20)}
    assert POOL.threads_started == started  # forty calls in separate runs: no new thread
    # Idle threads left by earlier calls (of other tests too) may take turns; none is new.
    assert names and all(n.startswith("autoplug-tool-") for n in names)


def test_the_pool_runs_new_calls_while_an_abandoned_sync_tool_still_runs():
    release = __import__("threading").Event()

    @tool(timeout=0.05)
    def stuck() -> None:
        """Waits until released."""
        release.wait(10)

    reg = registry(stuck, add)

    async def both():
        timed_out = await reg.acall("stuck", {})
        # Concurrently with the abandoned thread: other calls get a thread of their own.
        answers = await asyncio.gather(*(reg.acall("add", {"a": i, "b": 1}) for i in range(8)))
        return timed_out, answers

    try:
        timed_out, answers = asyncio.run(both())
    finally:
        release.set()
    assert timed_out.kind == "timeout" and "its thread was abandoned" in timed_out.error
    assert [a.value for a in answers] == [i + 1 for i in range(8)]


def test_an_invalid_or_unusable_call_is_still_refused_by_acall():
    broken = hand_built("broken", {"type": "object", "properties": {"x": {"$ref": "#/nope"}}})
    reg = registry(add, broken)
    bad = asyncio.run(reg.acall("add", {"a": "x", "b": 1}))
    assert bad.kind == "invalid_args" and "$.a" in bad.error
    unusable = asyncio.run(reg.acall("broken", {"x": 1}))
    assert unusable.kind == "tool_error" and "is unusable" in unusable.error


array_schemas = st.fixed_dictionaries(
    {
        "type": st.just("object"),
        "properties": st.dictionaries(
            st.sampled_from(["a", "b", "c"]),
            st.sampled_from(["string", "integer", "number", "boolean"]).map(lambda k: {"type": k})
            | st.sampled_from(["string", "integer", "number", "boolean"]).map(
                lambda k: {"type": "array", "items": {"type": k}}
            )
            | st.integers(min_value=0, max_value=3).map(
                lambda n: {"type": "string", "minLength": n}
            )
            | st.sampled_from(["string", "integer", "number", "boolean"]).map(
                lambda k: {"type": "array", "items": {"type": k}}
            ),
            min_size=1,
        ),
        "additionalProperties": st.just(False),
    },
    optional={"required": st.lists(st.sampled_from(["a", "b", "c"]), unique=True)},
)


@settings(max_examples=150, deadline=None)
@given(
    array_schemas,
    st.dictionaries(st.sampled_from(["a", "b", "c", "d"]), json_values, max_size=4),
    st.frozensets(st.sampled_from(["a", "b", "c"])),
)
def test_the_compiled_check_accepts_only_what_jsonschema_accepts(schema, args, present):
    from jsonschema import Draft202012Validator

    from autoplug.tools import _compile_fast

    fast = _compile_fast(schema)
    assert fast is not None  # flat properties and arrays of simple types are compiled
    excused = {**schema, "required": [n for n in schema.get("required", []) if n not in present]}
    if fast(args, 10_000_000, present):
        assert Draft202012Validator(excused).is_valid(args)
    assert (hand_built("t", schema).open_violations(args, present) == []) == Draft202012Validator(
        excused
    ).is_valid(args)


simple_schemas = st.fixed_dictionaries(
    {
        "type": st.just("object"),
        "properties": st.dictionaries(
            st.sampled_from(["a", "b", "c", "it's", 'say "x"', "\\n"]),
            st.sampled_from(["string", "integer", "number", "boolean"]).map(lambda k: {"type": k})
            | st.integers(min_value=0, max_value=3).map(
                lambda n: {"type": "string", "minLength": n}
            )
            | st.sampled_from(["string", "integer", "number", "boolean"]).map(
                lambda k: {"type": "array", "items": {"type": k}}
            ),
            min_size=1,
        ),
        "additionalProperties": st.just(False),
    },
    optional={"required": st.lists(st.sampled_from(["a", "b", "c", "it's"]), unique=True)},
)
edge_values = (
    json_values
    | st.sampled_from([True, False, 1 << 14_000, -(1 << 14_000), (1 << 14_000) - 1, 1.5, -0.0])
    | st.sampled_from([float("inf"), float("nan"), b"x", ("t",), Path("p")])
    | st.lists(
        st.sampled_from(["a", "", 0, -3, 1.5, True, False, None, 1 << 14_000, ["x"], ("t",)]),
        max_size=4,
    )
)


@settings(max_examples=300, deadline=None)
@given(
    simple_schemas,
    st.dictionaries(st.sampled_from(["a", "b", "c", "it's", 'say "x"', "d"]), edge_values),
    st.integers(min_value=0, max_value=40),
    st.frozensets(st.sampled_from(["a", "b"])),
)
def test_the_written_check_answers_as_the_general_one(schema, args, max_chars, present):
    # The door's straight-line check for simple schemas (issue 14) never disagrees with
    # the general compiled check it hands unsure cases to (itself checked against jsonschema).
    from autoplug import fastcheck

    written = fastcheck.compile_fast(schema)
    general = fastcheck.general_check(*fastcheck._shape(schema))
    if set(schema.get("required", [])) <= set(schema["properties"]):
        assert written.__code__ is not general.__code__  # written out, not the general one
    assert written(args, max_chars, present) == general(args, max_chars, present)
    assert written(args) == general(args)


def test_the_written_check_refuses_what_the_door_must_refuse():
    @tool
    def pick(name: str, count: int, ratio: float, flag: bool = False) -> str:
        """Takes one of each simple type."""
        return f"{name}{count}{ratio}{flag}"

    reg = registry(pick)
    good = {"name": "a", "count": 1, "ratio": 0.5}
    assert reg.call("pick", good).value == "a10.5False"
    for bad, where in [
        ({**good, "count": True}, "$.count"),
        ({**good, "count": 1.5}, "$.count"),
        ({**good, "ratio": "1"}, "$.ratio"),
        ({**good, "flag": 1}, "$.flag"),
        ({**good, "extra": 1}, "extra"),
        ({"name": "a", "count": 1}, "ratio"),
        ({**good, "count": 10**5000}, "4300 digits"),
    ]:
        result = reg.call("pick", bad)
        assert result.kind == "invalid_args" and where in result.error, (bad, result)


@settings(max_examples=200, deadline=None)
@given(
    simple_schemas,
    st.dictionaries(st.sampled_from(["a", "b", "c", "it's", "d"]), edge_values),
    st.integers(min_value=0, max_value=40),
)
def test_the_inline_door_calls_the_tool_only_for_arguments_the_full_check_accepts(
    schema, args, max_chars
):
    from autoplug import fastcheck

    calls = []
    door = fastcheck.compile_door(schema, lambda **kwargs: calls.append(kwargs) or "ran")
    if fastcheck._shape(schema)[1]:
        assert door is None  # an array property: the door takes the full path
        return
    if not set(schema.get("required", [])) <= set(schema["properties"]):
        assert door is None  # nothing to write: every call takes the full path
        return
    general = fastcheck.general_check(*fastcheck._shape(schema))
    answer = door(args, max_chars)
    if answer is fastcheck.UNSURE:
        assert calls == []
    else:
        assert answer == "ran" and calls == [args] and general(args, max_chars)


def test_a_tool_changed_after_its_calls_is_called_as_it_is_now():
    reg = registry(add)
    assert reg.call("add", {"a": 1, "b": 2}).value == 3  # the inline path, written now
    found = reg.get("add")
    found.side_effects = True
    refused = reg.call("add", {"a": 1, "b": 2})
    assert refused.kind == "refused" and "side effects" in refused.error
    found.side_effects = False
    found.func = lambda a, b: a * b
    assert reg.call("add", {"a": 2, "b": 5}).value == 10
    assert reg.call("add", {"a": True, "b": 5}).kind == "invalid_args"  # still checked


@pytest.mark.parametrize("is_async", [True, False], ids=["async", "sync"])
def test_a_call_in_a_run_context_is_checked_approved_and_hooked_as_any_other(tmp_path, is_async):
    # acall with a complete context takes a shorter path (issue 14; a sync tool's too, issue
    # 15): what it decides must not change.
    if is_async:

        async def double(x: int) -> int:
            """Twice x."""
            return 2 * x

        async def launch(x: int) -> int:
            """A side effect."""
            return x

        async def where(*, context: CallContext) -> str:
            """The step it runs in."""
            return f"{context.run_id}/{context.step_id}/{context.home == tmp_path}"

    else:

        def double(x: int) -> int:
            """Twice x."""
            return 2 * x

        def launch(x: int) -> int:
            """A side effect."""
            return x

        def where(*, context: CallContext) -> str:
            """The step it runs in."""
            return f"{context.run_id}/{context.step_id}/{context.home == tmp_path}"

    kernel = Kernel(plugins=[], home=tmp_path)
    for made in (tool(double), tool(side_effects=True)(launch), tool(where)):
        assert made.is_async is is_async
        kernel.tools.add(made, "tests")
    plain = CallContext(run_id="r", step_id="s", home=tmp_path)
    approved = CallContext(run_id="r", step_id="s", approved=True, home=tmp_path)

    async def calls(*made):
        return [await kernel.tools.acall(n, a, context=c) for n, a, c in made]

    first = asyncio.run(
        calls(
            ("double", {"x": 2}, plain),
            ("double", {"x": 2}, plain),
            ("double", {"x": "2"}, plain),
            ("double", {"x": float("nan")}, plain),
            ("launch", {"x": 1}, plain),
            ("launch", {"x": 1}, approved),
            ("where", {}, CallContext(run_id="r", step_id="s")),  # home filled by the door
        )
    )
    assert [r.value for r in first[:2]] == [4, 4]
    assert first[2].kind == "invalid_args" and "$.x" in first[2].error
    assert first[3].kind == "invalid_args" and "NaN" in first[3].error
    assert first[4].kind == "refused" and first[5].value == 1
    assert first[6].value == "r/s/True"
    rec = Recorder()
    kernel.pm.register(rec, name="late")
    later = asyncio.run(calls(("double", {"x": 3}, plain)))
    assert later[0].value == 6
    assert rec.seen == [("before", "tests.double", {"x": 3}), ("after", "tests.double", 6)]


def test_a_step_s_call_context_equals_one_built_normally(tmp_path):
    from autoplug.tools import _call_context

    made = _call_context("run-1", "s1", tmp_path, True, tmp_path / "home")
    normal = CallContext(
        run_id="run-1", step_id="s1", workspace=tmp_path, approved=True, home=tmp_path / "home"
    )
    assert made == normal and repr(made) == repr(normal)
    assert made.workspace == tmp_path and made.with_home(None).home is None
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.approved = False  # type: ignore[misc]


def test_a_property_with_a_list_of_types_is_checked_not_raised():
    def pick(a=None, b=None):
        return [a, b]

    schema = {
        "type": "object",
        "properties": {
            "a": {"type": ["string", "null"]},
            "b": {"type": "array", "items": {"type": ["integer", "null"]}},
        },
        "additionalProperties": False,
    }
    reg = registry(Tool(name="pick", func=pick, description="d", parameters=schema))
    assert reg.call("pick", {"a": None, "b": [1, None]}).value == [None, [1, None]]
    assert reg.call("pick", {"a": "x"}).ok
    bad = reg.call("pick", {"a": 3, "b": ["no"]})
    assert bad.kind == "invalid_args" and {p for p, _ in bad.violations} == {"$.a", "$.b[0]"}


def test_a_public_field_set_on_a_tool_makes_a_new_edition():
    # What is written from the tools (the planner's catalog) is kept by the tools' edition.
    from autoplug import tools as tools_module

    made = registry(add).get("add")
    for field_name, value in [
        ("description", "Add them."),
        ("parameters", {"type": "object", "properties": {}}),
        ("side_effects", True),
        ("unusable", "broken"),
        ("timeout", 3.0),
    ]:
        before = tools_module.EDITION[0]
        setattr(made, field_name, value)
        assert tools_module.EDITION[0] != before, field_name
    before = tools_module.EDITION[0]
    made._validator = None  # a private cache: nothing shown changed
    assert tools_module.EDITION[0] == before


def test_each_change_to_the_tools_a_registry_holds_makes_a_new_edition():
    from autoplug import tools as tools_module

    reg = ToolRegistry()
    editions = [tools_module.EDITION[0]]
    reg.add(add, "p")
    editions.append(tools_module.EDITION[0])
    subset = reg.restricted(["p.add"])
    editions.append(tools_module.EDITION[0])
    reg.remove_plugin("p")
    editions.append(tools_module.EDITION[0])
    assert len(set(editions)) == 4 and subset.get("add") is not None


@pytest.mark.parametrize("is_async", [True, False], ids=["async", "sync"])
def test_a_schema_set_on_a_registered_tool_is_the_one_its_calls_are_checked_against(is_async):
    # The compiled check, the validator and the partial validators are made from the
    # schema: a new schema set on the tool must not leave its calls checked by the old.
    async def async_pair(a, b):
        return [a, b]

    made = Tool(
        name="pair",
        func=async_pair if is_async else (lambda a, b: [a, b]),
        parameters={
            "type": "object",
            "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
            "required": ["a", "b"],
            "additionalProperties": False,
        },
    )
    reg = registry(made)
    found = reg.get("pair")
    assert asyncio.run(reg.acall("pair", {"a": 1, "b": 2})).value == [1, 2]
    assert reg.call("pair", {"a": 1, "b": 2}).value == [1, 2]
    assert found.open_violations({"a": 1}, ["b"]) == []
    found.parameters = {
        "type": "object",
        "properties": {"a": {"type": "string"}, "b": {"type": "integer"}},
        "required": ["a", "b"],
        "additionalProperties": False,
    }
    assert asyncio.run(reg.acall("pair", {"a": 1, "b": 2})).kind == "invalid_args"
    assert reg.call("pair", {"a": 1, "b": 2}).kind == "invalid_args"
    assert found.violations({"a": 1, "b": 2}) == [("$.a", "1 is not of type 'string'")]
    assert found.open_violations({"a": 1}, ["b"]) == [("$.a", "1 is not of type 'string'")]
    assert asyncio.run(reg.acall("pair", {"a": "x", "b": 2})).value == ["x", 2]
