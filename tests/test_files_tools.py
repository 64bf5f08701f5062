"""The builtin files plugin: read, write, list confined to the workspace."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from autoplug import CallContext, Kernel


@pytest.fixture
def kernel(tmp_path):
    return Kernel(builtins=["autoplug_files"], home=tmp_path / "home")


def ctx(workspace, approved=False):
    return CallContext(workspace=workspace, approved=approved)


def test_write_then_read_and_list(kernel, tmp_path):
    ws = tmp_path / "ws"
    ws.mkdir()
    wrote = kernel.tools.call(
        "write_file", {"path": "notes/a.md", "content": "hi"}, context=ctx(ws, True)
    )
    assert wrote.value == {"path": "notes/a.md", "bytes": 2}
    assert kernel.tools.call("read_file", {"path": "notes/a.md"}, context=ctx(ws)).value == "hi"
    listed = kernel.tools.call(
        "list_files", {"path": ".", "pattern": "**/*"}, context=ctx(ws)
    ).value
    assert {"path": "notes/a.md", "type": "file", "size": 2} in listed


@pytest.mark.parametrize("path", ["../outside.txt", "/etc/passwd", "notes/../../x"])
def test_paths_leaving_the_workspace_are_refused(kernel, tmp_path, path):
    ws = tmp_path / "ws"
    ws.mkdir()
    result = kernel.tools.call("read_file", {"path": path}, context=ctx(ws))
    assert result.kind == "tool_error" and "outside the workspace" in result.error


def test_symlink_out_of_the_workspace_is_refused(kernel, tmp_path):
    ws = tmp_path / "ws"
    ws.mkdir()
    (tmp_path / "secret").write_text("s")
    (ws / "link").symlink_to(tmp_path / "secret")
    result = kernel.tools.call("read_file", {"path": "link"}, context=ctx(ws))
    assert "outside the workspace" in result.error


def test_a_path_outside_the_workspace_is_refused_without_naming_absolute_folders(tmp_path):
    """The error reaches the model's prompt, which must hold no absolute path (replay)."""
    workspace = tmp_path / "ws"
    workspace.mkdir()
    kernel = Kernel(builtins=["autoplug_files"], home=tmp_path / "home")

    result = kernel.tools.call(
        "read_file", {"path": "../secret.txt"}, context=CallContext(workspace=workspace)
    )

    assert not result.ok
    assert result.error == (
        "tool 'read_file' failed: ValueError: path '../secret.txt' is outside the workspace"
    )


def test_missing_file_is_a_clear_error(kernel, tmp_path):
    result = kernel.tools.call("read_file", {"path": "nope.txt"}, context=ctx(tmp_path))
    assert (
        result.error
        == "tool 'read_file' failed: FileNotFoundError: no file 'nope.txt' in the workspace"
    )


def test_read_file_on_a_folder_says_it_is_a_folder(tmp_path):
    (tmp_path / "docs").mkdir()
    kernel = Kernel(builtins=["autoplug_files"], home=tmp_path / "home")

    result = kernel.tools.call(
        "read_file", {"path": "docs"}, context=CallContext(workspace=tmp_path)
    )

    assert not result.ok and result.kind == "tool_error"
    assert result.error == (
        "tool 'read_file' failed: IsADirectoryError: 'docs' is a folder, not a file "
        "(list_files lists it)"
    )


def test_write_file_errors_name_the_relative_path_only(tmp_path):
    """A failed write's error goes into the model's prompt: no absolute path in it."""
    workspace = tmp_path / "ws"
    (workspace / "folder").mkdir(parents=True)
    (workspace / "plain.txt").write_text("x")
    kernel = Kernel(builtins=["autoplug_files"], home=tmp_path / "home")
    approved = CallContext(workspace=workspace, approved=True)

    into_folder = kernel.tools.call(
        "write_file", {"path": "folder", "content": "x"}, context=approved
    )
    under_a_file = kernel.tools.call(
        "write_file", {"path": "plain.txt/note.txt", "content": "x"}, context=approved
    )
    fine = kernel.tools.call(
        "write_file", {"path": "new/note.txt", "content": "hi"}, context=approved
    )

    assert into_folder.error == (
        "tool 'write_file' failed: IsADirectoryError: 'folder' is a folder, not a file"
    )
    assert under_a_file.error.startswith(
        "tool 'write_file' failed: OSError: cannot write 'plain.txt/note.txt': "
    )
    assert str(tmp_path) not in into_folder.error + under_a_file.error
    assert fine.ok and (workspace / "new" / "note.txt").read_text() == "hi"


def test_write_needs_approval(kernel, tmp_path):
    result = kernel.tools.call("write_file", {"path": "a", "content": "x"}, context=ctx(tmp_path))
    assert result.kind == "refused" and not (tmp_path / "a").exists()


# -- the read cap (issue 10) --------------------------------------------------------


def home_with(tmp_path, monkeypatch, toml: str | None):
    """Write the kernel fixture's config; AUTOPLUG_HOME points elsewhere (the tool must not use it)."""
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    if toml is not None:
        (home / "config.toml").write_text(toml)
    monkeypatch.setenv("AUTOPLUG_HOME", str(tmp_path / "elsewhere"))
    return home


