"""Execution: the steps of a checked plan, in dependency order, concurrently where they can.

Each step waits for the steps that produce the assets it reads, then takes a
slot of the ``concurrency`` semaphore (waiting steps hold none), resolves its
``$asset`` references (RFC 6901 pointers into JSON assets), has its ``$fill``
arguments written by the model, asks for approval when its tool has side
effects, and calls the tool through the one door with a timeout. A success is
stored as the step's output asset; a failure fails the step; a step whose input
was never produced is skipped with a reason naming the missing asset. Every
finished step is checkpointed, and a step already checkpointed is not run again.
"""

from __future__ import annotations

import asyncio
import contextvars
import time
from typing import Any

from ..tools import CallContext, ToolResult, _call_context
from .fill import fill_arguments
from .plan_checks import PlanAnalysis, StepInfo
from .steps import AssetReferenceError, StepOutcome, _InContext, _succeeded, resolve_pointer

__all__ = ["AssetReferenceError", "Executor", "StepOutcome", "resolve_pointer"]


class Executor:
    """Runs the steps of one accepted plan of act ``act_no`` and returns their outcomes."""

    def __init__(self, ctx: Any, subtask: str, act_no: int, analysis: PlanAnalysis) -> None:
        self.ctx = ctx
        self.subtask = subtask
        self.act_no = act_no
        self.steps = analysis.steps
        self.outcomes: dict[str, StepOutcome] = {}
        # Made only for a step some other step waits for (most steps finish inline first).
        self._done: dict[str, asyncio.Event] = {}
        # The ``concurrency`` semaphore, made when a step's task first needs a slot (a
        # step run inline to its end needs none): see _slots.
        self._semaphore: asyncio.Semaphore | None = None
        # Slots held with no semaphore made yet: an inline step whose tool suspended
        # (see _finish_later); a semaphore made meanwhile starts with that many fewer.
        self._held = 0
        self._tools = ctx.kernel.tools

    @property
    def _slots(self) -> asyncio.Semaphore:
        """The ``concurrency`` semaphore the steps' tasks share (made on first use)."""
        semaphore = self._semaphore
        if semaphore is None:
            limit = max(1, int(self.ctx.limits.get("concurrency", 4)))
            semaphore = self._semaphore = asyncio.Semaphore(limit - self._held)
        return semaphore

    async def run(self) -> list[StepOutcome]:
        """Run every step; the outcomes in plan order. Lets GuardStop and cancellation through.

        The steps start in plan order, each as a task of its own, except that while
        every step before it has finished, a step with no ``$fill`` and no approval
        to ask runs inline (:meth:`_inline`): no task, and no turn of the event loop
        if its tool answers at once. One whose tool suspends (an async tool that
        awaits, a sync tool's worker thread) goes on where it started, in this task
        (a timer or cancel scope its tool entered belongs to this task), in its own
        context. When every step left must wait for it (a chain), it is awaited
        here and the next step starts inline in the turn it finished in: its
        ``step_started`` goes to the trace in the same write as the previous
        step's end. Otherwise every later step is a task, so independent steps
        still run concurrently up to ``concurrency``, started in the same order.
        """
        tasks: list[asyncio.Task[None]] = []
        here: _InContext | None = None
        blocked: list[int] | None = None
        try:
            for index, step in enumerate(self.steps):
                if not tasks and here is not None:
                    if blocked is None:
                        blocked = self._blocked_from()
                    if blocked[index] >= index - 1:
                        # Every step left reads an asset the suspended step (just before
                        # this one) or a later one makes: as tasks they would only wait
                        # for it. Finish it here, then go on inline in the same turn.
                        await here
                        here = None
                if not tasks and here is None:
                    # In a copy of the context, as a task of its own would run it.
                    context = contextvars.copy_context()
                    later = context.run(self._inline, step)
                    if later is None:
                        continue  # finished here
                    if later is not False:
                        here = _InContext(later, context)
                        continue
                tasks.append(asyncio.create_task(self._one(step)))
            if here is not None:
                await self._finish_here(here, tasks)
            if tasks:
                await asyncio.gather(*tasks)
        except BaseException:
            # One step hit a guard (or the run was cancelled): stop the others too.
            if here is not None:
                here.close()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise
        outcomes = self.outcomes
        ordered = []
        for step in self.steps:  # a loop: a comprehension is one more call on 3.11
            ordered.append(outcomes[step.id])
        return ordered

    def _blocked_from(self) -> list[int]:
        """For each position ``i``: the least, over the steps from ``i`` on, of the latest
        plan position among a step's producers (-1 for a step that reads no asset).

        While the steps before ``i - 1`` have finished and step ``i - 1`` is suspended,
        a value of at least ``i - 1`` says that no step from ``i`` on can start before
        step ``i - 1`` finishes (each waits for it or for a step not yet started).
        """
        steps = self.steps
        position = {step.id: n for n, step in enumerate(steps)}
        least = [len(steps)] * (len(steps) + 1)
        for n in range(len(steps) - 1, -1, -1):
            deps = steps[n].deps
            latest = max((position.get(p, -1) for p in deps.values()), default=-1)
            least[n] = min(least[n + 1], latest)
        return least

    async def _finish_here(self, here: _InContext, tasks: list[asyncio.Task[None]]) -> None:
        """Await the suspended inline step in this task while the later steps run.

        A later step's task that fails (a guard) stops it at once, as ``gather``
        stops waiting at the first failure: this task is cancelled, and the
        failure raised in its place.
        """
        me = asyncio.current_task()
        if not tasks or me is None:
            await here
            return
        failed: list[BaseException] = []
        over = [False]  # set once this wait is over

        def watch(task: asyncio.Task[None]) -> None:
            # A callback queued in the loop pass in which ``here`` finished still runs
            # after the wait is over (removing it cannot unqueue it): it must not cancel
            # this task then; the failure reaches the caller through ``gather``.
            if over[0] or failed or task.cancelled() or task.exception() is None:
                return
            failed.append(task.exception())  # type: ignore[arg-type]
            me.cancel()

        for task in tasks:
            task.add_done_callback(watch)
        try:
            await here
        except asyncio.CancelledError:
            if not failed:
                raise  # the run's own cancellation
        finally:
            over[0] = True
            for task in tasks:
                task.remove_done_callback(watch)
        if failed:
            me.uncancel()
            raise failed[0]

    async def _one(self, info: StepInfo) -> None:
        for producer in dict.fromkeys(info.deps.values()):
            if producer not in self.outcomes:
                done = self._done.get(producer)
                if done is None:
                    done = self._done[producer] = asyncio.Event()
                await done.wait()
        outcome = self._from_checkpoint(info)
        if outcome is None:
            outcome = self._skip_if_missing(info)
            if outcome is None:
                async with self._slots:
                    outcome = await self._execute(info)
            self.ctx.checkpoint.save_step(self.act_no, info.id, outcome.record())
        self._record(info, outcome)

    def _record(self, info: StepInfo, outcome: StepOutcome) -> None:
        """Keep the step's outcome and wake the steps waiting for it."""
        self.outcomes[info.id] = outcome
        done = self._done.get(info.id)
        if done is not None:
            done.set()

    def _inline(self, info: StepInfo) -> Any:
        """Run step ``info`` here, with no task, when it can finish without waiting.

        Called only when every earlier step has finished, so no slot is taken.
        None: it finished. False: it may wait before its tool runs (for a later
        step's asset, a ``$fill``, an approval), so it runs as a task from the
        start. Else the coroutine that finishes it (its async tool suspended, or
        its sync tool is to run in a worker thread), to await in the same task: it
        takes a slot before waiting, as the step's own task would have held one.
        """
        tool = info.tool
        if info.fills or (tool.side_effects and not tool.auto_approve):
            return False
        outcomes = self.outcomes
        deps = info.deps
        if deps:
            for producer in deps.values():
                if producer not in outcomes:
                    return False  # a later step of the plan makes what it reads: it waits
        outcome = self._from_checkpoint(info)
        if outcome is None:
            outcome = self._skip_if_missing(info) if deps else None
            if outcome is None:
                begun = self._begin(info)
                if type(begun) is not StepOutcome:
                    return self._finish_later(info, *begun)
                outcome = begun
            self.ctx.checkpoint.save_step(self.act_no, info.id, outcome.record())
        outcomes[info.id] = outcome  # as _record, with no step waiting for this one yet
        if self._done:
            self._record(info, outcome)
        return None

    async def _finish_later(self, info: StepInfo, later: Any, started: float) -> None:
        """The rest of a step :meth:`_inline` began whose tool suspended.

        It holds a ``concurrency`` slot while it waits, as its own task would. While
        no step's task has made the semaphore (a chain: the common plan), the slot is
        only counted (``_held``), not taken through a semaphore: a semaphore made
        while this step waits starts with one slot fewer and gets it back at its end.
        """
        semaphore = self._semaphore
        if semaphore is not None:
            async with semaphore:
                outcome = self._finish(info, await later.result(), started)
        else:
            self._held += 1
            try:
                outcome = self._finish(info, await later.result(), started)
            finally:
                self._held -= 1
                if self._semaphore is not None:
                    self._semaphore.release()  # the slot the semaphore was made without
        self.ctx.checkpoint.save_step(self.act_no, info.id, outcome.record())
        self._record(info, outcome)

    def _from_checkpoint(self, info: StepInfo) -> StepOutcome | None:
        """The outcome an earlier attempt of this run saved, when it still holds.

        A success counts while its asset exists; one whose asset file is gone runs
        again if its tool has no side effects, else fails ``asset_lost`` (and so do
        the steps that need it). A failure counts unless it was a refused approval (resuming with approval should be able to run it). A skip
        is always worked out again: the step it waited for may succeed this time.
        """
        record = self.ctx.checkpoint.finished_step(self.act_no, info.id)
        if not record:
            return None
        status = record.get("status")
        if status == "succeeded" and record.get("asset") in self.ctx.assets:
            outcome = StepOutcome(info.id, info.model_name, status, asset=record["asset"])
        elif status == "succeeded" and info.tool.side_effects:
            # Its asset file is gone, and running it again would repeat its side effect.
            outcome = StepOutcome(
                info.id,
                info.model_name,
                "failed",
                error=f"asset lost: asset {record.get('asset')!r} of step {info.id!r} is gone "
                f"from the run's folder; its tool {info.model_name!r} has side effects, so "
                "the step is not run again",
                kind="asset_lost",
            )
        elif status == "failed" and record.get("kind") != "refused":
            outcome = StepOutcome(
                info.id, info.model_name, status, error=record.get("error"), kind=record.get("kind")
            )
        else:
            return None
        self._emit_end(outcome, duration_s=0.0, resumed=True)
        return outcome

    def _skip_if_missing(self, info: StepInfo) -> StepOutcome | None:
        if not info.deps:
            return None  # it reads no other step's asset
        lost = [
            f"needs asset {asset!r} of step {producer!r}, whose file is gone"
            for asset, producer in info.deps.items()
            if self.outcomes[producer].kind == "asset_lost"
        ]
        if lost:
            return self._fail(info, "asset lost: " + "; ".join(lost), "asset_lost")
        missing = [
            f"needs asset {asset!r}, which step {producer!r} did not produce "
            f"(it {self.outcomes[producer].status})"
            for asset, producer in info.deps.items()
            if self.outcomes[producer].status != "succeeded"
        ]
        if not missing:
            return None
        outcome = StepOutcome(info.id, info.model_name, "skipped", error="; ".join(missing))
        self._emit_end(outcome)
        return outcome

    def _emit_end(self, outcome: StepOutcome, duration_s: float = 0.0, **extra: Any) -> None:
        emit = self.ctx.emit
        if outcome.status == "succeeded":
            emit(
                "step_finished",
                step=outcome.step,
                tool=outcome.tool,
                asset=outcome.asset,
                duration_s=round(duration_s, 6),
                **extra,
            )
        elif outcome.status == "failed":
            emit(
                "step_failed",
                step=outcome.step,
                tool=outcome.tool,
                error=outcome.error,
                kind=outcome.kind,
                **extra,
            )
        else:
            emit(
                "step_skipped", step=outcome.step, tool=outcome.tool, reason=outcome.error, **extra
            )

    def _fail(self, info: StepInfo, error: str, kind: str | None) -> StepOutcome:
        outcome = StepOutcome(info.id, info.model_name, "failed", error=error, kind=kind)
        self._emit_end(outcome)
        return outcome

    def _resolve(self, name: str, pointer: str) -> Any:
        try:
            asset = self.ctx.assets.get(name)
        except KeyError as exc:
            raise AssetReferenceError(str(exc.args[0])) from None
        if not pointer:
            return asset.value
        if asset.type != "json":
            raise AssetReferenceError(
                f"asset {name!r} is {asset.type}; a path {pointer!r} needs a JSON asset"
            )
        try:
            return resolve_pointer(asset.value, pointer)
        except AssetReferenceError as exc:
            raise AssetReferenceError(f"asset {name!r} has nothing at {pointer!r}: {exc}") from None

    def _arguments(self, info: StepInfo) -> dict[str, Any] | StepOutcome:
        """The step's literal and resolved ``$asset`` arguments (``$fill`` ones left out),
        or its failed outcome when a reference does not resolve."""
        refs = info.refs
        if not refs and not info.fills:
            return dict(info.args)  # every argument a literal: the common step
        args: dict[str, Any] = {}
        for key, value in info.args.items():
            if key in info.fills:
                continue
            if key in refs:
                try:
                    args[key] = self._resolve(*refs[key])
                except AssetReferenceError as exc:
                    return self._fail(info, f"step {info.id!r} argument {key!r}: {exc}", "asset")
            else:
                args[key] = value
        return args

    def _context(self, info: StepInfo, approved: bool) -> CallContext:
        """The step's call context; ``home`` set here, so the door need not copy it."""
        ctx = self.ctx
        return _call_context(ctx.run_id, info.id, ctx.workspace, approved, self._tools.home)

    def _timeout(self, info: StepInfo) -> Any:
        # A tool's own declared timeout knows its work best; otherwise the run's limit.
        tool = info.tool
        return tool.timeout if tool.timeout is not None else self.ctx.limits.get("tool_timeout_s")

    def _begin(self, info: StepInfo) -> StepOutcome | tuple[Any, float]:
        """An inline step up to its tool's first suspension: its outcome, or what is left.

        Only for a step with no ``$fill`` and no approval to ask (see :meth:`_inline`).
        """
        ctx, tools, tool = self.ctx, self._tools, info.tool
        # _open, _context and _timeout, written out: one step of every act comes here.
        started = time.perf_counter()
        ctx.emit("step_started", step=info.id, tool=info.model_name, args=info.args)
        if info.refs:
            args = self._arguments(info)
            if type(args) is StepOutcome:
                return args
        else:
            args = dict(info.args)  # every argument a literal (no $fill comes here)
        context = _call_context(ctx.run_id, info.id, ctx.workspace, False, tools.home)
        limit = tool.timeout if tool.timeout is not None else ctx.limits.get("tool_timeout_s")
        begun = tools._start(info.model_name, args, context, limit)
        if isinstance(begun, ToolResult):
            return self._finish(info, begun, started)
        return begun, started

    def _open(self, info: StepInfo) -> tuple[float, Any]:
        """A step's start: its clock, its ``step_started`` event, its resolved arguments
        (or the outcome of a step whose references do not resolve)."""
        started = time.perf_counter()
        self.ctx.emit("step_started", step=info.id, tool=info.model_name, args=info.args)
        return started, self._arguments(info)

    async def _execute(self, info: StepInfo) -> StepOutcome:
        ctx = self.ctx
        started, args = self._open(info)
        if type(args) is StepOutcome:
            return args
        if info.fills:
            filled, error = await fill_arguments(ctx, self.subtask, info, args)
            if filled is None:
                return self._fail(info, str(error), "fill")
            args = filled
        tool = info.tool
        approved = False
        if tool.side_effects and not tool.auto_approve:
            approved = await ctx.is_approved(tool, args, info.id)
            ctx.emit(
                "approval_asked", step=info.id, tool=info.model_name, args=args, approved=approved
            )
        context = self._context(info, approved)
        result = await ctx.kernel.tools.acall(
            info.model_name, args, context=context, timeout=self._timeout(info)
        )
        return self._finish(info, result, started)

    def _finish(self, info: StepInfo, result: ToolResult, started: float) -> StepOutcome:
        """The step's outcome from its call's result: its assets stored, its events emitted."""
        ctx = self.ctx
        tool = info.tool
        if not result.ok:
            if result.kind == "timeout" and not tool.is_async:
                # Python cannot stop a thread: the trace says this one was left running.
                outcome = StepOutcome(
                    info.id, info.model_name, "failed", error=str(result.error), kind="timeout"
                )
                self._emit_end(outcome, abandoned=True)
                return outcome
            return self._fail(info, str(result.error), result.kind)
        # Extra outputs (a ToolOutput's, e.g. an MCP result's images) sit beside the value.
        outputs = [(info.output, result.value)]
        if result.assets:
            outputs += [(f"{info.output}.{name}", value) for name, value in result.assets]
        for name, value in outputs:
            try:
                asset = ctx.assets.put(name, value, step=info.id, tool=info.model_name)
            except (OSError, ValueError) as exc:
                # An OSError's text names the file: an absolute path into the run's folder
                # (with its run id), which must not reach a prompt.
                why = (exc.strerror or type(exc).__name__) if isinstance(exc, OSError) else str(exc)
                return self._fail(
                    info, f"step {info.id!r}: could not store asset {name!r}: {why}", "asset"
                )
            # The preview lets the trace keep every version of a name, also one replaced later.
            ctx.emit(
                "asset_stored",
                name=asset.name,
                step=info.id,
                tool=info.model_name,
                type=asset.type,
                size=asset.size,
                preview=asset.preview(),
            )
        # _emit_end's event of a success, written out.
        ctx.emit(
            "step_finished",
            step=info.id,
            tool=info.model_name,
            asset=info.output,
            duration_s=round(time.perf_counter() - started, 6),
        )
        return _succeeded(info.id, info.model_name, info.output)
