"""The hook catalog: every hook a plugin can implement.

Implementations are called in ascending plugin-name order. Every hook here is
documented in docs/hooks.md with its exact signature (a test keeps them in step).
"""

from __future__ import annotations

from typing import Any

import pluggy

hookspec = pluggy.HookspecMarker("autoplug")
hookimpl = pluggy.HookimplMarker("autoplug")


@hookspec
def register_tools(register: Any) -> None:
    """Register the plugin's tools.

    Called once when the kernel builds its tool registry.

    :param register: ``register(tool_or_function)``; takes a :class:`autoplug.Tool`
        or a function decorated with :func:`autoplug.tool` (a plain function is
        wrapped as if decorated).
    :return: ignored.
    """


@hookspec
def register_models(register: Any) -> None:
    """Register model providers.

    Called once when the kernel first needs a model.

    :param register: ``register(provider)``; a provider has ``name`` (the prefix
        of a model id ``name:model``) and ``model(model_name, config) -> Model``.
        An object with no ``name`` and a method ``providers(config)`` is a
        provider source: the registry calls it with the kernel's config and
        registers each provider it returns (one per config table, say).
    :return: ignored.
    """


@hookspec
def register_embedders(register: Any) -> None:
    """Register embedder factories for long-term memory.

    :param register: ``register(factory)``; a factory has ``name`` and builds the
        embedder only when first used (``factory.create(config)``).
    :return: ignored.
    """


@hookspec
def register_memory_backends(register: Any) -> None:
    """Register memory-backend factories.

    :param register: ``register(factory)``; a factory has ``name`` and builds the
        backend only when first used (``factory.create(config, embedder)``).
    :return: ignored.
    """


@hookspec
def register_autos(register: Any) -> None:
    """Register Auto types (agents that run tasks or hold conversations).

    :param register: ``register(AutoSubclass)``; the class has a class attribute ``name``.
    :return: ignored.
    """


@hookspec
def register_roles(register: Any) -> None:
    """Register roles the manager Auto can delegate to.

    A ``[roles.NAME]`` table of the config replaces a plugin's role of the same
    name; between plugins the first in plugin-name order wins.

    :param register: ``register(Role(name, description, instructions, tools=None,
        model=None, output_schema=None))``; takes a :class:`autoplug.Role`.
    :return: ignored.
    """


@hookspec
def register_commands(cli: Any) -> None:
    """Add subcommands to the ``autoplug`` command line.

    Called when the CLI starts, before arguments are parsed.

    :param cli: the ``autoplug`` :class:`click.Group`; call ``cli.add_command(cmd)``.
    :return: ignored.
    """


@hookspec(firstresult=True)
def before_tool_call(call: Any, context: Any) -> Any:
    """Inspect a tool call after its arguments are validated and approval given.

    :param call: a frozen :class:`autoplug.ToolCall` (tool, args, call_id, run_id, step_id).
    :param context: the :class:`autoplug.CallContext` of the call.
    :return: None to let the call run; a :class:`autoplug.ToolResult` to answer
        in the tool's place (the first non-None result wins). Raise
        :class:`autoplug.ToolRefused` to refuse the call.
    """


@hookspec
def after_tool_call(call: Any, result: Any, context: Any) -> None:
    """Observe every call that reached ``before_tool_call``, with its result.

    :param call: the :class:`autoplug.ToolCall`.
    :param result: the :class:`autoplug.ToolResult`.
    :param context: the :class:`autoplug.CallContext`.
    :return: ignored.
    """


@hookspec
def on_event(event: Any) -> None:
    """Observe every event of a run (see :mod:`autoplug.events`).

    Runs in the run's event-loop thread and must not block. An exception raised
    here is reported on stderr and ignored.

    :param event: a typed event; ``event.type`` names it.
    :return: ignored.
    """


@hookspec
def kernel_loaded(kernel: Any) -> None:
    """Set the plugin up for one kernel, once every plugin has registered.

    Called once per :class:`autoplug.Kernel`, in ascending plugin-name order, after
    the ``register_*`` hooks. A plugin whose settings live in the config reads
    them here (``kernel.config``) and may register per-kernel observers into
    ``kernel.pm``. An exception raised here marks the plugin ``failed`` with the
    exception's message as its error, and what it registered is forgotten.

    :param kernel: the :class:`autoplug.Kernel` being built (config, home, registries).
    :return: ignored.
    """
