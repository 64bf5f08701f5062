"""Assets: the named artifacts of a run, who produced them, and their storage.

A step of a plan stores its tool's result as an asset; later steps refer to it
by name (``{"$asset": name, "path": "/json/pointer"}``). An :class:`AssetStore`
keeps them in memory and, given a folder, on disk: in a run's folder (schema 3
on) each entry is an ``asset`` record of the run's journal (:mod:`.runs.assetlog`,
written with the step's record that follows it); in a folder of its own, or a run
folder of an earlier format, in a manifest (``manifest.jsonl``, one JSON entry a
line appended). The last entry of a name wins. A text or JSON value of at most
:data:`INLINE_MAX` bytes is written inside its entry; a larger one (and any bytes)
goes to a new file of its own first, and only then is its entry appended to point
at it. Either way a run killed mid-write leaves the old or the new version, never
half of one (a partial last line is ignored), and storing an asset costs the same
however many the run holds. :meth:`AssetStore.load` reopens a folder when a run
is resumed (also an older folder's manifests, ``manifest.jsonl`` and the
whole-file ``manifest.json``).

Prompts never get an asset whole: :meth:`Asset.preview` is the bounded view.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import RunError, describe_error
from .safejson import _MAX_INT_BITS, _huge, clean_text, value_problem

#: The manifest's file name inside an asset folder (one appended JSON entry a line).
MANIFEST = "manifest.jsonl"
#: The whole-file manifest of folders made before the appended one (still read).
OLD_MANIFEST = "manifest.json"

#: The largest stored form (bytes) of a text or JSON asset kept inside its manifest entry.
#: Creating a file costs ~60-80 µs on ext4, ten times appending a line: most steps'
#: values are small, and a value this size adds little to the manifest's reading.
INLINE_MAX = 4096

_EXTENSIONS = {"json": ".json", "text": ".txt", "bytes": ".bin"}
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


@dataclass(frozen=True)
class Asset:
    """One named artifact: its value, its type, the step and tool that made it, its size.

    ``type`` is ``"json"``, ``"text"`` or ``"bytes"``; ``size`` counts the bytes
    of its stored form (UTF-8 JSON, UTF-8 text, or the raw bytes).
    """

    name: str
    value: Any
    type: str
    step: str | None = None
    tool: str | None = None
    size: int = 0

    def preview(self, limit: int = 500) -> str:
        """Its JSON or text within ``limit`` characters (``…`` marks a cut); bytes: ``<N bytes>``.

        A text is cut at ``limit``; a JSON value too long to show whole keeps its
        shape, long strings and lists cut (:func:`autoplug.agents.prompting.json_preview`).
        It shows the value as stored: a JSON preview is worked out once per
        ``limit`` (a step's event and its act's report ask for the same one), and a
        JSON value short enough to show whole is the text :meth:`AssetStore.put` stored.
        """
        if self.type == "bytes":
            return f"<{self.size} bytes>"
        if self.type == "json":
            known = self.__dict__  # not fields: equality and repr stay the dataclass's
            text = known.get("_json")
            if text is not None and len(text) <= limit:
                return text  # type: ignore[no-any-return]
            cached = known.get("_preview")
            if cached is not None and cached[0] == limit:
                return cached[1]  # type: ignore[no-any-return]
            from .agents.prompting import json_preview

            shown = json_preview(self.value, limit)
            known["_preview"] = (limit, shown)
            return shown
        text = self.value
        if len(text) <= limit:
            return text
        return text[:limit] + "…"

    def to_dict(self, preview_chars: int = 500) -> dict[str, Any]:
        """The report's shape: ``{"name", "step", "tool", "type", "size", "preview"}``.

        The preview is :meth:`preview` of ``preview_chars`` characters.
        """
        return {
            "name": self.name,
            "step": self.step,
            "tool": self.tool,
            "type": self.type,
            "size": self.size,
            "preview": self.preview(preview_chars),
        }


_new = object.__new__


#: ``json.dumps(value, ensure_ascii=False, allow_nan=False)``, its encoder made once
#: (json.dumps makes a new one per call for any non-default option).
_encode_json = json.JSONEncoder(ensure_ascii=False, allow_nan=False).encode
_SCALAR_TEXT = {True: "true", False: "false", None: "null"}
#: Values that read back from their JSON text as themselves (json.loads not needed).
_SCALARS = frozenset({int, float, bool, type(None)})


def _encode(value: Any) -> tuple[str, Any, bytes]:
    """The asset type, the value as it will read back, and its stored bytes."""
    kind, stored, raw, _ = _encode_text(value)
    return kind, stored, raw


def _encode_text(value: Any) -> tuple[str, Any, bytes, str | None]:
    """:func:`_encode`, and the JSON text of a value made only of JSON types (else None).

    That text is what ``json.dumps`` writes of the value read back, so it is the
    preview of a short JSON asset; a value with other types (a tuple, a non-string
    key) may read back different, so it gets none.
    """
    kind = type(value)
    if kind is int or kind is bool or value is None:
        # The JSON of these is their repr (true/false/null), json.dumps's own answer.
        if kind is int and value.bit_length() >= _MAX_INT_BITS and _huge(value):
            raise ValueError(f"the value cannot be stored: it is {value_problem(value)}")
        text = _SCALAR_TEXT[value] if kind is not int else int.__repr__(value)
        return "json", value, text.encode("ascii"), text
    if isinstance(value, str):
        value = clean_text(value)  # a lone surrogate cannot be written as UTF-8
        return "text", value, value.encode("utf-8"), None
    if isinstance(value, bytes | bytearray | memoryview):
        raw = bytes(value)
        return "bytes", raw, raw, None
    problem = value_problem(value)  # only JSON types: it reads back as it is written
    pure = problem is None
    if not pure:
        problem = value_problem(value, strict=False)
    if problem is not None:
        # Checked first: json.dumps and str() recurse, and a huge int has no str().
        raise ValueError(f"the value cannot be stored: it is {problem}")
    try:
        # allow_nan=False keeps the file strict JSON that any reader accepts.
        text = _encode_json(value)
    except (TypeError, ValueError, RecursionError):
        try:
            text = str(value)
        except Exception as exc:  # a __str__ that raises
            raise ValueError(
                f"the value cannot be stored: it is not JSON and its str() raised "
                f"{describe_error(exc)}"
            ) from None
        if not isinstance(text, str):
            raise ValueError("the value cannot be stored: its str() is not a string") from None
        text = clean_text(text)
        return "text", text, text.encode("utf-8"), None
    # The in-memory value is what a resumed run reads back (tuples become lists),
    # so a pointer resolves the same before and after a resume.
    if type(value) in _SCALARS:  # a finite float, an int, a bool or None reads back as itself
        return "json", value, text.encode("utf-8"), text
    return "json", json.loads(text), text.encode("utf-8"), text if pure else None


def _decode(kind: str, raw: bytes) -> Any:
    if kind == "bytes":
        return raw
    text = raw.decode("utf-8")
    return json.loads(text) if kind == "json" else text


def _file_name(name: str, kind: str) -> str:
    """A safe file name, new for every version, for an asset name of any characters.

    A new name per version lets the value be written straight to its file: until
    the manifest points at it, a half-written file is an unreferenced orphan.
    """
    slug = _UNSAFE.sub("_", name).strip("._")[:40] or "asset"
    digest = hashlib.sha1(name.encode("utf-8")).hexdigest()[:8]
    return f"{slug}-{digest}-{secrets.token_hex(4)}{_EXTENSIONS[kind]}"


def _write_new(path: Path, data: bytes) -> None:
    """Write ``data`` to a file that must not exist yet."""
    with open(path, "xb") as handle:
        handle.write(data)


class AssetStore:
    """The assets of one run, by name; on disk under ``folder`` when one is given.

    Names are unique: putting an existing name replaces that asset. ``names()``
    lists them in the order they were first stored.

    ``log``: where a live run's asset records go, its store's
    :attr:`~autoplug.runs.RunStore.asset_log` (the records then go out with the
    run's next checkpoint, its step's record, in the same ``write``). Without
    one, a run folder's records are written at once (:func:`.runs.assetlog.folder_log`).
    """

    def __init__(self, folder: Path | None = None, *, log: Any = None) -> None:
        self.folder = Path(folder) if folder is not None else None
        self._assets: dict[str, Asset] = {}
        self._files: dict[str, str] = {}
        #: Names the manifest lists whose file is gone (see :meth:`load`).
        self.lost: list[str] = []
        self._lock = threading.Lock()
        self._manifest = ""
        self._log: Any = None
        if self.folder is not None:
            from .runs import assetlog
            from .runs.journal import HANDLES, line

            # Bound once: an import inside the per-step write path costs microseconds.
            self._line = line
            # A run folder of schema 3 keeps its asset records in the run's journal.
            self._log = log if log is not None else assetlog.folder_log(str(self.folder))
            # A run's assets folder is made by its first file (into the run's folder,
            # which must still be there), not here: most runs need none.
            self._made = False
            if self._log is not None:
                return
            if not self.folder.parent.is_dir():  # a store of its own: made whole, now
                self.folder.mkdir(parents=True, exist_ok=True)
                self._made = True
            self._manifest = str(self.folder / MANIFEST)
            self._append = HANDLES.append

    def put(
        self, name: str, value: Any, *, step: str | None = None, tool: str | None = None
    ) -> Asset:
        """Store ``value`` as asset ``name`` and return it.

        A ``str`` is stored as text, ``bytes`` as bytes, anything else as JSON
        (when ``json.dumps`` fails, as its ``str()`` text).
        """
        if not isinstance(name, str) or not name:
            raise ValueError(f"asset name must be a non-empty string, got {name!r}")
        kind, stored, raw, text = _encode_text(value)
        # Asset(name, stored, kind, step, tool, len(raw)) without the frozen __init__'s six
        # object.__setattr__ calls (one per step of every plan): the same frozen value.
        asset = _new(Asset)
        fields = asset.__dict__
        fields.update(name=name, value=stored, type=kind, step=step, tool=tool, size=len(raw))
        if text is not None:
            fields["_json"] = text  # its preview while short (see Asset.preview)
        with self._lock:
            if self.folder is not None:
                self._store(asset, raw)
            else:
                self._assets[name] = asset
        return asset

    def _store(self, asset: Asset, raw: bytes) -> None:
        """Write ``asset`` (stored form ``raw``): its entry inline, or its own file first."""
        assert self.folder is not None
        line = self._line
        entry = {
            "name": asset.name,
            "type": asset.type,
            "step": asset.step,
            "tool": asset.tool,
            "size": asset.size,
        }
        log = self._log
        if log is not None:
            entry = {"k": "asset", **entry}  # a record of the run's journal
        file_name = None
        if asset.type != "bytes" and len(raw) <= INLINE_MAX:
            # A JSON value's stored form is already JSON: spliced in, not encoded again.
            value = raw if asset.type == "json" else line(asset.value)[:-1]
            data = line(entry)[:-2] + b',"value":' + value + b"}\n"
        else:
            if not self._made:
                self.folder.mkdir(exist_ok=True)
                self._made = True
            file_name = _file_name(asset.name, asset.type)
            _write_new(self.folder / file_name, raw)
            data = line({**entry, "file": file_name})
        old = self._files.get(asset.name)
        if log is not None:
            # With the journal's next checkpoint (the step's record, which follows it
            # in the same file); at once when a replaced version's file goes next.
            log.append(data, durable=old is not None)
        else:
            if not self._made:
                self.folder.mkdir(exist_ok=True)
                self._made = True
            self._append(self._manifest, data)
        self._files.pop(asset.name, None)
        if file_name is not None:
            self._files[asset.name] = file_name
        self._assets[asset.name] = asset
        if old is not None:
            # The manifest no longer points at the old version's file.
            (self.folder / old).unlink(missing_ok=True)

    def get(self, name: str) -> Asset:
        """The asset called ``name``; KeyError naming it (and the existing ones) when absent."""
        try:
            return self._assets[name]
        except KeyError:
            # Sorted: the message may reach a prompt, which must not depend on the
            # order concurrent steps happened to store their assets in.
            known = ", ".join(sorted(self._assets)) or "none"
            raise KeyError(f"no asset named {name!r} (existing assets: {known})") from None

    def names(self) -> list[str]:
        """Every asset name, in the order first stored."""
        return list(self._assets)

    def all(self) -> list[Asset]:
        """Every asset, in the order first stored."""
        return list(self._assets.values())

    def __contains__(self, name: object) -> bool:
        return name in self._assets

    def __len__(self) -> int:
        return len(self._assets)

    @classmethod
    def load(cls, folder: Path, *, log: Any = None) -> AssetStore:
        """Reopen the assets stored under ``folder`` (resume); ``log`` as for the constructor.

        A folder with no manifest and no asset record in its run's journal holds no
        assets yet. An asset whose file is gone is left out and its name put in
        :attr:`lost` (resume decides what to do about its step). Raises
        :class:`RunError` naming the file when the manifest, an asset record or an
        asset file is corrupt, and naming the folder when the one holding ``folder``
        (the run's) is gone.
        """
        from .runs import assetlog

        where = Path(folder)
        if not where.parent.is_dir():
            # A run's folder deleted while it is read: said, and not made again here.
            raise RunError(f"cannot read the assets in {where}: {where.parent} is gone")
        store = cls(where, log=log)
        assert store.folder is not None
        found = _manifest_entries(store.folder)
        if store._log is not None:
            store._log.flush()  # a live run's records still waiting for the turn's end
            found += assetlog.entries(Path(store._log.path))
        for i, entry, where in found:
            if isinstance(entry, dict) and "value" in entry and "file" not in entry:
                store._load_inline(i, entry, where)
                continue
            try:
                name, file_name, kind = entry["name"], entry["file"], entry["type"]
                if (
                    not isinstance(name, str)
                    or kind not in _EXTENSIONS
                    or not isinstance(file_name, str)
                    or Path(file_name).name != file_name
                ):
                    raise ValueError(f"bad entry {entry!r}"[:300])
            except (KeyError, TypeError, ValueError) as exc:
                raise RunError(f"corrupt asset manifest {where}: entry {i}: {exc}") from None
            path = store.folder / file_name
            try:
                raw = path.read_bytes()
            except FileNotFoundError:
                if name not in store._assets and name not in store.lost:
                    store.lost.append(name)
                continue
            try:
                value = _decode(kind, raw)
            except (OSError, ValueError) as exc:
                raise RunError(f"cannot read asset {name!r} from {path}: {exc}") from None
            if name in store.lost:
                store.lost.remove(name)
            store._files[name] = file_name
            store._assets[name] = Asset(
                name=name,
                value=value,
                type=kind,
                step=entry.get("step"),
                tool=entry.get("tool"),
                size=len(raw),
            )
        return store

    def _load_inline(self, i: int, entry: dict[str, Any], where: Path) -> None:
        """Reopen an asset whose value is inside its manifest entry (it cannot be lost)."""
        name, kind, value, size = (
            entry.get("name"),
            entry.get("type"),
            entry["value"],
            entry.get("size"),
        )
        if (
            not isinstance(name, str)
            or kind not in ("json", "text")
            or (kind == "text" and not isinstance(value, str))
            or not isinstance(size, int)
            or isinstance(size, bool)
        ):
            raise RunError(f"corrupt asset manifest {where}: entry {i}: bad entry {entry!r}"[:400])
        if name in self.lost:
            self.lost.remove(name)
        self._files.pop(name, None)
        self._assets[name] = Asset(
            name=name,
            value=value,
            type=kind,
            step=entry.get("step"),
            tool=entry.get("tool"),
            size=size,
        )


def _manifest_entries(folder: Path) -> list[tuple[int, Any, Path]]:
    """Every manifest entry of ``folder`` in order: the old whole file's, then the appended ones.

    A partial last line of the appended manifest (a writer killed mid-line) is
    left out; any other line that is not JSON raises :class:`RunError` naming it.
    """
    from .runs.journal import lines

    found: list[tuple[int, Any, Path]] = []
    old = folder / OLD_MANIFEST
    if old.exists():
        try:
            data = json.loads(old.read_text(encoding="utf-8"))
            entries = data["assets"]
            if not isinstance(entries, list):
                raise TypeError("'assets' is not a list")
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise RunError(f"corrupt asset manifest {old}: {exc}") from None
        found.extend((i, entry, old) for i, entry in enumerate(entries))
    manifest = folder / MANIFEST
    try:
        appended = lines(manifest)
    except FileNotFoundError:
        return found
    except OSError as exc:
        raise RunError(f"cannot read asset manifest {manifest}: {exc.strerror}") from None
    for number, line in enumerate(appended, 1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except (ValueError, RecursionError) as exc:
            raise RunError(
                f"corrupt asset manifest {manifest}: line {number}: {str(exc)[:200]}"
            ) from None
        found.append((number, entry, manifest))
    return found
