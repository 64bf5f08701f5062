"""The notes file of the CLI tests' workspaces and the scripted replies of a run that reads it."""

from __future__ import annotations

NOTES = "Jupiter is the largest planet.\n"

# act, a one-step plan reading notes.txt into the asset "notes", then the answer.
READ_NOTES = [
    {"call": "act", "arguments": {"subtask": "read the notes", "assets": []}},
    {
        "call": "submit_plan",
        "arguments": {
            "steps": [
                {"id": "s1", "tool": "read_file", "args": {"path": "notes.txt"}, "output": "notes"}
            ]
        },
    },
    {"call": "final", "arguments": {"answer": "Jupiter"}},
]
