"""The shapes of what a run's state holds, checked when it is read back.

SQLite keeps any value in any column and a JSON record can be anything, so a
damaged or hand-edited ``state.sqlite`` or ``trace.jsonl`` could hand ``runs``,
``runs show`` and ``resume`` a list where a record should be, or bytes where a
task should be. Every read goes through :func:`checked`, which raises
:class:`RunError` naming the file, the record and the field instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import RunError

NONE = type(None)

#: Field -> accepted types, for each kind of record. Fields not listed are not checked.
RUN_ROW: Mapping[str, tuple[type, ...]] = {
    "run_id": (str,),
    "status": (str,),
    "task": (str,),
    "model": (str,),
    "auto": (str,),
    "workspace": (str,),
    "started": (str,),
    "finished": (str, NONE),
    "reason": (str, NONE),
    "answer": (str, NONE),
    "usage": (str, NONE),
    "owner_pid": (int, NONE),
    "owner_host": (str, NONE),
    "owner_start": (str, int, NONE),
}
DECISION: Mapping[str, tuple[type, ...]] = {
    "iteration": (int, NONE),
    "function": (str, NONE),
    "arguments": (dict, NONE),
    "act_no": (int, NONE),
}
PLAN: Mapping[str, tuple[type, ...]] = {"steps": (list, NONE)}
PLAN_STEP: Mapping[str, tuple[type, ...]] = {"id": (str, int), "tool": (str, NONE)}
STEP: Mapping[str, tuple[type, ...]] = {
    "status": (str, NONE),
    "asset": (str, NONE),
    "error": (str, NONE),
    "kind": (str, NONE),
}
MESSAGE: Mapping[str, tuple[type, ...]] = {}
USAGE: Mapping[str, tuple[type, ...]] = {}
EVENT: Mapping[str, tuple[type, ...]] = {
    "type": (str,),
    "seq": (int, NONE),
    "data": (dict, NONE),
}

_NAMES = {str: "text", int: "an integer", dict: "an object", list: "a list", NONE: "null"}


def kind_of(value: Any) -> str:
    """How an error names what was found: ``text``, ``an integer``, ``bytes``..."""
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, bytes):
        return "bytes"
    if isinstance(value, float):
        return "a number"
    return _NAMES.get(type(value), type(value).__name__)


def checked(value: Any, fields: Mapping[str, tuple[type, ...]], what: str) -> dict[str, Any]:
    """``value`` when it is an object whose ``fields`` have their types; else RunError.

    ``what`` names the record and the file: ``run 'ID': decision 3 in /x/state.sqlite``.
    """
    if not isinstance(value, dict):
        raise RunError(f"{what} is corrupt: expected an object, found {kind_of(value)}")
    for key, types in fields.items():
        item = value.get(key)
        if isinstance(item, bool) or not isinstance(item, types):
            expected = " or ".join(_NAMES[t] for t in types)
            raise RunError(f"{what} is corrupt: {key!r} should be {expected}, not {kind_of(item)}")
    return value


def checked_plan(value: Any, what: str) -> dict[str, Any]:
    """A saved plan: an object whose ``steps`` is a list of step objects."""
    plan = checked(value, PLAN, what)
    for number, step in enumerate(plan.get("steps") or [], 1):
        checked(step, PLAN_STEP, f"{what}, step {number}")
    return plan


#: A child run's ``team`` record: its manager's run id, its role, its assignment ``ROLE.K``.
TEAM = {"parent": (str,), "role": (str,), "assignment": (str,)}
#: A manager's ``child`` record: one assignment and the child run carrying it out.
CHILD = {"assignment": (str,), "role": (str,), "run_id": (str,), "subtask": (str,), "seq": (int,)}
