"""How an MCP tool's name becomes an autoplug tool name, and back.

Tool names must match ``^[A-Za-z0-9_-]{1,64}$`` (what model APIs accept), and
models are offered a clashing tool as ``mcp_NAME__TOOL``, which must fit too.
A name that already fits is kept. Any other is mapped to a valid one: each
character outside ``[A-Za-z0-9_-]`` becomes ``_``, the result is cut short
enough, and ``_`` plus 8 hex digits of the SHA-256 of the original name is
appended, so the mapping is stable (the same name always maps the same way)
and two names never meet by being cut alike. A tool keeps its original name
for the call, so the mapping is reversed on every call.
"""

from __future__ import annotations

import hashlib
import re

MAX_NAME = 64
_VALID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_INVALID_CHAR = re.compile(r"[^A-Za-z0-9_-]")
HASH_LEN = 8


def tool_name(plugin: str, original: str) -> str:
    """The autoplug name of MCP tool ``original`` of plugin ``plugin`` (``mcp_NAME``)."""
    budget = MAX_NAME - len(plugin) - len("__")
    if _VALID.match(original) and len(original) <= budget:
        return original
    digest = hashlib.sha256(original.encode("utf-8")).hexdigest()[:HASH_LEN]
    base = _INVALID_CHAR.sub("_", original)[: budget - HASH_LEN - 1].strip("_") or "tool"
    return f"{base}_{digest}"
