"""The rules a config file is checked against: what each key accepts, and where it may be.

:mod:`autoplug.config` declares the known keys as one table of :class:`Rule`
and :class:`Table` values (``SPEC``); :func:`check` walks a parsed file against
it and raises :class:`ConfigError` for the first fault, naming the file, the
table and the key, and the known names (with a "did you mean" for a close one).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import ConfigError

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


@dataclass(frozen=True)
class Rule:
    """What one key accepts.

    ``kinds`` are among ``"int"``, ``"float"``, ``"str"``, ``"bool"`` and
    ``"names"`` (a list of strings), ``"texts"`` (a table of strings, such as an
    environment), ``"table"`` (any inline table, such as a JSON Schema);
    ``"float"`` accepts whole numbers too.
    Numbers are always finite; ``low``/``high`` bound them (``low_open``: the
    value must be more than ``low``, not equal to it).
    """

    kinds: tuple[str, ...]
    low: float | None = None
    high: float | None = None
    low_open: bool = False

    @property
    def whole(self) -> bool:
        """Whether only whole numbers are accepted (the key counts something)."""
        return "int" in self.kinds and "float" not in self.kinds

    def describe(self) -> str:
        """What the key accepts, as the end of "must be ...": ``a whole number >= 1``."""
        parts = []
        for kind in self.kinds:
            if kind in ("int", "float"):
                noun = "a whole number" if kind == "int" else "a number"
                if self.low is not None and self.high is not None:
                    noun += f" from {self.low:g} to {self.high:g}"
                elif self.low is not None:
                    noun += f" {'>' if self.low_open else '>='} {self.low:g}"
                parts.append(noun)
            elif kind == "bool":
                parts.append("true or false" if len(self.kinds) == 1 else "true, false")
            else:
                parts.append(
                    {
                        "str": "a string",
                        "names": "a list of strings",
                        "texts": "a table of strings",
                        "table": "a table",
                    }[kind]
                )
        parts = list(dict.fromkeys(parts))
        return " or ".join(parts) if len(parts) < 3 else ", ".join(parts[:-1]) + " or " + parts[-1]

    def accepts(self, value: Any) -> bool:
        """Whether ``value`` (as parsed from TOML) is of an accepted kind and in range."""
        if isinstance(value, bool):
            return "bool" in self.kinds
        if isinstance(value, int | float):
            if isinstance(value, float) and ("float" not in self.kinds or not math.isfinite(value)):
                return False
            if isinstance(value, int) and not {"int", "float"} & set(self.kinds):
                return False
            if self.low is not None and (value < self.low or (self.low_open and value == self.low)):
                return False
            return self.high is None or value <= self.high
        if isinstance(value, str):
            return "str" in self.kinds
        if isinstance(value, list):
            return "names" in self.kinds and all(isinstance(x, str) for x in value)
        if isinstance(value, dict):
            if "table" in self.kinds:
                return True
            return "texts" in self.kinds and all(isinstance(x, str) for x in value.values())
        return False


@dataclass(frozen=True)
class Table:
    """A top-level table: its own keys, and what its ``[table.NAME]`` sub-tables hold.

    ``named`` checks every sub-table's keys (``[providers.NAME]``); ``owned``
    says the sub-tables belong to someone else and are not checked
    (``[plugins.NAME]``: the plugin's own settings). With neither, the table
    has no sub-tables. ``name_label`` is how the docs and errors write one
    (``NAME``, ``"ID"``).
    """

    keys: Mapping[str, Rule]
    named: Mapping[str, Rule] | None = None
    owned: bool = False
    name_label: str = "NAME"


def header(*parts: str) -> str:
    """A table header as TOML writes it: ``[providers.local]``, ``[prices."a:b"]``."""
    return "[" + ".".join(part if _BARE_KEY.match(part) else _quoted(part) for part in parts) + "]"


def _quoted(text: str) -> str:
    shown = json.dumps(text)  # ASCII only: a hostile name stays one printable line
    return shown if len(shown) <= 82 else shown[:80] + '…"'


def _key(key: str) -> str:
    return key if _BARE_KEY.match(key) else _quoted(key)


def _show(value: Any) -> str:
    """A value for an error message: its TOML-ish spelling, cut to one short line."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return _quoted(value)
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return f"a list of {len(value)}"
    if isinstance(value, int | float):
        text = repr(value)
        return text if len(text) <= 40 else text[:40] + "…"
    return type(value).__name__  # dates and times


def _suggest(name: str, known: list[str], label: Any = None) -> str:
    import difflib

    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    if not close:
        return ""
    return f" (did you mean {label(close[0]) if label else close[0]}?)"


def _not(value: Any) -> str:
    """``not VALUE``, with the way to say "no limit" when VALUE is inf or nan."""
    if isinstance(value, float) and not math.isfinite(value):
        return (
            f"not {_show(value)} (inf and nan are never accepted: leave the key out for no limit)"
        )
    return f"not {_show(value)}"


def check(data: Mapping[str, Any], spec: Mapping[str, Rule | Table], path: Path) -> None:
    """Check a parsed config file against ``spec``; :class:`ConfigError` for the first fault."""
    where = f"invalid config file {path}:"
    known_top = [_top_label(name, entry) for name, entry in spec.items()]
    for name, value in data.items():
        entry = spec.get(name)
        if entry is None:
            what = (
                f"unknown table {header(name)}"
                if isinstance(value, dict)
                else (f"unknown key {_key(name)} at the top level")
            )
            raise ConfigError(
                f"{where} {what}{_suggest(name, list(spec), lambda n: _top_label(n, spec[n]))}; "
                f"known: {', '.join(known_top)}"
            )
        if isinstance(entry, Rule):
            if not entry.accepts(value):
                raise ConfigError(f"{where} {_key(name)} must be {entry.describe()}, {_not(value)}")
            continue
        if not isinstance(value, dict):
            raise ConfigError(f"{where} {header(name)} must be a table, not {_show(value)}")
        _check_table(value, entry, (name,), where)


def _top_label(name: str, entry: Rule | Table) -> str:
    if isinstance(entry, Rule):
        return name
    table = entry
    if table.named is not None and not table.keys:
        return f"[{name}.{table.name_label}]"
    if table.named is not None or table.owned:
        return f"[{name}] and [{name}.{table.name_label}]"
    return f"[{name}]"


def _check_table(value: dict[str, Any], table: Table, path: tuple[str, ...], where: str) -> None:
    at = header(*path)
    for key, item in value.items():
        rule = table.keys.get(key)
        if rule is not None:
            if not rule.accepts(item):
                raise ConfigError(
                    f"{where} {at} {_key(key)} must be {rule.describe()}, {_not(item)}"
                )
            continue
        if table.owned and isinstance(item, dict):
            continue  # [plugins.NAME]: the plugin's own settings
        if table.named is not None:
            sub = header(*path, key)
            if not isinstance(item, dict):
                raise ConfigError(
                    f"{where} {sub} must be a table such as {sub} "
                    f"{next(iter(table.named))} = ..., not {_show(item)}"
                )
            _check_table(item, Table(table.named), (*path, key), where)
            continue
        known = list(table.keys)
        listed = ", ".join(known) or "none"
        if table.owned:
            listed += f", and [{path[0]}.{table.name_label}] tables"
        raise ConfigError(
            f"{where} unknown key {at} {_key(key)}{_suggest(key, known)}; "
            f"known keys in {at}: {listed}"
        )
