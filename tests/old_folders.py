"""Turn a run folder into the format an earlier autoplug wrote, to test that it still reads.

Schema 2 (the fifth session's autoplug) kept a run's asset entries in
``assets/manifest.jsonl`` (one entry a line, no ``"k"``), not in ``state.jsonl``.
"""

from __future__ import annotations

import json
from pathlib import Path


def asset_records(folder: Path) -> list[dict]:
    """The ``asset`` records of a run folder's journal, in order."""
    records = [json.loads(line) for line in (folder / "state.jsonl").read_text().splitlines()]
    return [r for r in records if r.get("k") == "asset"]


def to_schema_2(folder: Path) -> None:
    """Rewrite ``folder`` (a closed run of schema 3) as schema 2 wrote it."""
    journal = folder / "state.jsonl"
    kept, manifest = [], []
    for number, line in enumerate(journal.read_text().splitlines()):
        record = json.loads(line)
        if number == 0:
            assert record["schema"] == 3, record
            record["schema"] = 2
            line = json.dumps(record, separators=(",", ":"))
        if record.get("k") == "asset":
            del record["k"]
            manifest.append(json.dumps(record, separators=(",", ":")))
        else:
            kept.append(line)
    journal.write_text("".join(line + "\n" for line in kept))
    if manifest:
        (folder / "assets").mkdir(exist_ok=True)
        (folder / "assets" / "manifest.jsonl").write_text("".join(m + "\n" for m in manifest))
