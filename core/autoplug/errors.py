"""The one exception hierarchy of autoplug.

Every error a user can cause derives from :class:`AutoplugError`; its message
names the plugin, tool, field or file at fault. The CLI prints the message on
stderr (never a traceback) and exits with the error's ``exit_code``.
"""

from __future__ import annotations

from collections.abc import Iterable

#: How much of an exception's message :func:`describe_error` keeps (start and end).
ERROR_CHARS = 2000


def describe_error(exc: BaseException, limit: int = ERROR_CHARS) -> str:
    """One line naming an exception's type and message (whitespace folded, bounded).

    Used wherever a plugin's or a tool's exception is reported: plugin failures,
    failed tool calls, hook errors. A message longer than ``limit`` characters
    keeps its start and its end; an exception whose ``__str__`` raises is
    described by its type and that failure.
    """
    name = type(exc).__name__
    try:
        raw = str(exc)
    except Exception as inner:  # a broken __str__ must not turn one failure into a crash
        return f"{name} (its message cannot be shown: {type(inner).__name__})"
    if not isinstance(raw, str):
        return name
    if len(raw) > 4 * limit:
        # Fold only what is kept: a 10 MB message is not split into words whole.
        raw = raw[: 2 * limit] + " … " + raw[-2 * limit :]
    text = " ".join(raw.split())
    if len(text) > limit:
        keep = max(0, limit - len(f"…[{len(text)} characters cut]…"))
        tail = keep // 3
        head = keep - tail
        cut = len(text) - head - tail
        text = f"{text[:head]}…[{cut} characters cut]…{text[len(text) - tail :]}"
    return f"{name}: {text}" if text else name


def did_you_mean(name: str, known: Iterable[str], n: int = 3) -> str:
    """``"did you mean 'x', 'y'? "`` for the known names close to ``name``, else ``""``."""
    import difflib

    close = difflib.get_close_matches(name, list(known), n=n, cutoff=0.5)
    return f"did you mean {', '.join(repr(c) for c in close)}? " if close else ""


class AutoplugError(Exception):
    """Base of every error autoplug raises on purpose.

    ``exit_code`` is the CLI exit status for it: 1 for a failure at run time,
    2 for bad usage.
    """

    exit_code = 1


class UsageError(AutoplugError):
    """Raised for bad usage: a malformed argument, an unknown name, a missing setting."""

    exit_code = 2


class ConfigError(UsageError):
    """Raised when the config file cannot be read or holds an invalid value; names the file."""


class PluginError(AutoplugError):
    """Raised when a plugin fails to import or register and strict loading is on."""


class ToolDefinitionError(AutoplugError):
    """Raised when a tool is declared wrongly: a bad name, a schema that is not valid."""


class ToolRefused(AutoplugError):
    """Raised by a ``before_tool_call`` hook implementation to refuse a call.

    The reason becomes the error of the ``ToolResult`` (kind ``"refused"``).
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class UnknownModelError(UsageError):
    """Raised for a model id whose provider is not registered, or that is malformed."""


class NoModelConfigured(UsageError):
    """Raised when a run needs a model and none is given by flag, environment or config."""


class ModelError(AutoplugError):
    """Raised by a model provider: bad key, unreachable URL, malformed response.

    ``retryable`` says whether sending the same request again may succeed.
    """

    def __init__(self, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable


class ReplayMismatch(ModelError):
    """Raised by the replay model when a request has no recorded answer."""


class RunError(AutoplugError):
    """Raised for a run that cannot be found, read or resumed; names the run and file."""


class BlockingCallInLoop(AutoplugError):
    """Raised when a blocking call (``call``, ``run``) is made inside a running event loop."""
