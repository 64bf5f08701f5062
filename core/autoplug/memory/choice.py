"""Which embedder a home uses: the config's ``[memory] embedder``, else the choice kept in state.

The first time memory is used with no ``[memory] embedder`` in the config, an
embedder is chosen (``minilm`` when installed, else ``hashing``) and kept in
``$AUTOPLUG_HOME/state/memory.json``; the config file is never edited. Later
uses read that choice, so installing the embeddings extra never silently
switches a home to another vector space. A setting in the config always wins.

Older versions appended ``[memory]`` / ``embedder = "..."`` to the end of
config.toml. Such a file still works: the block is an ordinary setting. It is
recognised by its exact shape at the end of the file, and the user is told once
(the note is remembered in state) that the lines can be removed.
"""

from __future__ import annotations

import re
import sys
from typing import Any

from ..errors import UsageError
from ..state import read_state, update_state

STATE = "memory"
"""The state file (``state/memory.json``): ``{"embedder": NAME, ...}``."""

DEFAULT_EMBEDDERS = ("minilm", "hashing")
"""Tried in order on first use; the first registered and available one is chosen."""

# What Config.set_value of older versions appended when the file had no [memory] table.
_APPENDED = re.compile(r'\n\[memory\]\nembedder = "(?P<name>[^"\\\n]+)"\n\Z')


def appended_embedder(text: str) -> str | None:
    """The embedder of a ``[memory]`` block an older autoplug appended to ``text``, if any."""
    found = _APPENDED.search(text)
    return found.group("name") if found else None


def configured_embedder(kernel: Any) -> str | None:
    """``[memory] embedder`` from the config; notes once that an appended block can go."""
    name = kernel.config.memory.get("embedder")
    if name is not None:
        _note_appended_block(kernel, name)
    return name


def _note_appended_block(kernel: Any, name: str) -> None:
    try:
        text = kernel.config.path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return
    if appended_embedder(text) != name:
        return
    home = kernel.config.home
    if read_state(home, STATE).get("appended_block_noted"):
        return

    def note(data: dict[str, Any]) -> dict[str, Any]:
        data.setdefault("embedder", name)  # removing the lines keeps the same embedder
        return {**data, "appended_block_noted": True}

    try:
        update_state(home, STATE, note)
    except OSError:
        return  # a read-only home: the note would repeat; the setting still works
    print(
        f'autoplug: note: the lines "[memory]" and "embedder = "{name}"" at the end of '
        f"{kernel.config.path} were written by an older autoplug; the choice is now kept in "
        f"{home / 'state' / 'memory.json'}, so you can remove those two lines",
        file=sys.stderr,
    )


def chosen_embedder(kernel: Any) -> str:
    """The embedder to use: the config's, else the one kept in state, else chosen now and kept.

    Choosing happens under the state file's lock, so concurrent first runs agree.
    Raises :class:`UsageError` when no embedder is registered.
    """
    name = configured_embedder(kernel)
    if name is not None:
        return name
    home = kernel.config.home
    kept = read_state(home, STATE).get("embedder")
    if isinstance(kept, str) and kept:
        return kept

    def choose(data: dict[str, Any]) -> dict[str, Any]:
        current = data.get("embedder")
        if isinstance(current, str) and current:
            return data  # another process chose first
        return {**data, "embedder": pick_embedder(kernel)}

    try:
        return str(update_state(home, STATE, choose)["embedder"])
    except OSError as exc:
        # A home that cannot be written still gets memory; the choice is made again next time.
        print(
            f"autoplug: warning: cannot keep the embedder choice in {home / 'state'}: {exc}",
            file=sys.stderr,
        )
        return pick_embedder(kernel)


def pick_embedder(kernel: Any) -> str:
    """``minilm`` when registered and available, else ``hashing``, else the first registered.

    Raises :class:`UsageError` when no embedder is registered.
    """
    names = kernel.embedders.names()
    for name in (*DEFAULT_EMBEDDERS, *names):
        if name in names and _available(kernel.embedders.get(name)):
            return name
    raise UsageError("no embedder is registered (is the autoplug_memory plugin disabled?)")


def _available(factory: Any) -> bool:
    check = getattr(factory, "available", None)
    return bool(check()) if callable(check) else True
