"""[mcp.NAME] tables (checked when the config is read) and the MCP tool-name mapping."""

from __future__ import annotations

import re
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from autoplug import Kernel
from autoplug.config import CONFIG_TEMPLATE, Config
from autoplug.errors import ConfigError
from autoplug.mcpconfig import mcp_servers
from autoplug_builtins.mcp.names import tool_name

VALID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def load(home, text):
    (home / "config.toml").write_text(text)
    return Config.load(home)


def test_a_stdio_and_an_http_server_are_read_with_their_defaults(tmp_path):
    config = load(
        tmp_path,
        '[mcp.time]\ncommand = "mcp-server-time"\nargs = ["--local-timezone", "UTC"]\n'
        'env = { TZ = "UTC" }\n'
        '[mcp.web]\nurl = "http://127.0.0.1:9/mcp"\nheaders = { X-Key = "k" }\n'
        "auto_approve = true\ntimeout_s = 5\n",
    )
    servers = mcp_servers(config.data, config.path)
    assert sorted(servers) == ["mcp_time", "mcp_web"]
    time, web = servers["mcp_time"], servers["mcp_web"]
    assert (time.transport, time.args, time.env) == (
        "stdio",
        ("--local-timezone", "UTC"),
        (("TZ", "UTC"),),
    )
    assert (time.auto_approve, time.timeout_s, time.disabled) == (False, 60, False)
    assert (web.transport, web.headers, web.auto_approve, web.timeout_s) == (
        "http",
        (("X-Key", "k"),),
        True,
        5,
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[mcp.Time]\ncommand = "x"\n', r"\[mcp.Time\]: the server name must match"),
        ("[mcp.time]\nargs = []\n", r"needs exactly one of 'command'"),
        ('[mcp.time]\ncommand = "x"\nurl = "http://h/mcp"\n', r"needs exactly one of"),
        (
            '[mcp.time]\ncommand = "x"\ncomand = "y"\n',
            r"unknown key \[mcp.time\] comand \(did you mean command\?\)",
        ),
        ('[mcp.time]\ncommand = "x"\nargs = "--flag"\n', r"args must be a list of strings"),
        ('[mcp.time]\ncommand = "x"\nenv = { A = 1 }\n', r"env must be a table of strings"),
        (
            '[mcp.time]\ncommand = "x"\ntimeout_s = 0\n',
            r"\[mcp.time\] timeout_s must be a number > 0, not 0",
        ),
        ('[mcp.time]\ncommand = "x"\ntimeout_s = nan\n', r"timeout_s must be"),
        ('[mcp.time]\ncommand = "x"\ntimeout_s = inf\n', r"timeout_s must be"),
        (
            '[mcp.time]\ncommand = "x"\nauto_approve = "yes"\n',
            r"auto_approve must be true or false",
        ),
        ('[mcp.time]\nurl = "ftp://h/mcp"\n', r"url must be an http:// or https:// address"),
        ('[mcp.time]\nurl = "http://h/mcp"\nargs = []\n', r"'args' is for a command"),
        ('[mcp.time]\ncommand = "x"\nheaders = { A = "b" }\n', r"'headers' is for an url server"),
        ('mcp = "time"\n', r'\[mcp\] must be a table, not "time"'),
        ("[mcp]\ntime = 3\n", r"\[mcp.time\] must be a table"),
    ],
)
def test_a_bad_mcp_table_is_one_error_naming_the_file_table_and_key(tmp_path, text, message):
    with pytest.raises(ConfigError, match=message) as caught:
        load(tmp_path, text)
    assert str(tmp_path / "config.toml") in str(caught.value)
    assert "\n" not in str(caught.value)


def test_the_template_documents_every_mcp_key():
    block = CONFIG_TEMPLATE.split("# [mcp.time]", 1)[1].split("\n\n", 1)[0]
    for key in (
        "command",
        "args",
        "env",
        "cwd",
        "url",
        "headers",
        "auto_approve",
        "timeout_s",
        "disabled",
    ):
        assert f"# {key} = " in block


def test_a_config_without_mcp_tables_loads_autoplug_mcp_silently(tmp_path):
    kernel = Kernel(builtins=["autoplug_mcp"], home=tmp_path)
    info = kernel.plugins["autoplug_mcp"]
    assert (info.status, info.error) == ("loaded", None)
    assert kernel.mcp is None
    assert not [name for name in kernel.plugins if name.startswith("mcp_")]


def test_mcp_tables_without_the_sdk_fail_autoplug_mcp_with_the_install_hint(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "mcp", None)  # what find_spec sees when it is not installed
    (tmp_path / "config.toml").write_text('[mcp.time]\ncommand = "mcp-server-time"\n')
    kernel = Kernel(builtins=["autoplug_mcp"], home=tmp_path)
    client, server = kernel.plugins["autoplug_mcp"], kernel.plugins["mcp_time"]
    assert client.status == "failed"
    assert "install autoplug[mcp]" in client.error and "\n" not in client.error
    assert server.status == "failed" and "install autoplug[mcp]" in server.error
    assert len(kernel.tools) == 0


