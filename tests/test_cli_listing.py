"""`autoplug tools`, `tools show`: descriptions fitted to the terminal, one tool in full."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hostile_cli import one_line_error, run_autoplug
from hypothesis import given
from hypothesis import strategies as st
from plugin_packages import dist_info_plugin

from autoplug.cli.listing import fit

LONG = "Count " + "the words of a long text, " * 8 + "and say how many there are."

PLUGIN = f'''
from autoplug import Tool, hookimpl, tool


@tool
def wordy(text: str, limit: int = 3) -> int:
    """{LONG}

    text: the text whose words are counted, however long it is, in any language
        and any script
    limit: stop counting after this many words
    """
    return len(text.split())


def _broken(a):
    return a


@hookimpl
def register_tools(register):
    register(wordy)
    schema = {{"type": "object", "properties": {{"a": {{"$ref": "#/$defs/missing"}}}}}}
    register(Tool(name="broken", func=_broken, description="Never usable.", parameters=schema))
'''

BROKEN_REASON = "schema path /properties/a/$ref: cannot resolve '#/$defs/missing'"


@pytest.fixture
def site(tmp_path) -> Path:
    return dist_info_plugin(tmp_path / "site", "wordy_plugin", PLUGIN)


def tools(site: Path, *args: str, columns: int = 80):
    env = {"PYTHONPATH": str(site), "COLUMNS": str(columns), "LINES": "40"}
    return run_autoplug("tools", *args, env=env)


@pytest.mark.parametrize("columns", [90, 120, 400])
def test_tools_fits_descriptions_to_the_terminal_and_marks_the_cut(site, columns):
    out = tools(site, columns=columns)
    assert out.returncode == 0, out.stderr
    (line,) = [row for row in out.stdout.splitlines() if row.startswith("wordy ")]
    if columns == 400:
        assert line.endswith(LONG)
        return
    assert columns - 20 < len(line) <= columns
    assert line.endswith("…")
    kept = line[line.index("Count ") : -1]
    assert LONG.startswith(kept) and LONG[len(kept)] in " ,"  # cut between words


def test_tools_and_tools_json_show_an_unusable_tools_reason(site):
    table = tools(site, columns=300)
    (line,) = [row for row in table.stdout.splitlines() if row.startswith("broken ")]
    assert line.endswith(f"[unusable: {BROKEN_REASON}]")
    entries = {t["name"]: t for t in json.loads(tools(site, "--json").stdout)}
    assert entries["broken"]["unusable"] == BROKEN_REASON
    assert entries["wordy"]["unusable"] is None
    assert entries["read_file"]["unusable"] is None


def test_tools_show_json_is_the_tools_json_entry(site):
    entries = {t["name"]: t for t in json.loads(tools(site, "--json").stdout)}
    for name in ("wordy", "broken", "write_file"):
        shown = tools(site, "show", name, "--json")
        assert shown.returncode == 0, shown.stderr
        assert json.loads(shown.stdout) == entries[name]


def test_tools_show_prints_the_whole_description_and_each_parameter(site):
    out = tools(site, "show", "wordy")
    assert out.returncode == 0, out.stderr
    text = out.stdout
    assert LONG in text
    assert "  text (string, required)" in text
    assert "  limit (integer, optional, default 3)" in text
    described = " ".join(text.split("text (string, required)")[1].split("limit (")[0].split())
    assert (
        described
        == "the text whose words are counted, however long it is, in any language and any script"
    )
    assert all(len(line) <= 80 for line in text.splitlines() if line.startswith("      "))
    assert "side effects: yes" in tools(site, "show", "write_file").stdout
    assert f"unusable: {BROKEN_REASON}" in tools(site, "show", "broken").stdout


def test_tools_show_of_an_unknown_tool_exits_2_with_did_you_mean(site):
    out = tools(site, "show", "wordz")
    assert out.returncode == 2
    assert one_line_error(out).startswith("error: unknown tool 'wordz'; did you mean 'wordy'")
    assert out.stdout == ""


@given(st.text(alphabet="ab ,", max_size=80), st.integers(min_value=1, max_value=90))
def test_fit_keeps_within_the_width_and_cuts_only_between_words(text, width):
    out = fit(text, width)
    assert len(out) <= width
    if len(text) <= width:
        assert out == text
        return
    assert out.endswith("…")
    kept = out[:-1]
    assert text.startswith(kept)
    head = text[: width - 1]
    if text[width - 1] == " " or head.rfind(" ") > 0:  # there was a word boundary to cut at
        assert text[len(kept)] == " "


@pytest.mark.parametrize("columns", [None, "", "abc", "0", "-3", "1", "133"])
def test_the_table_width_is_what_shutil_reports(monkeypatch, columns):
    import shutil

    from autoplug.cli.stdout import terminal_columns

    if columns is None:
        monkeypatch.delenv("COLUMNS", raising=False)
    else:
        monkeypatch.setenv("COLUMNS", columns)
    assert terminal_columns() == shutil.get_terminal_size().columns
