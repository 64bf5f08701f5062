"""The Ray engine of ``autoplug batch``: each task of a batch is one Ray remote task.

Ray (extra ``ray``) is imported here only, and only when this engine runs.

The driver connects to a cluster (``--ray-address``; else ``RAY_ADDRESS``, as
in a Ray job; else it starts a local Ray and stops it at the end), keeps at
most ``concurrency`` tasks in flight (each also takes one of Ray's logical
CPUs, so the cluster's resources bound it too), and hands each result line to
``on_result`` as its task ends, in completion order.

Where each worker keeps its runs (its home):

- the worker's own ``AUTOPLUG_HOME`` when it is set there, else the driver's
  home path when it exists on the worker, else a scratch home in the worker's
  temporary folder that gets the driver's ``config.toml``;
- the driver writes a marker file with a fresh token into its home for the
  batch's length: a worker that sees the marker in its home shares the
  driver's home (same machine, or one shared file system), so its run folders
  are already where the driver lists them;
- otherwise the worker packs the ended run's folder into the task's return
  value and the driver unpacks it into its own ``runs/``, with its final
  status (a run that did not end is recorded ``interrupted``, never left
  ``running`` under an owner on another host).

A task whose worker died is retried by Ray (``max_retries``) from the start of
its run: its side effects may repeat. With a shared home the retry finds the
interrupted run of the attempt before and resumes it instead (its finished
steps are not run again).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import io
import json
import os
import secrets
import shutil
import tarfile
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import AutoplugError, UsageError

if TYPE_CHECKING:
    from .tasks import BatchTask
    from .worker import BatchSettings

MAX_RETRIES = 3
"""How many times Ray runs a task again whose worker process died."""

MARKER_PREFIX = "ray-driver-"
"""The driver's marker in ``$AUTOPLUG_HOME/state/``: ``ray-driver-<token>.json``."""

ATTEMPTS_DIR = "ray-attempts"
"""Under the home's ``state/``: which worker process started which task (for resume)."""

CANCEL_WAIT_S = 10.0
"""After Ctrl-C, how long the driver waits for cancelled tasks to record their runs ``interrupted``."""

INSTALL_HINT = "--engine ray needs Ray: pip install 'autoplug[ray]'"


def _import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise UsageError(INSTALL_HINT) from None
    return ray


# -- the driver -------------------------------------------------------------------


PROBE_TIMEOUT_S = 5.0
"""How long the driver waits for a TCP answer from ``--ray-address`` before giving up."""


def probe_address(address: str) -> None:
    """Raise :class:`AutoplugError` at once when nothing listens at a ``HOST:PORT`` address.

    Ray itself retries an unreachable head for minutes, printing a warning every
    few seconds; a mistyped address deserves one line now. ``ray://`` and the
    special addresses (``auto``, ``local``) are left to Ray.
    """
    import socket

    if "://" in address or address in ("auto", "local"):
        return
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise UsageError(f"--ray-address {address!r} is not HOST:PORT (or ray://HOST:PORT)")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=PROBE_TIMEOUT_S):
            pass
    except OSError as exc:
        why = exc.strerror or type(exc).__name__
        raise AutoplugError(
            f"cannot connect to Ray at {address!r}: {why} (is a Ray head running there? "
            "'ray start --head' prints its address)"
        ) from None


def _connect(ray: Any, address: str | None) -> bool:
    """Join (or start) Ray; True when this call started it (and so must stop it).

    A Ray already initialised in this process (a Python caller's own
    ``ray.init(runtime_env=...)``) is used as it is.
    """
    if ray.is_initialized():
        return False
    chosen = address or os.environ.get("RAY_ADDRESS") or "local"
    probe_address(chosen)
    try:
        # The workers' output is theirs: each task's result line carries what went wrong.
        ray.init(
            address=chosen,
            log_to_driver=False,
            include_dashboard=False if chosen == "local" else None,
            logging_level="ERROR",
        )
    except (ConnectionError, ValueError, RuntimeError) as exc:
        detail = " ".join(str(exc).split())[:300]
        raise AutoplugError(f"cannot connect to Ray at {chosen!r}: {detail}") from None
    return True


