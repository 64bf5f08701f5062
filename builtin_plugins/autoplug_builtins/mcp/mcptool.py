"""An MCP server's tool as an autoplug tool: its schema verdict, validation and results.

The input schema is validated in the dialect its ``$schema`` names (servers
send draft-07; none means 2020-12), by the same rules as any hand-built tool
schema (:mod:`autoplug.schemacheck`). Whether a schema is usable is decided once,
when the server is listed (jsonschema is loaded then anyway), and cached with
the tool list, so building the tools at start-up imports nothing heavy. An
unusable tool is still listed (its description says why), is never offered to
a model, and a call fails naming the fault.
"""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from autoplug import Tool, ToolOutput


class McpToolError(Exception):
    """A tool call the server answered with ``isError``: the server's text is the message."""


def schema_verdict(schema: Any) -> str | None:
    """None when ``schema`` can validate calls; otherwise why not, naming the schema path.

    The kernel's rules for hand-built schemas (:mod:`autoplug.schemacheck`): its
    dialect from ``$schema``, references resolved locally only, patterns that
    Python compiles; and the dialect's meta-schema.
    """
    if not isinstance(schema, dict) or schema.get("type", "object") != "object":
        return "its inputSchema is not a JSON Schema of type 'object'"
    from jsonschema.exceptions import SchemaError

    from autoplug.schemacheck import schema_fault, validator_class

    try:
        fault = schema_fault(schema)
        if fault is None:
            validator_class(schema)[0].check_schema(schema)
    except SchemaError as exc:
        where = "/" + "/".join(str(p) for p in exc.path)
        return f"its inputSchema is invalid at {where}: {exc.message}"
    except RecursionError:
        return "its inputSchema is nested too deeply to check"
    return f"its inputSchema is unusable: {fault}" if fault else None


@dataclass
class McpTool(Tool):
    """A tool of an MCP server (plugin ``mcp_NAME``); it yields bare names to other plugins."""

    original: str = ""  # the server's own name for the tool, used on the wire
    unusable: str | None = None
    guest: ClassVar[bool] = True


def make_tool(
    name: str,
    listed: dict[str, Any],
    *,
    call: Callable[[str, dict[str, Any]], Awaitable[Any]],
    timeout: float,
    auto_approve: bool,
) -> McpTool:
    """The autoplug tool for one ``tools/list`` entry (with its cached ``unusable`` verdict)."""
    original = listed["name"]
    annotations = listed.get("annotations") or {}
    unusable = listed.get("unusable")
    description = listed.get("description") or listed.get("title") or ""
    if unusable:
        description = f"[unusable: {unusable}] {description}".strip()
    schema = listed.get("inputSchema")
    if not isinstance(schema, dict):
        schema = {"type": "object", "properties": {}}

    async def call_tool(**arguments: Any) -> Any:
        if unusable:
            raise McpToolError(f"the tool is unusable: {unusable}")
        return await call(original, arguments)

    return McpTool(
        name=name,
        func=call_tool,
        description=description,
        parameters=schema,
        side_effects=annotations.get("readOnlyHint") is not True,
        timeout=timeout,
        trusted_schema=True,  # checked when listed; the verdict is in ``unusable``
        auto_approve=auto_approve,
        original=original,
        unusable=unusable,
    )


def result_value(result: dict[str, Any]) -> Any:
    """The value of a ``tools/call`` result (JSON data).

    ``isError`` raises :class:`McpToolError` with the server's text;
    ``structuredContent`` is the value when present, else the text parts joined
    by newlines. Images (and audio) become bytes assets ``image1``, ``image2``…
    beside the value (a :class:`ToolOutput`).
    """
    content = result.get("content") or []
    texts = [part.get("text", "") for part in content if part.get("type") == "text"]
    if result.get("isError"):
        message = " ".join(" ".join(texts).split()) or "the server reported an error"
        raise McpToolError(message)
    value: Any = result["structuredContent"] if "structuredContent" in result else "\n".join(texts)
    blobs: list[tuple[str, Any]] = []
    counts: dict[str, int] = {}
    for part in content:
        kind = part.get("type")
        if kind in ("image", "audio") and isinstance(part.get("data"), str):
            counts[kind] = counts.get(kind, 0) + 1
            try:
                raw = base64.b64decode(part["data"], validate=True)
            except ValueError:
                raise McpToolError(f"the server sent {kind} data that is not base64") from None
            blobs.append((f"{kind}{counts[kind]}", raw))
    return ToolOutput(value, tuple(blobs)) if blobs else value
