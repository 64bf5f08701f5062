"""The builtin Auto ``manager``: a dynamic agent that delegates parts of its task to roles.

Its dynamic agent is offered a fourth function, ``delegate {assignments: [{role,
subtask, assets}]}`` (DESIGN *Teams*). An unknown role (or asset) rejects the
whole call before any child starts, and counts as a turn. Each assignment
becomes a child run (:class:`~autoplug_builtins.team_child.ChildRunner`), named
``ROLE.K`` (K counting that role's assignments in the run from 1); up to
``[limits] children`` run at once. The observation is ``{"delegated":
[{"assignment", "role", "status", "answer", "output", "assets"}]}``, and each
child's assets are imported into the manager's run as ``ROLE.K.ASSET``.

Resuming a manager reuses its finished children, resumes the interrupted ones
and starts those never begun: the ``children`` table of its run maps each
assignment name to its child run.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from autoplug import UsageError
from autoplug.auto import Auto
from autoplug.events import Event
from autoplug.llm import FunctionSpec, Message

from .autos import no_answer

DELEGATE = FunctionSpec(
    name="delegate",
    description=(
        "Hand self-contained subtasks to roles of your team; the assignments run at the "
        "same time, each as its own run of that role, and the observation reports each one."
    ),
    parameters={
        "type": "object",
        "properties": {
            "assignments": {
                "type": "array",
                "minItems": 1,
                "items": {
                    "type": "object",
                    "properties": {
                        "role": {"type": "string", "description": "a role of the team"},
                        "subtask": {
                            "type": "string",
                            "minLength": 1,
                            "description": "what the role is to do, self-contained",
                        },
                        "assets": {
                            "type": "array",
                            "items": {"type": "string"},
                            "description": "names of existing assets the role may read",
                        },
                    },
                    "required": ["role", "subtask", "assets"],
                    "additionalProperties": False,
                },
            }
        },
        "required": ["assignments"],
        "additionalProperties": False,
    },
)

TEAM_PROMPT = """

You lead a team. Besides brainstorm, act and final you may call:
- delegate(assignments): hand self-contained subtasks to roles of your team. Each \
assignment is {{role, subtask, assets}} and becomes its own run of that role; all \
of them run at the same time. Pass the names of existing assets a role may read. \
The observation lists each assignment (named ROLE.K) with its status, answer, \
output and the assets it produced, imported here as ROLE.K.ASSET.
The roles of your team:
{roles}"""

#: Child run statuses that are a result (reused as they are when a manager resumes).
FINISHED = ("succeeded", "failed", "stopped")


def role_lines(kernel: Any) -> str:
    """Each role as ``- name: description``, sorted by name, for the manager's prompt."""
    lines = [f"- {role.name}: {role.description}" for role, _ in kernel.roles.items()]
    return "\n".join(lines) or "- (none: add [roles.NAME] tables to the config)"


