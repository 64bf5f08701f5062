"""Autos: approval of side-effect tools, memory around a task, resume, a third-party Auto."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from autoplug import Auto, Kernel, ModelError, UsageError, hookimpl, tool
from autoplug.autos import aresume_run
from autoplug.memory import open_memory
from autoplug.runs import NotResumableError, RunStore
from autoplug.scripted import ScriptedModel, call

NOTES = "Jupiter is the largest planet."


@tool
def count_words(text: str) -> int:
    """Count the words of a text.

    text: the text
    """
    COUNTED.append(text)
    return len(text.split())


COUNTED: list[str] = []


class CountPlugin:
    """A test plugin with one tool."""

    @hookimpl
    def register_tools(self, register):
        register(count_words)


@pytest.fixture(autouse=True)
def _reset():
    COUNTED.clear()


def files_kernel(tmp_path: Path, *extra: str) -> Kernel:
    return Kernel(
        plugins=[CountPlugin()],
        builtins=["autoplug_autos", "autoplug_files", *extra],
        home=tmp_path / "home",
    )


def write_script(answer: str = "written") -> list:
    step = {
        "id": "s1",
        "tool": "write_file",
        "args": {"path": "out.txt", "content": "hello"},
        "output": "written",
    }
    return [
        call("act", subtask="write the file", assets=[]),
        call("submit_plan", steps=[step]),
        call("final", answer=answer),
    ]


def test_side_effect_tool_is_refused_by_default_and_the_model_sees_why(tmp_path):
    kernel = files_kernel(tmp_path)
    model = ScriptedModel(write_script("could not write"))
    run = kernel.run("Write hello to out.txt", model=model, workspace=tmp_path)
    assert run.status == "succeeded"
    assert not (tmp_path / "out.txt").exists()
    report = json.loads(model.requests[2].messages[-1].content)
    assert report["status"] == "failed"
    assert report["failed"] == [
        {
            "step": "s1",
            "tool": "write_file",
            "error": "tool 'write_file' has side effects and was not approved",
        }
    ]


def test_side_effect_tool_runs_with_approve_true(tmp_path):
    kernel = files_kernel(tmp_path)
    run = kernel.run("Write", model=ScriptedModel(write_script()), approve=True, workspace=tmp_path)
    assert run.status == "succeeded"
    assert (tmp_path / "out.txt").read_text() == "hello"


def test_an_approval_callable_decides_per_call(tmp_path):
    asked = []

    def approve(tool_, args):
        asked.append((tool_.name, args))
        return args["path"] == "out.txt"

    kernel = files_kernel(tmp_path)
    run = kernel.run(
        "Write", model=ScriptedModel(write_script()), approve=approve, workspace=tmp_path
    )
    assert run.status == "succeeded"
    assert asked == [("write_file", {"path": "out.txt", "content": "hello"})]
    assert (tmp_path / "out.txt").exists()


def test_a_workspace_that_is_not_a_folder_is_bad_usage(tmp_path):
    kernel = files_kernel(tmp_path)
    with pytest.raises(UsageError, match="workspace .*missing.* is not a folder"):
        kernel.run("Write", model=ScriptedModel([]), workspace=tmp_path / "missing")


def test_an_unknown_auto_is_bad_usage_naming_the_known_ones(tmp_path):
    kernel = files_kernel(tmp_path)
    with pytest.raises(UsageError, match="unknown auto 'nope'; known: assistant, manager, runner"):
        kernel.run("x", model=ScriptedModel([]), auto="nope")


def test_without_the_autos_plugin_the_error_says_where_runner_comes_from(tmp_path):
    kernel = Kernel(plugins=[CountPlugin()], home=tmp_path)
    with pytest.raises(UsageError, match="autoplug_autos provides runner"):
        kernel.run("x", model=ScriptedModel([]))


# -- memory --------------------------------------------------------------------------


def memory_kernel(tmp_path: Path) -> Kernel:
    home = tmp_path / "home"
    home.mkdir()
    (home / "config.toml").write_text('[memory]\nbackend = "inprocess"\nembedder = "hashing"\n')
    return files_kernel(tmp_path, "autoplug_memory")


def test_memories_are_stored_after_a_task_and_recalled_into_the_next_first_prompt(tmp_path):
    kernel = memory_kernel(tmp_path)
    assert open_memory(kernel) is not None  # memory is configured: inprocess + hashing
    (tmp_path / "notes.txt").write_text(NOTES)
    step = {"id": "s1", "tool": "read_file", "args": {"path": "notes.txt"}, "output": "notes"}
    first = ScriptedModel(
        [
            call("act", subtask="read the notes", assets=[]),
            call("submit_plan", steps=[step]),
            call("final", answer="Jupiter"),
        ]
    )
    run = kernel.run("Which is the largest planet?", model=first, workspace=tmp_path)
    assert run.status == "succeeded"
    stored = {(m.kind, m.source_run) for m in open_memory(kernel).list()}
    assert ("answer", run.run_id) in stored and ("observation", run.run_id) in stored

    second = ScriptedModel([call("final", answer="Jupiter, as before")])
    events = []
    kernel.run("Which planet is the largest?", model=second, on_event=events.append)
    prompt = second.requests[0].messages[1].content
    assert "Relevant memories:" in prompt
    assert "Answer: Jupiter" in prompt and NOTES in prompt
    recalled = next(e for e in events if e.type == "memory_recalled")
    assert recalled.data["memories"] and {"id", "text", "kind", "score"} <= set(
        recalled.data["memories"][0]
    )


def test_without_memory_the_first_prompt_has_no_memories_section(tmp_path):
    kernel = files_kernel(tmp_path)  # autoplug_memory not loaded
    assert open_memory(kernel) is None
    model = ScriptedModel([call("final", answer="ok")])
    events = []
    kernel.run("x", model=model, on_event=events.append)
    assert "Relevant memories" not in model.requests[0].messages[1].content
    assert "memory_recalled" not in [e.type for e in events]


def test_a_run_that_failed_on_a_model_error_stores_nothing(tmp_path):
    kernel = memory_kernel(tmp_path)
    model = ScriptedModel([ModelError("cannot reach http://localhost:11434/v1: refused")])
    run = kernel.run("What is the weather in Oslo?", model=model)
    assert run.status == "failed" and "cannot reach" in run.reason
    assert open_memory(kernel).list() == []
    stopped = kernel.run("Count to three.", model=ScriptedModel([]), auto="runner")
    assert stopped.status == "failed"  # the scripted model ran out: also a model error
    assert open_memory(kernel).list() == []


def test_a_run_without_memory_neither_recalls_nor_stores(tmp_path):
    kernel = memory_kernel(tmp_path)
    kernel.run("Which is the largest planet?", model=ScriptedModel([call("final", answer="J")]))
    assert len(open_memory(kernel).list()) == 1
    model = ScriptedModel([call("final", answer="Jupiter")])
    events = []
    run = kernel.run(
        "Which is the largest planet?", model=model, memory=False, on_event=events.append
    )
    assert run.status == "succeeded"
    assert "Relevant memories" not in model.requests[0].messages[1].content
    assert "memory_recalled" not in [e.type for e in events]
    assert len(open_memory(kernel).list()) == 1


def test_recall_reports_how_many_memories_passed_the_floor(tmp_path):
    kernel = memory_kernel(tmp_path)
    kernel.run("Which is the largest planet?", model=ScriptedModel([call("final", answer="J")]))
    events = []
    kernel.run(
        "Write a haiku about autumn leaves.",
        model=ScriptedModel([call("final", answer="...")]),
        on_event=events.append,
    )
    recalled = next(e for e in events if e.type == "memory_recalled").data
    assert (recalled["memories"], recalled["searched"], recalled["passed"]) == ([], 1, 0)
    assert recalled["min_similarity"] == 0.3


# -- resume --------------------------------------------------------------------------


def test_resume_rebuilds_the_same_history_and_does_not_rerun_finished_steps(tmp_path):
    kernel = files_kernel(tmp_path)
    steps = [{"id": "s1", "tool": "count_words", "args": {"text": NOTES}, "output": "n"}]
    first = ScriptedModel(
        [
            call("brainstorm", thoughts="count the words"),
            call("act", subtask="count", assets=[]),
            call("submit_plan", steps=steps),
            ModelError("connection reset"),
        ]
    )
    run = kernel.run("How many words?", model=first)
    assert run.status == "failed" and "connection reset" in run.reason
    assert COUNTED == [NOTES]

    second = ScriptedModel([call("final", answer="5 words")])
    resumed = asyncio.run(aresume_run(kernel, run.run_id, model=second))
    assert resumed.run_id == run.run_id
    assert resumed.status == "succeeded" and resumed.answer == "5 words"
    # The same messages as the request that failed: a replayed model still matches.
    assert second.requests[0].to_dict() == first.requests[3].to_dict()
    assert COUNTED == [NOTES]  # nothing ran again
    assert [a["name"] for a in resumed.assets] == ["n"]
    with RunStore.open(kernel.home, run.run_id) as store:
        trace = store.events()
        assert store.info()["status"] == "succeeded"
    assert [e["seq"] for e in trace] == list(range(1, len(trace) + 1))
    assert "run_resumed" in [e["type"] for e in trace]
    # Usage (and so the guards) counts the calls before the interruption too.
    assert resumed.usage["llm_calls"] == 3 + 1


def test_a_resumed_run_keeps_counting_its_llm_calls_against_the_cap(tmp_path):
    kernel = files_kernel(tmp_path)
    (kernel.home / "config.toml").write_text("[limits]\nllm_calls = 3\n")
    first = ScriptedModel(
        [call("brainstorm", thoughts="a"), call("brainstorm", thoughts="b"), ModelError("down")]
    )
    run = kernel.run("x", model=first)
    assert run.status == "failed"
    kernel = files_kernel(tmp_path)  # the new limit
    second = ScriptedModel([call("brainstorm", thoughts="c"), call("final", answer="late")])
    resumed = asyncio.run(aresume_run(kernel, run.run_id, model=second))
    assert resumed.status == "stopped"
    assert resumed.reason == "llm_calls limit reached: 3 model calls"
    assert len(second.requests) == 1  # 2 answered calls before (the failed one is not counted)


def test_a_succeeded_run_cannot_be_resumed(tmp_path):
    kernel = files_kernel(tmp_path)
    run = kernel.run("x", model=ScriptedModel([call("final", answer="ok")]))
    with pytest.raises(NotResumableError, match="is succeeded; only an interrupted or failed run"):
        asyncio.run(aresume_run(kernel, run.run_id, model=ScriptedModel([])))


# -- a third-party Auto --------------------------------------------------------------


class Echo(Auto):
    """Answers with the task, shouting, after one model call."""

    name = "echo"

    async def solve(self, ctx, memories):
        from autoplug import ChatRequest, Message

        await ctx.complete(ChatRequest(messages=(Message("user", ctx.task),)), purpose="echo")
        ctx.emit("echo_shouted", text=ctx.task.upper())
        return "succeeded", ctx.task.upper(), None


class EchoPlugin:
    """A plugin registering the Echo Auto."""

    @hookimpl
    def register_autos(self, register):
        register(Echo)


def test_a_plugin_adds_its_own_auto(tmp_path):
    kernel = Kernel(plugins=[EchoPlugin()], builtins=["autoplug_autos"], home=tmp_path)
    assert kernel.autos.names() == ["assistant", "echo", "manager", "runner"]
    events = []
    run = kernel.run("hello", model=ScriptedModel(["ok"]), auto="echo", on_event=events.append)
    assert run.status == "succeeded" and run.answer == "HELLO"
    assert [e.type for e in events] == ["run_started", "llm_call", "echo_shouted", "run_finished"]
    with RunStore.open(tmp_path, run.run_id) as store:
        assert store.info()["auto"] == "echo"


class Greedy(Auto):
    """Calls the model until a guard stops it."""

    name = "greedy"

    async def solve(self, ctx, memories):
        from autoplug import ChatRequest, Message

        while True:
            await ctx.complete(ChatRequest(messages=(Message("user", "more"),)), purpose="more")


class Buggy(Auto):
    """Has a bug."""

    name = "buggy"

    async def solve(self, ctx, memories):
        raise ZeroDivisionError("oops")


def test_a_guard_hit_inside_a_custom_auto_stops_the_run(tmp_path):
    (tmp_path / "config.toml").write_text("[limits]\nllm_calls = 3\n")
    kernel = Kernel(plugins=[EchoPlugin()], home=tmp_path)
    run = kernel.run("x", model=ScriptedModel(lambda r: "again"), auto=Greedy)
    assert run.status == "stopped" and run.reason == "llm_calls limit reached: 3 model calls"


def test_a_bug_in_an_auto_is_recorded_as_failed_and_raised(tmp_path):
    kernel = Kernel(plugins=[EchoPlugin()], home=tmp_path)
    with pytest.raises(ZeroDivisionError):
        kernel.run("x", model=ScriptedModel([]), auto=Buggy)
    (folder,) = (tmp_path / "runs").iterdir()
    with RunStore.open(tmp_path, folder.name) as store:
        info = store.info()
    assert info["status"] == "failed"
    assert info["reason"] == "internal error: ZeroDivisionError: oops"


def test_a_misconfigured_memory_is_reported_and_the_task_goes_on(tmp_path, capsys):
    home = tmp_path / "home"
    home.mkdir()
    (home / "config.toml").write_text('[memory]\nbackend = "inprocess"\nembedder = "nope"\n')
    kernel = files_kernel(tmp_path, "autoplug_memory")
    run = kernel.run("x", model=ScriptedModel([call("final", answer="ok")]))
    assert run.status == "succeeded"
    assert "long-term memory unavailable: unknown embedder 'nope'" in capsys.readouterr().err


# -- persist=False: a run with no run folder ----------------------------------------------


def count_script() -> list:
    step = {"id": "s1", "tool": "count_words", "args": {"text": "one two three"}, "output": "n"}
    return [
        call("act", subtask="count", assets=[]),
        call("submit_plan", steps=[step]),
        call("final", answer="three"),
    ]


def test_a_run_without_persist_leaves_no_folder_and_its_assets_carry_their_values(tmp_path):
    kernel = files_kernel(tmp_path)
    events = []
    run = kernel.run(
        "count", model=ScriptedModel(count_script()), persist=False, on_event=events.append
    )
    assert run.status == "succeeded" and run.answer == "three"
    assert run.run_id and {e.run_id for e in events} == {run.run_id}
    assert "step_finished" in [e.type for e in events]
    (asset,) = run.assets
    assert (asset["name"], asset["value"], asset["preview"]) == ("n", 3, "3")
    assert COUNTED == ["one two three"]
    assert not (tmp_path / "home" / "runs").exists()  # nothing to list or resume
    # The same run with a folder: its assets are read from there, no value in the result.
    kept = kernel.run("count", model=ScriptedModel(count_script()))
    assert "value" not in kept.assets[0]
    assert RunStore.open(kernel.home, kept.run_id).info()["status"] == "succeeded"


def test_persist_false_is_an_option_of_arun_and_stream_too(tmp_path):
    kernel = files_kernel(tmp_path)

    async def both() -> tuple:
        run = await kernel.arun("count", model=ScriptedModel(count_script()), persist=False)
        seen = [
            e.type
            async for e in kernel.stream(
                "count", model=ScriptedModel(count_script()), persist=False
            )
        ]
        return run, seen

    run, seen = asyncio.run(both())
    assert run.status == "succeeded" and run.assets[0]["value"] == 3
    assert seen[0] == "run_started" and seen[-1] == "run_finished"
    assert not (tmp_path / "home" / "runs").exists()


def test_a_run_without_persist_still_uses_memory_as_configured(tmp_path):
    kernel = memory_kernel(tmp_path)
    run = kernel.run(
        "Largest planet?", model=ScriptedModel([call("final", answer="J")]), persist=False
    )
    assert run.status == "succeeded"
    assert [m.source_run for m in open_memory(kernel).list()] == [run.run_id]
    assert not (kernel.home / "runs").exists()


def test_a_run_with_no_memory_configured_starts_no_thread_for_it(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    (home / "config.toml").write_text('[memory]\nbackend = "none"\n')
    kernel = files_kernel(tmp_path, "autoplug_memory")

    async def go() -> tuple:
        run = await kernel.arun("hi", model=ScriptedModel([call("final", answer="x")]))
        # asyncio makes its default executor (the pool of to_thread) on first use only.
        return run, asyncio.get_running_loop()._default_executor

    run, executor = asyncio.run(go())
    assert run.status == "succeeded"
    assert executor is None


class Waiting(Auto):
    """Notes a step, waits for something (its turn ends), then gives up."""

    name = "waiting"

    async def solve(self, ctx, memories):
        ctx.emit("echo_shouted", text="waiting")
        await asyncio.sleep(0.01)
        return "failed", None, "nothing came"


def test_a_run_whose_trace_breaks_records_its_end_and_frees_the_run(tmp_path):
    from autoplug.errors import RunError
    from autoplug.runs.journal import HANDLES

    kernel = Kernel(plugins=[EchoPlugin()], home=tmp_path)

    def trace_breaks(event) -> None:
        if event.type == "run_started":  # a folder in the trace's place: it cannot be written
            trace = tmp_path / "runs" / event.run_id / "trace.jsonl"
            HANDLES.forget([str(trace)])
            trace.unlink()
            trace.mkdir()

    with pytest.raises(RunError, match=r"cannot write .*trace\.jsonl"):
        kernel.run("x", model=ScriptedModel([]), auto=Waiting, on_event=trace_breaks)
    (folder,) = (tmp_path / "runs").iterdir()
    store = RunStore.open(tmp_path, folder.name)
    assert store.info()["status"] == "failed"
    store.claim()  # the ended run is nobody's: it can be resumed
    store.close()


def test_an_observer_told_of_the_run_finished_finds_the_whole_trace_on_disk(tmp_path):
    kernel = Kernel(plugins=[EchoPlugin()], home=tmp_path)
    found: list[str] = []

    def export(event) -> None:  # e.g. ship the trace when the run ends
        if event.type == "run_finished":
            with RunStore.open(tmp_path, event.run_id, read_only=True) as store:
                found.extend(e["type"] for e in store.events())

    run = kernel.run("hello", model=ScriptedModel(["ok"]), auto="echo", on_event=export)
    assert run.status == "succeeded"
    assert found == ["run_started", "llm_call", "echo_shouted", "run_finished"]


def test_a_live_run_without_persist_holds_few_objects_for_the_garbage_collector(tmp_path):
    # Every container a live run holds is traversed by each collection while it lives:
    # with a thousand runs at once that was ~0.4 ms of a run's ~1.6 ms. A run parked in
    # its tool step is counted; no closure, lock or empty container of its own is kept.
    import gc

    gate: dict[str, asyncio.Event] = {}

    @tool
    async def wait_here() -> str:
        """Waits for the gate."""
        await gate["open"].wait()
        return "through"

    class Gate:
        @hookimpl
        def register_tools(self, register):
            register(wait_here)

    home = tmp_path / "home"
    home.mkdir()
    (home / "config.toml").write_text('[memory]\nbackend = "none"\n')
    kernel = Kernel(plugins=[Gate()], builtins=["autoplug_autos"], home=home)
    step = {"id": "w", "tool": "wait_here", "args": {}, "output": "x"}

    def script() -> ScriptedModel:
        return ScriptedModel(
            [
                call("act", subtask="wait", assets=[]),
                call("submit_plan", steps=[step]),
                call("final", answer="done"),
            ]
        )

    async def parked(count: int) -> tuple[float, list]:
        gate["open"] = asyncio.Event()
        gc.collect()
        before = len(gc.get_objects())
        runs = [asyncio.ensure_future(kernel.arun("wait", model=script(), persist=False))]
        runs += [
            asyncio.ensure_future(kernel.arun("wait", model=script(), persist=False))
            for _ in range(count - 1)
        ]
        for _ in range(50):  # every run reaches its tool step and waits there
            await asyncio.sleep(0)
        per_run = (len(gc.get_objects()) - before) / count
        gate["open"].set()
        return per_run, await asyncio.gather(*runs)

    asyncio.run(parked(1))  # first-use imports and caches are the process's, not a run's
    gc.disable()
    try:
        per_run, results = asyncio.run(parked(50))
    finally:
        gc.enable()
    assert [r.status for r in results] == ["succeeded"] * 50
    assert {r.assets[0]["value"] for r in results} == {"through"}
    assert per_run < LIVE_RUN_OBJECTS, per_run


#: Objects the garbage collector tracks for one live ``persist=False`` run parked in a
#: tool step (~122 after the sixth session's round 2, ~134 in its round 1, ~150 before).
LIVE_RUN_OBJECTS = 128


def test_a_run_without_a_workspace_works_in_the_current_directory_even_after_a_chdir(
    tmp_path, monkeypatch
):
    kernel = files_kernel(tmp_path)
    seen = []
    for name in ("first", "second", "second"):
        where = tmp_path / name
        where.mkdir(exist_ok=True)
        monkeypatch.chdir(where)
        events: list = []
        run = kernel.run(
            "x",
            model=ScriptedModel([call("final", answer="ok")]),
            persist=False,
            on_event=events.append,
        )
        assert run.status == "succeeded"
        seen.append(events[0].data["workspace"])
    assert seen == [str(tmp_path / "first"), str(tmp_path / "second"), str(tmp_path / "second")]
