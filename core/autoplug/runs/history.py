"""Many runs: the listing (newest first, corrupt folders included) and retention."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path
from typing import Any

from ..errors import RunError
from .ids import parse_iso
from .store import RunStore, UnknownRunError, runs_dir


def corrupt_entry(run_id: str, error: str) -> dict[str, Any]:
    """The listing entry of a run folder that cannot be read."""
    return {
        "run_id": run_id,
        "status": "corrupt",
        "task": None,
        "model": None,
        "auto": None,
        "started": None,
        "finished": None,
        "reason": None,
        "error": error,
    }


def list_runs(home: Path) -> list[dict[str, Any]]:
    """Every run, newest first: its :meth:`RunStore.info` plus ``error`` (None).

    A folder that cannot be read is listed with status ``corrupt`` and the
    error; it never breaks the listing of the others.
    """
    parent = runs_dir(home)
    if not parent.is_dir():
        return []
    entries = []
    for folder in sorted(parent.iterdir(), key=lambda p: p.name, reverse=True):
        if folder.name.startswith(".") or not folder.is_dir():
            continue  # staging or deleting folders, stray files
        try:
            # Read-only: listing changes nothing in a run's folder, and opens faster.
            with RunStore.open(home, folder.name, read_only=True) as store:
                info = store.info()
        except UnknownRunError:
            continue  # deleted since it was listed (`runs prune` of another process)
        except RunError as exc:
            entries.append(corrupt_entry(folder.name, str(exc)))
            continue
        except Exception as exc:  # one damaged folder must never hide the other runs
            entries.append(corrupt_entry(folder.name, f"run {folder.name!r}: {exc!r}"))
            continue
        info["error"] = None
        entries.append(info)
    return entries


def _last_activity(entry: dict[str, Any], folder: Path) -> float:
    for key in ("finished", "started"):
        if entry.get(key):
            try:
                return parse_iso(entry[key])
            except ValueError:
                pass
    return folder.stat().st_mtime


def _now_running(home: Path, run_id: str) -> bool:
    try:
        with RunStore.open(home, run_id) as store:
            return store.info()["status"] == "running"
    except RunError:
        return False


def _delete(parent: Path, run_id: str) -> bool:
    """Delete one run folder; False when it could not be moved away."""
    # Rename first, so a delete cut short leaves a hidden folder, not a corrupt run.
    doomed = parent / f".{run_id}.deleting"
    try:
        os.rename(parent / run_id, doomed)
    except OSError:
        return False
    shutil.rmtree(doomed, ignore_errors=True)
    return True


def prune_runs(home: Path, older_than_s: float) -> list[str]:
    """Delete runs that ended (or started, if unfinished) more than ``older_than_s`` ago.

    A run still running with a live owner is never deleted; a corrupt folder is
    judged by its modification time. A manager's child runs go with their manager
    (judged by its age, not their own). Returns the deleted run ids.
    """
    parent = runs_dir(home)
    cutoff = time.time() - older_than_s
    deleted = []
    entries = list_runs(home)
    listed = {e["run_id"] for e in entries}
    children: dict[str, list[dict[str, Any]]] = {}
    for entry in entries:
        if entry.get("parent") in listed:  # a manager's child goes with its manager
            children.setdefault(entry["parent"], []).append(entry)
    for entry in entries:
        if entry["status"] == "running" or entry.get("parent") in listed:
            continue
        folder = parent / entry["run_id"]
        if _last_activity(entry, folder) >= cutoff:
            continue
        if entry["status"] != "corrupt" and _now_running(home, entry["run_id"]):
            continue  # resumed since the listing was taken
        if not _delete(parent, entry["run_id"]):
            continue
        deleted.append(entry["run_id"])
        for child in children.get(entry["run_id"], []):
            if child["status"] != "running" and not _now_running(home, child["run_id"]):
                if _delete(parent, child["run_id"]):
                    deleted.append(child["run_id"])
    # Hidden leftovers of a crashed create or prune; an hour's grace spares a create in progress.
    stale_cutoff = min(cutoff, time.time() - 3600)
    for stale in parent.glob(".*"):
        if stale.is_dir() and stale.stat().st_mtime < stale_cutoff:
            shutil.rmtree(stale, ignore_errors=True)
    return deleted
