"""A run's page data (autoplug.ui.run_view, .transcript): timings by act, images, the wheel."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from ui_helpers import PNG, make_run

from autoplug.runs.transcript import entries_of
from autoplug.ui.run_view import build_run_page, image_type, step_timeline

REPO = Path(__file__).resolve().parent.parent


def ev(type_, time, **data):
    return {"type": type_, "run_id": "r", "seq": 0, "time": time, "data": data}


#: Act 1 ran step s1 and died in s2; the resumed run reuses s1, reruns s2, then acts again.
RESUMED = [
    ev("decision", 1.0, function="act", arguments={"subtask": "a"}),
    ev("plan", 1.1, subtask="a", steps=[]),
    ev("step_started", 2.0, step="s1", tool="t", args={"x": 1}),
    ev("asset_stored", 2.4, step="s1", name="o1", preview="one"),
    ev("step_finished", 2.5, step="s1", tool="t", asset="o1", duration_s=0.5),
    ev("step_started", 3.0, step="s2", tool="t", args={}),
    ev("run_resumed", 10.0, decisions=1, acts=0, assets=["o1"]),
    ev("decision", 10.1, function="act", arguments={"subtask": "a"}),
    ev("plan", 10.2, subtask="a", steps=[], resumed=True),
    ev("step_finished", 10.3, step="s1", tool="t", asset="o1", duration_s=0.0, resumed=True),
    ev("step_started", 11.0, step="s2", tool="t", args={}),
    ev("step_failed", 11.25, step="s2", tool="t", error="boom", kind="tool_error"),
    ev("decision", 12.0, function="act", arguments={"subtask": "b"}),
    ev("step_started", 13.0, step="s1", tool="t", args={}),
    ev("step_skipped", 13.5, step="s1", tool="t", reason="needs asset"),
]


def test_step_timings_are_counted_by_act_across_a_resume_keeping_the_first_run_of_a_step():
    found = step_timeline(RESUMED)
    assert found[(1, "s1")]["duration_s"] == 0.5 and found[(1, "s1")]["started"] == 2.0
    assert found[(1, "s1")]["preview"] == "one"
    assert found[(1, "s2")]["started"] == 11.0 and found[(1, "s2")]["duration_s"] == 0.25
    assert found[(2, "s1")]["ended"] == 13.5


def test_transcript_step_entries_skip_reused_steps_and_measure_failed_ones():
    steps = [e for e in entries_of(RESUMED, model="m:x") if e["kind"] == "step"]
    assert [(e["act"], e["step"], e["status"]) for e in steps] == [
        (1, "s1", "succeeded"),
        (1, "s2", "failed"),
        (2, "s1", "skipped"),
    ]
    assert steps[0]["preview"] == "one" and steps[0]["args"] == {"x": 1}
    assert steps[1]["duration_s"] == 0.25 and steps[1]["error"] == "boom"
    assert steps[2]["error"] == "needs asset"


@pytest.mark.parametrize(
    ("raw", "media"),
    [
        (PNG, "image/png"),
        (b"\xff\xd8\xff\xe0rest", "image/jpeg"),
        (b"GIF89a...", "image/gif"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "image/webp"),
        (b"<svg onload=alert(1)>", None),
        (b"<html>", None),
        (b"", None),
    ],
)
def test_only_raster_images_are_shown_inline(raw, media):
    assert image_type(raw) == media


def test_a_run_page_of_a_real_run_has_its_failed_step_error_and_no_running_step(tmp_path):
    result = make_run(tmp_path)
    page = build_run_page(tmp_path, result.run_id)
    statuses = {s["id"]: s["status"] for s in page.data["acts"][0]["steps"]}
    assert statuses == {"oslo": "succeeded", "bergen": "succeeded", "boom": "failed"}
    assert page.data["live"] is False and page.data["tokens"] > 0
    assert page.data["duration_s"] > 0  # from the trace, finer than the row's seconds
    ((act_no, drawn),) = page.layouts
    assert act_no == 1 and len(drawn.nodes) == 3


@pytest.mark.slow
def test_the_wheel_ships_the_templates_and_static_files(tmp_path):
    built = subprocess.run(
        [sys.executable, "-m", "hatchling", "build", "-t", "wheel", "-d", str(tmp_path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert built.returncode == 0, built.stderr
    (wheel,) = tmp_path.glob("*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = {
        f"autoplug/ui/{kind}/{p.name}"
        for kind in ("templates", "static")
        for p in (REPO / "core/autoplug/ui" / kind).iterdir()
    }
    assert len(shipped) >= 9 and shipped <= names
