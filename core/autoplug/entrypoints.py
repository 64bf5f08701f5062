"""Entry points of one group, read from the ``.dist-info`` folders on ``sys.path``.

``importlib.metadata`` imports the email parser, zipfile, csv and more, and
reads each distribution's METADATA through the email parser: about a third of
``autoplug tools``' start. This reader looks only at what a plugin listing
needs: the ``entry_points.txt`` of each ``*.dist-info`` folder in a directory on
``sys.path`` (the first distribution of each name wins, as in importlib.metadata),
and the Name and Version headers of the distributions that have entry points in
the group. Anything it does not read the same way (a zip or egg on the path, an
``.egg-info``) makes :func:`entry_points` answer None: the caller then asks
importlib.metadata.
"""

from __future__ import annotations

import os
import re
import sys
from typing import Any

_SEPARATORS = re.compile(r"[-_.]+")


class _Value:
    """A small immutable value: equal, hashed and shown by its fields (``_fields``).

    Written by hand, not as frozen dataclasses: making a dataclass compiles its
    methods at import, and these two cost a sixtieth of ``autoplug tools``' start.
    """

    __slots__ = ()
    _fields: tuple[str, ...] = ()

    def _values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self._fields)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._values() == other._values()  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._fields)
        return f"{type(self).__name__}({shown})"

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable: cannot set {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable: cannot delete {name!r}")


class Distribution(_Value):
    """The installed distribution that declares an entry point: its name and version."""

    __slots__ = ("name", "version")
    _fields = __slots__
    name: str
    version: str | None

    def __init__(self, name: str, version: str | None) -> None:
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "version", version)


class EntryPoint(_Value):
    """One entry point: ``name = module:attr`` in ``group``, declared by ``dist``."""

    __slots__ = ("name", "value", "group", "dist")
    _fields = __slots__
    name: str
    value: str
    group: str
    dist: Distribution | None

    def __init__(self, name: str, value: str, group: str, dist: Distribution | None = None) -> None:
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "value", value)
        object.__setattr__(self, "group", group)
        object.__setattr__(self, "dist", dist)

    @property
    def module(self) -> str:
        """The module part of ``value``."""
        return self.value.partition(":")[0].strip()

    @property
    def attr(self) -> str:
        """The attribute part of ``value`` (after ``:``, extras dropped), or empty."""
        return self.value.partition(":")[2].partition("[")[0].strip()

    def load(self) -> Any:
        """Import the module and return it, or the named attribute of it."""
        import importlib

        found: Any = importlib.import_module(self.module)
        for part in filter(None, self.attr.split(".")):
            found = getattr(found, part)
        return found


def _normalized(name: str) -> str:
    return _SEPARATORS.sub("_", name).lower()


def _group_lines(text: str, group: str) -> list[tuple[str, str]]:
    """The ``name = value`` pairs of section ``[group]`` of an entry_points.txt."""
    pairs: list[tuple[str, str]] = []
    inside = False
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] == "#":
            continue
        if line.startswith("[") and line.endswith("]"):
            inside = line[1:-1].strip() == group
            continue
        if inside and "=" in line:
            name, _, value = line.partition("=")
            pairs.append((name.strip(), value.strip()))
    return pairs


def _headers(folder: str) -> tuple[str | None, str | None]:
    """The Name and Version of a dist-info's METADATA (the headers end at the first blank line)."""
    name = version = None
    try:
        with open(os.path.join(folder, "METADATA"), encoding="utf-8", errors="replace") as file:
            for line in file:
                if not line.strip():
                    break
                key, _, value = line.partition(":")
                key = key.strip().lower()
                if key == "name" and name is None:
                    name = value.strip()
                elif key == "version" and version is None:
                    version = value.strip()
    except OSError:
        pass
    return name, version


def entry_points(group: str) -> list[EntryPoint] | None:
    """Every entry point of ``group`` in ``sys.path`` order, or None when importlib must read them."""
    seen: set[str] = set()
    found: list[EntryPoint] = []
    # Most distributions' entry points are other groups: files without the group's name
    # are skipped before they are decoded and parsed.
    wanted = group.encode("utf-8")
    for entry in sys.path:
        where = entry or "."
        try:
            names = os.listdir(where)
        except NotADirectoryError:
            return None  # a zip on the path
        except OSError:
            continue  # missing or unreadable: importlib.metadata skips it too
        # One search of the joined names, not two tests of each (site-packages holds
        # hundreds): names cannot hold NUL, so each ends where a NUL follows.
        joined = "\0".join(names) + "\0"
        if ".egg\0" in joined or ".egg-info\0" in joined:
            return None
        for name in [n for n in names if n.endswith(".dist-info")]:
            stem = name[: -len(".dist-info")]
            key = _normalized(stem.partition("-")[0])
            if key in seen:
                continue  # an earlier one of the same name shadows it
            seen.add(key)
            folder = f"{where}{os.sep}{name}"
            try:
                with open(f"{folder}{os.sep}entry_points.txt", "rb") as file:
                    data = file.read()
            except OSError:
                continue
            if wanted not in data:
                continue  # no section can be named the group without its name
            pairs = _group_lines(data.decode("utf-8"), group)
            if not pairs:
                continue
            dist_name, version = _headers(folder)
            dist = Distribution(dist_name or stem.partition("-")[0], version)
            found += [EntryPoint(n, v, group, dist) for n, v in pairs]
    return found
