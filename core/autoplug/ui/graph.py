"""A plan drawn as a graph: its steps as nodes, asset references as edges, as SVG.

An edge runs from the step that produces an asset to every step of the same
plan that reads it: through a ``{"$asset": name}`` argument or its ``inputs``.
Steps are laid out top to bottom in layers (a step sits one layer below the
lowest step it reads from), a layer wider than :data:`ROW_NODES` wraps onto more
rows, and each layer is ordered by where its producers sit, which keeps most
edges short. The SVG is drawn on the server: the page needs no graph library.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from typing import Any

NODE_W = 168
NODE_H = 46
GAP_X = 24
GAP_Y = 46
MARGIN = 12
ROW_NODES = 10


@dataclass(frozen=True)
class Node:
    """One step placed on the drawing: ``key`` is its HTML id suffix, x/y its top left corner."""

    key: str
    step_id: str
    tool: str
    status: str
    x: int
    y: int


@dataclass(frozen=True)
class Layout:
    """Placed nodes, edges as ``(from_key, to_key)``, and the drawing's size."""

    nodes: tuple[Node, ...]
    edges: tuple[tuple[str, str], ...]
    width: int
    height: int


def step_reads(step: dict[str, Any]) -> list[str]:
    """The asset names a planned step reads: its ``$asset`` arguments, then its ``inputs``."""
    names: list[str] = []
    args = step.get("args")
    if isinstance(args, dict):
        for value in args.values():
            if isinstance(value, dict) and isinstance(value.get("$asset"), str):
                names.append(value["$asset"])
    inputs = step.get("inputs")
    if isinstance(inputs, list):
        names += [n for n in inputs if isinstance(n, str)]
    return list(dict.fromkeys(names))


def dependencies(steps: list[dict[str, Any]]) -> list[list[int]]:
    """For each step (by index), the indexes of the steps of this plan it reads from."""
    producer: dict[str, int] = {}
    for index, step in enumerate(steps):
        if isinstance(step.get("output"), str):
            producer.setdefault(step["output"], index)
    return [
        sorted({producer[n] for n in step_reads(step) if n in producer and producer[n] != index})
        for index, step in enumerate(steps)
    ]


def _layers(deps: list[list[int]]) -> list[int]:
    """Each step's layer: one below its deepest producer (topological order, no recursion).

    Steps on a cycle (never in an accepted plan) keep the layer reached so far.
    """
    layer = [0] * len(deps)
    waiting = [len(d) for d in deps]
    readers: list[list[int]] = [[] for _ in deps]
    for index, ds in enumerate(deps):
        for d in ds:
            readers[d].append(index)
    ready = [i for i, count in enumerate(waiting) if count == 0]
    while ready:
        index = ready.pop()
        for reader in readers[index]:
            layer[reader] = max(layer[reader], layer[index] + 1)
            waiting[reader] -= 1
            if waiting[reader] == 0:
                ready.append(reader)
    return layer


def layout(steps: list[dict[str, Any]], keys: list[str]) -> Layout:
    """Place ``steps`` (dicts with ``id``, ``tool``, ``status``, ``args``, ``output``, ``inputs``).

    ``keys`` are the nodes' ids in the page, one per step.
    """
    deps = dependencies(steps)
    layer_of = _layers(deps)
    by_layer: dict[int, list[int]] = {}
    for index, layer in enumerate(layer_of):
        by_layer.setdefault(layer, []).append(index)
    column: dict[int, float] = {}
    rows: list[list[int]] = []
    for layer in sorted(by_layer):
        members = by_layer[layer]
        # Barycentre ordering: under the average column of what the step reads.
        members.sort(
            key=lambda i: (sum(column[d] for d in deps[i]) / len(deps[i]) if deps[i] else i, i)
        )
        for start in range(0, len(members), ROW_NODES):
            row = members[start : start + ROW_NODES]
            for position, index in enumerate(row):
                column[index] = position
            rows.append(row)
    widest = max((len(r) for r in rows), default=0)
    nodes: list[Node] = []
    for row_no, row in enumerate(rows):
        indent = (widest - len(row)) * (NODE_W + GAP_X) // 2
        for position, index in enumerate(row):
            step = steps[index]
            nodes.append(
                Node(
                    key=keys[index],
                    step_id=str(step.get("id")),
                    tool=str(step.get("tool") or "-"),
                    status=str(step.get("status") or "pending"),
                    x=MARGIN + indent + position * (NODE_W + GAP_X),
                    y=MARGIN + row_no * (NODE_H + GAP_Y),
                )
            )
    order = {key: i for i, key in enumerate(keys)}
    nodes.sort(key=lambda n: order[n.key])
    edges = tuple((keys[d], keys[i]) for i, ds in enumerate(deps) for d in ds)
    width = 2 * MARGIN + max(widest * (NODE_W + GAP_X) - GAP_X, 0)
    height = 2 * MARGIN + max(len(rows) * (NODE_H + GAP_Y) - GAP_Y, 0)
    return Layout(tuple(nodes), edges, width, height)


def _clip(text: str, chars: int) -> str:
    return text if len(text) <= chars else text[: chars - 1] + "…"


def render_svg(plan: Layout, label: str) -> str:
    """The layout as an inline SVG element; each node a link to its step's details.

    Colours come from the stylesheet (``status-*`` classes), so the SVG carries no
    inline style and passes the page's Content-Security-Policy.
    """
    marker = f"arrow-{escape(label, quote=True)}"
    where = {n.key: n for n in plan.nodes}
    parts = [
        f'<svg class="plan" xmlns="http://www.w3.org/2000/svg" width="{plan.width}" '
        f'height="{plan.height}" viewBox="0 0 {plan.width} {plan.height}" role="img" '
        f'aria-label="plan of {escape(label, quote=True)}">',
        f'<defs><marker id="{marker}" viewBox="0 0 10 10" refX="10" refY="5" '
        'markerWidth="7" markerHeight="7" orient="auto-start-reverse">'
        '<path d="M 0 0 L 10 5 L 0 10 z" class="arrowhead"/></marker></defs>',
    ]
    for source, target in plan.edges:
        a, b = where[source], where[target]
        x1, y1 = a.x + NODE_W // 2, a.y + NODE_H
        x2, y2 = b.x + NODE_W // 2, b.y
        bend = max((y2 - y1) // 2, 12)
        parts.append(
            f'<path class="edge" data-from="{a.key}" data-to="{b.key}" '
            f'd="M {x1} {y1} C {x1} {y1 + bend}, {x2} {y2 - bend}, {x2} {y2}" '
            f'marker-end="url(#{marker})"/>'
        )
    for node in plan.nodes:
        step_id, tool = escape(node.step_id, quote=True), escape(node.tool, quote=True)
        status = escape(node.status, quote=True)
        parts.append(
            f'<a href="#step-{node.key}" class="node-link">'
            f'<g class="node status-{status}" data-step="{node.key}" data-status="{status}" '
            f'data-step-id="{step_id}">'
            f"<title>{step_id}: {tool} ({status})</title>"
            f'<rect x="{node.x}" y="{node.y}" width="{NODE_W}" height="{NODE_H}" rx="6"/>'
            f'<text x="{node.x + 10}" y="{node.y + 19}" class="node-id">'
            f"{escape(_clip(node.step_id, 20))}</text>"
            f'<text x="{node.x + 10}" y="{node.y + 36}" class="node-tool">'
            f"{escape(_clip(node.tool, 18))} · {status}</text>"
            "</g></a>"
        )
    parts.append("</svg>")
    return "".join(parts)
