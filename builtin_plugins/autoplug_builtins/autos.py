"""Builtin plugin ``autoplug_autos``: the Runner (one task) and the Assistant (a conversation).

Both are :class:`autoplug.Auto` subclasses: the Runner is the base behaviour
(the dynamic agent's ReAct loop over the static agent, to a final answer); the
Assistant runs that loop once per message, in one run folder, keeping the
conversation, the assets and memory across turns.
"""

from __future__ import annotations

from typing import Any

from autoplug import Auto, AutoplugError, BlockingCallInLoop, RunResult, UsageError, hookimpl

USAGE_KEYS = ("llm_calls", "input_tokens", "output_tokens", "total_tokens")


class Runner(Auto):
    """Runs one task to a final answer: the dynamic agent decides, the static agent plans and acts."""

    name = "runner"


def add_usage(total: dict[str, Any] | None, more: dict[str, Any]) -> dict[str, Any]:
    """The sum of two usage dicts (``usd`` stays None until some part is priced)."""
    total = total or {}
    summed: dict[str, Any] = {k: int(total.get(k) or 0) + int(more.get(k) or 0) for k in USAGE_KEYS}
    usd = [u for u in (total.get("usd"), more.get("usd")) if u is not None]
    summed["usd"] = round(sum(usd), 6) if usd else None
    return summed


def no_answer(status: str, reason: str | None) -> str:
    """What the conversation records for a turn that ended without an answer.

    A guard's reason helps the model (which limit it hit); a failure's reason is a
    provider error that may name a cassette or scripted file by its absolute path,
    and later turns' prompts must hold no absolute paths (DESIGN: replay).
    """
    if status == "stopped" and reason:
        return f"(no answer: stopped: {reason})"
    return f"(no answer: {status})"


def _not_in_loop(blocking: str, twin: str) -> None:
    """Raise BlockingCallInLoop when called inside a running event loop (DESIGN: async twins)."""
    import asyncio

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return
    raise BlockingCallInLoop(
        f"Assistant.{blocking}() is blocking and was called inside a running event loop; "
        f"use 'await assistant.{twin}(...)'"
    )


