"""Run ids and times: ids that sort by time, ISO 8601 UTC timestamps."""

from __future__ import annotations

import re
import secrets
import time
from datetime import UTC, datetime

#: What a run id looks like: UTC date, time, microseconds, four random hex digits.
RUN_ID_RE = re.compile(r"^[0-9]{8}-[0-9]{6}-[0-9]{6}-[0-9a-f]{4}$")


def utc_iso(timestamp: float | None = None) -> str:
    """``timestamp`` (default now) as ISO 8601 UTC with a ``Z``, to the second."""
    moment = datetime.fromtimestamp(time.time() if timestamp is None else timestamp, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(text: str) -> float:
    """The POSIX time of an ISO 8601 string written by :func:`utc_iso`."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def new_run_id() -> str:
    """A fresh run id that sorts by time: ``20261121-130455-123456-ab12`` (UTC)."""
    now = datetime.now(UTC)
    return f"{now:%Y%m%d-%H%M%S-%f}-{secrets.token_hex(2)}"
