"""Under ``--json`` only the JSON reaches stdout: plugin, tool and subprocess output go to stderr."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hostile_cli import run_autoplug
from plugin_packages import make_package, pip_install_target

NOISY = '''
import os
import subprocess
import sys

from autoplug import hookimpl, tool

print("NOISE-import-print")
sys.__stdout__.write("NOISE-import-dunder-stdout\\n")
os.write(1, b"NOISE-import-fd1\\n")


@tool
def chatty(text: str) -> str:
    """Print in every way, then answer.

    text: what to shout
    """
    print("NOISE-tool-print", text)
    sys.__stdout__.write("NOISE-tool-dunder-stdout\\n")
    os.write(1, b"NOISE-tool-fd1\\n")
    subprocess.run([sys.executable, "-c", "print('NOISE-tool-subprocess')"], check=True)
    return text.upper()


@hookimpl
def register_tools(register):
    register(chatty)
'''

NOISES = ("NOISE-import-print", "NOISE-import-dunder-stdout", "NOISE-import-fd1")
TOOL_NOISES = (
    "NOISE-tool-print hi",
    "NOISE-tool-dunder-stdout",
    "NOISE-tool-fd1",
    "NOISE-tool-subprocess",
)


@pytest.fixture(scope="module")
def noisy_path(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("noisy_src")
    project = make_package(root, "acme-noisy", "noisy", "acme_noisy", NOISY)
    target = tmp_path_factory.mktemp("noisy_site")
    pip_install_target([project], target)
    return target


def noisy(noisy_path: Path, *args: str, cwd: Path | None = None):
    return run_autoplug(*args, cwd=cwd, env={"PYTHONPATH": str(noisy_path)})


def test_without_json_a_noisy_plugin_does_print_on_stdout(noisy_path):
    out = noisy(noisy_path, "tools")
    assert out.returncode == 0
    assert all(noise in out.stdout for noise in NOISES)


@pytest.mark.parametrize(
    "args",
    [
        ("plugins", "--json"),
        ("tools", "--json"),
        ("models", "--json"),
        ("autos", "--json"),
        ("runs", "--json"),
        ("runs", "prune", "--older-than", "30d", "--json"),
        ("memory", "list", "--json"),
    ],
)
def test_json_commands_keep_plugin_import_noise_off_stdout(noisy_path, args):
    out = noisy(noisy_path, *args)
    assert out.returncode == 0, out.stderr
    json.loads(out.stdout)  # the whole of stdout is the JSON
    assert all(noise in out.stderr for noise in NOISES)


def test_tools_call_json_keeps_a_printing_tool_and_its_subprocess_off_stdout(noisy_path):
    out = noisy(noisy_path, "tools", "call", "chatty", '{"text": "hi"}', "--json")
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["ok"] is True and result["value"] == "HI"
    assert all(noise in out.stderr for noise in NOISES + TOOL_NOISES)


def test_run_json_keeps_a_printing_tool_off_stdout(noisy_path, isolated_home, tmp_path):
    (isolated_home / "config.toml").write_text('[memory]\nbackend = "none"\n')
    replies = [
        {"call": "act", "arguments": {"subtask": "shout", "assets": []}},
        {
            "call": "submit_plan",
            "arguments": {
                "steps": [{"id": "s1", "tool": "chatty", "args": {"text": "hi"}, "output": "loud"}]
            },
        },
        {"call": "final", "arguments": {"answer": "done"}},
    ]
    (tmp_path / "replies.json").write_text(json.dumps(replies))
    out = noisy(
        noisy_path, "run", "shout hi", "--model", "scripted:replies.json", "--json", cwd=tmp_path
    )
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["status"] == "succeeded" and result["answer"] == "done"
    assert all(noise in out.stderr for noise in NOISES + TOOL_NOISES)


HELPER = """
import os, subprocess, sys
from autoplug.cli import echo_json
from autoplug.cli.stdout import reserved_stdout
print("before")
with reserved_stdout() as out:
    print("inside-print")
    os.write(1, b"inside-fd1\\n")
    subprocess.run(["sh", "-c", "echo inside-subprocess"], check=True)
    echo_json({"s": "\\ud800", "n": 1})
print("after")
"""


def test_reserved_stdout_is_reusable_and_restores_stdout_after_the_block():
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", HELPER], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    first, rest = out.stdout.split("\n", 1)
    assert first == "before" and rest.endswith("after\n")
    # a lone surrogate comes out as its JSON escape, not an encoding error
    assert json.loads(rest.removesuffix("after\n")) == {"s": "\ud800", "n": 1}
    assert out.stderr.split() == ["inside-print", "inside-fd1", "inside-subprocess"]
