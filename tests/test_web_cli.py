"""The web tools from the real ``autoplug`` command, and what loading the plugin costs."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest
from web_server import LOOPBACK, WebServer, write_web_config

AUTOPLUG = shutil.which("autoplug", path=os.path.dirname(sys.executable)) or "autoplug"


@pytest.fixture
def server():
    with WebServer() as running:
        yield running


def tools_call(home, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [AUTOPLUG, "tools", "call", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "AUTOPLUG_HOME": str(home), "AUTOPLUG_LOAD_PLUGINS": "autoplug_web"},
        stdin=subprocess.DEVNULL,
        timeout=60,
    )


def test_cli_browse_url_exit_statuses(isolated_home, server):
    write_web_config(isolated_home, allow_private=LOOPBACK, timeout_s=2)

    ok = tools_call(isolated_home, "browse_url", json.dumps({"url": server.url("/notes.txt")}))
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["text"] == "Jupiter: 95 moons \u2014 largest.\n"

    missing = tools_call(isolated_home, "browse_url", json.dumps({"url": server.url("/nope")}))
    assert missing.returncode == 1 and missing.stdout == ""
    assert (
        missing.stderr.startswith("error: tool 'browse_url' failed")
        and "HTTP 404" in missing.stderr
    )

    bad = tools_call(
        isolated_home, "browse_url", json.dumps({"url": server.url("/"), "max_chars": 0})
    )
    assert bad.returncode == 2 and "max_chars" in bad.stderr
    assert "Traceback" not in missing.stderr + bad.stderr


def test_cli_web_search_without_backend_says_how_to_configure(isolated_home):
    result = tools_call(isolated_home, "web_search", '{"query": "jupiter"}')
    assert result.returncode == 1
    assert '[web] search_url = "http://localhost:8888"' in result.stderr


def test_loading_the_plugin_imports_neither_httpx_nor_bs4():
    code = (
        "import sys, autoplug_builtins.web as web;"
        "print(sorted(m for m in ('httpx', 'bs4', 'asyncio', 'autoplug_builtins.web.fetch')"
        " if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
