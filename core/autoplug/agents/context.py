"""What both agents share during one run: the model, guards, assets, events, checkpoints.

The dynamic agent and the static agent receive one :class:`RunContext`. Every
model call goes through :meth:`RunContext.complete`, which enforces the LLM-call
cap and the token and USD budgets by raising :class:`GuardStop`.
"""

from __future__ import annotations

import dataclasses
import inspect
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from ..errors import AutoplugError
from ..events import AGENT_OF_PURPOSE, Event
from ..llm import (
    ChatRequest,
    ChatResponse,
    FunctionCall,
    Message,
    Model,
    TextCallback,
    UsageTracker,
)
from ..safejson import clean_text, value_problem

_new_event = object.__new__
_now = time.time
_clock = time.perf_counter


class GuardStop(AutoplugError):
    """Raised when a guard ends the run (status ``stopped``); the message is the reason."""


class Checkpointer(Protocol):
    """Where a run's progress is saved so that ``resume`` never redoes finished work.

    ``act_no`` counts the dynamic agent's ``act`` decisions from 1.
    """

    def saved_plan(self, act_no: int) -> dict[str, Any] | None:
        """The accepted plan of act ``act_no`` (``{"steps": [...]}``), if saved."""
        ...

    def save_plan(self, act_no: int, plan: dict[str, Any]) -> None:
        """Save the accepted plan of act ``act_no``."""
        ...

    def finished_step(self, act_no: int, step_id: str) -> dict[str, Any] | None:
        """The record of a finished step (``{"status", "asset", "error", "kind"}``), if saved."""
        ...

    def save_step(self, act_no: int, step_id: str, record: dict[str, Any]) -> None:
        """Save a finished (succeeded, failed or skipped) step."""
        ...


class MemoryCheckpointer:
    """A :class:`Checkpointer` that keeps everything in dicts (tests; runs with no folder)."""

    def __init__(self) -> None:
        self.plans: dict[int, dict[str, Any]] = {}
        self.steps: dict[tuple[int, str], dict[str, Any]] = {}

    def saved_plan(self, act_no: int) -> dict[str, Any] | None:
        """The accepted plan of act ``act_no``, if saved."""
        return self.plans.get(act_no)

    def save_plan(self, act_no: int, plan: dict[str, Any]) -> None:
        """Keep the accepted plan of act ``act_no``."""
        self.plans[act_no] = plan

    def finished_step(self, act_no: int, step_id: str) -> dict[str, Any] | None:
        """The record of a finished step, if saved."""
        return self.steps.get((act_no, step_id))

    def save_step(self, act_no: int, step_id: str, record: dict[str, Any]) -> None:
        """Keep the record of a finished step."""
        self.steps[(act_no, step_id)] = record


def usable_response(response: ChatResponse) -> ChatResponse:
    """``response`` with every call the agents cannot use marked as malformed.

    A model object or provider may hand over arguments already parsed: nested
    too deep, holding a huge integer, a lone surrogate or a non-JSON value. Such a
    call keeps its name and gets ``error`` (so it is answered as a malformed
    call and counts as a turn); lone surrogates in text become U+FFFD, so the
    reply can be stored and sent back.
    """
    found = response.function_calls
    if len(found) == 1 and response.text is None:
        # The common reply, one call and no text: usable as it is when its arguments
        # are a usable JSON object and its name and raw text hold no lone surrogate
        # (ASCII cannot), which is what the loop below would find, at less cost.
        call = found[0]
        name, raw = call.name, call.raw_arguments
        if (
            not call.error
            and type(call.arguments) is dict
            and type(name) is str
            and name.isascii()
            and (raw is None or (type(raw) is str and raw.isascii()))
            and value_problem(call.arguments) is None
        ):
            return response
    calls = []
    changed = False
    for call in found:
        fixed = call
        problem = None if call.error else value_problem(call.arguments)
        if not isinstance(call.arguments, dict) and not call.error:
            problem = "they are not a JSON object"
        if problem is not None:
            fixed = FunctionCall(
                clean_text(str(call.name)),
                {},
                id=call.id,
                raw_arguments="{}",
                error=f"the arguments are not usable JSON: {problem}",
            )
        else:
            name, raw = clean_text(str(call.name)), call.raw_arguments
            raw = clean_text(raw) if isinstance(raw, str) else raw
            if name != call.name or raw != call.raw_arguments:
                fixed = dataclasses.replace(call, name=name, raw_arguments=raw)
        changed = changed or fixed is not call
        calls.append(fixed)
    text = clean_text(response.text) if isinstance(response.text, str) else response.text
    if not changed and text is response.text:
        return response
    return dataclasses.replace(response, text=text, function_calls=tuple(calls))


