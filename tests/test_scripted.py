"""The scripted model's token estimate: one measure of each message, the same figures."""

from __future__ import annotations

import asyncio
import json

from hypothesis import given, settings
from hypothesis import strategies as st
from threads import in_busy_threads

from autoplug.agents.dynamic import DECIDE_FUNCTIONS
from autoplug.llm import ChatRequest, FunctionCall, Message
from autoplug.scripted import ScriptedModel

# Any text (non-ASCII, lone surrogates, quotes, control characters) and every kind of
# message a history holds: plain, a tool answer with its call id and name, a reply
# with calls (whose arguments the estimate writes with default=str).
texts = st.text(max_size=40)
calls = st.builds(
    FunctionCall,
    texts,
    st.dictionaries(texts, st.none() | st.integers() | texts | st.floats(), max_size=3),
    id=st.none() | texts,
)
messages = st.lists(
    st.builds(
        Message,
        st.sampled_from(["system", "user", "assistant", "tool"]),
        st.none() | texts,
        function_calls=st.just(()) | st.tuples(calls) | st.tuples(calls, calls),
        call_id=st.none() | texts,
        name=st.none() | texts,
        extra=st.just({}) | st.just({"m:x": {"reasoning_content": "r"}}),
    ),
    max_size=6,
)


def whole_serialization_estimate(request: ChatRequest) -> int:
    data = request.to_dict()
    text = json.dumps(data["messages"], default=str) + json.dumps(data["functions"], default=str)
    return max(1, len(text) // 4)


@settings(max_examples=80, deadline=None)
@given(st.lists(messages, min_size=1, max_size=4), st.booleans())
def test_the_prompt_estimate_equals_a_whole_serialization_as_the_history_grows(turns, offer):
    model = ScriptedModel(lambda request: "ok")
    history: list[Message] = []
    for added in turns:
        history = history + added  # the same message objects, request after request
        request = ChatRequest(messages=history, functions=DECIDE_FUNCTIONS if offer else ())
        response = asyncio.run(model.complete(request))
        assert response.usage.input_tokens == whole_serialization_estimate(request)


def whole_output_estimate(response) -> int:
    text = (response.text or "") + json.dumps(
        [c.to_dict() for c in response.function_calls], default=str
    )
    return max(1, len(text) // 4)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(messages, st.none() | texts, st.lists(calls, max_size=2)), max_size=5))
def test_replies_that_join_the_history_are_estimated_as_whole_serializations(turns):
    # Each reply comes back as the assistant message of the next request (its calls
    # measured once), and a request may add more messages after it, as a run does.
    replies = [(text or "", list(made)) if made else (text or "") for _, text, made in turns]
    model = ScriptedModel(replies)
    history: list[Message] = []
    for added, _, _ in turns:
        history += added
        request = ChatRequest(messages=tuple(history), functions=DECIDE_FUNCTIONS)
        response = asyncio.run(model.complete(request))
        assert response.usage.input_tokens == whole_serialization_estimate(request)
        assert response.usage.output_tokens == whole_output_estimate(response)
        history.append(response.message())


def test_a_history_that_is_not_the_last_one_continued_is_measured_anew():
    model = ScriptedModel(lambda request: "ok")
    first, second = Message("system", "s"), Message("user", "a" * 40)
    for messages in ([first, second], [first], [first, Message("user", "b")], [first, second]):
        request = ChatRequest(messages=tuple(messages))
        response = asyncio.run(model.complete(request))
        assert response.usage.input_tokens == whole_serialization_estimate(request)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.text(min_size=512, max_size=900), min_size=1, max_size=3))
def test_a_long_text_sent_again_in_new_messages_is_estimated_as_a_whole(catalogs):
    # The planner's system prompt: one string, in a new message for every plan.
    model = ScriptedModel(lambda request: "ok")
    for catalog in catalogs * 2:
        request = ChatRequest(messages=(Message("system", catalog), Message("user", "plan")))
        response = asyncio.run(model.complete(request))
        assert response.usage.input_tokens == whole_serialization_estimate(request)


keys = st.text(max_size=5) | st.integers() | st.floats() | st.booleans() | st.none()
values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(keys, children, max_size=3)
        | st.tuples(children)
    ),
    max_leaves=12,
)


@settings(max_examples=200, deadline=None)
@given(values)
def test_the_estimate_writes_what_json_dumps_writes(value):
    from autoplug.scripted import _dumps_for_estimate

    try:
        expected = json.dumps(value, default=str)
    except (ValueError, TypeError, RecursionError):
        expected = ""
    assert _dumps_for_estimate(value) == expected


def test_a_reply_whose_arguments_hold_a_cycle_is_estimated_without_its_calls():
    from autoplug.scripted import call

    looped: dict = {}
    looped["self"] = looped
    model = ScriptedModel([call("act", subtask="x", assets=[looped]), call("final", answer="ok")])
    first = asyncio.run(model.complete(ChatRequest(messages=(Message("user", "t"),))))
    assert first.usage.output_tokens == 1  # the calls count as nothing, as json.dumps fails
    second = asyncio.run(model.complete(ChatRequest(messages=(Message("user", "t"),))))
    assert second.usage.output_tokens == whole_output_estimate(second)  # the encoder still works


def test_a_history_is_measured_without_comparing_its_values():
    class Touchy(dict):
        def __eq__(self, other):  # an array-like value whose comparison raises
            raise ValueError("the truth value is ambiguous")

        __hash__ = None  # type: ignore[assignment]

    model = ScriptedModel(lambda request: "ok")
    first = Message("system", "s")
    for arguments in (Touchy(a=1), Touchy(a=1)):  # equal-looking, not the same object
        reply = Message("assistant", None, function_calls=(FunctionCall("f", arguments, id="c"),))
        request = ChatRequest(messages=(first, reply))
        response = asyncio.run(model.complete(request))
        assert response.usage.input_tokens == whole_serialization_estimate(request)


