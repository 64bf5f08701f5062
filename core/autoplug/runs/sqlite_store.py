"""A run folder of the first format: its state in SQLite (``state.sqlite``).

Runs made by autoplug before the journal (:mod:`.store`) keep this form; they
are read, listed and resumed by :class:`SqliteRunStore`, which has the methods
of :class:`autoplug.runs.RunStore`. New runs never use it (its database and WAL
hold three files open for a run's whole life, and a commit costs more than an
append); :meth:`SqliteRunStore.create` remains to make such folders in tests.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import threading
import time
import urllib.parse
from pathlib import Path
from typing import Any, TextIO

from ..errors import RunError
from ..events import Event
from .ids import new_run_id, utc_iso
from .owners import owner_alive, process_start_time
from .shapes import DECISION, MESSAGE, RUN_ROW, STEP, USAGE, checked, checked_plan
from .sqlite_exchanges import ExchangeLog
from .status import STATUSES, run_info, status_fields
from .trace import missing_file, open_for_append, read_events, read_trace

STATE_FILE = "state.sqlite"
TRACE_FILE = "trace.jsonl"
LOCK_FILE = "owner.lock"
"""Held (``flock``, exclusive) by the process that runs the run, for as long as it runs it."""
SCHEMA_VERSION = 1

SCHEMA = """
CREATE TABLE IF NOT EXISTS run (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    run_id TEXT NOT NULL, task TEXT NOT NULL, model TEXT NOT NULL, auto TEXT NOT NULL,
    workspace TEXT NOT NULL, status TEXT NOT NULL, started TEXT NOT NULL, finished TEXT,
    reason TEXT, answer TEXT, usage TEXT,
    owner_pid INTEGER, owner_host TEXT, owner_start TEXT, updated REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS decisions (iteration INTEGER PRIMARY KEY, record TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS plans (act_no INTEGER PRIMARY KEY, plan TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS steps (
    act_no INTEGER NOT NULL, step_id TEXT NOT NULL, record TEXT NOT NULL, seq INTEGER NOT NULL,
    PRIMARY KEY (act_no, step_id)
);
CREATE TABLE IF NOT EXISTS conversation (idx INTEGER PRIMARY KEY, message TEXT NOT NULL);
"""


class UnknownRunError(RunError):
    """Raised when a run id names no run folder (bad usage: exit status 2)."""

    exit_code = 2


class NotResumableError(RunError):
    """Raised when a run cannot be continued the way asked (bad usage: exit status 2).

    For example ``resume`` of a run that succeeded or of an Assistant
    conversation, or ``chat --resume`` of a Runner's run; the message says what to do.
    """

    exit_code = 2


def runs_dir(home: Path) -> Path:
    """The folder holding every run's folder."""
    return Path(home) / "runs"


def read_only_uri(state: Path) -> str:
    """The SQLite URI that reads ``state`` without changing anything in its folder.

    A read-only connection to a WAL database creates the ``-wal`` and ``-shm``
    files when they are missing (and cannot remove them again). They are missing
    only when no writer has the database open and everything is checkpointed into
    the main file, so then the file is opened ``immutable``, which reads the
    main file alone and creates nothing.
    """
    quoted = urllib.parse.quote(str(state))
    wal = state.with_name(state.name + "-wal")
    if wal.exists():
        return f"file:{quoted}?mode=ro"
    return f"file:{quoted}?mode=ro&immutable=1"


def _holder(path: Path) -> str:
    """Who holds the claim in ``path``: what the holder wrote there ("pid N on HOST").

    The holder writes it just after taking the lock, so an empty file is read
    again for a moment before giving up.
    """
    deadline = time.monotonic() + 2.0
    while True:
        try:
            text = path.read_text(encoding="utf-8", errors="replace").strip()
        except OSError:
            text = ""
        if text or time.monotonic() > deadline:
            return text[:200] or "another process"
        time.sleep(0.02)


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


class SqliteCheckpointer:
    """The :class:`autoplug.agents.context.Checkpointer` of a :class:`SqliteRunStore`.

    One row per plan and per finished step: saving again replaces the row, so
    the tables never hold more than the run has done.
    """

    def __init__(self, store: SqliteRunStore) -> None:
        self._store = store

    def saved_plan(self, act_no: int) -> dict[str, Any] | None:
        """The accepted plan of act ``act_no``, if saved."""
        row = self._store._query("SELECT plan FROM plans WHERE act_no = ?", (act_no,))
        return self._store._plan(row[0][0], act_no) if row else None

    def save_plan(self, act_no: int, plan: dict[str, Any]) -> None:
        """Save (or replace) the accepted plan of act ``act_no``."""
        self._store._write(
            "INSERT OR REPLACE INTO plans (act_no, plan) VALUES (?, ?)", (act_no, _dumps(plan))
        )

    def finished_step(self, act_no: int, step_id: str) -> dict[str, Any] | None:
        """The record of a finished step, if saved."""
        row = self._store._query(
            "SELECT record FROM steps WHERE act_no = ? AND step_id = ?", (act_no, step_id)
        )
        return self._store._step(row[0][0], act_no, step_id) if row else None

    def save_step(self, act_no: int, step_id: str, record: dict[str, Any]) -> None:
        """Save a finished (succeeded, failed or skipped) step."""
        self._store._write(
            "INSERT OR REPLACE INTO steps (act_no, step_id, record, seq) VALUES (?, ?, ?,"
            " (SELECT COALESCE(MAX(seq), 0) + 1 FROM steps))",
            (act_no, step_id, _dumps(record)),
        )


class SqliteRunStore:
    """One run's folder of the first format: ``$AUTOPLUG_HOME/runs/<run_id>/state.sqlite``.

    Build one with :meth:`create` (a new run) or :meth:`open` (an existing one).
    Safe to use from several threads: one SQLite connection behind a lock.
    """

    def __init__(self, folder: Path, conn: sqlite3.Connection) -> None:
        self.folder = folder
        self.run_id = folder.name
        self.assets_dir = folder / "assets"
        self.asset_log = None  # its assets are in the folder's manifest (assets/manifest.jsonl)
        self.state_path = folder / STATE_FILE
        self.trace_path = folder / TRACE_FILE
        self._conn = conn
        self._lock = threading.RLock()
        self._trace: TextIO | None = None
        self._claim: int | None = None
        self.checkpoint = SqliteCheckpointer(self)
        self.exchanges = ExchangeLog(self)

    # -- opening ----------------------------------------------------------------

    @classmethod
    def create(
        cls, home: Path, *, task: str, model: str, auto: str, workspace: Path
    ) -> SqliteRunStore:
        """Make a new run's folder, owned by this process, with status ``running``.

        The folder is built under a hidden temporary name and renamed into place,
        so a crash during creation never leaves a half-made run in the listing.
        """
        parent = runs_dir(home)
        run_id = new_run_id()
        staging = parent / f".{run_id}.tmp"
        try:
            parent.mkdir(parents=True, exist_ok=True)
            staging.mkdir()
            (staging / "assets").mkdir()
            (staging / TRACE_FILE).touch()
        except OSError as exc:
            raise RunError(
                f"cannot create a run folder in {parent}: {exc.strerror} "
                "(it must be a folder autoplug can write)"
            ) from None
        conn = sqlite3.connect(staging / STATE_FILE)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.executescript(SCHEMA)
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            pid = os.getpid()
            conn.execute(
                "INSERT INTO run (id, run_id, task, model, auto, workspace, status, started,"
                " owner_pid, owner_host, owner_start, updated)"
                " VALUES (1, ?, ?, ?, ?, ?, 'running', ?, ?, ?, ?, ?)",
                (
                    run_id,
                    task,
                    model,
                    auto,
                    str(Path(workspace).resolve()),
                    utc_iso(),
                    pid,
                    socket.gethostname(),
                    process_start_time(pid),
                    time.time(),
                ),
            )
            conn.commit()
        finally:
            conn.close()  # the WAL files are named after the path: reopen after the rename
        os.rename(staging, parent / run_id)
        store = cls.open(home, run_id)
        store.claim()  # nobody else knows the id yet: this cannot lose
        return store

    @classmethod
    def open(cls, home: Path, run_id: str, *, read_only: bool = False) -> SqliteRunStore:
        """Open an existing run.

        With ``read_only`` the database is opened read-only (a viewer such as
        ``autoplug ui``): every reader works, any write raises :class:`RunError`,
        and nothing in the folder changes (see :func:`read_only_uri`).

        Raises :class:`UnknownRunError` when no such run exists and
        :class:`RunError` naming the file when its state is missing or corrupt.
        """
        if not run_id or "/" in run_id or "\\" in run_id or run_id.startswith("."):
            raise UnknownRunError(f"unknown run {run_id!r}: not a run id")
        folder = runs_dir(home) / run_id
        if not folder.is_dir():
            raise UnknownRunError(f"unknown run {run_id!r}: no folder {folder}")
        state = folder / STATE_FILE
        if not state.is_file():
            raise missing_file(run_id, state)
        try:
            # mode=rw: never create an empty database in place of a missing one. Quoted:
            # a '?', '#' or '%' in the home's path would otherwise end the file name.
            quoted = urllib.parse.quote(str(state))
            uri = read_only_uri(state) if read_only else f"file:{quoted}?mode=rw"
            conn = sqlite3.connect(uri, uri=True, check_same_thread=False, timeout=30)
        except sqlite3.Error as exc:
            raise RunError(f"run {run_id!r}: cannot open {state}: {exc}") from None
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise RunError(
                    f"run {run_id!r}: {state} was written by a newer autoplug "
                    f"(schema {version} > {SCHEMA_VERSION})"
                )
            if not read_only:
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")
            row = conn.execute("SELECT run_id FROM run WHERE id = 1").fetchone()
            for table in ("decisions", "plans", "steps", "conversation"):
                conn.execute(f"SELECT 1 FROM {table} LIMIT 1").fetchall()
        except sqlite3.Error as exc:
            conn.close()
            raise RunError(f"run {run_id!r} is corrupt: {state}: {exc}") from None
        except RunError:
            conn.close()
            raise
        if row is None:
            conn.close()
            raise RunError(f"run {run_id!r} is corrupt: {state} holds no run row")
        return cls(folder, conn)

    def close(self) -> None:
        """Close the database and the trace file, and give up the claim on the run."""
        with self._lock:
            if self._trace is not None:
                self._trace.close()
                self._trace = None
            self._conn.close()
            if self._claim is not None:
                os.close(self._claim)  # closing the descriptor releases the flock
                self._claim = None

    # -- ownership --------------------------------------------------------------

    def claim(self) -> None:
        """Become the one process running this run, or raise :class:`NotResumableError`.

        The claim is an exclusive ``flock`` on ``owner.lock`` in the run's folder,
        taken without waiting and held until :meth:`close` (or the process's end:
        the kernel drops the lock of a killed process). Taking it is one atomic
        step, so of two processes resuming a run together exactly one wins; the
        other's error names the holder (pid and host, which the winner writes
        into the file once it holds the lock).
        """
        import fcntl  # POSIX only, like the rest of the owner checks

        if self._claim is not None:
            return
        path = self.folder / LOCK_FILE
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)
        except OSError as exc:
            raise RunError(f"run {self.run_id!r}: cannot open {path}: {exc.strerror}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise NotResumableError(
                f"run {self.run_id!r} is being run by {_holder(path)}; not running it twice"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"pid {os.getpid()} on {socket.gethostname()}\n".encode())
        self._claim = fd

    def __enter__(self) -> SqliteRunStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- low-level ------------------------------------------------------------

    def _query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            try:
                return self._conn.execute(sql, params).fetchall()
            except sqlite3.Error as exc:
                raise RunError(
                    f"run {self.run_id!r}: cannot read {self.state_path}: {exc}"
                ) from None

    def _write(self, sql: str, params: tuple[Any, ...] | dict[str, Any] = ()) -> None:
        with self._lock:
            try:
                with self._conn:  # commits at once: a checkpoint survives a kill
                    self._conn.execute(sql, params)
            except sqlite3.Error as exc:
                raise RunError(
                    f"run {self.run_id!r}: cannot write {self.state_path}: {exc}"
                ) from None

    def _load(self, text: Any, what: str) -> Any:
        if not isinstance(text, str | bytes):
            raise RunError(
                f"run {self.run_id!r}: {what} in {self.state_path} is corrupt: expected JSON text"
            )
        try:
            return json.loads(text)
        except RecursionError:
            raise RunError(
                f"run {self.run_id!r}: {what} in {self.state_path} is nested too deeply to read"
            ) from None
        except ValueError as exc:  # also an integer of more than 4,300 digits
            detail = " ".join(str(exc).split())[:200]
            raise RunError(
                f"run {self.run_id!r}: {what} in {self.state_path} is not valid JSON: {detail}"
            ) from None

    def _where(self, what: str) -> str:
        return f"run {self.run_id!r}: {what} in {self.state_path}"

    def _plan(self, text: Any, act_no: Any) -> dict[str, Any]:
        what = f"the plan of act {act_no}"
        return checked_plan(self._load(text, what), self._where(what))

    def _step(self, text: Any, act_no: Any, step_id: Any) -> dict[str, Any]:
        what = f"step {step_id!r} of act {act_no}"
        return checked(self._load(text, what), STEP, self._where(what))

    # -- the trace --------------------------------------------------------------

    def append_event(self, event: Event) -> None:
        """Append ``event`` to trace.jsonl as one JSON line, flushed."""
        line = _dumps(event.to_dict()) + "\n"
        with self._lock:
            if self._trace is None:
                self._trace = open_for_append(self.trace_path)
            self._trace.write(line)
            self._trace.flush()

    def events(self) -> list[dict[str, Any]]:
        """Every readable event of the trace, in order.

        A partial last line is ignored; a garbled line is skipped (and counted by
        :meth:`unreadable_trace_lines`).
        """
        return read_events(self.trace_path, self.run_id)

    def unreadable_trace_lines(self) -> int:
        """How many lines of the trace (not counting a partial last one) cannot be read."""
        return read_trace(self.trace_path, self.run_id)[1]

    # -- decisions and conversation ---------------------------------------------

    def save_decision(self, record: dict[str, Any]) -> None:
        """Save one dynamic-agent turn: ``{"iteration","function","arguments","observation"}``.

        Saving a turn with an iteration already saved replaces it.
        """
        iteration = record.get("iteration")
        with self._lock:
            if not isinstance(iteration, int):
                iteration = self._query("SELECT COALESCE(MAX(iteration), 0) + 1 FROM decisions")[0][
                    0
                ]
            self._write(
                "INSERT OR REPLACE INTO decisions (iteration, record) VALUES (?, ?)",
                (iteration, _dumps(record)),
            )

    def decisions(self) -> list[dict[str, Any]]:
        """The saved dynamic-agent turns, in order (for resume)."""
        rows = self._query("SELECT iteration, record FROM decisions ORDER BY iteration")
        return [
            checked(self._load(r[1], f"decision {r[0]}"), DECISION, self._where(f"decision {r[0]}"))
            for r in rows
        ]

    def save_conversation(self, messages: list[dict[str, Any]]) -> None:
        """Save the whole conversation (the Assistant's turns), replacing the saved one."""
        with self._lock:
            try:
                with self._conn:  # one transaction: never half the old, half the new
                    self._conn.execute("DELETE FROM conversation")
                    self._conn.executemany(
                        "INSERT INTO conversation (idx, message) VALUES (?, ?)",
                        [(i, _dumps(m)) for i, m in enumerate(messages)],
                    )
            except sqlite3.Error as exc:
                raise RunError(
                    f"run {self.run_id!r}: cannot write {self.state_path}: {exc}"
                ) from None

    def conversation(self) -> list[dict[str, Any]]:
        """The saved conversation, in order."""
        rows = self._query("SELECT idx, message FROM conversation ORDER BY idx")
        return [
            checked(self._load(r[1], f"message {r[0]}"), MESSAGE, self._where(f"message {r[0]}"))
            for r in rows
        ]

    # -- plans and steps (for `runs show`) --------------------------------------

    def plans(self) -> dict[int, dict[str, Any]]:
        """Every saved plan by act number."""
        rows = self._query("SELECT act_no, plan FROM plans ORDER BY act_no")
        plans = {}
        for act_no, text in rows:
            if not isinstance(act_no, int):
                raise RunError(
                    f"{self._where('a plan')} is corrupt: its act number is not an integer"
                )
            plans[act_no] = self._plan(text, act_no)
        return plans

    def steps(self) -> list[tuple[int, str, dict[str, Any]]]:
        """Every finished step as ``(act_no, step_id, record)``, in the order they finished."""
        rows = self._query("SELECT act_no, step_id, record FROM steps ORDER BY seq")
        steps = []
        for act_no, step_id, text in rows:
            if not isinstance(act_no, int) or not isinstance(step_id, str):
                where = self._where(f"step {step_id!r} of act {act_no!r}")
                raise RunError(f"{where} is corrupt: its act number or step id has the wrong type")
            steps.append((act_no, step_id, self._step(text, act_no, step_id)))
        return steps

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
        clears the end; any other status records the end time.
        """
        fields = status_fields(status, reason=reason, answer=answer, usage=usage)
        if status == "running":
            self._write(
                "UPDATE run SET status = 'running', finished = NULL, reason = NULL, answer = NULL,"
                " owner_pid = :owner_pid, owner_host = :owner_host, owner_start = :owner_start,"
                " updated = :updated WHERE id = 1",
                fields,
            )
            return
        # A usage of None keeps the one recorded (COALESCE), as the journal does.
        usage = fields["usage"]
        self._write(
            "UPDATE run SET status = :status, finished = :finished, reason = :reason,"
            " answer = :answer, usage = COALESCE(:usage, usage), updated = :updated WHERE id = 1",
            {**fields, "usage": None if usage is None else _dumps(usage)},
        )

    def owner_alive(self) -> bool:
        """Whether the process recorded as this run's owner still runs."""
        row = self._query("SELECT owner_pid, owner_host, owner_start FROM run WHERE id = 1")
        return bool(row) and owner_alive(*row[0])

    # -- teams: an old folder was never part of one ------------------------------------

    def save_team(self, record: dict[str, Any]) -> None:
        """Refused: a run in the old SQLite format cannot join a team."""
        raise RunError(f"run {self.run_id!r} is in the old SQLite format and cannot join a team")

    save_child = save_team

    def team(self) -> None:
        """None: teams came after this format."""
        return None

    def children(self) -> list[dict[str, Any]]:
        """[]: teams came after this format."""
        return []

    def info(self) -> dict[str, Any]:
        """The run row: run_id, status, task, model, auto, workspace, started, finished,
        reason, answer, usage, ``parent``, ``team_role`` and ``assignment`` (None: an old
        folder is no team's) and ``owner`` (pid, host).

        A ``running`` run whose owner is gone is reported as ``interrupted`` (the same
        for every store: :func:`.status.run_info`).
        """
        rows = self._query(
            "SELECT run_id, status, task, model, auto, workspace, started, finished, reason,"
            " answer, usage, owner_pid, owner_host, owner_start FROM run WHERE id = 1"
        )
        if not rows:
            raise RunError(f"run {self.run_id!r} is corrupt: {self.state_path} holds no run row")
        row = rows[0]
        record = checked(dict(zip(RUN_ROW, row, strict=True)), RUN_ROW, self._where("the run row"))
        if row[1] not in STATUSES:
            raise RunError(f"{self._where('the run row')} is corrupt: unknown status {row[1]!r}")
        record["usage"] = None  # kept as JSON text here (an empty one counts as none)
        if row[10]:
            usage = self._load(row[10], "the usage")
            record["usage"] = checked(usage, USAGE, self._where("the usage"))
        owner = (record["owner_pid"], record["owner_host"], record["owner_start"])
        # The owner as in the row just read (self.owner_alive would query it again).
        return run_info(record, self, alive=lambda: owner_alive(*owner))