class Delegation:
    """The ``delegate`` function of one manager run: checks a call, runs its children."""

    spec = DELEGATE

    def __init__(self, manager: Any, ctx: Any, records: list[dict[str, Any]]) -> None:
        from autoplug.runs.team import children_of

        self.manager = manager
        self.ctx = ctx
        self.counts: Counter[str] = Counter()
        self.order: dict[str, int] = {}  # each assignment name: its place in the run, from 1
        self.known = {c["assignment"]: c for c in children_of(ctx.store)}
        for record in records:  # the assignments of saved turns keep their numbers
            if record.get("function") == "delegate" and not record.get("error"):
                for name in self.names((record.get("arguments") or {}).get("assignments", [])):
                    child = self.known.get(name)
                    if child is not None:
                        self._absorb_finished(child["run_id"])

    def names(self, assignments: list[dict[str, Any]]) -> list[str]:
        """The next ``ROLE.K`` names for ``assignments`` (counting them)."""
        out = []
        for assignment in assignments:
            self.counts[assignment["role"]] += 1
            name = f"{assignment['role']}.{self.counts[assignment['role']]}"
            self.order[name] = len(self.order) + 1
            out.append(name)
        return out

    def problem(self, arguments: dict[str, Any]) -> str | None:
        """Why the call is rejected before any child starts (unknown role or asset), or None."""
        roles = self.manager.kernel.roles
        for number, assignment in enumerate(arguments["assignments"], 1):
            if assignment["role"] not in roles:
                return (
                    f"error: delegate assignment {number} names unknown role "
                    f"{assignment['role']!r}; {roles.hint(assignment['role'])}; no assignment ran"
                )
            unknown = [a for a in assignment["assets"] if a not in self.ctx.assets]
            if unknown:
                known = ", ".join(sorted(self.ctx.assets.names())) or "none"
                listed = ", ".join(repr(a) for a in unknown)
                return (
                    f"error: delegate assignment {number} names unknown assets {listed}; "
                    f"existing assets: {known}; no assignment ran"
                )
        return None

    async def run(self, arguments: dict[str, Any]) -> str:
        """Run every assignment (at most ``[limits] children`` at once); the observation JSON."""
        import asyncio

        assignments = arguments["assignments"]
        names = self.names(assignments)
        gate = asyncio.Semaphore(int(self.ctx.limits.get("children") or 4))

        async def one(name: str, assignment: dict[str, Any]) -> dict[str, Any]:
            async with gate:
                return await self._child(name, assignment)

        entries = await asyncio.gather(
            *(one(n, a) for n, a in zip(names, assignments, strict=True))
        )
        return json.dumps({"delegated": list(entries)}, ensure_ascii=False)

    async def _child(self, name: str, assignment: dict[str, Any]) -> dict[str, Any]:
        """One assignment's entry: a finished child reused, an interrupted one resumed, or a new one."""
        from autoplug import AutoplugError

        role = self.manager.kernel.roles.get(assignment["role"])
        subtask = assignment["subtask"]
        known = self.known.get(name)
        try:
            if known is not None and known["subtask"] == subtask:
                result = await self._again(known["run_id"], role, name, assignment)
            else:
                child = self._runner(role, name, assignment)
                try:
                    result = await child.arun(subtask)
                finally:
                    await child.release()
        except AutoplugError as exc:
            return self._entry(name, role.name, "failed", None, None, None, [], str(exc))
        passed = list(assignment["assets"])
        return self._entry(
            name,
            role.name,
            result.status,
            result.answer,
            result.output,
            result.run_id,
            passed,
            result.reason,
        )

    def _runner(self, role: Any, name: str, assignment: dict[str, Any]) -> Any:
        from .team_child import ChildRunner

        return ChildRunner(
            self.manager.kernel,
            manager=self.manager,
            role=role,
            assignment=name,
            passed=list(dict.fromkeys(assignment["assets"])),
            model=self.manager.child_model(role),
            subtask=assignment["subtask"],
            order=self.order[name],
        )

    async def _again(self, run_id: str, role: Any, name: str, assignment: dict[str, Any]) -> Any:
        """A child that began before the manager was interrupted: reuse it, or resume it."""
        from autoplug import RunResult
        from autoplug.runs import RunStore

        store = RunStore.open(self.manager.kernel.home, run_id)
        try:
            store.claim()
            info = store.info()
            if info["status"] in FINISHED:
                from .team_child import absorb

                store.close()  # reused as it is: nothing of it runs again
                absorb(self.ctx.usage, info.get("usage"))
                output = None
                if role.output_schema is not None and info["answer"] is not None:
                    output = json.loads(info["answer"])
                return RunResult(
                    run_id,
                    info["status"],
                    info["answer"],
                    info["reason"],
                    [],
                    info.get("usage") or {},
                    output,
                )
            child = self._runner(role, name, assignment)
        except BaseException:
            store.close()
            raise
        try:
            return await child.aresume(store)
        finally:
            await child.release()

    def _child_assets(self, run_id: str | None) -> list[Any]:
        """A child's assets, sorted by name (children store theirs in whatever order steps end)."""
        if run_id is None:
            return []
        from autoplug.assets import AssetStore
        from autoplug.runs import runs_dir

        folder = runs_dir(self.manager.kernel.home) / run_id / "assets"
        if not folder.parent.is_dir():  # (a run's small assets are records of its journal)
            return []
        return sorted(AssetStore.load(folder).all(), key=lambda a: a.name)

    def _absorb_finished(self, run_id: str) -> None:
        """Count a child of a saved turn in the team's usage (a resumed manager's guards)."""
        from autoplug.runs import RunError, RunStore

        from .team_child import absorb

        try:
            with RunStore.open(self.manager.kernel.home, run_id, read_only=True) as store:
                absorb(self.ctx.usage, store.info().get("usage"))
        except RunError:
            pass  # pruned or damaged: its work is in the manager's saved observation

    def _entry(
        self,
        name: str,
        role: str,
        status: str,
        answer: str | None,
        output: Any,
        run_id: str | None,
        passed: list[str],
        reason: str | None,
    ) -> dict[str, Any]:
        """The observation entry, after importing the child's assets as ``NAME.ASSET``.

        The assets the child was given are not imported back unless it replaced them.
        """
        listed = []
        for asset in self._child_assets(run_id):
            if asset.name in passed and asset.value == self.ctx.assets.get(asset.name).value:
                continue
            stored = self.ctx.assets.put(
                f"{name}.{asset.name}", asset.value, step=asset.step, tool=asset.tool
            )
            listed.append(stored.to_dict())
        if hasattr(output, "model_dump"):
            output = output.model_dump(mode="json")
        return {
            "assignment": name,
            "role": role,
            "status": status,
            "answer": answer if status == "succeeded" else no_answer(status, reason),
            "output": output,
            "assets": listed,
        }