class Assistant(Auto):
    """Holds a conversation: each message is a dynamic-agent turn that sees the conversation so far.

    Use :meth:`asend` (or :meth:`send`) per message and :meth:`aclose` at the
    end; :meth:`reopen` continues a saved conversation (``autoplug chat
    --resume``). Guards (iterations, LLM calls, budgets, loop detection) apply
    to each turn; the run's usage is the sum over turns.
    """

    name = "assistant"
    stores_turns = False  # its turns are in its own prompt; only observations are stored

    def __init__(self, kernel: Any, **options: Any) -> None:
        super().__init__(kernel, **options)
        self.ctx: Any = None
        self.conversation: list[dict[str, Any]] = []
        self.turn = 0
        self.iterations = 0  # turns of the dynamic agent saved so far, over every message
        self.acts = 0
        self.usage: dict[str, Any] = add_usage(None, {})
        self.last: RunResult | None = None

    @property
    def run_id(self) -> str | None:
        """The conversation's run id (None before the first message)."""
        return self.ctx.run_id if self.ctx is not None else None

    @classmethod
    def reopen(cls, kernel: Any, run_id: str, **options: Any) -> Assistant:
        """An Assistant continuing the saved conversation ``run_id``."""
        from autoplug.assets import AssetStore
        from autoplug.runs import NotResumableError, RunStore

        store = RunStore.open(kernel.home, run_id)
        try:
            store.claim()  # one process at a time continues a conversation
            info = store.info()
            if info["auto"] != cls.name:
                raise NotResumableError(
                    f"run {run_id!r} is not a conversation (its Auto is {info['auto']!r})"
                )
            options.setdefault("model", info["model"])
            options.setdefault("workspace", info["workspace"])
            assistant = cls(kernel, **options)
            ctx = assistant.context(
                store, info["task"], AssetStore.load(store.assets_dir, log=store.asset_log)
            )
            ctx._seq = max((e.get("seq") or 0 for e in store.events()), default=0)
            records = store.decisions()
        except BaseException:
            store.close()
            raise
        assistant.ctx = ctx
        assistant.conversation = store.conversation()
        assistant.turn = sum(1 for m in assistant.conversation if m.get("role") == "user")
        assistant.iterations = max((r.get("iteration") or 0 for r in records), default=0)
        assistant.acts = sum(1 for r in records if r.get("act_no") is not None)
        assistant.usage = add_usage(None, info.get("usage") or {})
        return assistant

    async def asend(self, message: str, *, output_schema: Any = None) -> RunResult:
        """One turn: the dynamic agent answers ``message`` with the conversation so far.

        ``output_schema`` (a JSON Schema dict or a pydantic model class) shapes
        this message's answer (``RunResult.output``); without one, the
        Assistant's own ``output_schema`` (if any) applies.
        """
        import asyncio

        from autoplug.agents.dynamic import DynamicAgent
        from autoplug.llm import UsageTracker
        from autoplug.output import output_schema_from

        if not isinstance(message, str) or not message.strip():
            raise UsageError("a message must be a non-empty string")
        schema = output_schema_from(output_schema)  # a bad schema: refused before the turn
        if self.ctx is None:
            self.ctx = self.open_run(message)
        ctx = self.ctx
        ctx.task = message
        ctx.output_schema = schema if schema is not None else self.output_schema
        ctx.usage = UsageTracker()  # the guards count per turn
        ctx.model.model_error = None  # a model error of an earlier turn is not this turn's
        self.turn += 1
        ctx.store.set_status("running")
        ctx.emit("turn_started", turn=self.turn, message=message)
        before = set(ctx.assets.names())
        agent = None
        try:
            memories = await self.recall(ctx, message)
            agent = DynamicAgent(
                ctx,
                self.static_agent(ctx),
                memories=memories,
                conversation=self.conversation,
                iteration_base=self.iterations,
                act_base=self.acts,
            )
            status, answer, reason = await agent.run()
        except (asyncio.CancelledError, KeyboardInterrupt):
            self.usage = add_usage(self.usage, ctx.usage.to_dict())
            self.finish(ctx, "interrupted", None, "interrupted by the user", self.usage)
            self.ctx = None
            raise
        except AutoplugError as exc:
            status, answer, reason = "failed", None, str(exc)
        finally:
            if agent is not None:
                self.iterations += agent.turns
                self.acts += agent.acts
        reply = answer if answer is not None else no_answer(status, reason)
        self.conversation += [
            {"role": "user", "content": message},
            {"role": "assistant", "content": reply},
        ]
        ctx.store.save_conversation(self.conversation)
        await self.remember(ctx, message, status, answer, reason, before)
        turn_usage = ctx.usage.to_dict()
        self.usage = add_usage(self.usage, turn_usage)
        ctx.store.set_status(status, reason=reason, answer=answer, usage=self.usage)
        ctx.emit(
            "turn_finished",
            turn=self.turn,
            status=status,
            reason=reason,
            answer=answer,
            usage=turn_usage,
        )
        self.last = self.result(ctx, status, answer, reason, turn_usage)
        return self.last

    def send(self, message: str, *, output_schema: Any = None) -> RunResult:
        """Blocking :meth:`asend`; raises BlockingCallInLoop inside a running event loop."""
        import asyncio

        _not_in_loop("send", "asend")
        return asyncio.run(self.asend(message, output_schema=output_schema))

    async def aclose(self) -> RunResult | None:
        """End the conversation: emit ``run_finished`` with the last turn's status; the result."""
        await self.release()
        if self.ctx is None:
            return self.last
        last = self.last
        status = last.status if last else "succeeded"
        answer = last.answer if last else None
        reason = last.reason if last else None
        result = self.finish(self.ctx, status, answer, reason, self.usage)
        self.ctx = None
        self.last = result
        return result

    def close(self) -> RunResult | None:
        """Blocking :meth:`aclose`; raises BlockingCallInLoop inside a running event loop."""
        import asyncio

        _not_in_loop("close", "aclose")
        return asyncio.run(self.aclose())

    async def arun(self, task: str) -> RunResult:
        """A conversation of one message (``autoplug run TASK --auto assistant``)."""
        await self.asend(task)
        result = await self.aclose()
        assert result is not None
        return result


@hookimpl
def register_autos(register: Any) -> None:
    """Register the Runner, the Assistant and the Manager."""
    from .team import Manager

    register(Runner)
    register(Assistant)
    register(Manager)
