"""Reading the planner's typed signatures back, as a model would: for tests only.

A planner knows a tool's arguments only from the catalog text. To show the text
is enough, :func:`parse_type` reads one type of the notation
(``autoplug.agents.signatures``) into a small tree and :func:`example` writes a
value from that tree alone — every required key, the first of an enum, the
right type for every leaf, nested objects and lists — which the tests then
validate against the original JSON Schema.
"""

from __future__ import annotations

import json
from typing import Any

_NAMES = {"string", "integer", "number", "boolean", "null", "object", "any"}


class Reader:
    """A cursor over one type's text."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.at = 0

    def peek(self, token: str) -> bool:
        return self.text.startswith(token, self.at)

    def take(self, token: str) -> None:
        if not self.peek(token):
            raise ValueError(f"expected {token!r} at {self.at} in {self.text!r}")
        self.at += len(token)

    def json_value(self) -> Any:
        value, end = json.JSONDecoder().raw_decode(self.text, self.at)
        self.at = end
        return value

    def union(self) -> dict[str, Any]:
        options = [self.primary()]
        while self.peek("|") or self.peek(" ^ "):
            self.take("|" if self.peek("|") else " ^ ")
            options.append(self.primary())
        return options[0] if len(options) == 1 else {"kind": "union", "options": options}

    def primary(self) -> dict[str, Any]:
        if self.peek("("):
            self.take("(")
            node = self.union()
            self.take(")")
        elif self.peek("["):
            self.take("[")
            node = {"kind": "array", "items": self.field()}
            self.take("]")
        elif self.peek("{"):
            node = self.obj()
        else:
            for name in sorted(_NAMES, key=len, reverse=True):
                if self.peek(name):
                    self.take(name)
                    node = {"kind": name}
                    break
            else:
                node = {"kind": "literal", "value": self.json_value()}
        if self.peek("{") and node.get("kind") != "object":
            node["extras"] = self.json_value()  # constraints as compact JSON
        return node

    def field(self) -> dict[str, Any]:
        node = self.union()
        if self.peek(" = "):
            self.take(" = ")
            node["default"] = self.json_value()
        if self.peek(" /* "):
            end = self.text.index(" */", self.at)
            node["description"] = self.text[self.at + 4 : end]
            self.at = end + 3
        return node

    def key(self) -> str:
        if self.peek('"'):
            return self.json_value()
        start = self.at
        while self.at < len(self.text) and (
            self.text[self.at].isalnum() or self.text[self.at] == "_"
        ):
            self.at += 1
        return self.text[start : self.at]

    def obj(self) -> dict[str, Any]:
        self.take("{")
        node: dict[str, Any] = {"kind": "object", "properties": {}, "required": []}
        while not self.peek("}"):
            if self.peek("[key]: "):
                self.take("[key]: ")
                node["rest"] = self.field()
            else:
                name = self.key()
                optional = self.peek("?")
                if optional:
                    self.take("?")
                self.take(": ")
                node["properties"][name] = self.field()
                if not optional:
                    node["required"].append(name)
            if self.peek(", "):
                self.take(", ")
        self.take("}")
        return node


def parse_type(text: str) -> dict[str, Any]:
    """One type (with an optional default and description) as a tree; raises on leftovers."""
    reader = Reader(text)
    node = reader.field()
    if reader.at != len(text):
        raise ValueError(f"unread text {text[reader.at :]!r} in {text!r}")
    return node


def parse_signature(lines: str) -> dict[str, Any]:
    """A tool's argument lines (``  name[?]: TYPE[ = default][ — description]``) as an object node."""
    node: dict[str, Any] = {"kind": "object", "properties": {}, "required": []}
    for line in lines.splitlines():
        line = line.strip()
        reader = Reader(line)
        name = reader.key()
        optional = reader.peek("?")
        if optional:
            reader.take("?")
        reader.take(": ")
        sub = reader.union()
        if reader.peek(" = "):
            reader.take(" = ")
            sub["default"] = reader.json_value()
        rest = line[reader.at :]
        if rest and not rest.startswith(" — "):
            raise ValueError(f"unread text {rest!r} in {line!r}")
        node["properties"][name] = sub
        if not optional:
            node["required"].append(name)
    return node


def example(node: dict[str, Any]) -> Any:
    """A value of the type ``node`` describes, written from the tree alone."""
    kind = node["kind"]
    if kind == "union":
        return example(node["options"][0])
    if kind == "literal":
        return node["value"]
    if kind == "object":
        return {name: example(node["properties"][name]) for name in node["required"]}
    if kind == "array":
        return [example(node["items"])]
    return {
        "string": "x",
        "integer": 1,
        "number": 1.5,
        "boolean": True,
        "null": None,
        "any": None,
    }[kind]