Approver = Callable[..., "bool | Awaitable[bool]"]


@dataclass(frozen=True)
class ApprovalRequest:
    """What an approver that takes a third argument is told about one call.

    :param tool: the :class:`autoplug.Tool` asking to run.
    :param args: its validated arguments.
    :param step: the plan step's id.
    :param team_role: the role of the child run asking (None outside a team).
    :param run_id: the run asking.
    """

    tool: Any
    args: dict[str, Any]
    step: str | None = None
    team_role: str | None = None
    run_id: str | None = None


def takes_request(approve: Any) -> bool:
    """Whether the approver callable accepts a third positional argument (the request)."""
    try:
        params = list(inspect.signature(approve).parameters.values())
    except (TypeError, ValueError):
        return False
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return len(positional) >= 3 or any(p.kind is p.VAR_POSITIONAL for p in params)


def approver_from(approve: Any) -> Approver:
    """An approval policy from ``True`` (approve all), ``False``/None (refuse all) or a callable.

    A callable takes ``(tool, args)``, or ``(tool, args, request)`` to also receive
    the :class:`ApprovalRequest` (step, team role).
    """
    if callable(approve):
        return approve
    # Shared functions, not a closure per run (one object fewer each run holds).
    return _approve_all if approve else _refuse_all


def _approve_all(tool: str, args: dict[str, Any]) -> bool:
    return True


def _refuse_all(tool: str, args: dict[str, Any]) -> bool:
    return False


