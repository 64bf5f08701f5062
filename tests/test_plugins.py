"""Plugin discovery through real pip-installed packages, as `autoplug` sees them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from plugin_packages import make_package, pip_install_target

GOOD = '''
from autoplug import hookimpl, tool

@tool
def greet(name: str, excited: bool = False) -> str:
    """Greet someone.

    name: who to greet
    excited: add an exclamation mark
    """
    return f"hello {name}" + ("!" if excited else "")

@tool
def read_file(path: str) -> str:
    """A replacement for the builtin read_file."""
    return f"acme read {path}"

@hookimpl
def register_tools(register):
    register(greet)
    register(read_file)
'''

BROKEN = """
import os
marker = os.environ.get("BROKEN_MARKER")
if marker:
    open(marker, "w").write("imported")
raise ImportError("acme_broken needs the missing library 'frobnicate'")
"""

TYPO = """
from autoplug import hookimpl

@hookimpl
def register_tool(register):
    pass
"""

BAD_SCHEMA = """
from autoplug import Tool, hookimpl

@hookimpl
def register_tools(register):
    register(Tool(name="wonky", func=lambda: 1, parameters={"type": "object", "required": "x"}))
"""

CLASH = '''
from autoplug import hookimpl, tool

@tool
def shout(text: str) -> str:
    """Shout."""
    return "{label}: " + text.upper()

@hookimpl
def register_tools(register):
    register(shout)
'''


@pytest.fixture(scope="module")
def plugin_path(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("plugin_src")
    projects = [
        make_package(root, "acme-good", "acme", "acme_plugin", GOOD, version="1.2.3"),
        make_package(root, "acme-broken", "broken", "acme_broken", BROKEN),
        make_package(root, "acme-typo", "typo", "acme_typo", TYPO),
        make_package(root, "acme-badschema", "badschema", "acme_badschema", BAD_SCHEMA),
        make_package(root, "zed-one", "zed_one", "zed_one", CLASH.replace("{label}", "zed")),
        make_package(
            root, "alpha-two", "alpha_two", "alpha_two", CLASH.replace("{label}", "alpha")
        ),
    ]
    target = tmp_path_factory.mktemp("site")
    pip_install_target(projects, target)
    return target


def autoplug(plugin_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "PYTHONPATH": str(plugin_path), **env}
    return subprocess.run(
        [sys.executable, "-m", "autoplug.cli", *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=60,
    )


def test_plugins_json_lists_loaded_failed_and_builtin_sorted(plugin_path):
    out = autoplug(plugin_path, "plugins", "--json")
    assert out.returncode == 0, out.stderr
    plugins = {p["name"]: p for p in json.loads(out.stdout)}
    names = [p["name"] for p in json.loads(out.stdout)]
    assert names == sorted(names)
    assert plugins["acme"] == {
        "name": "acme",
        "distribution": "acme-good",
        "version": "1.2.3",
        "builtin": False,
        "status": "loaded",
        "hooks": ["register_tools"],
        "error": None,
    }
    assert plugins["broken"]["status"] == "failed"
    assert (
        "ImportError" in plugins["broken"]["error"] and "frobnicate" in plugins["broken"]["error"]
    )
    assert plugins["typo"]["status"] == "failed" and "register_tool" in plugins["typo"]["error"]
    assert plugins["badschema"]["status"] == "failed"
    assert "plugin 'badschema' tool 'wonky'" in plugins["badschema"]["error"]
    assert plugins["autoplug_files"]["builtin"] is True
    assert plugins["autoplug_files"]["status"] == "loaded"


def test_failed_plugins_leave_the_rest_working(plugin_path):
    out = autoplug(plugin_path, "tools", "call", "greet", '{"name": "Ada", "excited": true}')
    assert (out.returncode, out.stdout.strip()) == (0, '"hello Ada!"')


def test_tools_json_shows_which_plugin_won_a_clash(plugin_path):
    out = autoplug(plugin_path, "tools", "--json")
    assert out.returncode == 0, out.stderr
    tools = {t["qualified_name"]: t for t in json.loads(out.stdout)}
    assert tools["alpha_two.shout"]["name"] == "shout"
    assert tools["zed_one.shout"]["name"] == "zed_one.shout"
    # a non-builtin plugin replaces a builtin tool by registering the same name
    assert tools["acme.read_file"]["name"] == "read_file"
    assert tools["autoplug_files.read_file"]["name"] == "autoplug_files.read_file"
    assert tools["acme.greet"]["parameters"]["required"] == ["name"]
    assert tools["acme.greet"]["side_effects"] is False
    assert "wonky" not in json.dumps(list(tools))


def test_tools_call_reaches_qualified_and_bare_names(plugin_path):
    assert (
        autoplug(plugin_path, "tools", "call", "shout", '{"text": "hi"}').stdout.strip()
        == '"alpha: HI"'
    )
    assert (
        autoplug(plugin_path, "tools", "call", "zed_one.shout", '{"text": "hi"}').stdout.strip()
        == '"zed: HI"'
    )


def test_tools_call_invalid_arguments_exit_2_naming_each_field(plugin_path):
    out = autoplug(plugin_path, "tools", "call", "greet", '{"excited": "very"}')
    assert out.returncode == 2
    assert "'name' is a required property" in out.stderr
    assert "$.excited: 'very' is not of type 'boolean'" in out.stderr
    assert "Traceback" not in out.stderr


def test_tools_call_json_prints_the_whole_result(plugin_path):
    out = autoplug(plugin_path, "tools", "call", "greet", '{"name": 3}', "--json")
    assert out.returncode == 2
    result = json.loads(out.stdout)
    assert result["ok"] is False and result["kind"] == "invalid_args"
    assert result["violations"] == [{"path": "$.name", "message": "3 is not of type 'string'"}]


def test_strict_plugins_turns_failures_into_exit_1(plugin_path):
    out = autoplug(plugin_path, "plugins", AUTOPLUG_STRICT_PLUGINS="1")
    assert out.returncode == 1
    assert "plugin 'broken' failed" in out.stderr and "plugin 'typo' failed" in out.stderr
    assert "Traceback" not in out.stderr


def test_load_plugins_env_selects_and_never_imports_the_rest(plugin_path, tmp_path):
    marker = tmp_path / "imported"
    out = autoplug(
        plugin_path, "plugins", "--json", AUTOPLUG_LOAD_PLUGINS="acme", BROKEN_MARKER=str(marker)
    )
    status = {p["name"]: p["status"] for p in json.loads(out.stdout)}
    assert status["acme"] == "loaded"
    assert status["broken"] == "disabled" and status["autoplug_files"] == "disabled"
    assert not marker.exists()


def test_load_plugins_empty_loads_none(plugin_path):
    out = autoplug(plugin_path, "plugins", "--json", AUTOPLUG_LOAD_PLUGINS="")
    assert {p["status"] for p in json.loads(out.stdout)} == {"disabled"}


def test_load_plugins_unknown_name_warns_or_fails_under_strict(plugin_path):
    out = autoplug(plugin_path, "plugins", AUTOPLUG_LOAD_PLUGINS="acme,nosuch")
    assert out.returncode == 0 and "unknown plugin 'nosuch'" in out.stderr
    strict = autoplug(
        plugin_path, "plugins", AUTOPLUG_LOAD_PLUGINS="acme,nosuch", AUTOPLUG_STRICT_PLUGINS="1"
    )
    assert strict.returncode == 1 and "unknown plugin 'nosuch'" in strict.stderr


def test_config_disabled_list_is_never_imported(plugin_path, isolated_home, tmp_path):
    (isolated_home / "config.toml").write_text('[plugins]\ndisabled = ["broken"]\n')
    marker = tmp_path / "imported"
    out = autoplug(plugin_path, "plugins", "--json", BROKEN_MARKER=str(marker))
    status = {p["name"]: p for p in json.loads(out.stdout)}
    assert status["broken"]["status"] == "disabled" and status["broken"]["error"] is None
    assert status["broken"]["distribution"] == "acme-broken"
    assert not marker.exists()


def test_the_quick_registration_finds_the_hooks_pluggy_finds():
    import types

    import pluggy

    from autoplug import hookimpl, hookspecs
    from autoplug.plugins import get_plugin_manager

    module = types.ModuleType("many_names")
    exec(
        "import json, os\n"
        "from autoplug import hookimpl\n"
        "N = 3\n"
        "helper = lambda: 1\n"
        "def plain(): ...\n"
        "@hookimpl\n"
        "def register_tools(register): ...\n"
        "class Inner:\n"
        "    @hookimpl\n"
        "    def register_models(self, register): ...\n"
        "register_models = staticmethod(hookimpl(lambda register: None))\n"
        "def __getattr__(name):\n"
        "    raise AssertionError('registration must not run module code: ' + name)\n",
        module.__dict__,
    )
    # A bound method whose function is marked, under a hook's name.
    module.register_autos = types.MethodType(hookimpl(lambda self, register: None), object())
    plain = pluggy.PluginManager("autoplug")
    plain.add_hookspecs(hookspecs)
    ours = get_plugin_manager()
    for manager in (plain, ours):
        manager.register(module, name="many_names")
        manager.register(module.Inner(), name="instance")

    def found(manager):
        return {
            (name, caller.name)
            for name, plugin in manager.list_name_plugin()
            for caller in manager.get_hookcallers(plugin)
            for impl in caller.get_hookimpls()
            if impl.plugin_name == name
        }

    assert found(ours) == found(plain)
    assert found(ours) == {
        ("many_names", "register_tools"),
        ("many_names", "register_models"),  # a staticmethod
        ("many_names", "register_autos"),  # a bound method
        ("instance", "register_models"),
    }
