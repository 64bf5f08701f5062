"""The @tool decorator's schemas and the one door: ToolRegistry.call / acall."""

from __future__ import annotations

import asyncio
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
        time.sleep(0.5)

    @tool
    async def slow_async() -> None:
        """Slow."""
        await asyncio.sleep(5)

    reg = registry(slow_sync, slow_async)
    r1 = asyncio.run(reg.acall("slow_sync", {}))
    r2 = asyncio.run(reg.acall("slow_async", {}, timeout=0.05))
    assert (r1.kind, r2.kind) == ("timeout", "timeout")
    assert r1.error == "tool 'slow_sync' timed out after 0.05 s"


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