def _write_marker(home: Path, token: str) -> Path:
    """The file that tells a worker it shares this driver's home."""
    state = home / "state"
    state.mkdir(parents=True, exist_ok=True)
    path = state / f"{MARKER_PREFIX}{token}.json"
    path.write_text(json.dumps({"token": token, "pid": os.getpid()}), encoding="utf-8")
    return path


def _failed_line(task: BatchTask, reason: str) -> dict[str, Any]:
    from .worker import result_line

    return result_line(task.id, run_id=None, status="failed", reason=reason)


def land_folder(home: Path, run_id: str, archive: bytes) -> None:
    """Unpack a run folder shipped back by a worker into ``home``'s runs, atomically.

    It is unpacked under a hidden name and renamed into place (a listing never
    sees half a folder); a run already there is kept. A run that had not ended
    is recorded ``interrupted``: its owner is on another host, where nobody
    here can ask whether it still runs.
    """
    from ..runs import RUN_ID_RE, RunStore, runs_dir

    if not RUN_ID_RE.match(run_id):
        raise AutoplugError(f"a Ray worker sent back a run folder with a bad id {run_id!r}")
    parent = runs_dir(home)
    final = parent / run_id
    if final.exists():
        return
    staging = parent / f".{run_id}.landing-{secrets.token_hex(4)}"
    staging.mkdir(parents=True)
    try:
        with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
            tar.extractall(staging, filter="data")  # no links out, no absolute paths
        os.rename(staging, final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    with RunStore.open(home, run_id) as store:
        if store.info()["status"] == "running":
            store.set_status("interrupted", reason="its Ray worker stopped before the run ended")


def _landed(home: Path, task: BatchTask, result: Any) -> dict[str, Any]:
    """The result line of one ended Ray task, its run folder landed in ``home``."""
    if not isinstance(result, dict) or not isinstance(result.get("line"), dict):
        return _failed_line(task, f"ray: the worker returned {type(result).__name__}, not a line")
    line = result["line"]
    archive = result.get("folder")
    if isinstance(archive, bytes) and isinstance(line.get("run_id"), str):
        try:
            land_folder(home, line["run_id"], archive)
        except (OSError, tarfile.TarError, AutoplugError) as exc:
            line = {**line, "reason": f"{line.get('reason') or ''} (its run folder: {exc})"}
    return line


def _ray_failure(ray: Any, exc: BaseException) -> str:
    """One line for a Ray task that ended with an error instead of a result line."""
    if isinstance(exc, ray.exceptions.WorkerCrashedError | ray.exceptions.NodeDiedError):
        return f"ray: its worker died {MAX_RETRIES + 1} times"
    text = " ".join(str(exc).split())
    return f"ray: {type(exc).__name__}: {text[-300:]}"


def _interrupted_line(home: Path, token: str, task: BatchTask) -> dict[str, Any]:
    """The line of a task cancelled in flight; its run id when the shared home knows it."""
    line = _failed_line(task, "interrupted by the user (its Ray task was cancelled)")
    try:
        run_id = json.loads(_attempt_path(home, token, task.id).read_text(encoding="utf-8"))
        line["run_id"] = run_id["run_id"]
    except (OSError, ValueError, KeyError, TypeError):
        pass
    return {**line, "status": "interrupted"}


async def arun_ray(
    tasks: list[BatchTask],
    settings: BatchSettings,
    *,
    address: str | None,
    concurrency: int,
    on_result: Callable[[dict[str, Any]], None],
    on_start: Callable[[BatchTask], None] | None = None,
    resume: dict[str, str] | None = None,
) -> None:
    """Run ``tasks`` as Ray remote tasks; ``on_result(line)`` in the driver as each ends.

    At most ``concurrency`` tasks are in flight (``on_start(task)`` as each is
    handed to Ray); ``resume`` maps a task id to a run an earlier batch left
    ``interrupted``, finished by the worker whose home holds it. Cancelling this coroutine (Ctrl-C) cancels every outstanding
    Ray task, waits up to :data:`CANCEL_WAIT_S` for their runs to record the
    interruption, reports each with an ``interrupted`` line, then goes on
    cancelling.
    """
    if not tasks:
        return
    ray = _import_ray()
    home = Path(settings.home)
    config = home / "config.toml"
    config_text = config.read_text(encoding="utf-8") if config.is_file() else None
    token = secrets.token_hex(8)
    started = _connect(ray, address)
    marker: Path | None = None
    waiting = list(reversed(tasks))
    running: dict[asyncio.Future[Any], tuple[Any, BatchTask]] = {}
    try:
        marker = _write_marker(home, token)
        remote = ray.remote(num_cpus=1, max_retries=MAX_RETRIES, retry_exceptions=False)(ray_task)
        while waiting or running:
            while waiting and len(running) < max(1, concurrency):
                task = waiting.pop()
                again = (resume or {}).get(task.id)
                ref = remote.remote(task, settings, token, config_text, again)
                running[asyncio.wrap_future(ref.future())] = (ref, task)
                if on_start is not None:
                    on_start(task)
            done, _ = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
            for future in done:
                _, task = running.pop(future)
                try:
                    line = _landed(home, task, future.result())
                except Exception as exc:  # a Ray error of that task: a failed line, the rest go on
                    line = _failed_line(task, _ray_failure(ray, exc))
                on_result(line)
    except BaseException:
        refs = [ref for ref, _ in running.values()]
        for ref in refs:
            with contextlib.suppress(Exception):
                ray.cancel(ref)  # a KeyboardInterrupt in the task: its run ends `interrupted`
        with contextlib.suppress(Exception):
            ray.wait(refs, num_returns=len(refs), timeout=CANCEL_WAIT_S)
        for _, task in running.values():
            on_result(_interrupted_line(home, token, task))
        raise
    finally:
        if marker is not None:
            marker.unlink(missing_ok=True)
        for attempt in (home / "state" / ATTEMPTS_DIR).glob(f"{token}-*"):
            attempt.unlink(missing_ok=True)
        if started:
            ray.shutdown()


# -- the worker -------------------------------------------------------------------


def _scratch_home(driver_home: str) -> Path:
    """A worker's own home for a driver's home it cannot see (one per driver home)."""
    digest = hashlib.sha256(driver_home.encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / "autoplug-ray" / digest


def worker_home(driver_home: str, token: str, config_text: str | None) -> tuple[Path, bool]:
    """``(home, shared)``: where this worker keeps its runs, and whether the driver sees it.

    The worker's own ``AUTOPLUG_HOME`` wins (given the driver's config when it has
    none); else the driver's home path if it is here; else a scratch home that
    follows the driver's config. ``shared`` is whether the
    driver's marker (named by ``token``) is in that home.
    """
    own = os.environ.get("AUTOPLUG_HOME")
    if own:
        home = Path(own)
    elif Path(driver_home).is_dir():
        home = Path(driver_home)
    else:
        home = _scratch_home(driver_home)
    shared = (home / "state" / f"{MARKER_PREFIX}{token}.json").is_file()
    if not shared and config_text is not None:
        home.mkdir(parents=True, exist_ok=True)
        config = home / "config.toml"
        # A worker's own home keeps its own config; a scratch home follows the driver's.
        stale = not own and config.is_file() and config.read_text(encoding="utf-8") != config_text
        if not config.is_file() or stale:
            staged = home / f".config.toml.{os.getpid()}"
            staged.write_text(config_text, encoding="utf-8")
            os.replace(staged, config)  # another worker of this node may be reading it
    return home, shared


def pack_folder(folder: Path) -> bytes:
    """A run folder as gzipped tar bytes (its files, relative to the folder)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", compresslevel=1) as tar:
        for path in sorted(folder.rglob("*")):
            if path.is_file() and not path.is_symlink():
                tar.add(path, arcname=str(path.relative_to(folder)), recursive=False)
    return buffer.getvalue()


def _attempt_path(home: Path, token: str, task_id: str) -> Path:
    digest = hashlib.sha256(task_id.encode()).hexdigest()[:24]
    return home / "state" / ATTEMPTS_DIR / f"{token}-{digest}.json"


def _previous_run(attempt: Path) -> str | None:
    """The run an earlier attempt of this task left ``interrupted`` (its worker died)."""
    from ..runs import RunStore

    try:
        run_id = json.loads(attempt.read_text(encoding="utf-8"))["run_id"]
        with RunStore.open(attempt.parents[2], run_id, read_only=True) as store:
            status = store.info()["status"]
    except (OSError, ValueError, KeyError, TypeError, AutoplugError):
        return None
    return run_id if status == "interrupted" else None


def _run_shared(
    task: BatchTask, settings: BatchSettings, token: str, resume_run_id: str | None
) -> dict[str, Any]:
    """Run ``task`` in the driver's own home; a retry resumes the run its last attempt left.

    The run id is recorded (``state/ray-attempts/``) as soon as the run starts, so
    that the next attempt, after this worker died, can find it. ``resume_run_id``
    (a run an earlier batch left interrupted) is finished when there is no attempt.
    """
    import asyncio

    from .worker import arun_one, kernel_for, one_line, result_line

    home = Path(settings.home)
    try:
        kernel = kernel_for(settings.home)
    except AutoplugError as exc:
        return result_line(task.id, run_id=None, status="failed", reason=one_line(str(exc)))
    attempt = _attempt_path(home, token, task.id)
    previous = _previous_run(attempt) if attempt.is_file() else None

    def record(event: Any) -> None:
        if event.type in ("run_started", "run_resumed"):
            attempt.parent.mkdir(parents=True, exist_ok=True)
            staged = attempt.with_suffix(f".{os.getpid()}")
            staged.write_text(json.dumps({"run_id": event.run_id}), encoding="utf-8")
            os.replace(staged, attempt)

    return asyncio.run(
        arun_one(kernel, task, settings, on_event=record, resume_run_id=previous or resume_run_id)
    )


def ray_task(
    task: BatchTask,
    settings: BatchSettings,
    token: str,
    config_text: str | None,
    resume_run_id: str | None = None,
) -> dict[str, Any]:
    """What one Ray remote task runs on a worker: ``{"line": ..., "folder": bytes | None}``.

    ``folder`` is the ended run's folder, packed, when the driver cannot see this
    worker's home. ``resume_run_id``: a run an earlier batch left interrupted,
    finished instead of a new one where this worker's home holds it.
    """
    import asyncio

    from .worker import arun_one, kernel_for, one_line, result_line

    home, shared = worker_home(settings.home, token, config_text)
    local = (
        settings if str(home) == settings.home else dataclasses.replace(settings, home=str(home))
    )
    if shared:
        return {"line": _run_shared(task, local, token, resume_run_id), "folder": None}
    try:
        kernel = kernel_for(local.home)
    except AutoplugError as exc:
        line = result_line(task.id, run_id=None, status="failed", reason=one_line(str(exc)))
        return {"line": line, "folder": None}
    line = asyncio.run(arun_one(kernel, task, local, resume_run_id=resume_run_id))
    folder = None
    run_id = line.get("run_id")
    if isinstance(run_id, str):
        path = home / "runs" / run_id
        if path.is_dir():
            folder = pack_folder(path)
    return {"line": line, "folder": folder}
