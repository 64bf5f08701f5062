"""The kernel object: the plugins it loaded and the registries they filled.

``Kernel.load()`` sees every installed plugin as the CLI does;
``Kernel(plugins=[...])`` builds an isolated kernel for tests and scripts.
"""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .config import Config
from .errors import NoModelConfigured, PluginError, UsageError, describe_error, did_you_mean
from .llm import Model, ModelRegistry
from .mcpconfig import ServerConfig, mcp_servers
from .plugins import (
    BUILTIN_DISTRIBUTION,
    BUILTIN_NAMES,
    PluginInfo,
    entry_points,
    get_plugin_manager,
    hook_names,
    plugin_name,
    register_sorted,
    strict_plugins,
    wanted_names,
)
from .registry import ToolRegistry
from .roles import RoleRegistry

if TYPE_CHECKING:  # the run machinery is imported on first use, not at kernel start
    from .agents.context import Approver
    from .auto import Auto, RunResult
    from .events import Event

NO_MODEL_HELP = """\
no model configured. Choose one of:
  autoplug run TASK --model openai:gpt-4o-mini      (with OPENAI_API_KEY set)
  autoplug run TASK --model ollama:llama3.1          (a local Ollama at http://localhost:11434)
  export AUTOPLUG_MODEL=openai:gpt-4o-mini           (or model = "..." in {config})
  [providers.NAME] base_url = "http://host:port/v1"  in {config}, then --model NAME:MODEL
To watch a complete recorded run with no key and no network:
  autoplug run "Which is the largest planet? Check the notes file." --model replay:examples/planets.jsonl --workspace examples/workspace"""


class NamedRegistry:
    """Things registered by name (autos, embedders, memory backends).

    A non-builtin plugin's entry wins over a builtin's; then the plugin whose
    name sorts first.
    """

    def __init__(self, what: str) -> None:
        self.what = what
        self._entries: list[tuple[str, Any, str, bool]] = []
        # The winner of each name, worked out once after each change (a run looks its
        # Auto up, and memory its embedder and backend).
        self._best: dict[str, tuple[str, Any, str, bool]] | None = None

    def add(self, obj: Any, plugin: str, builtin: bool) -> None:
        """Register ``obj`` (it must have a ``name`` attribute)."""
        name = getattr(obj, "name", None)
        if not isinstance(name, str) or not name:
            article = "an" if self.what[0] in "aeiou" else "a"
            raise UsageError(
                f"plugin {plugin!r} registered {article} {self.what} without a 'name' attribute"
            )
        self._entries.append((name, obj, plugin, builtin))
        self._best = None

    def remove_plugin(self, plugin: str) -> None:
        """Forget what ``plugin`` registered."""
        self._entries = [e for e in self._entries if e[2] != plugin]
        self._best = None

    def _winners(self) -> dict[str, tuple[str, Any, str, bool]]:
        best = self._best
        if best is None:
            best = {}
            for entry in sorted(self._entries, key=lambda e: (e[3], e[2])):
                best.setdefault(entry[0], entry)
            self._best = best
        return best

    def get(self, name: str) -> Any:
        """The object registered as ``name``; raise UsageError naming the known ones."""
        winners = self._winners()
        if name not in winners:
            known = ", ".join(sorted(winners)) or "none"
            hint = did_you_mean(str(name), winners)
            raise UsageError(f"unknown {self.what} {name!r}; {hint}known: {known}")
        return winners[name][1]

    def names(self) -> list[str]:
        """Registered names, sorted."""
        return sorted(self._winners())

    def items(self) -> list[tuple[str, Any, str]]:
        """``(name, object, plugin)`` of each winner, sorted by name."""
        return [(n, e[1], e[2]) for n, e in sorted(self._winners().items())]

    def __contains__(self, name: object) -> bool:
        return name in self._winners()


