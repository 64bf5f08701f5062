"""The Auto base class and RunResult: one run's life around the agents.

See :mod:`autoplug.autos` for how to write an Auto and the functions that run one.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Set
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from .agents.context import GuardStop, RunContext, approver_from
from .auto_memory import MemoryUse, ModelWatch
from .errors import AutoplugError, UsageError
from .events import Event
from .llm import Usage

EventCallback = Callable[[Event], None]


@dataclass
class RunResult:
    """How a run ended: its id, status, answer, the reason it did not succeed, assets, usage.

    ``output`` is the validated answer of a run with an output schema (the model
    instance when the schema was a pydantic model class; ``answer`` is then its
    JSON text), None otherwise.
    """

    run_id: str | None
    status: str
    answer: str | None
    reason: str | None
    assets: list[dict[str, Any]]
    usage: dict[str, Any]
    output: Any = None

    def to_dict(self) -> dict[str, Any]:
        """The ``autoplug run --json`` object: run_id, status, answer, output, reason, assets, usage."""
        output = self.output
        if hasattr(output, "model_dump"):  # a pydantic model instance
            output = output.model_dump(mode="json")
        return {
            "run_id": self.run_id,
            "status": self.status,
            "answer": self.answer,
            "output": output,
            "reason": self.reason,
            "assets": self.assets,
            "usage": self.usage,
        }


def resolve_workspace(workspace: Path | str | None) -> Path:
    """The run's workspace folder (default: the current directory); UsageError if not a folder."""
    if workspace is None:
        import os

        # The current directory's Path is made again only when it has changed.
        cwd = os.getcwd()
        if _CWD and _CWD[0] == cwd:
            return _CWD[1]
        path = Path(cwd)
        _CWD[:] = (cwd, path)
        return path
    path = Path(workspace).expanduser().resolve()
    if not path.is_dir():
        raise UsageError(f"workspace {str(workspace)!r} is not a folder")
    return path


#: The assets a new run had before it began: none (one shared empty set, not one a run).
_NO_ASSETS: frozenset[str] = frozenset()

#: The last current directory's text and Path (:func:`resolve_workspace`).
_CWD: list[Any] = []


class _Sink:
    """A run's event sink: :meth:`Auto.deliver` to its store (one object, not a closure)."""

    __slots__ = ("auto", "store")

    def __init__(self, auto: Auto, store: Any) -> None:
        self.auto, self.store = auto, store

    def __call__(self, event: Event) -> None:
        self.auto.deliver(self.store, event)