@dataclass
class RunContext:
    """One run's shared state.

    :param kernel: the kernel (tools, config, hooks).
    :param model: the model every agent call goes to.
    :param assets: the run's :class:`autoplug.assets.AssetStore`.
    :param approve: decides whether a side-effect tool may run: ``approve(tool, args)``.
    :param checkpoint: where plans and finished steps are saved.
    :param sink: receives every event (the Auto writes the trace and calls hooks).
    :param store: the run's :class:`autoplug.runs.RunStore` (the dynamic agent saves
        its turns there), or None for a run kept in memory only.
    :param stream: ask the model to stream its text (to ``on_text``).
    :param output_schema: the :class:`autoplug.output.OutputSchema` the answer must
        match, or None for a text answer.
    :param output: the validated answer value, once the dynamic agent has one.
    :param role: the :class:`autoplug.Role` of a manager's child run (its
        instructions go into the system prompts), or None.
    """

    kernel: Any
    model: Model
    run_id: str | None
    task: str
    workspace: Path
    assets: Any
    approve: Approver = field(default=lambda tool, args: False)
    checkpoint: Checkpointer = field(default_factory=MemoryCheckpointer)
    sink: Callable[[Event], None] | None = None
    on_text: TextCallback | None = None
    usage: UsageTracker = field(default_factory=UsageTracker)
    limits: dict[str, Any] = field(default_factory=dict)
    store: Any = None
    stream: bool = False
    output_schema: Any = None
    output: Any = None
    role: Any = None
    _seq: int = 0

    def __post_init__(self) -> None:
        if not self.limits:
            self.limits = dict(self.kernel.config.limits)

    def emit(self, type_: str, **data: Any) -> Event:
        """Make an event of ``type_`` and give it to the sink."""
        self._seq += 1
        # ``Event(type_, run_id, seq, time, data)`` at a third of the cost (a run makes
        # several a step): the frozen dataclass's __init__ sets each field through
        # object.__setattr__; the same fields go straight into the new event's dict.
        event = _new_event(Event)
        fields = event.__dict__
        fields["type"] = type_
        fields["run_id"] = self.run_id
        fields["seq"] = self._seq
        fields["time"] = _now()
        fields["data"] = data
        if self.sink is not None:
            self.sink(event)
        return event

    async def is_approved(self, tool: Any, args: dict[str, Any], step: str | None = None) -> bool:
        """Ask the approval policy about one call of a side-effect tool (of plan step ``step``)."""
        if takes_request(self.approve):
            role = getattr(self.role, "name", None)
            request = ApprovalRequest(tool, args, step, role, self.run_id)
            answer = self.approve(tool, args, request)
        else:
            answer = self.approve(tool, args)
        if inspect.isawaitable(answer):
            answer = await answer
        return bool(answer)

    async def complete(self, request: ChatRequest, *, purpose: str) -> ChatResponse:
        """Send one request to the model, counting it against the guards.

        Raises :class:`GuardStop` before the call when the LLM-call cap is reached,
        and after it when the token or USD budget is exceeded.
        """
        limits, tracker = self.limits, self.usage
        cap = limits.get("llm_calls")
        if cap is not None and tracker.calls >= cap:
            raise GuardStop(f"llm_calls limit reached: {cap} model calls")
        if self.stream and not request.stream:
            # Streaming changes only how the reply arrives, not what is asked (nor its hash).
            request = dataclasses.replace(request, stream=True)
        model = self.model
        model_id = str(getattr(model, "model_id", "unknown"))
        started = _clock()
        response = usable_response(await model.complete(request, on_text=self.on_text))
        duration_s = round(_clock() - started, 6)
        used = response.usage
        tracker.add(model_id, used, self.kernel.config)
        event = self.emit(
            "llm_call",
            purpose=purpose,
            model=model_id,
            input_tokens=used.input_tokens,
            output_tokens=used.output_tokens,
            cached_input_tokens=used.cached_input_tokens,
            reasoning_tokens=used.reasoning_tokens,
            calls=tracker.calls,
            duration_s=duration_s,
        )
        if self.store is not None:
            self._record_exchange(event.seq, purpose, model_id, request, response, duration_s)
        max_tokens = limits.get("max_tokens")
        if max_tokens is not None and tracker.usage.total_tokens > max_tokens:
            raise GuardStop(
                f"max_tokens budget exceeded: {tracker.usage.total_tokens} > {max_tokens} tokens"
            )
        max_usd = limits.get("max_usd")
        if max_usd is not None and tracker.priced and tracker.usd > max_usd:
            raise GuardStop(f"max_usd budget exceeded: ${tracker.usd:.4f} > ${max_usd}")
        return response

    def _record_exchange(
        self,
        seq: int,
        purpose: str,
        model_id: str,
        request: ChatRequest,
        response: ChatResponse,
        duration_s: float,
    ) -> None:
        """Keep what the model was told and answered in the run's store (for the transcript)."""
        log = getattr(self.store, "exchanges", None)
        if log is None:  # a run with no folder, or a custom store
            return
        reply = Message("assistant", response.text, function_calls=response.function_calls)
        log.save(
            seq,
            agent=AGENT_OF_PURPOSE.get(purpose, purpose),
            model=model_id,
            messages=[m.to_dict() for m in request.messages],
            reply=reply.to_dict(),
            usage={
                "input_tokens": response.usage.input_tokens,
                "output_tokens": response.usage.output_tokens,
            },
            duration_s=duration_s,
        )
