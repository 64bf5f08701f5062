"""The run context's events: built field by field, the same frozen events."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

from autoplug import Kernel
from autoplug.agents.context import RunContext
from autoplug.assets import AssetStore
from autoplug.events import Event
from autoplug.scripted import ScriptedModel


def test_an_emitted_event_equals_one_built_by_its_dataclass(tmp_path: Path) -> None:
    seen: list[Event] = []
    ctx = RunContext(
        kernel=Kernel(plugins=[], home=tmp_path),
        model=ScriptedModel([]),
        run_id="r1",
        task="t",
        workspace=tmp_path,
        assets=AssetStore(),
        sink=seen.append,
    )
    before = time.time()
    first = ctx.emit("decision", function="act", arguments={"subtask": "x"})
    second = ctx.emit("answer", answer="42")
    assert seen == [first, second]
    # emit writes each field itself: a field added to Event must be written there too.
    assert [f.name for f in dataclasses.fields(Event)] == ["type", "run_id", "seq", "time", "data"]
    assert before <= first.time <= second.time <= time.time()
    assert first == Event(
        "decision", "r1", 1, first.time, {"function": "act", "arguments": {"subtask": "x"}}
    )
    assert second == Event("answer", "r1", 2, second.time, {"answer": "42"})
    assert first.to_dict()["seq"] == 1 and dataclasses.replace(second) == second
