"""Helpers for testing autoplug plugins: the scripted model, isolated kernels, agent scripts.

A plugin's tests build a kernel holding only the plugin under test, call its
tools through the same validating door a model's calls pass through, and run a
scripted agent (no network, no key) that uses them::

    from autoplug.testing import isolated_kernel, one_step_script, ScriptedModel

    import autoplug_weather

    def test_forecast_through_an_agent(tmp_path):
        kernel = isolated_kernel(autoplug_weather, builtins=["autoplug_autos"], home=tmp_path)
        model = ScriptedModel(one_step_script("forecast", {"city": "Oslo"}, answer="Mild."))
        run = kernel.run("How warm is Oslo?", model=model)
        assert run.status == "succeeded"

The pytest plugin (:mod:`autoplug.pytest_plugin`) wraps these as fixtures.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from .kernel import Kernel
from .llm import FunctionCall
from .scripted import ScriptedModel, call
from .tools import CallContext, ToolResult

__all__ = [
    "AGENT_BUILTINS",
    "ScriptedModel",
    "call",
    "call_tool",
    "installed_plugin",
    "isolated_kernel",
    "one_step_script",
]

# The builtins a kernel needs to run a task: the Runner and Assistant live in autoplug_autos.
AGENT_BUILTINS = ("autoplug_autos",)


def isolated_kernel(
    *plugins: Any,
    builtins: bool | list[str] | tuple[str, ...] = False,
    home: Path | str | None = None,
) -> Kernel:
    """A kernel with only ``plugins`` (modules or objects with hookimpls) and the builtins asked for.

    :param plugins: the plugins under test; no installed plugin is discovered.
    :param builtins: True for every builtin, or a list of builtin names
        (``AGENT_BUILTINS`` to run tasks).
    :param home: its ``AUTOPLUG_HOME``; None makes a fresh temporary folder, so a
        test never reads or writes the user's real config, runs or memory.
    """
    if home is None:
        home = tempfile.mkdtemp(prefix="autoplug-home-")
    chosen: bool | list[str] = builtins if isinstance(builtins, bool) else list(builtins)
    return Kernel(plugins=list(plugins), builtins=chosen, home=home)


def call_tool(
    kernel: Kernel, name: str, args: dict[str, Any] | None = None, *, approved: bool = False
) -> Any:
    """Call a tool through the kernel's door and return its value.

    Raises AssertionError with the ToolResult's one-line error when the call
    fails, so a test reads ``assert call_tool(kernel, "forecast", {...}) == ...``.
    ``approved`` lets a side-effect tool run.
    """
    result: ToolResult = kernel.tools.call(name, args or {}, context=CallContext(approved=approved))
    if not result.ok:
        raise AssertionError(f"tool call failed ({result.kind}): {result.error}")
    return result.value


def one_step_script(
    tool: str,
    args: dict[str, Any],
    *,
    answer: str,
    output: str = "result",
    subtask: str | None = None,
) -> list[FunctionCall]:
    """The scripted replies of a run whose agent uses ``tool`` once, then answers.

    Three replies, as the LLM protocol has them: the dynamic agent's ``act``, the
    planner's ``submit_plan`` with one step (id ``s1``) storing the tool's value
    as the asset ``output``, and the dynamic agent's ``final`` with ``answer``.
    Give them to :class:`ScriptedModel`.
    """
    step = {"id": "s1", "tool": tool, "args": dict(args), "output": output}
    return [
        call("act", subtask=subtask or f"use {tool}", assets=[]),
        call("submit_plan", steps=[step]),
        call("final", answer=answer),
    ]


def installed_plugin(name: str) -> Any:
    """Import the plugin an installed distribution registers under the entry point ``name``.

    Checks the packaging a user's install depends on: ``installed_plugin("weather")``
    is the module named in ``[project.entry-points.autoplug]``. Raises LookupError
    naming the plugins that are installed when ``name`` is not one of them.
    """
    from .plugins import entry_points

    found = {ep.name: ep for ep in entry_points()}
    if name not in found:
        known = ", ".join(sorted(found)) or "none"
        raise LookupError(
            f"no installed autoplug plugin {name!r} (entry point group 'autoplug'); "
            f"installed: {known}"
        )
    return found[name].load()
