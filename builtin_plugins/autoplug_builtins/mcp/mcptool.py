"""An MCP server's tool as an autoplug tool: its schema verdict, validation and results.

The input schema is validated in the dialect its ``$schema`` names (servers
send draft-07; none means 2020-12). Whether a schema is usable is decided once,
when the server is listed (jsonschema is loaded then anyway), and cached with
the tool list, so building the tools at start-up imports nothing heavy. An
unusable tool is still listed (its description says why), is never offered to
a model, and a call fails naming the fault.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from autoplug import Tool, ToolOutput

DIALECTS = {
    "http://json-schema.org/draft-07/schema": "Draft7Validator",
    "http://json-schema.org/draft-04/schema": "Draft4Validator",
    "http://json-schema.org/draft-06/schema": "Draft6Validator",
    "https://json-schema.org/draft/2019-09/schema": "Draft201909Validator",
    "https://json-schema.org/draft/2020-12/schema": "Draft202012Validator",
}


class McpToolError(Exception):
    """A tool call the server answered with ``isError``: the server's text is the message."""


def _validator_class(schema: dict[str, Any]) -> Any:
    import jsonschema

    uri = str(schema.get("$schema", "")).rstrip("#")
    return getattr(jsonschema, DIALECTS.get(uri, "Draft202012Validator"))


def _refs(node: Any, path: str = "") -> list[tuple[str, str]]:
    """Every ``$ref`` in a schema with where it is, as ``(schema_path, ref)``."""
    found: list[tuple[str, str]] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                found.append((path or "/", value))
            else:
                found += _refs(value, f"{path}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found += _refs(value, f"{path}/{i}")
    return found


def _resolves(root: Any, ref: str) -> bool:
    if ref == "#":
        return True
    if not ref.startswith("#/"):
        anchor = ref[1:]
        return any(isinstance(node, dict) and node.get("$anchor") == anchor for node in _walk(root))
    node = root
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return False
    return True


def _walk(node: Any) -> list[Any]:
    nodes = [node]
    if isinstance(node, dict):
        for value in node.values():
            nodes += _walk(value)
    elif isinstance(node, list):
        for value in node:
            nodes += _walk(value)
    return nodes


def schema_verdict(schema: Any) -> str | None:
    """None when ``schema`` can validate calls; otherwise why not, naming the schema path."""
    if not isinstance(schema, dict) or schema.get("type", "object") != "object":
        return "its inputSchema is not a JSON Schema of type 'object'"
    from jsonschema.exceptions import SchemaError

    try:
        _validator_class(schema).check_schema(schema)
    except SchemaError as exc:
        where = "/" + "/".join(str(p) for p in exc.path)
        return f"its inputSchema is invalid at {where}: {exc.message}"
    for where, ref in _refs(schema):
        if not ref.startswith("#"):
            return f"its inputSchema has a remote $ref {ref!r} at {where}, which is never fetched"
        if not _resolves(schema, ref):
            return f"its inputSchema has a $ref {ref!r} at {where} that does not resolve"
    for node in _walk(schema):
        pattern = node.get("pattern") if isinstance(node, dict) else None
        if isinstance(pattern, str):
            try:
                re.compile(pattern)
            except re.error as exc:
                return f"its inputSchema has a pattern {pattern!r} Python cannot compile: {exc}"
    return None


@dataclass
class McpTool(Tool):
    """A tool of an MCP server (plugin ``mcp_NAME``); it yields bare names to other plugins."""

    original: str = ""  # the server's own name for the tool, used on the wire
    unusable: str | None = None
    guest: ClassVar[bool] = True

    def violations(self, args: Any) -> list[tuple[str, str]]:
        """Every way ``args`` breaks the schema, checked in the schema's own dialect."""
        if self.unusable:
            return []
        if self._validator is None:
            self._validator = _validator_class(self.parameters)(self.parameters)
        errors = sorted(self._validator.iter_errors(args), key=lambda e: list(e.absolute_path))
        return [(e.json_path, e.message) for e in errors]


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