class Auto(MemoryUse):
    """Base of every Auto. A subclass sets the class attribute ``name`` and a docstring.

    It usually overrides only :meth:`solve` (what happens between the start and
    the end of a run), and :meth:`resume` when it does not use the dynamic agent.

    :param kernel: the kernel (tools, models, hooks, home).
    :param model: a model id or a Model; None takes the default model.
    :param approve: True, False (refuse side-effect tools) or ``approve(tool, args)``.
    :param record: a cassette path: record every model exchange there.
    :param workspace: the folder file tools work in (default: current directory).
    :param on_text: called with streamed model text.
    :param stream: ask the model to stream its text (also on when ``on_text`` is given).
    :param on_event: called with every event, after the trace and the hooks.
    :param memory: False for a run that neither recalls nor stores memories
        (``--no-memory``); recording and replaying runs never touch memory.
    :param output_schema: a JSON Schema dict or a pydantic model class the answer
        must match (DESIGN "Structured output"); checked here, before any run exists.
    :param persist: False for a run with no run folder (a run id and events, nothing
        to list or resume; :class:`autoplug.runs.MemoryRunStore`).
    """

    name: ClassVar[str] = ""
    #: Whether a replay says on stderr which tools it offers (a manager's children do not).
    announces_replay: ClassVar[bool] = True

    def __init__(
        self,
        kernel: Any,
        *,
        model: Any = None,
        approve: Any = False,
        record: Path | str | None = None,
        workspace: Path | str | None = None,
        on_text: Callable[[str], None] | None = None,
        stream: bool = False,
        on_event: EventCallback | None = None,
        memory: bool = True,
        output_schema: Any = None,
        persist: bool = True,
    ) -> None:
        from .catalog import KernelView, catalog_entries, replay_catalog
        from .memory import check_memory_config
        from .output import output_schema_from

        self.kernel = kernel
        self.output_schema = output_schema_from(output_schema)
        self.model = kernel.model(model)
        self._owns_model = model is None or isinstance(model, str)  # built here: closed here
        check_memory_config(kernel)  # a bad [memory] setting is bad usage, before any run exists
        self._check_budget()
        # What the agents see: the kernel, or for a replay the kernel with the recorded catalog.
        self.run_kernel: Any = kernel
        recorded = getattr(self.model, "catalog", None)
        if self.model_id.startswith("replay:") and isinstance(recorded, list):
            where = self.model_id.removeprefix("replay:")
            chosen = replay_catalog(kernel.tools, recorded, where)
            self.run_kernel = KernelView(kernel, chosen.tools)
            if self.announces_replay:
                print(f"autoplug: {chosen.note(where)}", file=sys.stderr)
        if record is not None:
            catalog = catalog_entries(self.run_kernel.tools)
            self.model = kernel.models.recording(self.model, Path(record), catalog)
        # A recorded run must replay in any home: memories recalled into its first prompt
        # would be missing there, and what it stored would change the next recording.
        self.use_memory = memory and record is None and not self.model_id.startswith("replay:")
        self.workspace = resolve_workspace(workspace)
        self.approve = approver_from(approve)
        self.on_text = on_text
        self.stream = stream or on_text is not None
        self.on_event = on_event
        self.persist = persist
        self._memory: Any = False  # False: not opened yet; None: no memory configured

    def _check_budget(self) -> None:
        """A USD budget needs a price: without one it could never stop the run."""
        max_usd = self.kernel.config.limits.get("max_usd")
        if max_usd is None:
            return
        from .prices import find_price, how_to_price

        if find_price(self.model_id, self.kernel.config) is None:
            raise UsageError(
                f"[limits] max_usd = {max_usd} is set but model {self.model_id!r} has no price; "
                + how_to_price(self.model_id, self.kernel.config)
            )

    @property
    def model_id(self) -> str:
        """The model's ``provider:model`` id."""
        return str(getattr(self.model, "model_id", type(self.model).__name__))

    # -- what a subclass overrides -------------------------------------------------

    async def solve(self, ctx: RunContext, memories: str) -> tuple[str, str | None, str | None]:
        """Work on ``ctx.task``; return ``(status, answer, reason)``.

        The default runs the dynamic agent over :meth:`static_agent`. ``memories``
        is the recalled memories as prompt text ("" when none).
        """
        from .agents.dynamic import DynamicAgent

        return await DynamicAgent(ctx, self.static_agent(ctx), memories=memories).run()

    async def resume(
        self, ctx: RunContext, records: list[dict[str, Any]]
    ) -> tuple[str, str | None, str | None]:
        """Continue an interrupted run from its saved turns; the default continues the dynamic agent."""
        from .agents.dynamic import DynamicAgent, history_from_records

        if not records:
            return await self.solve(ctx, await self.recall(ctx, ctx.task))
        agent = DynamicAgent(
            ctx,
            self.static_agent(ctx),
            history=history_from_records(records),
            resumed=records,
        )
        return await agent.run()

    def static_agent(self, ctx: RunContext) -> Any:
        """The static agent that carries out ``act`` decisions."""
        from .agents.static import StaticAgent

        return StaticAgent(ctx)

    # -- running -----------------------------------------------------------------

    async def arun(self, task: str) -> RunResult:
        """Run ``task`` to its end in a new run folder and return the result."""
        if not isinstance(task, str) or not task.strip():
            raise UsageError("the task must be a non-empty string")
        ctx = self.open_run(task)
        return await self._drive(ctx, None, task, _NO_ASSETS)

    async def aresume(self, store: Any) -> RunResult:
        """Continue the interrupted run kept in ``store`` (an open RunStore)."""
        from .assets import AssetStore
        from .output import OutputSchema, saved_schema

        info = store.info()
        records = store.decisions()
        saved = saved_schema(store.folder)
        if saved is not None and (self.output_schema is None or self.output_schema.schema != saved):
            self.output_schema = OutputSchema(saved)  # the run's own schema: resume keeps it
        ctx = self.context(
            store, info["task"], AssetStore.load(store.assets_dir, log=store.asset_log)
        )
        events = store.events()
        # After the journal's model calls too: a kill may have cut the trace's last turn.
        calls = store.exchanges.calls()
        ctx._seq = max(max((e.get("seq") or 0 for e in events), default=0), max(calls, default=0))
        # The guards count the whole run: the model calls made before the interruption too.
        for event in events:
            if event.get("type") == "llm_call":
                data = event.get("data") or {}
                used = Usage.from_dict({k: v or 0 for k, v in data.items() if "tokens" in k})
                ctx.usage.add(info["model"], used, self.kernel.config)
        store.set_status("running")
        ctx.emit(
            "run_resumed",
            decisions=len(records),
            acts=sum(1 for r in records if r.get("act_no") is not None),
            assets=ctx.assets.names(),
        )
        return await self._drive(
            ctx, self.resume(ctx, records), info["task"], set(ctx.assets.names())
        )

    async def _drive(
        self, ctx: RunContext, work: Any | None, task: str, before: Set[str]
    ) -> RunResult:
        """Await ``work`` (None: recall, then :meth:`solve` the task) and finish the run.

        A new run's work is done here rather than in a coroutine of its own: each
        coroutine and closure a live run holds is traversed by every collection of
        the garbage collector while it lives (a thousand runs at once).
        """
        import asyncio  # here, not at import: plugin loading must stay fast

        try:
            if work is None:
                status, answer, reason = await self.solve(ctx, await self.recall(ctx, task))
            else:
                status, answer, reason = await work
        except (asyncio.CancelledError, KeyboardInterrupt):
            self.finish(ctx, "interrupted", None, "interrupted by the user")
            raise
        except GuardStop as exc:  # a guard hit outside the dynamic agent (a custom Auto)
            status, answer, reason = "stopped", None, str(exc)
        except AutoplugError as exc:
            status, answer, reason = "failed", None, str(exc)
        except Exception as exc:
            # A bug, not a user error: record it, then let it surface.
            self.finish(ctx, "failed", None, f"internal error: {type(exc).__name__}: {exc}")
            raise
        await self.remember(ctx, task, status, answer, reason, before)
        return self.finish(ctx, status, answer, reason)

    def open_run(self, task: str) -> RunContext:
        """Create the run's folder and context, and emit ``run_started``."""
        from .assets import AssetStore

        auto = self.name or type(self).__name__
        if not self.persist:
            from .runs.memory_store import MemoryRunStore

            store: Any = MemoryRunStore(
                task=task, model=self.model_id, auto=auto, workspace=str(self.workspace)
            )
        else:
            from .runs import RunStore

            store = RunStore.create(
                self.kernel.home,
                task=task,
                model=self.model_id,
                auto=auto,
                workspace=self.workspace,
            )
        if self.output_schema is not None and store.folder is not None:
            from .output import save_schema

            save_schema(store.folder, self.output_schema.schema)
        ctx = self.context(store, task, AssetStore(store.assets_dir, log=store.asset_log))
        ctx.emit(
            "run_started",
            task=task,
            model=self.model_id,
            auto=self.name,
            workspace=str(self.workspace),
        )
        return ctx

    def context(self, store: Any, task: str, assets: Any) -> RunContext:
        """The RunContext of a run kept in ``store``; its events go to :meth:`deliver`."""
        ctx = RunContext(
            kernel=self.run_kernel,
            model=ModelWatch(self.model),
            run_id=store.run_id,
            task=task,
            workspace=self.workspace,
            assets=assets,
            approve=self.approve,
            checkpoint=store.checkpoint,
            on_text=self.on_text,
            store=store,
            stream=self.stream,
            output_schema=self.output_schema,
        )
        ctx.sink = _Sink(self, store)
        return ctx

    def deliver(self, store: Any, event: Event) -> None:
        """Write ``event`` to the trace, then give it to the hooks and ``on_event``.

        The trace's lines wait for the end of the loop's turn (:mod:`.runs.writer`)
        only while nobody is told: an observer (``on_event``, a plugin's ``on_event``
        hook) may read the run's folder, so the event is on disk before it is told.
        """
        store.append_event(event)
        if event.type == "llm_call":
            self.model_answered()
        kernel, on_event = self.kernel, self.on_event
        # pluggy's live list of on_event implementations, read here: with nobody told
        # (the common run) an event costs no call beyond the store's.
        told = kernel._event_live
        if told is None:
            told = kernel._observes_events()
        if on_event is None and not told:
            return
        flush = getattr(store, "flush", None)  # a store with no waiting lines has none
        if flush is not None:
            flush()
        if told:
            kernel.emit(event)
        if on_event is not None:
            try:
                on_event(event)
            except Exception as exc:  # an observer's bug must not break the run
                print(f"autoplug: event observer failed: {exc!r}", file=sys.stderr)

    def finish(
        self,
        ctx: RunContext,
        status: str,
        answer: str | None,
        reason: str | None,
        usage: dict[str, Any] | None = None,
    ) -> RunResult:
        """Record the end of the run, emit ``run_finished``, close the store; the result."""
        usage = usage if usage is not None else ctx.usage.to_dict()
        try:
            ctx.store.set_status(status, reason=reason, answer=answer, usage=usage)
            ctx.emit("run_finished", status=status, reason=reason, answer=answer, usage=usage)
        finally:
            # Closed even when a write fails (an earlier turn's trace line, raised here):
            # the ended run's claim must not outlive it in a process that goes on.
            ctx.store.close()
        return self.result(ctx, status, answer, reason, usage)

    def result(
        self,
        ctx: RunContext,
        status: str,
        answer: str | None,
        reason: str | None,
        usage: dict[str, Any],
    ) -> RunResult:
        """A RunResult with the run's assets (and its validated output, when it has a schema).

        A run with no folder has nowhere to read its assets from later: each entry
        then carries the asset's ``value`` too.
        """
        keep = ctx.store is not None and getattr(ctx.store, "folder", True) is None
        assets = [
            {**a.to_dict(), "value": a.value} if keep else a.to_dict() for a in ctx.assets.all()
        ]
        output = None
        if status == "succeeded" and ctx.output_schema is not None and answer is not None:
            import json

            output = ctx.output_schema.value(
                ctx.output if ctx.output is not None else json.loads(answer)
            )
        return RunResult(ctx.run_id, status, answer, reason, assets, usage, output)

    async def release(self) -> None:
        """Close the model's connections if this Auto built the model (from an id)."""
        if not self._owns_model:
            return
        for holder in (self.model, getattr(self.model, "inner", None)):
            close = getattr(holder, "aclose", None)
            if close is not None:
                with suppress(Exception):  # closing is hygiene, never a failure of the run
                    await close()
