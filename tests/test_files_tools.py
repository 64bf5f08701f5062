"""The builtin files plugin: read, write, list confined to the workspace."""

from __future__ import annotations

import pytest

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


def test_missing_file_is_a_clear_error(kernel, tmp_path):
    result = kernel.tools.call("read_file", {"path": "nope.txt"}, context=ctx(tmp_path))
    assert (
        result.error
        == "tool 'read_file' failed: FileNotFoundError: no file 'nope.txt' in the workspace"
    )


def test_write_needs_approval(kernel, tmp_path):
    result = kernel.tools.call("write_file", {"path": "a", "content": "x"}, context=ctx(tmp_path))
    assert result.kind == "refused" and not (tmp_path / "a").exists()
