"""One run's page data: what ``runs show --json`` shows, plus timings, graphs and assets.

Everything comes through the run folder's own readers, opened read-only:
:func:`autoplug.cli.runs.show_run` (acts, steps and their status, assets),
the trace (when each step started and ended, what a fill chose, the result each
step stored) and :mod:`.transcript`. A step the trace saw start but not end, in
a run still running, is ``running``.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from ..assets import AssetStore
from ..runs import RunStore, runs_dir, utc_iso
from ..runs.transcript import STEP_ENDS
from .graph import Layout, layout, step_reads
from .listing import summarize
from .transcript import children_of, transcript_entries

#: Magic numbers of the image types a page shows inline (never SVG: it can hold script).
IMAGE_TYPES = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)


@dataclass(frozen=True)
class RunPage:
    """A run's page: ``data`` is its JSON (``/runs/RUN_ID.json``), ``layouts`` each act's graph."""

    data: dict[str, Any]
    layouts: tuple[tuple[int, Layout], ...]
    version: str


@dataclass(frozen=True)
class Download:
    """An asset as served: its bytes, media type and a safe file name."""

    body: bytes
    media_type: str
    filename: str


def image_type(raw: bytes) -> str | None:
    """The media type of ``raw`` when it is a PNG, JPEG, GIF or WebP image, else None."""
    for magic, media in IMAGE_TYPES:
        if raw.startswith(magic):
            return media
    if raw[:4] == b"RIFF" and raw[8:12] == b"WEBP":
        return "image/webp"
    return None


def run_version(home: Path, run_id: str) -> str:
    """A token that changes whenever the run's state or trace does (cheap: four stats)."""
    folder = runs_dir(home) / run_id
    parts = []
    for name in ("state.jsonl", "state.sqlite", "state.sqlite-wal", "trace.jsonl"):
        try:
            st = os.stat(folder / name)
            parts.append(f"{st.st_size}.{st.st_mtime_ns}")
        except OSError:
            parts.append("-")
    return "-".join(parts)


def step_timeline(events: list[dict[str, Any]]) -> dict[tuple[int, str], dict[str, Any]]:
    """Per ``(act, step id)``: ``started``/``ended`` (POSIX times), ``duration_s``, ``filled``, ``preview``.

    Acts are counted as the dynamic agent numbers them (see :mod:`.transcript`).
    A resumed run reuses finished steps with ``resumed`` events; their first
    timings are kept.
    """
    act = 0
    found: dict[tuple[int, str], dict[str, Any]] = {}
    for event in events:
        kind, data = event.get("type"), event.get("data")
        if not isinstance(data, dict):
            continue
        if kind == "run_resumed":
            acts = data.get("acts")
            act = acts if isinstance(acts, int) else act
            continue
        if kind == "decision" and data.get("function") == "act":
            act += 1
            continue
        if "step" not in data:
            continue
        entry = found.setdefault((act, str(data["step"])), {})
        when = event.get("time") if isinstance(event.get("time"), int | float) else None
        if kind == "step_started":
            entry.update(started=when, ended=None, duration_s=None)
        elif kind == "fill":
            entry["filled"] = data.get("arguments")
        elif kind == "asset_stored":
            entry["preview"] = data.get("preview")
        elif kind in STEP_ENDS and not (data.get("resumed") and "ended" in entry):
            entry["ended"] = when
            measured = data.get("duration_s")
            if not isinstance(measured, int | float) and entry.get("started") and when:
                measured = round(when - entry["started"], 6)
            entry["duration_s"] = measured
    return found


def _trace_duration(events: list[dict[str, Any]], live: bool) -> float | None:
    """Seconds from the first event to the last ``run_finished`` (or to now while live).

    Finer than the run row's times, which are whole seconds.
    """
    times = [e.get("time") for e in events if isinstance(e.get("time"), int | float)]
    if not times:
        return None
    if live:
        return round(max(0.0, time.time() - times[0]), 3)
    ends = [
        e["time"]
        for e in events
        if e.get("type") == "run_finished" and isinstance(e.get("time"), int | float)
    ]
    return round(ends[-1] - times[0], 3) if ends else None


def _iso(value: Any) -> str | None:
    return utc_iso(value) if isinstance(value, int | float) else None


