"""Shared test setup: every test gets its own AUTOPLUG_HOME and a clean environment.

Also the fixtures several test modules share: the agent_tools wait delays and
the UI modules' server and run ids over each module's own ``home``.
"""

from __future__ import annotations

import json

import pytest

CLEARED = (
    "AUTOPLUG_MODEL",
    "AUTOPLUG_LOAD_PLUGINS",
    "AUTOPLUG_STRICT_PLUGINS",
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_BASE_URL",
    "XDG_DATA_HOME",
    "AUTOPLUG_TRACEBACK",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
)


@pytest.fixture(autouse=True)
def isolated_home(tmp_path_factory, monkeypatch):
    """A fresh AUTOPLUG_HOME per test, and no inherited autoplug or OpenAI settings."""
    home = tmp_path_factory.mktemp("autoplug_home")
    monkeypatch.setenv("AUTOPLUG_HOME", str(home))
    for name in CLEARED:
        monkeypatch.delenv(name, raising=False)
    return home


@pytest.fixture
def no_delays_left_behind():
    """The test starts and ends with no delays set for agent_tools' ``wait`` tool."""
    from agent_tools import DELAYS

    DELAYS.clear()
    yield DELAYS
    DELAYS.clear()


@pytest.fixture(scope="module")
def ui_ids(home):
    """The ids of the runs a UI test module's ``home`` made, by name (its ``ids.json``)."""
    return json.loads(home.joinpath("ids.json").read_text())


@pytest.fixture(scope="module")
def ui_server(home):
    """The real ``autoplug ui`` command serving the test module's ``home``."""
    from ui_helpers import UiServer

    with UiServer(home) as running:
        yield running