def _auto_class(obj: Any, plugin: str) -> Any:
    """``obj`` when it is a subclass of :class:`autoplug.Auto`; else UsageError naming the plugin."""
    from .auto import Auto  # already imported by then: registering an Auto imported it

    if not (isinstance(obj, type) and issubclass(obj, Auto)):
        raise UsageError(
            f"plugin {plugin!r} registered {obj!r} with register_autos; "
            "register a subclass of autoplug.Auto"
        )
    return obj


class Kernel:
    """Plugins, registries and the entry points to run tasks.

    :param plugins: modules or objects with hookimpls to register (isolated kernel).
    :param builtins: True for every builtin plugin, or a list of builtin names.
    :param home: the ``AUTOPLUG_HOME`` to use (config, runs, memory).
    """

    def __init__(
        self,
        plugins: list[Any] | None = None,
        builtins: bool | list[str] = False,
        home: Path | str | None = None,
        *,
        config: Config | None = None,
        create_config: bool = True,
        _discover: bool = False,
    ) -> None:
        self.config = config or Config.load(Path(home) if home else None, create=create_config)
        self.home = self.config.home
        self.pm = get_plugin_manager()
        self.plugins: dict[str, PluginInfo] = {}
        self.tools = ToolRegistry(
            self.pm.hook, default_timeout=self.config.limits["tool_timeout_s"], home=self.home
        )
        self.models = ModelRegistry(self.config)
        self.autos = NamedRegistry("auto")
        self.roles = RoleRegistry(self.config)
        self.embedders = NamedRegistry("embedder")
        self.memory_backends = NamedRegistry("memory backend")
        self.unknown_plugins: list[str] = []
        # The on_event implementations in ascending plugin-name order, and the list of
        # pluggy's they were sorted from as it was then (see _event_observers).
        self._event_impls: list[Any] = []
        self._event_seen: list[Any] | None = None
        # pluggy's own list of on_event implementations, changed in place whenever a
        # plugin registers or leaves (kernel_loaded's observers, later ones too): empty
        # when nobody observes events, the test of Auto.deliver's common path.
        live = getattr(self.pm.hook.on_event, "_hookimpls", None)
        self._event_live: list[Any] | None = live if type(live) is list else None
        # The MCP client (set by the builtin plugin autoplug_mcp when [mcp.NAME] servers exist).
        self.mcp: Any = None
        self._closers: list[Callable[[], None]] = []

        objects: list[tuple[str, Any]] = []
        for obj in plugins or []:
            name = plugin_name(obj)
            self.plugins[name] = PluginInfo(name=name, module=obj)
            objects.append((name, obj))
        if _discover:
            objects += self._import_entry_points(None)
        elif builtins:
            only = list(BUILTIN_NAMES) if builtins is True else list(builtins)
            objects += self._import_entry_points(only)
        self._register(objects)

    # -- lifetime -----------------------------------------------------------

    def on_close(self, closer: Callable[[], None]) -> None:
        """Have :meth:`close` call ``closer`` (a plugin's servers, connections)."""
        self._closers.append(closer)

    def close(self) -> None:
        """Stop what plugins keep running for the kernel's lifetime (MCP servers); idempotent."""
        closers, self._closers = self._closers, []
        for closer in reversed(closers):
            try:
                closer()
            except Exception as exc:
                print(f"autoplug: warning: closing failed: {describe_error(exc)}", file=sys.stderr)

    def __enter__(self) -> Kernel:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @classmethod
    def load(cls, home: Path | str | None = None, *, create_config: bool = True) -> Kernel:
        """A kernel with every installed plugin, as the CLI sees them.

        Honours ``AUTOPLUG_LOAD_PLUGINS``, ``[plugins] disabled`` and, with
        ``AUTOPLUG_STRICT_PLUGINS=1``, raises :class:`PluginError` on any failure.
        """
        kernel = cls(home=home, create_config=create_config, _discover=True)
        if strict_plugins():
            problems = [
                f"plugin {p.name!r} failed: {p.error}"
                for p in kernel.plugins.values()
                if p.status == "failed"
            ]
            problems += [
                f"unknown plugin {n!r} in AUTOPLUG_LOAD_PLUGINS" for n in kernel.unknown_plugins
            ]
            if problems:
                raise PluginError("; ".join(problems))
        return kernel

    # -- loading ------------------------------------------------------------

    def _import_entry_points(self, only: list[str] | None) -> list[tuple[str, Any]]:
        eps = entry_points()
        servers = mcp_servers(self.config.data, self.config.path)
        if only is not None:
            missing = sorted(set(only) - {ep.name for ep in eps})
            if missing:
                # A misspelt name would otherwise give a kernel silently without that plugin.
                raise UsageError(
                    f"Kernel(builtins=...): no plugin named {', '.join(map(repr, missing))}; "
                    f"the builtins are {', '.join(BUILTIN_NAMES)}"
                )
            eps = [ep for ep in eps if ep.name in set(only)]
            wanted = {ep.name for ep in eps} | set(servers)
        else:
            wanted, self.unknown_plugins = wanted_names(
                [ep.name for ep in eps] + list(servers), self.config.disabled_plugins
            )
            if wanted & set(servers) and os.environ.get("AUTOPLUG_LOAD_PLUGINS") is not None:
                wanted.add("autoplug_mcp")  # naming a server brings the client with it
            for name in self.unknown_plugins:
                if not strict_plugins():
                    print(
                        f"autoplug: warning: unknown plugin {name!r} in AUTOPLUG_LOAD_PLUGINS",
                        file=sys.stderr,
                    )
        loaded: list[tuple[str, Any]] = []
        for ep in eps:
            dist = getattr(ep, "dist", None)
            info = PluginInfo(
                name=ep.name,
                distribution=dist.name if dist else None,
                version=dist.version if dist else None,
                builtin=bool(
                    dist and dist.name == BUILTIN_DISTRIBUTION and ep.name in BUILTIN_NAMES
                ),
            )
            self.plugins[ep.name] = info
            if ep.name not in wanted:
                info.status = "disabled"
                continue
            try:
                info.module = ep.load()
            except BaseException as exc:  # a plugin's import may raise anything, even SystemExit
                if isinstance(exc, KeyboardInterrupt):
                    raise
                info.status, info.error = "failed", describe_error(exc)
                continue
            loaded.append((ep.name, info.module))
        if servers:
            loaded += self._load_mcp_servers(servers, wanted, dict(loaded).get("autoplug_mcp"))
        return loaded

    def _load_mcp_servers(
        self, servers: dict[str, ServerConfig], wanted: set[str], client: Any
    ) -> list[tuple[str, Any]]:
        """The plugins ``mcp_NAME`` of the ``[mcp.NAME]`` servers, made by ``autoplug_mcp``.

        Without the client plugin loaded every server is disabled; when the client
        cannot make them (the extra is missing) it is failed and so is each server.
        """
        active = {p: s for p, s in servers.items() if p in wanted and not s.disabled}
        for plugin in servers:
            self.plugins[plugin] = PluginInfo(name=plugin, status="disabled")
        if client is None:
            broken = self.plugins.get("autoplug_mcp")
            if broken is not None and broken.status == "failed":
                for plugin in active:
                    self.plugins[plugin].status = "failed"
                    self.plugins[plugin].error = f"autoplug_mcp failed: {broken.error}"
            return []
        try:
            made = client.make_server_plugins(self, list(servers.values()), set(active))
        except Exception as exc:
            info = self.plugins["autoplug_mcp"]
            info.status, info.error, info.module = "failed", str(exc), None
            for plugin in active:
                self.plugins[plugin].status = "failed"
                self.plugins[plugin].error = f"autoplug_mcp failed: {exc}"
            return []
        loaded: list[tuple[str, Any]] = []
        for obj in made:
            info = self.plugins[obj.name]
            info.status, info.error, info.note = obj.status, obj.error, obj.note
            info.distribution, info.version, info.module = obj.distribution, obj.version, obj
            loaded.append((obj.name, obj))
        return loaded

    def _register(self, objects: list[tuple[str, Any]]) -> None:
        for name, error in register_sorted(self.pm, objects).items():
            self.plugins[name].status, self.plugins[name].error = "failed", error
        for name, _ in sorted(objects):
            info = self.plugins[name]
            if info.status != "loaded":
                continue
            info.hooks = hook_names(self.pm, self.pm.get_plugin(name))
            try:
                self._collect(name, info.builtin)
            except Exception as exc:
                info.status, info.error = "failed", describe_error(exc)
                self._forget(name)
        for impl in sorted(self.pm.hook.kernel_loaded.get_hookimpls(), key=lambda i: i.plugin_name):
            name = impl.plugin_name
            present = {n for n, _ in self.pm.list_name_plugin()}
            try:
                impl.function(*([self] if impl.argnames else []))
            except Exception as exc:
                if name in self.plugins:
                    self.plugins[name].status = "failed"
                    self.plugins[name].error = describe_error(exc)
                # What it registered into kernel.pm before it failed (an observer) goes too.
                for added, obj in self.pm.list_name_plugin():
                    if added not in present and obj is not None:
                        self.pm.unregister(name=added)
                self._forget(name)

    def _collect(self, name: str, builtin: bool) -> None:
        adders = {
            "register_tools": lambda obj: self.tools.add(obj, name, builtin),
            "register_models": lambda obj: self.models.add(obj, name),
            "register_autos": lambda obj: self.autos.add(_auto_class(obj, name), name, builtin),
            "register_roles": lambda obj: self.roles.add(obj, name),
            "register_embedders": lambda obj: self.embedders.add(obj, name, builtin),
            "register_memory_backends": lambda obj: self.memory_backends.add(obj, name, builtin),
        }
        for hook, adder in adders.items():
            for impl in getattr(self.pm.hook, hook).get_hookimpls():
                if impl.plugin_name == name:
                    impl.function(*([adder] if impl.argnames else []))

    def fail_plugin(self, name: str, error: str) -> None:
        """Mark plugin ``name`` ``failed`` with ``error`` and forget all it registered."""
        info = self.plugins[name]
        info.status, info.error = "failed", error
        self._forget(name)

    def _forget(self, name: str) -> None:
        for registry in (
            self.tools,
            self.models,
            self.autos,
            self.roles,
            self.embedders,
            self.memory_backends,
        ):
            registry.remove_plugin(name)
        if self.pm.get_plugin(name) is not None:
            self.pm.unregister(name=name)

    def call_each(self, hook: str, **kwargs: Any) -> None:
        """Call every implementation of ``hook`` in ascending plugin-name order."""
        impls = sorted(getattr(self.pm.hook, hook).get_hookimpls(), key=lambda i: i.plugin_name)
        for impl in impls:
            impl.function(*[kwargs[a] for a in impl.argnames])

    # -- events -------------------------------------------------------------

    def _event_observers(self) -> list[Any]:
        """The ``on_event`` implementations in ascending plugin-name order, sorted again
        whenever a plugin registered or left since (pluggy's list is compared, item by item)."""
        live = self._event_live
        current = live if live is not None else self.pm.hook.on_event.get_hookimpls()
        impls = self._event_impls
        if current != self._event_seen:
            seen = list(current)  # one copy: both made of the same list even as a plugin registers
            impls = sorted(seen, key=lambda i: i.plugin_name)
            self._event_impls, self._event_seen = impls, seen
        return impls

    def _observes_events(self) -> bool:
        """Whether a plugin implements ``on_event`` (so :meth:`emit` tells someone)."""
        return bool(self._event_observers())

    def emit(self, event: Any) -> None:
        """Give ``event`` to every ``on_event`` implementation; report and ignore their errors."""
        for impl in self._event_observers():
            try:
                impl.function(*([event] if impl.argnames else []))
            except Exception as exc:
                print(
                    f"autoplug: plugin {impl.plugin_name!r} on_event failed: {describe_error(exc)}",
                    file=sys.stderr,
                )

    # -- models -------------------------------------------------------------

    def model(self, spec: Any = None) -> Model:
        """A Model for ``spec`` (an id or a Model), else the default model.

        Raises :class:`NoModelConfigured` (with the ways to set one) when there is none.
        """
        if spec is None:
            spec = self.config.default_model()
        if spec is None:
            raise NoModelConfigured(NO_MODEL_HELP.format(config=self.config.path))
        return self.models.resolve(spec)

    # -- running tasks (implemented by autoplug.autos) ----------------------

    def run(
        self,
        task: str,
        *,
        model: str | Model | None = None,
        auto: str | type[Auto] = "runner",
        approve: bool | Approver = False,
        record: Path | str | None = None,
        workspace: Path | str | None = None,
        on_text: Callable[[str], None] | None = None,
        stream: bool = False,
        on_event: Callable[[Event], None] | None = None,
        memory: bool = True,
        output_schema: dict[str, Any] | type | None = None,
        persist: bool = True,
    ) -> RunResult:
        """Run ``task`` with an Auto (a Runner by default) to completion.

        Blocking; raises :class:`autoplug.errors.BlockingCallInLoop` inside a running
        loop. The options are those of :meth:`arun`.
        """
        options = _options(locals())  # before the import below adds a local
        from .autos import run_blocking

        return run_blocking(self, task, **options)

    async def arun(
        self,
        task: str,
        *,
        model: str | Model | None = None,
        auto: str | type[Auto] = "runner",
        approve: bool | Approver = False,
        record: Path | str | None = None,
        workspace: Path | str | None = None,
        on_text: Callable[[str], None] | None = None,
        stream: bool = False,
        on_event: Callable[[Event], None] | None = None,
        memory: bool = True,
        output_schema: dict[str, Any] | type | None = None,
        persist: bool = True,
    ) -> RunResult:
        """Run ``task`` to completion in the running event loop; the :class:`RunResult`.

        :param model: a model id ``provider:model`` or a Model (default: the config's).
        :param auto: the Auto's name (``runner``, ``assistant``, a plugin's) or class.
        :param approve: ``True`` approves every side-effect tool, ``False`` refuses
            them all, a callable ``approve(tool, args)`` (or an async one) decides
            per call: it receives the :class:`~autoplug.Tool` (``name``,
            ``qualified_name``, ``plugin``, ``description``, ``parameters``) and the
            dict of arguments the tool is about to be called with (asset
            references already replaced by their values), and returns a bool.
        :param record: a cassette path every model exchange is written to.
        :param workspace: the folder file tools work in (default: the current one).
        :param on_text: called with each piece of the model's streamed text.
        :param stream: ask the model to stream its text (to ``on_text``).
        :param on_event: called with each :class:`~autoplug.events.Event` as it happens.
        :param memory: ``False``: neither recall nor store long-term memories.
        :param output_schema: a JSON Schema dict or a pydantic model class the answer
            must match; ``RunResult.output`` is then the validated value (the model
            instance for a pydantic model).
        :param persist: ``False``: a run with no run folder, for embedding autoplug in
            a service — it still has a run id, events and memory as configured, but
            nothing to list or resume; ``RunResult.assets`` entries then carry ``value``.
        """
        from .autos import arun_task

        # Named one by one, not from locals(): this frame lives as long as the run, and
        # locals() would keep a dict of them on it (and the options another) for the
        # garbage collector to traverse while it lives.
        return await arun_task(
            self,
            task,
            model=model,
            auto=auto,
            approve=approve,
            record=record,
            workspace=workspace,
            on_text=on_text,
            stream=stream,
            on_event=on_event,
            memory=memory,
            output_schema=output_schema,
            persist=persist,
        )

    def stream(
        self,
        task: str,
        *,
        model: str | Model | None = None,
        auto: str | type[Auto] = "runner",
        approve: bool | Approver = False,
        record: Path | str | None = None,
        workspace: Path | str | None = None,
        on_text: Callable[[str], None] | None = None,
        stream: bool = False,
        on_event: Callable[[Event], None] | None = None,
        memory: bool = True,
        output_schema: dict[str, Any] | type | None = None,
        persist: bool = True,
    ) -> AsyncIterator[Event]:
        """An async iterator of the typed events of a run of ``task`` as they happen.

        The options are those of :meth:`arun`; ``on_event`` is still called for
        each event. Leaving the loop early cancels the run (left ``interrupted``).
        """
        options = _options(locals())  # before the import below adds a local
        from .autos import stream_task

        return stream_task(self, task, **options)

    def batch(
        self,
        tasks: list[Any],
        *,
        model: str | None = None,
        auto: str | None = None,
        workspace: Path | str | None = None,
        memory: bool = True,
        approve: bool = False,
        concurrency: int = 8,
        output: Path | str | None = None,
        engine: str = "local",
        ray_address: str | None = None,
        on_result: Callable[[dict[str, Any]], None] | None = None,
    ) -> list[dict[str, Any]]:
        """Run many tasks, at most ``concurrency`` at once; their result dicts in input order.

        Blocking; raises :class:`autoplug.errors.BlockingCallInLoop` inside a running
        loop. The options are those of :meth:`abatch`.
        """
        options = {k: v for k, v in locals().items() if k not in ("self", "tasks")}
        import asyncio

        from .errors import BlockingCallInLoop

        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(self.abatch(tasks, **options))
        raise BlockingCallInLoop(
            "kernel.batch() is blocking and was called inside a running event loop; "
            "use 'await kernel.abatch(...)'"
        )

    async def abatch(
        self,
        tasks: list[Any],
        *,
        model: str | None = None,
        auto: str | None = None,
        workspace: Path | str | None = None,
        memory: bool = True,
        approve: bool = False,
        concurrency: int = 8,
        output: Path | str | None = None,
        engine: str = "local",
        ray_address: str | None = None,
        on_result: Callable[[dict[str, Any]], None] | None = None,
    ) -> list[dict[str, Any]]:
        """Run many tasks (``autoplug batch`` from Python); the result dicts in input order.

        :param tasks: task strings, or dicts shaped like a TASKS.jsonl line
            (``task``, and optionally ``id``, ``model``, ``auto``, ``output_schema``);
            a bad item or a repeated id raises :class:`UsageError` before anything runs.
        :param model: the model id for the tasks that name none.
        :param auto: the Auto for the tasks that name none (default ``runner``).
        :param workspace: the folder file tools work in (default: the current one).
        :param memory: ``False``: neither recall nor store long-term memories.
        :param approve: ``True`` approves every side-effect tool; ``False`` refuses them.
        :param concurrency: at most this many runs at once.
        :param output: a results file: lines are appended as tasks end, and an id
            whose last line there succeeded is not run again.
        :param engine: ``local`` (this process) or ``ray`` (extra ``ray``).
        :param ray_address: the Ray cluster to connect to (none starts a local Ray).
        :param on_result: called with each result dict as its task ends.

        Each result is ``{"id", "run_id", "status", "answer", "output", "reason",
        "usage"}``; an unknown model or Auto is a ``failed`` result, not an error.
        """
        from .batch import abatch

        return await abatch(
            self,
            tasks,
            model=model,
            auto=auto,
            workspace=None if workspace is None else str(workspace),
            memory=memory,
            approve=approve,
            concurrency=concurrency,
            output=None if output is None else str(output),
            engine=engine,
            address=ray_address,
            on_result=on_result,
        )


def _options(scope: dict[str, Any]) -> dict[str, Any]:
    """A run method's named options (its ``locals()`` without ``self`` and ``task``)."""
    return {k: v for k, v in scope.items() if k not in ("self", "task", "options")}