class Manager(Auto):
    """Leads a team: delegates parts of the task to roles that work at once as child runs."""

    name = "manager"

    def __init__(self, kernel: Any, **options: Any) -> None:
        super().__init__(kernel, **options)
        self._check_roles()  # a bad role is bad usage, before any run exists
        self.recording = options.get("record") is not None
        self.ctx: Any = None
        self._child_models: dict[str, Any] = {}

    def child_model(self, role: Any) -> Any:
        """The model of ``role``'s children: its own, or the manager's (always when replaying
        or recording, so the cassette holds the whole team)."""
        if role.model is None or self.model_id.startswith("replay:") or self.recording:
            return self.model
        if role.model not in self._child_models:
            self._child_models[role.model] = self.kernel.model(role.model)
        return self._child_models[role.model]

    def observe(self, event: Event, *, child_run: str, team_role: str) -> None:
        """Give a child's event to the manager's observers, with ``child_run`` and ``team_role``."""
        import sys

        data = {**event.data, "child_run": child_run, "team_role": team_role}
        shown = Event(
            type=event.type, run_id=self.ctx.run_id, seq=event.seq, time=event.time, data=data
        )
        self.kernel.emit(shown)
        if self.on_event is not None:
            try:
                self.on_event(shown)
            except Exception as exc:  # an observer's bug must not break the run
                print(f"autoplug: event observer failed: {exc!r}", file=sys.stderr)

    def _agent(self, ctx: Any, records: list[dict[str, Any]], memories: str) -> Any:
        from autoplug.agents.dynamic import DynamicAgent, history_from_records, initial_messages

        self.ctx = ctx
        delegation = Delegation(self, ctx, records)
        if records:
            history = history_from_records(records)
        else:
            history = initial_messages(ctx, memories=memories)
            system = history[0].content + TEAM_PROMPT.format(roles=role_lines(self.kernel))
            history[0] = Message("system", system)
        return DynamicAgent(
            ctx,
            self.static_agent(ctx),
            history=history,
            resumed=records or None,
            extra=[delegation],
        )

    async def solve(self, ctx: Any, memories: str) -> tuple[str, str | None, str | None]:
        """Decide turns (brainstorm, act, delegate, final) until an answer or a guard."""
        return await self._agent(ctx, [], memories).run()

    async def resume(
        self, ctx: Any, records: list[dict[str, Any]]
    ) -> tuple[str, str | None, str | None]:
        """Continue from the saved turns; children are reused, resumed or started as needed."""
        if not records:
            return await self.solve(ctx, await self.recall(ctx, ctx.task))
        return await self._agent(ctx, records, "").run()

    def _check_roles(self) -> None:
        """Every role's output schema is checked before the run starts (a bad one is bad usage)."""
        from autoplug.output import output_schema_from

        for role, source in self.kernel.roles.items():
            try:
                output_schema_from(role.output_schema)
            except UsageError as exc:
                raise UsageError(f"role {role.name!r} ({source}): {exc}") from None

    async def release(self) -> None:
        """Close the manager's model and the role models it built."""
        from contextlib import suppress

        await super().release()
        for model in self._child_models.values():
            close = getattr(model, "aclose", None)
            if close is not None:
                with suppress(Exception):
                    await close()
