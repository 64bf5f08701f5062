"""One run's folder and its state: an append-only journal of the run, decisions, plans,
steps and conversation (``state.jsonl``), its trace and its claim.

Each change is one JSON line appended (see :mod:`.journal`); reading replays the
lines, the last record of a key winning (saving a step again replaces it). A
folder made by autoplug before the journal (``state.sqlite``) opens as a
:class:`~autoplug.runs.sqlite_store.SqliteRunStore`, with the same methods.
"""

from __future__ import annotations

import json
import os
import threading
import time
from functools import cached_property, partial
from pathlib import Path
from typing import Any

from ..errors import RunError
from ..events import Event
from . import assetlog, claims
from .ids import new_run_id, utc_iso
from .journal import HANDLES, line, lines, new_journal, os_problem
from .journal_exchanges import ExchangeState, JournalExchangeLog
from .owners import owner_alive, process_start_time
from .shapes import CHILD, DECISION, MESSAGE, STEP, TEAM, USAGE, checked, checked_plan, kind_of
from .sqlite_store import (
    LOCK_FILE,
    STATUSES,
    NotResumableError,
    SqliteRunStore,
    UnknownRunError,
    runs_dir,
)
from .sqlite_store import (
    STATE_FILE as SQLITE_FILE,
)
from .status import run_info, status_fields
from .trace import missing_file, read_events, read_trace
from .writer import RunWriter

_MADE: set[str] = set()  # runs folders this process has made (or found) already
_WORKSPACES: dict[str, str] = {}  # an absolute workspace as given -> its real path


def _resolved(workspace: Path | str) -> str:
    """The real path of ``workspace``, as the run records it; an absolute one's is
    looked up once per process (``realpath`` stats every part of the path)."""
    given = os.fspath(workspace)
    found = _WORKSPACES.get(given)
    if found is None:
        found = str(Path(given).resolve())
        if os.path.isabs(given):  # a relative one depends on the working directory
            if len(_WORKSPACES) >= 256:
                _WORKSPACES.clear()
            _WORKSPACES[given] = found
    return found


def _first_record(row: dict[str, Any]) -> bytes:
    """The run record's line; :class:`RunError` naming the field that is not valid UTF-8."""
    try:
        return line(row)
    except UnicodeEncodeError:
        for name in ("workspace", "task", "model", "auto"):
            try:
                row[name].encode("utf-8")
            except UnicodeEncodeError:
                raise RunError(
                    f"cannot create a run: its {name} {row[name]!r} is not valid UTF-8 "
                    "(a run's journal is UTF-8 JSON)"
                ) from None
        raise


JOURNAL_FILE = "state.jsonl"
TRACE_FILE = "trace.jsonl"
SCHEMA_VERSION = 3
"""The journal's format: 1 was ``state.sqlite``, 2 kept the assets in ``assets/manifest.jsonl``
(both still read and resumed), 3 keeps them in the journal (:mod:`.assetlog`)."""

#: The run record's fields and their types (checked when read back).
RUN_RECORD: dict[str, tuple[type, ...]] = {
    "run_id": (str,),
    "status": (str,),
    "task": (str,),
    "model": (str,),
    "auto": (str,),
    "workspace": (str,),
    "started": (str,),
    "finished": (str, type(None)),
    "reason": (str, type(None)),
    "answer": (str, type(None)),
    "usage": (dict, type(None)),
    "owner_pid": (int, type(None)),
    "owner_host": (str, type(None)),
    "owner_start": (str, int, type(None)),
}

__all__ = [
    "JOURNAL_FILE",
    "STATUSES",
    "JournalCheckpointer",
    "NotResumableError",
    "RunStore",
    "UnknownRunError",
    "runs_dir",
]


def _os_error(run_id: str, what: str, path: Path, exc: OSError) -> RunError:
    return RunError(f"run {run_id!r}: cannot {what} {path}: {os_problem(exc)}")


def _write_failed(run_id: str, path: str, exc: OSError) -> RunError:
    return _os_error(run_id, "write", Path(path), exc)