def test_a_disabled_server_is_a_disabled_plugin(tmp_path):
    (tmp_path / "config.toml").write_text('[mcp.time]\ncommand = "x"\ndisabled = true\n')
    kernel = Kernel(builtins=["autoplug_mcp"], home=tmp_path)
    assert kernel.plugins["mcp_time"].status == "disabled"


def test_plugins_disabled_and_load_plugins_choose_servers_like_any_plugin(tmp_path, monkeypatch):
    (tmp_path / "config.toml").write_text(
        '[plugins]\ndisabled = ["mcp_b"]\n[mcp.a]\ncommand = "x"\n[mcp.b]\ncommand = "y"\n'
    )
    kernel = Kernel.load(tmp_path)
    assert (kernel.plugins["mcp_a"].status, kernel.plugins["mcp_b"].status) == (
        "loaded",
        "disabled",
    )
    monkeypatch.setenv("AUTOPLUG_LOAD_PLUGINS", "mcp_b")
    kernel = Kernel.load(tmp_path)
    assert (kernel.plugins["mcp_a"].status, kernel.plugins["mcp_b"].status) == (
        "disabled",
        "loaded",
    )
    assert kernel.plugins["autoplug_mcp"].status == "loaded"  # a named server brings its client
    assert kernel.unknown_plugins == []


# -- names ---------------------------------------------------------------------


def test_a_valid_short_name_is_kept():
    assert tool_name("mcp_time", "get_current_time") == "get_current_time"


def test_a_dotted_name_and_a_long_name_are_mapped_with_a_hash_suffix():
    dotted = tool_name("mcp_fs", "files.read")
    assert re.fullmatch(r"files_read_[0-9a-f]{8}", dotted)
    long_name = "x" * 70
    mapped = tool_name("mcp_fs", long_name)
    assert len("mcp_fs__" + mapped) == 64 and VALID.match(mapped)


@given(
    plugin=st.from_regex(r"mcp_[a-z0-9_]{1,32}", fullmatch=True),
    original=st.text(min_size=1, max_size=200),
)
def test_every_server_name_maps_to_a_valid_stable_name_that_fits(plugin, original):
    mapped = tool_name(plugin, original)
    assert VALID.match(mapped)
    assert len(f"{plugin}__{mapped}") <= 64
    assert tool_name(plugin, original) == mapped


@given(
    plugin=st.from_regex(r"mcp_[a-z0-9_]{1,32}", fullmatch=True),
    names=st.lists(st.text(min_size=1, max_size=80), min_size=2, max_size=20, unique=True),
)
def test_distinct_server_names_never_map_to_one_name(plugin, names):
    mapped = [tool_name(plugin, n) for n in names]
    assert len(set(mapped)) == len(names)


# -- schema verdicts (decided when a server is listed) --------------------------


async def _never(name, arguments):
    raise AssertionError("the server must not be called")


def mcp_tool(schema):
    from autoplug_builtins.mcp.mcptool import make_tool, schema_verdict

    listed = {"name": "t", "inputSchema": schema, "unusable": schema_verdict(schema)}
    return make_tool("t", listed, call=_never, timeout=5, auto_approve=False)


def test_a_draft07_tuple_schema_is_usable_and_validated_as_draft07():
    made = mcp_tool(
        {
            "$schema": "http://json-schema.org/draft-07/schema#",
            "type": "object",
            "properties": {
                "pair": {"type": "array", "items": [{"type": "string"}, {"type": "integer"}]}
            },
        }
    )
    assert made.unusable is None
    assert made.violations({"pair": ["a", 1]}) == []
    assert made.violations({"pair": ["a", "b"]}) == [("$.pair[1]", "'b' is not of type 'integer'")]


@pytest.mark.parametrize(
    ("schema", "reason"),
    [
        (
            {"type": "object", "properties": {"a": {"$ref": "https://example.com/s.json"}}},
            "remote references are never fetched",
        ),
        (
            {"type": "object", "properties": {"a": {"$ref": "#/$defs/nope"}}},
            "schema path /properties/a/$ref: cannot resolve '#/$defs/nope'",
        ),
        (
            {"type": "object", "properties": {"a": {"type": "string", "pattern": "(?<x"}}},
            "does not compile",
        ),
        ({"type": "object", "properties": {"a": {"type": 5}}}, "invalid at /properties/a/type"),
        ({"type": "array"}, "not a JSON Schema of type 'object'"),
        ({"$schema": "https://example.com/mine", "type": "object"}, "unknown dialect"),
    ],
)
def test_an_unusable_schema_is_named_and_the_call_never_reaches_the_server(schema, reason):
    made = mcp_tool(schema)
    assert reason in made.unusable
    assert made.description.startswith("[unusable: ")
    from autoplug import ToolRegistry

    registry = ToolRegistry()
    registry.add(made, "mcp_x")
    result = registry.call("t", {})
    assert result.kind == "tool_error" and reason in result.error


def test_a_ref_to_an_anchor_and_to_defs_resolves():
    made = mcp_tool(
        {
            "type": "object",
            "$defs": {"n": {"$anchor": "num", "type": "number"}},
            "properties": {"a": {"$ref": "#num"}, "b": {"$ref": "#/$defs/n"}},
        }
    )
    assert made.unusable is None
    assert [p for p, _ in made.violations({"a": "x", "b": "y"})] == ["$.a", "$.b"]
