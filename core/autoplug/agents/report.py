"""The static agent's report: the observation the dynamic agent gets back from ``act``."""

from __future__ import annotations

import json
from typing import Any

from ..llm import c_encoder, encode_with
from .executor import StepOutcome
from .prompting import QUOTE_CHARS, clip

#: How much of one error (of a failed step, a skip, a plan error) the report holds.
#: Errors can quote a whole value (a schema message about an asset passed by
#: ``$asset``, a tool's exception); the report goes into the dynamic agent's prompt.
REPORT_ERROR_CHARS = QUOTE_CHARS
#: How many entries each list of the report (assets, failed, skipped, plan errors)
#: holds; the rest are counted in a last entry "…and K more".
REPORT_LIST_MAX = 50
#: The longest preview of one asset in a report (DESIGN: about 500 characters).
REPORT_PREVIEW_CHARS = 500
#: The characters of preview a report shares between its assets: an act that made
#: many assets previews each one shorter, down to REPORT_PREVIEW_MIN, since the
#: deciding agent needs an overview of many results, not each one at length (it can
#: pass them on to another act, which reads them whole).
REPORT_PREVIEW_BUDGET = 3000
#: The shortest preview of one asset in a report.
REPORT_PREVIEW_MIN = 150


def preview_chars(count: int) -> int:
    """How long each of ``count`` assets' previews is in one report."""
    if count <= 0:
        return REPORT_PREVIEW_CHARS
    return max(REPORT_PREVIEW_MIN, min(REPORT_PREVIEW_CHARS, REPORT_PREVIEW_BUDGET // count))


def _bounded(text: str | None) -> str | None:
    return None if text is None else clip(text, REPORT_ERROR_CHARS)


def build_report(
    subtask: str,
    outcomes: list[StepOutcome],
    assets: Any,
    plan_errors: list[str] | None = None,
) -> dict[str, Any]:
    """The report dict (DESIGN.md "Report").

    ``status`` is ``succeeded`` when every step succeeded, ``partial`` when some
    did, ``failed`` when none did or the plan never passed its checks. The assets
    listed are those this act's steps produced, each with a preview of
    :func:`preview_chars` characters (shorter when there are many); each
    error is bounded too (cut in the middle past :data:`REPORT_ERROR_CHARS`), and
    each list holds at most :data:`REPORT_LIST_MAX` entries, then ``"…and K more"``.
    """
    if len(outcomes) == 1 and not plan_errors:
        # The common act's report, one step that succeeded, made without the lists'
        # pass: what the general one below makes of it (a property test ties them).
        only = outcomes[0]
        if only.status == "succeeded":
            name = only.asset
            return {
                "subtask": subtask,
                "status": "succeeded",
                "assets": [assets.get(name).to_dict(_ONE_PREVIEW)] if name in assets else [],
                "failed": [],
                "skipped": [],
                "plan_errors": [],
            }
    return _report(subtask, outcomes, assets, plan_errors)


def _report(
    subtask: str, outcomes: list[StepOutcome], assets: Any, plan_errors: list[str] | None
) -> dict[str, Any]:
    """:func:`build_report` of any outcomes and plan errors."""
    # One pass over the outcomes; each list in plan order. Loops, not comprehensions:
    # on this interpreter each comprehension is one more function call, for a report
    # that most often lists one asset.
    succeeded = 0
    made: list[Any] = []  # the assets of the succeeded steps
    failed: list[Any] = []
    skipped: list[Any] = []
    for o in outcomes:
        state = o.status
        if state == "succeeded":
            succeeded += 1
            if o.asset in assets:
                made.append(assets.get(o.asset))
        elif state == "failed":
            failed.append({"step": o.step, "tool": o.tool, "error": _bounded(o.error)})
        elif state == "skipped":
            skipped.append({"step": o.step, "tool": o.tool, "reason": _bounded(o.error)})
    if plan_errors or not succeeded:
        status = "failed"
    elif succeeded == len(outcomes):
        status = "succeeded"
    else:
        status = "partial"
    size = preview_chars(min(len(made), REPORT_LIST_MAX))
    shown = []
    for asset in made:
        shown.append(asset.to_dict(size))
    return {
        "subtask": subtask,
        "status": status,
        "assets": _capped(shown) if len(shown) > REPORT_LIST_MAX else shown,
        "failed": _capped(failed) if failed else failed,
        "skipped": _capped(skipped) if skipped else skipped,
        "plan_errors": _capped([clip(e, REPORT_ERROR_CHARS) for e in plan_errors])
        if plan_errors
        else [],
    }


#: The preview length of a report's one asset.
_ONE_PREVIEW = preview_chars(1)


def _capped(items: list[Any]) -> list[Any]:
    """At most :data:`REPORT_LIST_MAX` entries, then ``"…and K more"`` when there were more."""
    if len(items) <= REPORT_LIST_MAX:
        return items
    return items[:REPORT_LIST_MAX] + [f"…and {len(items) - REPORT_LIST_MAX} more"]


# ``json.dumps(report, ensure_ascii=False, separators=(",", ":"))``, its encoder made once.
_REPORT = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
_C_REPORT = c_encoder(_REPORT)


def render_report(report: dict[str, Any]) -> str:
    """The report as the observation text: its JSON, without the optional spaces."""
    return encode_with(_C_REPORT, _REPORT, report)
