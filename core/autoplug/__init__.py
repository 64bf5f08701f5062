"""autoplug: a plugin-first framework for autonomous LLM agents.

The public namespace. Light names are imported eagerly; the agent machinery is
imported on first use so that ``autoplug --help`` stays fast.
"""

from __future__ import annotations

from typing import Any

from .errors import (
    AutoplugError,
    BlockingCallInLoop,
    ConfigError,
    ModelError,
    NoModelConfigured,
    PluginError,
    ReplayMismatch,
    RunError,
    ToolDefinitionError,
    ToolRefused,
    UnknownModelError,
    UsageError,
)
from .hookspecs import hookimpl
from .kernel import Kernel
from .llm import ChatRequest, ChatResponse, FunctionCall, FunctionSpec, Message, Model, Usage
from .registry import ToolRegistry
from .roles import Role
from .tools import CallContext, Tool, ToolCall, ToolOutput, ToolResult, tool

__version__ = "0.1.0"

_LAZY = {
    "ApprovalRequest": "autoplug.agents.context",
    "Auto": "autoplug.autos",
    "RunResult": "autoplug.autos",
    "ScriptedModel": "autoplug.scripted",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'autoplug' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    """Only the public names (``__all__`` and ``__version__``), for ``dir()`` and completion."""
    return sorted([*__all__, "__version__"])


__all__ = [
    "ApprovalRequest",
    "Auto",
    "AutoplugError",
    "BlockingCallInLoop",
    "CallContext",
    "ChatRequest",
    "ChatResponse",
    "ConfigError",
    "FunctionCall",
    "FunctionSpec",
    "Kernel",
    "Message",
    "Model",
    "ModelError",
    "NoModelConfigured",
    "PluginError",
    "ReplayMismatch",
    "Role",
    "RunError",
    "RunResult",
    "ScriptedModel",
    "Tool",
    "ToolCall",
    "ToolDefinitionError",
    "ToolRefused",
    "ToolRegistry",
    "ToolOutput",
    "ToolResult",
    "UnknownModelError",
    "Usage",
    "UsageError",
    "hookimpl",
    "tool",
]