odd_texts = texts | st.sampled_from(["\ud800", 'q"\\', "\x7f\x00", "é" * 70, "call_0"])
single_calls = st.builds(
    FunctionCall,
    odd_texts,
    st.dictionaries(odd_texts, st.none() | st.integers() | odd_texts | st.floats(), max_size=3),
    id=st.none() | odd_texts,
    raw_arguments=st.none() | odd_texts,
    error=st.none() | odd_texts,
    extra=st.just(None) | st.just({"m:x": {"extra_content": "e"}}),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(single_calls, min_size=1, max_size=4))
def test_one_call_replies_are_estimated_as_whole_serializations(replies):
    # A FunctionCall reply takes the short path (its size written from its parts, its
    # name and id looked up once met); each comes back in the history of the next one.
    model = ScriptedModel(list(replies))
    history: list[Message] = [Message("user", "t")]
    for _ in replies:
        request = ChatRequest(messages=tuple(history), functions=DECIDE_FUNCTIONS)
        response = asyncio.run(model.complete(request))
        assert response.usage.input_tokens == whole_serialization_estimate(request)
        assert response.usage.output_tokens == whole_output_estimate(response)
        assert response.function_calls[0].id  # a call without an id gets one
        history.append(response.message())
        history.append(Message("tool", "done", call_id=response.function_calls[0].id, name="x"))


@settings(max_examples=120, deadline=None)
@given(
    messages.filter(bool),
    st.lists(
        st.tuples(
            st.sampled_from(["extend", "replace_last", "drop_last", "again", "anew"]), messages
        ),
        max_size=6,
    ),
    st.lists(st.sampled_from(["same", "copy", "other", "none"]), min_size=7, max_size=7),
)
def test_requests_that_replace_their_last_message_or_offer_the_same_functions_are_estimated_whole(
    first, changes, offers
):
    # A planning request is the same system message with a new prompt after it, and
    # offers the same tuple of functions; a run's other requests do anything else.
    model = ScriptedModel(lambda request: "ok")
    offered = DECIDE_FUNCTIONS
    history = tuple(first)
    for (change, added), offer in zip([("again", []), *changes], offers, strict=False):
        if change == "extend":
            history = history + tuple(added)
        elif change == "replace_last":
            history = history[:-1] + tuple(added)
        elif change == "drop_last":
            history = history[:-1]
        elif change == "anew":
            history = tuple(added)
        functions = {
            "same": offered,
            "copy": tuple(list(offered)),  # equal, not the same object
            "other": offered[1:],
            "none": (),
        }[offer]
        request = ChatRequest(messages=history, functions=functions)
        response = asyncio.run(model.complete(request))
        assert response.usage.input_tokens == whole_serialization_estimate(request)


def test_one_scripted_model_answers_requests_from_many_threads_at_once():
    # One model shared by runs in several threads (a kernel used from a thread pool):
    # the tables of what it measured are evicted by all of them at once, and no
    # request may fail for it, nor get another figure than a whole serialization.
    model = ScriptedModel(lambda request: FunctionCall("final", {"answer": "done"}))
    failures: list[str] = []
    wrong: list[int] = []

    async def one_runner(n: int) -> None:
        for i in range(1500):
            history = (Message("user", f"task {n}-{i}"), Message("assistant", "x" * 600))
            for turn in range(2):  # a history that grows, then a new one
                request = ChatRequest(messages=history, functions=DECIDE_FUNCTIONS)
                response = await model.complete(request)
                if response.usage.input_tokens != whole_serialization_estimate(request):
                    wrong.append(i)
                history = (*history, response.message(), Message("tool", "ok", call_id=f"c{turn}"))

    def runner(n: int) -> None:
        try:
            asyncio.run(one_runner(n))
        except Exception as exc:  # what a run would have failed with
            failures.append(repr(exc))

    in_busy_threads(runner, 4)
    assert failures == [] and wrong == []


@settings(max_examples=80, deadline=None)
@given(
    st.lists(single_calls, min_size=1, max_size=3),
    st.lists(
        st.tuples(
            st.sampled_from(["append", "replace", "insert", "delete"]), messages, st.integers()
        ),
        max_size=6,
    ),
)
def test_the_estimate_kept_on_messages_and_calls_equals_a_whole_serialization(replies, edits):
    # The same scripted call objects serve two models (a script reused run after run:
    # the size kept on a call must fit the copy that gets an id), and one history list
    # is changed in place between requests: appended, replaced, inserted into, cut.
    history: list[Message] = [Message("system", "é" * 80), Message("user", "t")]
    for _ in range(2):
        model = ScriptedModel(list(replies))
        for index, reply in enumerate(replies):
            change, added, where = edits[index % len(edits)] if edits else ("append", [], 0)
            at = where % (len(history) + 1)
            if change == "append":
                history.extend(added)
            elif change == "replace" and history:
                history[at % len(history)] = added[0] if added else Message("user", "r")
            elif change == "insert":
                history[at:at] = added
            elif change == "delete" and len(history) > 1:
                del history[at % len(history)]
            request = ChatRequest(messages=history, functions=DECIDE_FUNCTIONS)
            response = asyncio.run(model.complete(request))
            assert response.usage.input_tokens == whole_serialization_estimate(request)
            assert response.usage.output_tokens == whole_output_estimate(response)
            assert reply.id or response.function_calls[0].id == "call_0"
            history.append(response.message())
            history.append(Message("tool", "ü done", call_id=response.function_calls[0].id))