def _asset_href(run_id: str, name: str) -> str:
    return f"/runs/{quote(run_id, safe='')}/assets/{quote(name, safe='')}"


def build_run_page(home: Path, run_id: str) -> RunPage:
    """Read run ``run_id`` (read-only) into its page.

    Raises :class:`autoplug.runs.UnknownRunError` for an unknown run and
    :class:`autoplug.errors.RunError` naming the file for a corrupt one.
    """
    from ..cli.runs import show_run  # the reader `runs show --json` prints

    version = run_version(home, run_id)
    with RunStore.open(home, run_id, read_only=True) as store:
        shown = show_run(store)
        events = store.events()
        plans = store.plans()
        # Only a bytes asset may be an image to show inline: load values only then.
        has_bytes = any(a["type"] == "bytes" for a in shown["assets"])
        assets = AssetStore.load(store.assets_dir).all() if has_bytes else []
        transcript = transcript_entries(store, events)
        children = children_of(store)
    live = shown["status"] == "running"
    timeline = step_timeline(events)
    layouts = []
    for act in shown["acts"]:
        planned = {str(s.get("id")): s for s in (plans.get(act["act"]) or {}).get("steps", [])}
        for index, step in enumerate(act["steps"]):
            plan_step = planned.get(str(step["id"]), {})
            times = timeline.get((act["act"], str(step["id"])), {})
            if live and step["status"] == "pending" and times.get("started"):
                step["status"] = "running"
            step.update(
                key=f"{act['act']}-{index}",
                inputs=plan_step.get("inputs") or [],
                reads=step_reads(plan_step),
                filled=times.get("filled"),
                result=times.get("preview"),
                started=_iso(times.get("started")),
                finished=_iso(times.get("ended")),
                duration_s=times.get("duration_s"),
            )
        drawn = layout(
            [{**s, **planned.get(str(s["id"]), {}), "status": s["status"]} for s in act["steps"]],
            [s["key"] for s in act["steps"]],
        )
        act["graph"] = {
            "nodes": [
                {"key": n.key, "step": n.step_id, "status": n.status, "x": n.x, "y": n.y}
                for n in drawn.nodes
            ],
            "edges": [list(edge) for edge in drawn.edges],
        }
        layouts.append((act["act"], drawn))
    images = {a.name for a in assets if a.type == "bytes" and image_type(a.value)}
    for entry in shown["assets"]:
        entry["download"] = _asset_href(run_id, entry["name"])
        entry["image"] = entry["name"] in images
    calls = [
        e["data"] for e in events if e.get("type") == "llm_call" and isinstance(e.get("data"), dict)
    ]
    usage = shown.get("usage") if isinstance(shown.get("usage"), dict) else {}
    counted = sum((c.get("input_tokens") or 0) + (c.get("output_tokens") or 0) for c in calls)
    row = summarize(shown)
    shown.update(
        live=live,
        duration_s=_trace_duration(events, live) or row["duration_s"],
        # The run row's usage is written when the run ends; while it runs, the trace counts.
        tokens=row["tokens"] if row["tokens"] is not None else counted,
        llm_calls=usage.get("llm_calls", usage.get("calls", len(calls))),
        usd=row["usd"],
        transcript=transcript,
        children=children,
        version=version,
    )
    return RunPage(data=shown, layouts=tuple(layouts), version=version)


def asset_download(home: Path, run_id: str, name: str) -> Download:
    """Asset ``name`` of run ``run_id``, found by name in the run's manifest (never by path).

    Raises KeyError naming the asset when the run has none of that name.
    """
    with RunStore.open(home, run_id, read_only=True) as store:
        asset = AssetStore.load(store.assets_dir).get(name)
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name).strip("._") or "asset"
    if asset.type == "bytes":
        media = image_type(asset.value) or "application/octet-stream"
        extension = {"image/png": ".png", "image/jpeg": ".jpg", "image/gif": ".gif"}.get(
            media, ".webp" if media == "image/webp" else ".bin"
        )
        return Download(asset.value, media, safe + extension)
    if asset.type == "json":
        body = json.dumps(asset.value, ensure_ascii=False).encode("utf-8")
        return Download(body, "application/json", safe + ".json")
    return Download(asset.value.encode("utf-8"), "text/plain; charset=utf-8", safe + ".txt")
