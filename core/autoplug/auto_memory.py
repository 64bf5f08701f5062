"""How an Auto uses long-term memory: recall before a task, store after it, and when not to.

- Recall brings only memories at least ``min_similarity`` similar to the task
  (the embedder's floor, or ``[memory] min_similarity``); the ``memory_recalled``
  event says how many were searched and how many passed.
- A run that failed on a model or provider error stores nothing: its "answer"
  is a connection error, which would only mislead later tasks.
- An Assistant does not store its own conversation's turns (they are in its
  prompt already) and never recalls what its own run stored.
- A run started with ``memory=False`` (``--no-memory``), and every recording or
  replaying run, neither opens, recalls nor stores.
- Nothing loads the embedder until something must be embedded; after the
  run's first answered model call the embedder starts loading in the
  background, so the store at the end does not wait for it.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Set
from typing import Any

from .errors import ModelError


class ModelWatch:
    """A run's model, noting whether a call failed with a :class:`ModelError`.

    It keeps the model's ``model_id`` (prices and budgets still apply);
    ``model_error`` is the last error, cleared by the Assistant at each turn.
    """

    def __init__(self, model: Any) -> None:
        self.inner = model
        self.model_id = getattr(model, "model_id", type(model).__name__)
        self.model_error: ModelError | None = None

    async def complete(self, request: Any, **options: Any) -> Any:
        """Ask the model; remember a ModelError before letting it through."""
        try:
            return await self.inner.complete(request, **options)
        except ModelError as exc:
            self.model_error = exc
            raise

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def failed_on_model(ctx: Any) -> bool:
    """Whether a model call of ``ctx`` (its current turn, for an Assistant) raised a ModelError."""
    return getattr(ctx.model, "model_error", None) is not None


class MemoryUse:
    """The memory half of :class:`autoplug.Auto` (it sets ``kernel``, ``use_memory``, ``_memory``)."""

    kernel: Any
    use_memory: bool
    _memory: Any
    stores_turns: bool = True
    """False for an Auto whose turns are a conversation (the Assistant): only what its
    steps observed is stored, never the messages and answers already in its prompt."""

    async def memory(self) -> Any:
        """The kernel's long-term memory, opened once (in a worker thread); None if none."""
        if self._memory is False and not self.use_memory:
            self._memory = None
        if self._memory is False:
            from .memory import memory_if_open, memory_wanted

            # Decided here, in the loop (cheap): a thread only when there is a store to open.
            if not memory_wanted(self.kernel):
                self._memory = None
            else:
                self._memory = memory_if_open(self.kernel) or False
        if self._memory is False:
            from .memory import open_memory

            try:
                self._memory = await _to_thread(open_memory, self.kernel)
            except Exception as exc:  # e.g. a bad [memory] setting: the task goes on without
                print(f"autoplug: warning: long-term memory unavailable: {exc}", file=sys.stderr)
                self._memory = None
        return self._memory

    def model_answered(self) -> None:
        """A model call succeeded: start loading the embedder now, for the store at the end."""
        if self._memory not in (False, None):
            self._memory.warm()

    async def recall(self, ctx: Any, query: str) -> str:
        """Memories relevant to ``query`` as prompt text; emits ``memory_recalled``."""
        from .memory import format_memories

        memory = await self.memory()
        if memory is None:
            return ""
        exclude = None if self.stores_turns else ctx.run_id
        try:
            found = await _to_thread(lambda: memory.recollect(query, exclude_run=exclude))
        except Exception as exc:  # memory is an aid: a broken store must not stop the task
            print(f"autoplug: warning: memory recall failed: {exc}", file=sys.stderr)
            return ""
        ctx.emit(
            "memory_recalled",
            memories=[
                {
                    "id": m.id,
                    "text": m.text,
                    "kind": m.kind,
                    "score": round(m.score, 4),
                    "similarity": round(m.similarity, 4),
                }
                for m in found.memories
            ],
            searched=found.searched,
            passed=found.passed,
            min_similarity=found.min_similarity,
        )
        return format_memories(found.memories) if found.memories else ""

    async def remember(
        self,
        ctx: Any,
        task: str,
        status: str,
        answer: str | None,
        reason: str | None,
        before: Set[str],
    ) -> None:
        """Store the task with its answer, and what its steps observed (no LLM call).

        Nothing when the run failed on a model error; an Auto that does not store
        its turns (``stores_turns = False``) stores only the observations.
        """
        from .memory import NewMemory

        if failed_on_model(ctx):
            return
        memory = await self.memory()
        if memory is None:
            return
        run_id = ctx.run_id
        items = []
        if self.stores_turns and answer is not None:
            text = f"Task: {task}\nAnswer: {answer}"
            items.append(NewMemory(text, kind="answer", source_run=run_id, importance=0.7))
        elif self.stores_turns:
            text = f"Task: {task}\nNot finished ({status}): {reason}"
            items.append(NewMemory(text, kind="task", source_run=run_id, importance=0.3))
        for asset in ctx.assets.all():
            if asset.name in before:
                continue
            text = (
                f"Observed for the task {task!r}: asset {asset.name!r} from tool "
                f"{asset.tool}: {asset.preview(300)}"
            )
            items.append(NewMemory(text, kind="observation", source_run=run_id, importance=0.4))
        if not items:
            return
        try:
            await _to_thread(memory.remember, items)
        except Exception as exc:
            print(f"autoplug: warning: storing memories failed: {exc}", file=sys.stderr)


async def _to_thread(func: Callable[..., Any], *args: Any) -> Any:
    """``asyncio.to_thread``, importing asyncio only when a run needs it."""
    import asyncio

    return await asyncio.to_thread(func, *args)
