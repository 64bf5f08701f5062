"""The journals' lines (orjson, json where it refuses) and the bounded cache of append handles."""

from __future__ import annotations

import dataclasses
import datetime
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autoplug.runs.journal import AppendHandles, dumps, line

JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()  # past 64 bits too: orjson refuses them, json writes them
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=25,
)


@settings(max_examples=300, deadline=None)
@given(JSON)
def test_a_line_reads_back_as_json_would_write_it(value):
    data = line(value)
    assert data.endswith(b"\n") and data.count(b"\n") == 1
    assert json.loads(data) == json.loads(json.dumps(value))
    assert dumps(value) == data[:-1].decode("utf-8")


def test_what_orjson_refuses_is_written_by_json():
    huge = 10**40
    assert json.loads(line({"n": huge})) == {"n": huge}
    deep: list = []
    for _ in range(300):  # deeper than orjson's 254 levels
        deep = [deep]
    assert json.loads(line(deep)) == deep


def test_keys_dataclasses_and_times_are_written_as_json_with_default_str_writes_them():
    @dataclasses.dataclass
    class Point:
        x: int

    when = datetime.datetime(2026, 12, 1, 16, 0, 0)
    got = json.loads(line({1: "one", None: 0, "p": Point(3), "when": when, "path": Path("/a")}))
    assert got == {"1": "one", "null": 0, "p": str(Point(3)), "when": str(when), "path": "/a"}


def test_a_float_subclass_is_written_as_the_number_json_writes():
    class Reading(float):
        """A float subclass, as numpy's float64 is."""

    assert line({"x": Reading(1.5)}) == b'{"x":1.5}\n'
    assert json.loads(line({"x": Reading(1.5), "n": 3})) == {"x": 1.5, "n": 3}


def test_a_value_json_cannot_write_is_refused_as_before():
    with pytest.raises(ValueError, match="Circular"):
        looped: list = []
        looped.append(looped)
        line(looped)
    with pytest.raises(UnicodeEncodeError):
        line({"text": "lone \ud800"})


def test_the_cache_keeps_at_most_its_limit_and_closes_the_least_recently_written(tmp_path):
    handles = AppendHandles(limit=3)
    paths = [str(tmp_path / f"f{n}.jsonl") for n in range(5)]
    for path in paths[:3]:
        handles.append(path, b"a\n")
    handles.append(paths[0], b"b\n")  # f0 is now the most recent
    handles.append(paths[3], b"c\n")  # evicts f1
    assert [p in handles for p in paths] == [True, False, True, True, False]
    handles.append(paths[1], b"d\n")  # reopened, evicting f2
    assert len(handles) == 3 and paths[2] not in handles
    assert Path(paths[0]).read_bytes() == b"a\nb\n"
    assert Path(paths[1]).read_bytes() == b"a\nd\n"
    handles.forget(paths[:2])
    assert len(handles) == 1
    handles.close_all()
    assert len(handles) == 0


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="counts /proc/self/fd")
def test_closed_handles_are_really_closed(tmp_path):
    handles = AppendHandles(limit=2)
    before = set(os.listdir("/proc/self/fd"))
    for n in range(10):
        handles.append(str(tmp_path / f"f{n}"), b"x\n")
    assert len(set(os.listdir("/proc/self/fd")) - before) == 2
    handles.close_all()
    assert set(os.listdir("/proc/self/fd")) - before == set()


def test_a_write_error_drops_the_handle_and_names_the_cause(tmp_path):
    handles = AppendHandles()
    with pytest.raises(IsADirectoryError):
        handles.append(str(tmp_path), b"x\n")
    assert len(handles) == 0


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_opens_its_own_descriptors(tmp_path):
    code = (
        "import os, sys; from autoplug.runs.journal import AppendHandles;"
        "h = AppendHandles(); p = sys.argv[1];"
        "h.append(p, b'parent\\n'); pid = os.fork();"
        "h.append(p, b'child\\n') if pid == 0 else None;"
        "os._exit(0 if len(h) == 1 else 1) if pid == 0 else None;"
        "_, status = os.waitpid(pid, 0); h.append(p, b'parent again\\n'); sys.exit(status)"
    )
    path = tmp_path / "j.jsonl"
    done = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, check=False)
    assert done.returncode == 0, done.stderr
    assert path.read_bytes() == b"parent\nchild\nparent again\n"


def fresh_part_line(part_id: int, digest: str, part: object) -> bytes:
    return line({"k": "part", "id": part_id, "hash": digest, "part": part})


@settings(max_examples=300, deadline=None)
@given(
    part=st.text() | JSON,
    part_id=st.integers(min_value=1, max_value=10**6),
    digest=st.text("0123456789abcdef", min_size=64, max_size=64),
)
def test_a_prompt_parts_kept_line_is_the_bytes_of_a_fresh_encode(part, part_id, digest):
    from autoplug.runs.journal_exchanges import part_line

    try:
        expected = fresh_part_line(part_id, digest, part)
    except Exception as exc:  # a lone surrogate cannot be UTF-8: the same error, nothing kept
        with pytest.raises(type(exc)):
            part_line(part_id, digest, part)
        return
    assert part_line(part_id, digest, part) == expected
    assert part_line(part_id + 1, digest, part) == fresh_part_line(part_id + 1, digest, part)


@settings(max_examples=300, deadline=None)
@given(
    role=st.text(),
    chunks=st.lists(st.integers(min_value=1, max_value=10**6), max_size=8),
)
def test_a_message_headers_kept_digest_is_the_digest_of_its_header(role, chunks):
    from autoplug.runs.journal_exchanges import _digest, _header_digest

    header = {"role": role, "content": None, "chunks": chunks}
    try:
        expected = _digest(header)
    except Exception as exc:  # a lone surrogate cannot be UTF-8: the same error, nothing kept
        with pytest.raises(type(exc)):
            _header_digest(role, chunks)
        return
    assert _header_digest(role, chunks) == expected
    assert _header_digest(role, chunks) == expected  # remembered: the same answer
    assert _header_digest(role, [*chunks, 7]) == _digest({**header, "chunks": [*chunks, 7]})


def test_a_prompt_parts_kept_line_refuses_what_the_encoder_refuses_and_keeps_nothing():
    from autoplug.runs import journal_exchanges as exchanges

    bad = "half a pair: \ud800"
    with pytest.raises(UnicodeEncodeError):
        fresh_part_line(1, "0" * 64, bad)
    with pytest.raises(UnicodeEncodeError):
        exchanges.part_line(1, "0" * 64, bad)
    assert bad not in exchanges._TAILS


def test_the_kept_prompt_part_lines_stay_bounded():
    from autoplug.runs import journal_exchanges as exchanges

    for i in range(exchanges._TAILS_MAX * 2):
        exchanges.part_line(1, f"{i:064x}", f"paragraph {i}")
    assert len(exchanges._TAILS) <= exchanges._TAILS_MAX
    big = "x" * (exchanges._TAILS_BYTES // 3)
    for i in range(5):
        assert exchanges.part_line(2, f"{i:064x}", big + str(i)) == fresh_part_line(
            2, f"{i:064x}", big + str(i)
        )
    assert exchanges._tails_size[0] <= exchanges._TAILS_BYTES
    assert sum(len(t) for t in exchanges._TAILS.values()) == exchanges._tails_size[0]
