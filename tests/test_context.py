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


# -- usable_response: the one-call reply's short path answers as the general one ------

from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from autoplug.agents.context import usable_response  # noqa: E402
from autoplug.llm import ChatResponse, FunctionCall  # noqa: E402

_DEEP: dict = {}
for _ in range(150):
    _DEEP = {"a": _DEEP}

hostile_or_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text()
    | st.sampled_from(range(5)).map(lambda i: ["\ud800", 10**5000, _DEEP, (1, 2), b"x"][i]),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=4), children, max_size=3)
    ),
    max_leaves=12,
)
names = st.text(max_size=6) | st.sampled_from(["final", "act\ud800", "é"])


@given(
    names,
    hostile_or_json,
    st.none() | st.text(max_size=6) | st.just("{\ud800"),
    st.none() | st.just("bad JSON"),
)
def test_a_one_call_reply_is_made_usable_as_any_other_reply(name, arguments, raw, error):
    call = FunctionCall(name, arguments, id="c1", raw_arguments=raw, error=error)
    response = ChatResponse(None, (call,))
    # With some text the reply takes the general path: the call must come out the same.
    general = usable_response(ChatResponse("", (call,))).function_calls
    short = usable_response(response)
    assert short.function_calls == general
    assert (short is response) == (general[0] is call)
    if error is None and (type(arguments) is not dict or "not usable" in str(general[0].error)):
        assert short.function_calls[0].error is not None  # a hostile value is never let through
