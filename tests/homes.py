"""Test homes: write a config file the way a user would, before the kernel reads it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def toml_value(value: Any) -> str:
    """A TOML literal for a string, number or bool (JSON spells these the same way)."""
    return json.dumps(value)


def write_config(home: Path, **tables: dict[str, Any]) -> Path:
    """Write ``home/config.toml`` holding ``tables`` (``memory={"embedder": "hashing"}``)."""
    home.mkdir(parents=True, exist_ok=True)
    lines = []
    for table, values in tables.items():
        lines.append(f"[{table}]")
        lines += [f"{key} = {toml_value(value)}" for key, value in values.items()]
        lines.append("")
    path = home / "config.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def memory_home(home: Path, **memory: Any) -> Path:
    """Write a config whose ``[memory]`` table holds ``memory``; returns ``home``."""
    write_config(home, memory=memory)
    return home
