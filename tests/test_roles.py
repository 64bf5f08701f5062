"""Roles: [roles.NAME] config tables, the register_roles hook, and `autoplug roles`."""

from __future__ import annotations

import json

import pytest
from hostile_cli import one_line_error, run_autoplug
from plugin_packages import dist_info_plugin

from autoplug import ConfigError, Kernel, Role, UsageError, hookimpl

ARCHITECT = """
[roles.architect]
description = "designs the program"
instructions = "You are the architect."
tools = ["read_file", "write_file"]
model = "scripted:x"
output_schema = { type = "object", required = ["files"] }
"""


class Team:
    @hookimpl
    def register_roles(self, register):
        register(Role("architect", "a plugin's architect", "Plugin words.", tools=["read_file"]))
        register(Role("tester", "writes tests", "You test.", tools=[]))


class OtherTeam:
    @hookimpl
    def register_roles(self, register):
        register(Role("tester", "the other tester", "Other words."))


def kernel_with(home, config: str = "", plugins=()):
    (home / "config.toml").write_text(config)
    return Kernel(plugins=list(plugins), home=home)


def test_hook_register_roles_lists_a_plugins_roles_with_their_source(isolated_home):
    kernel = kernel_with(isolated_home, plugins=[Team()])
    assert kernel.roles.names() == ["architect", "tester"]
    tester = kernel.roles.get("tester")
    assert tester.tools == () and tester.model is None
    entries = [role.to_dict(source) for role, source in kernel.roles.items()]
    assert entries[1] == {
        "name": "tester",
        "description": "writes tests",
        "tools": [],
        "model": None,
        "output_schema": None,
        "source": "plugin Team",
    }


def test_a_config_table_replaces_a_plugins_role_of_the_same_name(isolated_home):
    kernel = kernel_with(isolated_home, ARCHITECT, plugins=[Team()])
    role, source = dict((r.name, (r, s)) for r, s in kernel.roles.items())["architect"]
    assert source == "config"
    assert role.instructions == "You are the architect."
    assert role.tools == ("read_file", "write_file")
    assert role.output_schema == {"type": "object", "required": ["files"]}


def test_between_plugins_the_first_in_plugin_name_order_wins(isolated_home):
    kernel = kernel_with(isolated_home, plugins=[OtherTeam(), Team()])
    assert kernel.roles.get("tester").description == "the other tester"  # OtherTeam < Team


def test_an_unknown_role_names_close_and_known_roles(isolated_home):
    kernel = kernel_with(isolated_home, plugins=[Team()])
    with pytest.raises(UsageError, match=r"unknown role 'testr'; did you mean 'tester'\?"):
        kernel.roles.get("testr")


def test_a_plugin_registering_a_bad_role_is_failed_and_the_rest_loads(isolated_home):
    class Bad:
        @hookimpl
        def register_roles(self, register):
            register(Role("Not Valid", "x", "y"))

    kernel = kernel_with(isolated_home, plugins=[Bad(), Team()])
    assert kernel.plugins["Bad"].status == "failed"
    assert "must match ^[a-z0-9_]{1,32}$" in kernel.plugins["Bad"].error
    assert kernel.roles.names() == ["architect", "tester"]


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('[roles.Architect]\ndescription = "d"\ninstructions = "i"\n', "must match"),
        ('[roles.a]\ninstructions = "i"\n', "[roles.a] needs description"),
        ('[roles.a]\ndescription = "d"\n', "[roles.a] needs instructions"),
        ('[roles.a]\ndescription = "d"\ninstructions = "i"\ntools = "all"\n', "list of strings"),
        ('[roles.a]\ndescription = "d"\ninstructions = "i"\nmodle = "x"\n', "did you mean model"),
        (
            '[roles.a]\ndescription = "d"\ninstructions = "i"\noutput_schema = {}\n'
            'output_schema_file = "s.json"\n',
            "both output_schema and output_schema_file",
        ),
    ],
)
def test_a_bad_roles_table_is_a_config_error_naming_it(isolated_home, table, message):
    (isolated_home / "config.toml").write_text(table)
    with pytest.raises(ConfigError, match="invalid config file") as caught:
        Kernel(home=isolated_home)
    assert message in str(caught.value)


def test_output_schema_file_is_read_relative_to_the_config_file(isolated_home):
    (isolated_home / "schemas").mkdir()
    (isolated_home / "schemas" / "a.json").write_text('{"type": "object"}')
    table = (
        '[roles.a]\ndescription = "d"\ninstructions = "i"\noutput_schema_file = "schemas/a.json"\n'
    )
    kernel = kernel_with(isolated_home, table)
    assert kernel.roles.get("a").output_schema == {"type": "object"}


def test_a_missing_or_non_json_output_schema_file_names_the_file(isolated_home):
    table = '[roles.a]\ndescription = "d"\ninstructions = "i"\noutput_schema_file = "gone.json"\n'
    kernel = kernel_with(isolated_home, table)
    with pytest.raises(ConfigError, match=r"\[roles\.a\] output_schema_file: cannot read .*gone"):
        kernel.roles.names()
    (isolated_home / "gone.json").write_text("[1, 2")
    kernel = kernel_with(isolated_home, table)
    with pytest.raises(ConfigError, match="gone.json is not JSON"):
        kernel.roles.names()


def test_roles_json_lists_config_and_plugin_roles(isolated_home, tmp_path):
    code = "from autoplug import Role, hookimpl\n\n\n@hookimpl\ndef register_roles(register):\n"
    code += '    register(Role("tester", "writes tests", "You test.", tools=[]))\n'
    site = dist_info_plugin(tmp_path / "site", "team_plugin", code)
    (isolated_home / "config.toml").write_text(ARCHITECT)
    out = run_autoplug("roles", "--json", env={"PYTHONPATH": str(site)})
    assert out.returncode == 0, out.stderr
    listed = json.loads(out.stdout)
    assert [(r["name"], r["source"], r["tools"]) for r in listed] == [
        ("architect", "config", ["read_file", "write_file"]),
        ("tester", "plugin team_plugin", []),
    ]
    table = run_autoplug("roles", env={"PYTHONPATH": str(site)})
    assert table.stdout.splitlines()[0].split() == [
        "ROLE",
        "TOOLS",
        "MODEL",
        "SOURCE",
        "DESCRIPTION",
    ]
    assert "read_file,write_file" in table.stdout and "none" in table.stdout


def test_roles_with_a_bad_table_exits_2_with_one_line(isolated_home):
    (isolated_home / "config.toml").write_text('[roles.x]\ndescription = "d"\n')
    out = run_autoplug("roles")
    assert out.returncode == 2
    assert "[roles.x] needs instructions" in one_line_error(out)
