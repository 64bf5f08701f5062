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
