"""Two tools for the tests that trace or transcribe a run: one that answers, one that always fails."""

from __future__ import annotations

from typing import Any

from autoplug import hookimpl, tool


@tool
def shout(text: str) -> str:
    """Return the text in capitals."""
    return text.upper()


@tool
def explode(message: str) -> str:
    """Always fail."""
    raise RuntimeError(message)


class ShoutTools:
    """A plugin with ``shout`` and ``explode``."""

    name = "shout_tools"

    @hookimpl
    def register_tools(self, register: Any) -> None:
        register(shout)
        register(explode)