def test_read_file_stops_at_max_read_bytes_and_says_so(kernel, tmp_path, monkeypatch):
    home_with(tmp_path, monkeypatch, "[plugins.autoplug_files]\nmax_read_bytes = 1000\n")
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "big.log").write_text("é" * 3000)  # 6,000 bytes of two-byte characters
    result = kernel.tools.call(
        "read_file", {"path": "big.log", "max_chars": 10**9}, context=ctx(ws)
    )
    text, note = result.value.split("\n…", 1)
    assert text == "é" * 500  # 1,000 bytes, no character cut in two
    assert note == (
        "[read_file stopped at 1,000 bytes of the file's 6,000: "
        "[plugins.autoplug_files] max_read_bytes]"
    )


def test_read_file_under_the_cap_is_whole_and_max_chars_still_cuts(kernel, tmp_path, monkeypatch):
    home_with(tmp_path, monkeypatch, None)  # no config: the default cap of 1,000,000 bytes
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "a.txt").write_text("line one\r\nline two\n")
    assert kernel.tools.call("read_file", {"path": "a.txt"}, context=ctx(ws)).value == (
        "line one\nline two\n"
    )
    cut = kernel.tools.call("read_file", {"path": "a.txt", "max_chars": 4}, context=ctx(ws))
    assert cut.value == "line"


@pytest.mark.parametrize("value", ["0", "-5", '"big"', "1.5", "true"])
def test_a_bad_max_read_bytes_is_a_clear_tool_error(kernel, tmp_path, monkeypatch, value):
    home_with(tmp_path, monkeypatch, f"[plugins.autoplug_files]\nmax_read_bytes = {value}\n")
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "a.txt").write_text("x")
    result = kernel.tools.call("read_file", {"path": "a.txt"}, context=ctx(ws))
    assert result.kind == "tool_error"
    assert "[plugins.autoplug_files] max_read_bytes in config.toml must be a whole number" in (
        result.error
    )


SWAPPER = """
import os, shutil, sys, time
ws, out, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
os.chdir(ws)
os.symlink(out, "link")
open("swapping", "w").close()
end = time.monotonic() + seconds
swaps = 0
while time.monotonic() < end:
    # The folder away, the link in its place, and back. A write may have just made
    # a new folder d meanwhile (inside the workspace, harmless): it is cleared away.
    try:
        os.rename("d", "real")
        os.rename("link", "d")
        swaps += 1
        os.rename("d", "link")
    except OSError:
        pass
    try:
        if os.path.lexists("d") and not os.path.islink("d"):
            shutil.rmtree("d", ignore_errors=True)
        if os.path.islink("d"):
            os.rename("d", "link")
        if os.path.exists("real"):
            os.rename("real", "d")
    except OSError:
        pass
print(swaps)
"""


def test_a_folder_swapped_for_a_symlink_meanwhile_never_leads_outside(kernel, tmp_path):
    import subprocess
    import sys
    import time

    ws, out = tmp_path / "ws", tmp_path / "outside"
    (ws / "d").mkdir(parents=True)
    out.mkdir()
    (ws / "d" / "f.txt").write_text("inside")
    (out / "f.txt").write_text("SECRET")
    (out / "only-outside.txt").write_text("SECRET")
    swapper = subprocess.Popen(
        [sys.executable, "-c", SWAPPER, str(ws), str(out), "4"],
        stdout=subprocess.PIPE,
        text=True,
    )
    while not (ws / "swapping").exists():
        time.sleep(0.01)
    reads = writes = lists = 0
    leaked: list[str] = []
    context = ctx(ws, approved=True)
    while swapper.poll() is None:
        read = kernel.tools.call("read_file", {"path": "d/f.txt"}, context=context)
        reads += 1
        if read.ok and read.value != "inside":
            leaked.append(f"read {read.value!r}")
        kernel.tools.call(
            "write_file", {"path": f"d/w{writes}.txt", "content": "x"}, context=context
        )
        writes += 1
        listed = kernel.tools.call("list_files", {"path": "d"}, context=context)
        lists += 1
        if listed.ok and any(e["path"] == "d/only-outside.txt" for e in listed.value):
            leaked.append("listed an outside file")
    swaps = int(swapper.communicate()[0])
    assert leaked == []
    assert sorted(p.name for p in out.iterdir()) == ["f.txt", "only-outside.txt"], "wrote outside"
    assert (out / "f.txt").read_text() == "SECRET"
    assert swaps > 1000 and reads > 200, (swaps, reads)  # the race really ran


@given(st.lists(st.sampled_from(["a", "b", "..", ".", "", "/", "c.txt", "ws"]), max_size=12))
def test_a_path_is_either_refused_or_split_into_plain_names_below_the_workspace(pieces):
    from pathlib import Path

    from autoplug_builtins.confine import parts_of

    workspace = Path("/tmp/hypothesis-ws")
    path = "/".join(pieces)
    try:
        parts = parts_of(workspace, path)
    except ValueError as exc:
        assert "outside the workspace" in str(exc)
        return
    assert all(p not in ("", ".", "..") and "/" not in p for p in parts)
