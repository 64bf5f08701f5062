"""A manager's child run: a Runner confined to one role, counted against the team's budgets.

:class:`ChildRunner` is an ordinary Runner with four differences: its system
prompts carry the role's instructions (``RunContext.role``), its catalog holds only
the role's tools (a restricted registry whose ``role_scope`` makes the plan checks
name the role and its tools), its model calls count against the manager's guards
(:class:`TeamUsage`), and its events go to its own trace and then, with
``child_run`` and ``team_role`` added, to the manager's observers.
"""

from __future__ import annotations

from typing import Any

from autoplug.auto import Auto
from autoplug.catalog import KernelView
from autoplug.events import Event
from autoplug.llm import Usage, UsageTracker
from autoplug.roles import RoleScope
from autoplug.runs.team import save_child, set_parent


class TeamUsage:
    """A child's usage: its own count for its run row, and the team's for the guards.

    The guards in :meth:`RunContext.complete` read ``calls``, ``usage``, ``usd`` and
    ``priced``: here those are the team's (the manager's tracker), so the team's
    ``llm_calls``, ``max_tokens`` and ``max_usd`` stop a child too. Each call is
    added to both.
    """

    def __init__(self, team: UsageTracker) -> None:
        self.team = team
        self.own = UsageTracker()

    @property
    def calls(self) -> int:
        """The team's model calls so far."""
        return self.team.calls

    @property
    def usage(self) -> Usage:
        """The team's tokens so far."""
        return self.team.usage

    @property
    def usd(self) -> float:
        """The team's USD so far."""
        return self.team.usd

    @property
    def priced(self) -> bool:
        """Whether some call of the team was priced."""
        return self.team.priced

    def add(self, model_id: str, usage: Usage, config: Any) -> None:
        """Count one call of the child (and so of the team)."""
        self.own.add(model_id, usage, config)
        self.team.add(model_id, usage, config)

    def to_dict(self) -> dict[str, Any]:
        """The child's own usage (its run row and ``run_finished``)."""
        return self.own.to_dict()


def absorb(team: UsageTracker, usage: dict[str, Any] | None) -> None:
    """Add a finished child's recorded usage to the team's (a manager reusing it on resume)."""
    if not usage:
        return
    team.calls += int(usage.get("llm_calls") or 0)
    team.usage = team.usage + Usage(
        input_tokens=int(usage.get("input_tokens") or 0),
        output_tokens=int(usage.get("output_tokens") or 0),
        cached_input_tokens=int(usage.get("cached_input_tokens") or 0),
        reasoning_tokens=int(usage.get("reasoning_tokens") or 0),
    )
    if usage.get("usd") is not None:
        team.usd += float(usage["usd"])
        team.priced = True


def role_view(kernel: Any, role: Any) -> Any:
    """``kernel`` seen with only ``role``'s tools (all of them when the role names none)."""
    if role.tools is None:
        return kernel
    everything = kernel.tools
    wanted = []
    for name in role.tools:
        found = everything.get(name)
        if found is not None:
            wanted.append(found.qualified_name)
    subset = everything.restricted(wanted)
    subset.role_scope = RoleScope(role.name, tuple(role.tools), everything)
    return KernelView(kernel, subset)


class ChildRunner(Auto):
    """One assignment of a manager, run by a role: a Runner whose prompts and tools are the role's."""

    name = "runner"
    announces_replay = False  # the manager said it once for the team

    def __init__(
        self,
        kernel: Any,
        *,
        manager: Any,
        role: Any,
        assignment: str,
        passed: list[str],
        model: Any,
        subtask: str,
        order: int,
    ) -> None:
        super().__init__(
            kernel,
            model=model,
            approve=manager.approve,
            workspace=manager.workspace,
            memory=False,  # the manager recalls and stores for the team
            output_schema=role.output_schema,
        )
        self.manager = manager
        self.role = role
        self.assignment = assignment
        self.passed = passed
        self.subtask = subtask
        self.order = order
        self.run_kernel = role_view(manager.run_kernel, role)
        self.fresh = True

    async def arun(self, task: str) -> Any:
        """Run the assignment in a new run folder, made in a worker thread.

        Making a run folder is mostly waiting on the disk (SQLite's file syncs);
        in a thread, the team's children make theirs at the same time instead of
        one after another on the event loop. The rest is :meth:`Auto.arun`.
        """
        import asyncio

        from autoplug.assets import AssetStore
        from autoplug.runs import RunStore

        store = await asyncio.to_thread(
            RunStore.create,
            self.kernel.home,
            task=task,
            model=self.model_id,
            auto=self.name,
            workspace=self.workspace,
        )
        if self.output_schema is not None:
            from autoplug.output import save_schema

            save_schema(store.folder, self.output_schema.schema)
        ctx = self.context(store, task, AssetStore(store.assets_dir, log=store.asset_log))
        ctx.emit(
            "run_started",
            task=task,
            model=self.model_id,
            auto=self.name,
            workspace=str(self.workspace),
        )

        async def work() -> tuple[str, str | None, str | None]:
            return await self.solve(ctx, "")

        return await self._drive(ctx, work(), task, set())

    def context(self, store: Any, task: str, assets: Any) -> Any:
        """The run's context with the role, the team's usage and, for a new run, its records."""
        if self.fresh:
            self.fresh = False
            if store.info().get("parent") is None:  # a new child: say whose it is at once
                set_parent(store, self.manager.ctx.run_id, self.role.name, self.assignment)
                save_child(
                    self.manager.ctx.store,
                    self.assignment,
                    self.role.name,
                    store.run_id,
                    self.subtask,
                    self.order,
                )
                for name in self.passed:
                    asset = self.manager.ctx.assets.get(name)
                    assets.put(name, asset.value, step=asset.step, tool=asset.tool)
        ctx = super().context(store, task, assets)
        ctx.role = self.role
        ctx.usage = TeamUsage(self.manager.ctx.usage)
        return ctx

    def deliver(self, store: Any, event: Event) -> None:
        """Write ``event`` to the child's trace, then give it to the manager's observers."""
        store.append_event(event)
        self.manager.observe(event, child_run=store.run_id, team_role=self.role.name)
