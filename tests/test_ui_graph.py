"""A plan's graph (autoplug.ui.graph): edges from asset references and inputs, layers, SVG."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from autoplug.ui.graph import NODE_H, NODE_W, dependencies, layout, render_svg, step_reads


def step(sid, *, reads=(), inputs=(), status="succeeded", tool="t"):
    return {
        "id": sid,
        "tool": tool,
        "status": status,
        "args": {f"a{i}": {"$asset": name} for i, name in enumerate(reads)},
        "inputs": list(inputs),
        "output": f"out_{sid}",
    }


def test_edges_come_from_asset_references_and_inputs_within_the_plan():
    steps = [
        step("a"),
        step("b"),
        step("c", reads=["out_a"], inputs=["out_b", "passed_by_act"]),
    ]
    assert step_reads(steps[2]) == ["out_a", "out_b", "passed_by_act"]
    assert dependencies(steps) == [[], [], [0, 1]]
    drawn = layout(steps, ["k0", "k1", "k2"])
    assert sorted(drawn.edges) == [("k0", "k2"), ("k1", "k2")]


def test_a_literal_dict_argument_and_a_fill_are_not_edges():
    plain = {"id": "x", "tool": "t", "args": {"a": {"name": "out_a"}, "b": {"$fill": "?"}}}
    assert step_reads(plain) == []


def test_a_step_sits_below_every_step_it_reads():
    steps = [step("a"), step("b", reads=["out_a"]), step("c", reads=["out_b", "out_a"])]
    nodes = {n.step_id: n for n in layout(steps, ["0", "1", "2"]).nodes}
    assert nodes["a"].y < nodes["b"].y < nodes["c"].y


def test_svg_escapes_what_the_model_wrote():
    steps = [step('<script>alert("x")</script>', tool="<b>bold</b>", status="failed")]
    svg = render_svg(layout(steps, ["1-0"]), "act-1")
    assert "<script>" not in svg and "<b>" not in svg
    assert "&lt;script&gt;" in svg
    assert 'class="node status-failed"' in svg and 'href="#step-1-0"' in svg


def test_svg_carries_no_inline_style():
    svg = render_svg(layout([step("a"), step("b", reads=["out_a"])], ["0", "1"]), "act-1")
    assert "style=" not in svg
    assert svg.count('<path class="edge"') == 1


@st.composite
def plans(draw):
    """Random acyclic plans: each step may read outputs of earlier steps, in shuffled order."""
    n = draw(st.integers(min_value=0, max_value=40))
    steps = []
    for i in range(n):
        earlier = draw(st.lists(st.integers(0, i - 1), max_size=3)) if i else []
        as_input = draw(st.booleans())
        names = [f"out_{j}" for j in earlier]
        steps.append(
            step(str(i), reads=[] if as_input else names, inputs=names if as_input else [])
        )
    order = draw(st.permutations(range(n)))
    return [steps[i] for i in order]


@settings(max_examples=150, deadline=None)
@given(plans())
def test_every_step_is_one_node_no_two_overlap_and_every_edge_runs_down(steps):
    keys = [f"k{i}" for i in range(len(steps))]
    drawn = layout(steps, keys)
    assert [n.key for n in drawn.nodes] == keys
    boxes = [(n.x, n.y) for n in drawn.nodes]
    assert len(set(boxes)) == len(boxes)
    for n in drawn.nodes:
        assert 0 <= n.x and n.x + NODE_W <= drawn.width
        assert 0 <= n.y and n.y + NODE_H <= drawn.height
    where = {n.key: n for n in drawn.nodes}
    expected = {(keys[d], keys[i]) for i, ds in enumerate(dependencies(steps)) for d in ds}
    assert set(drawn.edges) == expected
    for source, target in drawn.edges:
        assert where[source].y < where[target].y
    svg = render_svg(drawn, "act-1")
    assert len(re.findall(r'<g class="node ', svg)) == len(steps)