class JournalCheckpointer:
    """The :class:`autoplug.agents.context.Checkpointer` of a :class:`RunStore`."""

    def __init__(self, store: RunStore) -> None:
        self._store = store

    def saved_plan(self, act_no: int) -> dict[str, Any] | None:
        """The accepted plan of act ``act_no``, if saved."""
        return self._store._plan(act_no)

    def save_plan(self, act_no: int, plan: dict[str, Any]) -> None:
        """Save (or replace) the accepted plan of act ``act_no``."""
        self._store._record({"k": "plan", "act": act_no, "plan": plan})

    def finished_step(self, act_no: int, step_id: str) -> dict[str, Any] | None:
        """The record of a finished step, if saved."""
        return self._store._step(act_no, step_id)

    def save_step(self, act_no: int, step_id: str, record: dict[str, Any]) -> None:
        """Save a finished (succeeded, failed or skipped) step; durable when this returns."""
        self._store._record({"k": "step", "act": act_no, "id": step_id, "record": record})


class RunStore:
    """One run's folder: ``$AUTOPLUG_HOME/runs/<run_id>/``.

    Build one with :meth:`create` (a new run) or :meth:`open` (an existing one).
    Safe to use from several threads (one lock). Its journals are written through
    the process's bounded cache of descriptors (:data:`.journal.HANDLES`), released
    by :meth:`close`; the claim (:meth:`claim`) holds no file open.
    """

    def __init__(self, folder: Path | str, *, read_only: bool = False) -> None:
        # As text: the handle cache is keyed by it, every write needs it, and the
        # Path objects (folder, assets_dir, state_path, trace_path) are made when asked for.
        where = os.fspath(folder)
        self._dir = where
        self.run_id = os.path.basename(where)
        self._assets = os.path.join(where, "assets")
        self._state = os.path.join(where, JOURNAL_FILE)
        self._trace = os.path.join(where, TRACE_FILE)
        self._where = f"run {self.run_id!r}: {self._state}"  # names a record written here
        self.read_only = read_only
        self._lock = threading.RLock()
        self._row: dict[str, Any] = {}
        # Records are kept as read, with the line that holds them, and checked when
        # used: a damaged step breaks `runs show` and resume, not the listing.
        self._decisions: dict[int, tuple[str, Any]] = {}
        self._plans: dict[int, tuple[str, Any]] = {}
        self._steps: dict[tuple[int, str], tuple[str, Any]] = {}
        self._conversation: tuple[str, Any] = ("", [])
        self._team: tuple[str, Any] | None = None  # a child run's parent, role, assignment
        self._children: dict[str, tuple[str, Any]] = {}  # a manager's, by assignment
        self._damage: dict[str, str] = {}  # kind -> the first structural fault found
        self._claimed = False
        # Told the run id, not the store: no reference cycle keeps an ended run's store alive.
        self._writer = RunWriter(self._lock, partial(_write_failed, self.run_id))
        self._exchange_state = ExchangeState()
        self._schema = SCHEMA_VERSION  # the journal's, once read
        #: Where the run's asset store writes its records (``AssetStore(store.assets_dir,
        #: log=store.asset_log)``): this store's journal, through its writer, so an asset's
        #: record goes out with the step's record after it. None when read-only or for a
        #: folder older than schema 3.
        self.asset_log: assetlog.AssetLog | None = None

    @cached_property
    def folder(self) -> Path:
        """The run's folder."""
        return Path(self._dir)

    @cached_property
    def assets_dir(self) -> Path:
        """Where the run's big assets' files go (see :mod:`.assetlog`)."""
        return Path(self._assets)

    @cached_property
    def state_path(self) -> Path:
        """The run's journal, ``state.jsonl``."""
        return Path(self._state)

    @cached_property
    def trace_path(self) -> Path:
        """The run's trace, ``trace.jsonl``."""
        return Path(self._trace)

    # Made on each use, not kept: a store holding objects that point back at it is a
    # reference cycle, and an ended run's store would wait for the garbage collector.
    @property
    def checkpoint(self) -> JournalCheckpointer:
        """The :class:`~autoplug.agents.context.Checkpointer` of this run's plans and steps."""
        return JournalCheckpointer(self)

    @property
    def exchanges(self) -> JournalExchangeLog:
        """The model calls of this run (what each was told and answered)."""
        return JournalExchangeLog(self, self._exchange_state)

    # -- opening ----------------------------------------------------------------

    @classmethod
    def create(cls, home: Path, *, task: str, model: str, auto: str, workspace: Path) -> RunStore:
        """Make a new run's folder, owned by this process, with status ``running``.

        The folder is built under a hidden temporary name and renamed into place,
        so a crash during creation never leaves a half-made run in the listing.
        """
        parent = runs_dir(home)
        where = str(parent)
        run_id = new_run_id()
        staging = os.path.join(where, f".{run_id}.tmp")
        final = os.path.join(where, run_id)
        pid = os.getpid()
        row = {
            "k": "run",
            "schema": SCHEMA_VERSION,
            "run_id": run_id,
            "task": task,
            "model": model,
            "auto": auto,
            "workspace": _resolved(workspace),
            "status": "running",
            "started": utc_iso(),
            "finished": None,
            "reason": None,
            "answer": None,
            "usage": None,
            "owner_pid": pid,
            "owner_host": claims.host(),
            "owner_start": process_start_time(pid),
            "updated": time.time(),
        }
        # Encoded before anything is made: a record that cannot be written (a path or a
        # task that is not valid UTF-8) must leave no half-made folder nor open descriptor.
        first = _first_record(row)
        kept: list[int] = []  # the new journals' descriptors, kept for their first writes
        try:
            if where not in _MADE:
                os.makedirs(where, exist_ok=True)
                _MADE.add(where)
            try:
                os.mkdir(staging)
            except FileNotFoundError:  # the runs folder was removed since: make it again
                os.makedirs(where, exist_ok=True)
                os.mkdir(staging)
            # No assets/ folder: the asset store makes it for the first asset with a file.
            kept.append(new_journal(os.path.join(staging, TRACE_FILE), b""))
            kept.append(new_journal(os.path.join(staging, JOURNAL_FILE), first))
            # Claimed before anyone can see it: nobody else knows the id yet.
            token = claims.fresh_claim(staging, LOCK_FILE)
            os.rename(staging, final)
        except OSError as exc:
            for fd in kept:
                os.close(fd)
            _MADE.discard(where)  # deleted since? then it is made again next time
            problem = os_problem(exc)
            # Out of descriptors is said as that: the folder itself is fine.
            hint = "" if "open files" in problem else " (it must be a folder autoplug can write)"
            raise RunError(f"cannot create a run folder in {parent}: {problem}{hint}") from None
        store = cls(final)
        store._writer.mark_clean(store._state, store._trace)  # just written whole
        HANDLES.adopt(store._trace, kept[0])
        HANDLES.adopt(store._state, kept[1])
        store._apply(row, store._where)
        store._keep_assets()
        claims.hold(final, token)
        store._claimed = True
        return store

    @classmethod
    def open(cls, home: Path, run_id: str, *, read_only: bool = False) -> Any:
        """Open an existing run (a :class:`RunStore`, or for an old folder a
        :class:`~autoplug.runs.sqlite_store.SqliteRunStore`).

        With ``read_only`` any write raises :class:`RunError` and nothing in the
        folder changes. Raises :class:`UnknownRunError` when no such run exists
        and :class:`RunError` naming the file when its state is missing or corrupt.
        """
        if not run_id or "/" in run_id or "\\" in run_id or run_id.startswith("."):
            raise UnknownRunError(f"unknown run {run_id!r}: not a run id")
        folder = runs_dir(home) / run_id
        if not folder.is_dir():
            raise UnknownRunError(f"unknown run {run_id!r}: no folder {folder}")
        state = folder / JOURNAL_FILE
        if not state.is_file() and (folder / SQLITE_FILE).is_file():
            return SqliteRunStore.open(home, run_id, read_only=read_only)
        if not state.is_file():
            raise missing_file(run_id, state)
        store = cls(folder, read_only=read_only)
        store._load()
        if not read_only and store._schema >= assetlog.ASSET_SCHEMA:
            store._keep_assets()
        return store

    def _keep_assets(self) -> None:
        """Make :attr:`asset_log`: the run's asset store writes into this store's journal."""
        writer = self._writer
        self.asset_log = assetlog.AssetLog(self._state, writer.write, writer.flush)

    def _load(self) -> None:
        try:
            found = lines(self.state_path)
        except FileNotFoundError:
            raise missing_file(self.run_id, self.state_path) from None
        except OSError as exc:
            raise _os_error(self.run_id, "read", self.state_path, exc) from None
        for number, text in enumerate(found, 1):
            if not text.strip():
                continue
            where = f"run {self.run_id!r}: {self.state_path} line {number}"
            try:
                record = json.loads(text)
            except RecursionError:
                raise RunError(f"{where} is nested too deeply to read") from None
            except ValueError as exc:
                detail = " ".join(str(exc).split())[:200]
                raise RunError(f"{where} is not valid JSON: {detail}") from None
            if not isinstance(record, dict) or not isinstance(record.get("k"), str):
                raise RunError(f"{where} is corrupt: expected a record, found {kind_of(record)}")
            if number == 1:
                if record["k"] != "run":
                    raise RunError(f"{where} is corrupt: the first record is not the run's")
                version = record.get("schema")
                self._schema = version if isinstance(version, int) else 1
                if isinstance(version, int) and version > SCHEMA_VERSION:
                    raise RunError(
                        f"run {self.run_id!r}: {self.state_path} was written by a newer "
                        f"autoplug (schema {version} > {SCHEMA_VERSION})"
                    )
            self._apply(record, where)
        if not self._row:
            raise RunError(f"run {self.run_id!r} is corrupt: {self.state_path} holds no run record")

    def _apply(self, record: dict[str, Any], where: str = "") -> None:
        """Replay one record into the in-memory state (checked: ``where`` names its line)."""
        kind = record["k"]
        if kind in ("run", "status"):
            fields = {k: v for k, v in record.items() if k not in ("k", "schema")}
            if kind == "status" and fields.get("usage") is None:
                fields.pop("usage", None)  # a status without usage keeps the one recorded
            merged = {**self._row, **fields}
            checked(merged, RUN_RECORD, f"{where or self.state_path} (the run record)")
            if merged["status"] not in STATUSES:
                raise RunError(
                    f"{where} (the run record) is corrupt: unknown status {merged['status']!r}"
                )
            if merged.get("usage") is not None:
                checked(merged["usage"], USAGE, f"{where} (the usage)")
            self._row = merged
        elif kind == "decision":
            iteration = record.get("iteration")
            if not isinstance(iteration, int) or isinstance(iteration, bool):
                self._damage.setdefault(
                    kind, f"{where} is corrupt: a decision without an iteration"
                )
                return
            self._decisions[iteration] = (where, record.get("record"))
        elif kind == "plan":
            act = record.get("act")
            if not isinstance(act, int) or isinstance(act, bool):
                fault = f"{where} is corrupt: a plan's act number is not an integer"
                self._damage.setdefault(kind, fault)
                return
            self._plans[act] = (where, record.get("plan"))
        elif kind == "step":
            act, step_id = record.get("act"), record.get("id")
            if not isinstance(act, int) or isinstance(act, bool) or not isinstance(step_id, str):
                fault = f"{where} is corrupt: its act number or step id has the wrong type"
                self._damage.setdefault(kind, fault)
                return
            self._steps.pop((act, step_id), None)  # saved again: it finished last
            self._steps[(act, step_id)] = (where, record.get("record"))
        elif kind == "conversation":
            self._conversation = (where, record.get("messages"))
        elif kind == "team":
            self._team = (where, {k: v for k, v in record.items() if k != "k"})
        elif kind == "child":
            assignment = record.get("assignment")
            if not isinstance(assignment, str):
                self._damage.setdefault(kind, f"{where} is corrupt: a child without an assignment")
                return
            self._children[assignment] = (where, {k: v for k, v in record.items() if k != "k"})
        elif kind in ("part", "call"):
            self._exchange_state.apply(record, where)
        # Other kinds are from a newer autoplug of the same schema: skipped.

    def _intact(self, kind: str) -> None:
        if kind in self._damage:
            raise RunError(self._damage[kind])

    def _plan(self, act: int) -> dict[str, Any] | None:
        self._intact("plan")
        found = self._plans.get(act)
        if found is None:
            return None
        return checked_plan(found[1], f"{found[0] or self.state_path} (the plan of act {act})")

    def _step(self, act: int, step_id: str) -> dict[str, Any] | None:
        self._intact("step")
        found = self._steps.get((act, step_id))
        if found is None:
            return None
        where = f"{found[0] or self.state_path} (step {step_id!r} of act {act})"
        return checked(found[1], STEP, where)

    def _record(self, record: dict[str, Any]) -> None:
        """Append ``record`` to the journal (durable against kill -9 on return), then apply it."""
        self._append_lines([record])

    def _append_lines(
        self, records: list[dict[str, Any]], *, durable: bool = True, data: bytes | None = None
    ) -> None:
        """Append ``records`` and apply them; ``durable=False`` (a model call's record, not
        a checkpoint) lets them wait for the end of the loop's turn (see :mod:`.writer`).
        ``data``: the records' lines, when the caller has them already."""
        if self.read_only:
            raise RunError(f"run {self.run_id!r}: cannot write {self.state_path}: opened read-only")
        if data is None:
            data = b"".join(line(r) for r in records)
        with self._lock:
            self._writer.write(self._state, data, durable=durable)
            where = self._where
            for record in records:
                self._apply(record, where)
            # Only now: the records are on disk and applied whatever an earlier turn's
            # write met, and that failure is still told (the caller's run fails on it).
            self._writer.check()

    def flush(self) -> None:
        """Write the run's lines still waiting for the end of the loop's turn (trace events,
        model calls); :meth:`close` and the readers of this store do it themselves."""
        self._writer.flush()

    def close(self) -> None:
        """Give up the claim on the run and close the run's kept journal descriptors."""
        with self._lock:
            try:
                if not self.read_only:
                    self._writer.flush()
            finally:
                # Even when the last lines fail (told by the raise): a claim kept would
                # refuse every resumer of the run while this process lives.
                # (An older folder's asset manifest is a journal too.)
                manifest = os.path.join(self._assets, "manifest.jsonl")
                HANDLES.forget((self._state, self._trace, manifest))
                if self._claimed:
                    claims.release(self._dir, LOCK_FILE)
                    self._claimed = False

    # -- ownership --------------------------------------------------------------

    def claim(self) -> None:
        """Become the one process running this run, or raise :class:`NotResumableError`.

        See :mod:`.claims`: atomic between processes and within one, holding no
        descriptor open; a killed owner's claim is free at once.
        """
        if self._claimed:
            return
        if self.read_only:
            raise RunError(f"run {self.run_id!r}: cannot claim it: opened read-only")
        path = self.folder / LOCK_FILE
        try:
            claims.claim(self.folder, LOCK_FILE)
        except claims.ClaimRefused as exc:
            raise NotResumableError(
                f"run {self.run_id!r} is being run by {exc.holder}; not running it twice"
            ) from None
        except OSError as exc:
            raise _os_error(self.run_id, "open", path, exc) from None
        self._claimed = True

    def __enter__(self) -> RunStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the trace --------------------------------------------------------------

    def append_event(self, event: Event) -> None:
        """Append ``event`` to trace.jsonl as one JSON line: written by the end of the event
        loop's turn (at once without a running loop), and before any later checkpoint."""
        if self.read_only:
            raise RunError(f"run {self.run_id!r}: cannot write {self.trace_path}: opened read-only")
        self._writer.write(self._trace, line(event.to_dict()), durable=False)

    def events(self) -> list[dict[str, Any]]:
        """Every readable event of the trace, in order (a partial last line is ignored)."""
        if not self.read_only:
            self._writer.flush()
        return read_events(self.trace_path, self.run_id)

    def unreadable_trace_lines(self) -> int:
        """How many lines of the trace (not counting a partial last one) cannot be read."""
        if not self.read_only:
            self._writer.flush()
        return read_trace(self.trace_path, self.run_id)[1]

    # -- decisions and conversation ---------------------------------------------

    def save_decision(self, record: dict[str, Any]) -> None:
        """Save one dynamic-agent turn: ``{"iteration","function","arguments","observation"}``.

        Saving a turn with an iteration already saved replaces it.
        """
        with self._lock:
            iteration = record.get("iteration")
            if not isinstance(iteration, int) or isinstance(iteration, bool):
                iteration = max(self._decisions, default=0) + 1
            self._record({"k": "decision", "iteration": iteration, "record": record})

    def decisions(self) -> list[dict[str, Any]]:
        """The saved dynamic-agent turns, in order (for resume)."""
        self._intact("decision")
        return [
            checked(self._decisions[i][1], DECISION, f"{self._decisions[i][0]} (decision {i})")
            for i in sorted(self._decisions)
        ]

    def save_conversation(self, messages: list[dict[str, Any]]) -> None:
        """Save the whole conversation (the Assistant's turns), replacing the saved one."""
        self._record({"k": "conversation", "messages": list(messages)})

    def conversation(self) -> list[dict[str, Any]]:
        """The saved conversation, in order."""
        where, messages = self._conversation
        if not isinstance(messages, list):
            raise RunError(f"{where} is corrupt: the conversation is not a list")
        return [checked(m, MESSAGE, f"{where} (message {i})") for i, m in enumerate(messages)]

    # -- plans and steps (for `runs show`) --------------------------------------

    def plans(self) -> dict[int, dict[str, Any]]:
        """Every saved plan by act number."""
        self._intact("plan")
        return {act: self._plan(act) for act in sorted(self._plans)}  # type: ignore[misc]

    def steps(self) -> list[tuple[int, str, dict[str, Any]]]:
        """Every finished step as ``(act_no, step_id, record)``, in the order they finished."""
        self._intact("step")
        return [(act, step_id, self._step(act, step_id)) for act, step_id in self._steps]  # type: ignore[misc]

    # -- status -----------------------------------------------------------------

    def set_status(
        self,
        status: str,
        *,
        reason: str | None = None,
        answer: str | None = None,
        usage: dict[str, Any] | None = None,
    ) -> None:
        """Record the run's status.

        ``running`` makes this process the run's owner again (``resume``) and
        clears the end; any other status records the end time (the fields:
        :func:`.status.status_fields`).
        """
        fields = status_fields(status, reason=reason, answer=answer, usage=usage)
        self._record({"k": "status", **fields})

    # -- teams (autoplug.runs.team) ---------------------------------------------------

    def save_team(self, record: dict[str, Any]) -> None:
        """Record this run's place in a team: ``parent``, ``role``, ``assignment``."""
        self._record({"k": "team", **checked(record, TEAM, "a team record")})

    def team(self) -> dict[str, Any] | None:
        """This run's place in a team (see :meth:`save_team`); None for a run of no team."""
        if self._team is None:
            return None
        where, record = self._team
        return checked(record, TEAM, f"{where or self.state_path} (the team record)")

    def save_child(self, record: dict[str, Any]) -> None:
        """Record a child run of this manager: ``assignment``, ``role``, ``run_id``, ``subtask``, ``seq``."""
        self._record({"k": "child", **checked(record, CHILD, "a child record")})

    def children(self) -> list[dict[str, Any]]:
        """This manager's child records (see :meth:`save_child`), in no particular order."""
        self._intact("child")
        return [
            checked(record, CHILD, f"{where or self.state_path} (child {name!r})")
            for name, (where, record) in self._children.items()
        ]

    def owner_alive(self) -> bool:
        """Whether the process recorded as this run's owner still runs."""
        row = self._row
        return owner_alive(row.get("owner_pid"), row.get("owner_host"), row.get("owner_start"))

    def info(self) -> dict[str, Any]:
        """The run record: run_id, status, task, model, auto, workspace, started, finished,
        reason, answer, usage, ``parent`` (a manager's child run: the manager's run id,
        with ``team_role`` and ``assignment``; else None) and ``owner`` (pid, host).

        A ``running`` run whose owner is gone is reported as ``interrupted``
        (the same for every store: :func:`.status.run_info`).
        """
        return run_info(self._row, self)
