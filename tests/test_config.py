"""The config file's rules (autoplug.config SPEC): known keys, types, ranges, and the errors."""

from __future__ import annotations

import json
import math
import re
import tempfile
import tomllib
from pathlib import Path
from typing import Any

import pytest
from hostile_cli import last_error_line, one_line_error, run_autoplug
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autoplug import Kernel
from autoplug.config import (
    CONFIG_TEMPLATE,
    DEFAULT_LIMITS,
    LIMIT_KEYS,
    POSITIVE_LIMITS,
    SPEC,
    WHOLE_LIMITS,
    Config,
)
from autoplug.config_rules import Rule, Table
from autoplug.errors import ConfigError

HEADER = re.compile(r"^# (\[[^\]]+\])(\s.*)?$")
SETTING = re.compile(r"^# ([a-z_]+) = .*$")


def uncommented_template() -> str:
    """The template with every table header and setting line uncommented."""
    lines = []
    for line in CONFIG_TEMPLATE.splitlines():
        if HEADER.match(line) or SETTING.match(line):
            lines.append(line.removeprefix("# "))
    return "\n".join(lines) + "\n"


def spec_paths() -> set[tuple[str, ...]]:
    """Every key SPEC knows, as (key,), (table, key) or (table, "*", key)."""
    paths: set[tuple[str, ...]] = set()
    for name, entry in SPEC.items():
        if isinstance(entry, Rule):
            paths.add((name,))
            continue
        paths |= {(name, key) for key in entry.keys}
        paths |= {(name, "*", key) for key in entry.named or {}}
    return paths


def template_paths(data: dict[str, Any]) -> set[tuple[str, ...]]:
    paths: set[tuple[str, ...]] = set()
    for name, value in data.items():
        entry = SPEC.get(name)
        if not isinstance(value, dict):
            paths.add((name,))
            continue
        for key, item in value.items():
            if isinstance(entry, Table) and key not in entry.keys and isinstance(item, dict):
                paths |= {(name, "*", sub) for sub in item}
            else:
                paths.add((name, key))
    return paths


def write(home: Path, text: str) -> Path:
    path = home / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


# -- the spec and the template ---------------------------------------------------------


def test_the_spec_knows_exactly_the_keys_of_the_template():
    data = tomllib.loads(uncommented_template())
    assert template_paths(data) == spec_paths()


def test_the_uncommented_template_is_a_valid_config(tmp_path):
    write(tmp_path, uncommented_template())
    config = Config.load(tmp_path)
    assert config.limits["rejected_replies"] == 3
    assert config.provider("NAME")["base_url"] == "http://localhost:8000/v1"


def test_every_limit_has_a_default_and_a_rule():
    assert set(DEFAULT_LIMITS) == set(LIMIT_KEYS)
    assert "rejected_replies" in WHOLE_LIMITS and "max_tokens" in WHOLE_LIMITS
    assert "max_usd" not in WHOLE_LIMITS
    assert {"concurrency", "tool_timeout_s", "iterations"} <= POSITIVE_LIMITS
    assert "plan_repairs" not in POSITIVE_LIMITS and "max_usd" not in POSITIVE_LIMITS


def test_the_config_template_shows_each_limit_with_its_real_default():
    """A commented value is the default, unless the line says the default is no limit."""
    lines = CONFIG_TEMPLATE.split("# [limits]\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert lines
    for line in lines:
        setting, _, comment = line.removeprefix("# ").partition("#")
        key, value = next(iter(tomllib.loads(setting).items()))
        if "no limit" in comment:
            assert DEFAULT_LIMITS[key] is None, key
        else:
            assert DEFAULT_LIMITS[key] == value, key


# -- numbers ------------------------------------------------------------------------------


def number_keys() -> list[tuple[str, str, str, Rule]]:
    """(header, key, where in errors, rule) of every numeric key, sub-tables under a name."""
    found = []
    for name, entry in SPEC.items():
        if not isinstance(entry, Table):
            continue
        for key, rule in entry.keys.items():
            if {"int", "float"} & set(rule.kinds):
                found.append((f"[{name}]", key, f"[{name}] {key}", rule))
        for key, rule in (entry.named or {}).items():
            if {"int", "float"} & set(rule.kinds):
                found.append((f"[{name}.local]", key, f"[{name}.local] {key}", rule))
    return found


NUMBER_KEYS = number_keys()


@pytest.mark.parametrize("literal", ["nan", "inf", "-inf"])
@pytest.mark.parametrize(("header", "key", "where", "rule"), NUMBER_KEYS, ids=lambda v: str(v))
def test_inf_and_nan_are_refused_for_every_number_naming_the_key(
    tmp_path, header, key, where, rule, literal
):
    path = write(tmp_path, f"{header}\n{key} = {literal}\n")
    with pytest.raises(ConfigError) as caught:
        Config.load(tmp_path)
    message = str(caught.value)
    assert message.startswith(f"invalid config file {path}: {where} must be ")
    assert "\n" not in message


def test_nan_timeout_and_nan_budget_are_refused_not_silently_applied(tmp_path):
    write(tmp_path, "[limits]\ntool_timeout_s = nan\n")
    with pytest.raises(ConfigError, match=r"\[limits\] tool_timeout_s must be a number > 0"):
        Config.load(tmp_path)
    write(tmp_path, "[limits]\nmax_usd = nan\n")
    with pytest.raises(ConfigError, match=r"leave the key out for no limit"):
        Config.load(tmp_path)
    write(tmp_path, "[limits]\nmax_usd = 0.5\ntool_timeout_s = 2.5\n")
    assert Config.load(tmp_path).limits["max_usd"] == 0.5


@pytest.mark.parametrize(
    ("table", "key", "bad", "good"),
    [
        ("limits", "iterations", "0", "1"),
        ("limits", "rejected_replies", "0", "1"),
        ("limits", "concurrency", "0", "1"),
        ("limits", "plan_repairs", "-1", "0"),
        ("limits", "fill_retries", "-1", "0"),
        ("limits", "tool_timeout_s", "0", "0.1"),
        ("limits", "max_tokens", "-1", "0"),
        ("limits", "max_usd", "-0.01", "0"),
        ("limits", "iterations", "2.5", "2"),
        ("memory", "top_k", "0", "1"),
        ("memory", "max_prompt_tokens", "-1", "0"),
        ("web", "timeout_s", "0", "0.5"),
        ("providers.local", "read_timeout_s", "0", "1"),
        ("providers.local", "max_retries", "-1", "0"),
        ('prices."acme:m"', "input_per_mtok", "-1", "0"),
    ],
)
def test_ranges_are_as_design_lists_them(tmp_path, table, key, bad, good):
    path = write(tmp_path, f"[{table}]\n{key} = {bad}\n")
    with pytest.raises(ConfigError, match=re.escape(f"{path}: [{table}] {key} must be")):
        Config.load(tmp_path)
    write(tmp_path, f"[{table}]\n{key} = {good}\n")
    Config.load(tmp_path)


@pytest.mark.parametrize(
    ("setting", "fault"),
    [
        ("iterations = 2.5", "[limits] iterations must be a whole number >= 1, not 2.5"),
        ("max_tokens = 1e5", "[limits] max_tokens must be a whole number >= 0, not 100000.0"),
        ("concurrency = 0", "[limits] concurrency must be a whole number >= 1, not 0"),
        ("tool_timeout_s = 0", "[limits] tool_timeout_s must be a number > 0, not 0"),
    ],
)
def test_a_limit_that_cannot_mean_what_it_says_is_a_config_error(
    tmp_path, isolated_home, setting, fault
):
    (isolated_home / "config.toml").write_text(f"[limits]\n{setting}\n")

    proc = run_autoplug("tools", cwd=tmp_path)

    assert proc.returncode == 2
    assert last_error_line(proc) == (
        f"error: invalid config file {isolated_home / 'config.toml'}: {fault}"
    )


def test_fractional_seconds_and_zero_counts_are_valid_limits(tmp_path, isolated_home):
    (isolated_home / "config.toml").write_text(
        "[limits]\ntool_timeout_s = 0.5\nplan_repairs = 0\nmax_usd = 0.25\n"
    )

    kernel = Kernel(home=isolated_home)

    assert kernel.config.limits["tool_timeout_s"] == 0.5
    assert kernel.config.limits["plan_repairs"] == 0
    assert kernel.tools.default_timeout == 0.5


def test_booleans_are_not_numbers_and_numbers_not_strings(tmp_path):
    write(tmp_path, "[limits]\niterations = true\n")
    with pytest.raises(ConfigError, match=r"iterations must be a whole number >= 1, not true"):
        Config.load(tmp_path)
    write(tmp_path, "model = 3\n")
    with pytest.raises(ConfigError, match=r"model must be a string, not 3"):
        Config.load(tmp_path)


# -- unknown tables and keys ----------------------------------------------------------------


def test_a_misspelled_table_is_an_error_naming_the_known_tables(tmp_path):
    path = write(tmp_path, "[limit]\nmax_usd = 1.0\n")
    with pytest.raises(ConfigError) as caught:
        Config.load(tmp_path)
    message = str(caught.value)
    assert message.startswith(f"invalid config file {path}: unknown table [limit]")
    assert "(did you mean [limits]?)" in message
    assert "[providers.NAME]" in message and '[prices."ID"]' in message


def test_an_unknown_top_level_key_is_an_error_with_a_suggestion(tmp_path):
    write(tmp_path, 'modle = "openai:gpt-4o-mini"\n')
    with pytest.raises(
        ConfigError, match=r"unknown key modle at the top level \(did you mean model\?\)"
    ):
        Config.load(tmp_path)


def test_an_unknown_key_in_a_provider_table_names_the_table_and_the_known_keys(tmp_path):
    write(tmp_path, '[providers.local]\nbase_ur = "http://localhost:8000/v1"\n')
    with pytest.raises(ConfigError) as caught:
        Config.load(tmp_path)
    message = str(caught.value)
    assert "unknown key [providers.local] base_ur (did you mean base_url?)" in message
    assert (
        "known keys in [providers.local]: api, base_url, api_key_env, function_calling" in message
    )


def test_a_provider_that_is_not_a_table_is_a_config_error(tmp_path, isolated_home):
    (isolated_home / "config.toml").write_text('[providers]\nvllm = "http://localhost:8000/v1"\n')

    proc = run_autoplug("run", "hello", "--model", "vllm:qwen", cwd=tmp_path)

    assert proc.returncode == 2
    error = last_error_line(proc)
    assert error.startswith(f"error: invalid config file {isolated_home / 'config.toml'}: ")
    assert "[providers.vllm] must be a table" in error


def test_an_unknown_price_key_names_the_quoted_model_id(tmp_path):
    write(tmp_path, '[prices."openai:gpt-4o-mini"]\ninput_per_mtk = 0.15\n')
    with pytest.raises(ConfigError, match=r'\[prices\."openai:gpt-4o-mini"\] input_per_mtk'):
        Config.load(tmp_path)


def test_plugin_tables_belong_to_their_plugin_and_are_not_checked(tmp_path):
    write(
        tmp_path, '[plugins]\ndisabled = ["x"]\n[plugins.acme]\nanything = nan\nnested = {a = 1}\n'
    )
    config = Config.load(tmp_path)
    assert config.disabled_plugins == ["x"]
    assert config.section("plugins")["acme"]["nested"] == {"a": 1}
    write(tmp_path, "[plugins]\nacme = 1\n")
    with pytest.raises(ConfigError, match=r"unknown key \[plugins\] acme"):
        Config.load(tmp_path)


def test_a_hostile_key_name_stays_one_short_line(tmp_path):
    name = "x\\n" * 500
    write(tmp_path, f'"{name}" = 1\n')
    with pytest.raises(ConfigError) as caught:
        Config.load(tmp_path)
    assert "\n" not in str(caught.value) and len(str(caught.value)) < 600


# -- hostile files ---------------------------------------------------------------------------


def test_a_huge_integer_in_the_config_is_one_error_naming_the_line(tmp_path):
    path = write(tmp_path, "[limits]\niterations = " + "9" * 5000 + "\n")
    with pytest.raises(ConfigError, match=re.escape(f"{path}: line 2 holds an integer of 5000")):
        Config.load(tmp_path)


def test_deeply_nested_config_values_are_one_error(tmp_path):
    path = write(tmp_path, "x = " + "[" * 5000 + "]" * 5000 + "\n")
    with pytest.raises(ConfigError, match=re.escape(f"{path}: arrays or inline tables nested")):
        Config.load(tmp_path)


def test_a_config_file_that_is_not_utf8_is_an_invalid_config_file(tmp_path, isolated_home):
    (isolated_home / "config.toml").write_bytes(b'model = "openai:gpt-4o-mini"\n\xff\n')

    proc = run_autoplug("tools", cwd=tmp_path)

    assert proc.returncode == 2
    assert last_error_line(proc) == (
        f"error: invalid config file {isolated_home / 'config.toml'}: not UTF-8 text "
        "(byte 0xff at offset 29)"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[limit]\nmax_usd = 1\n", "unknown table [limit] (did you mean [limits]?)"),
        ("[limits]\ntool_timeout_s = nan\n", "[limits] tool_timeout_s must be a number > 0"),
        ("x = " + "1" * 5000 + "\n", "line 1 holds an integer of 5000 digits"),
        ("x = " + "{a=" * 3000 + "1" + "}" * 3000 + "\n", "nested too deeply"),
    ],
)
def test_the_cli_answers_a_bad_config_with_one_line_and_exit_2(isolated_home, text, expected):
    path = write(isolated_home, text)
    out = run_autoplug("tools", "--json")
    assert out.returncode == 2
    error = one_line_error(out)
    assert error.startswith(f"error: invalid config file {path}: ") and expected in error
    assert out.stdout == ""


# -- the property: any TOML-able dict loads or is a ConfigError ----------------------------------


def toml_string(text: str) -> str:
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return toml_string(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return "{" + ", ".join(f"{toml_string(k)} = {toml_value(v)}" for k, v in value.items()) + "}"


def toml_document(data: dict[str, Any]) -> str:
    lines = [
        f"{toml_string(k)} = {toml_value(v)}" for k, v in data.items() if not isinstance(v, dict)
    ]
    for name, table in data.items():
        if isinstance(table, dict):
            lines.append(f"[{toml_string(name)}]")
            lines += [f"{toml_string(k)} = {toml_value(v)}" for k, v in table.items()]
    return "\n".join(lines) + "\n"


KNOWN_KEYS = sorted(
    {key for entry in SPEC.values() if isinstance(entry, Table) for key in entry.keys}
    | {key for entry in SPEC.values() if isinstance(entry, Table) for key in entry.named or {}}
)
NAMES = st.one_of(
    st.sampled_from(KNOWN_KEYS), st.text(st.characters(exclude_categories=("Cs",)), max_size=8)
)
SCALARS = st.one_of(
    st.booleans(),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.sampled_from([0, 1, -1, 2, 10**18]),
    st.floats(),
    st.text(st.characters(exclude_categories=("Cs",)), max_size=12),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(NAMES, inner, max_size=4)),
    max_leaves=12,
)
TABLES = st.dictionaries(NAMES, VALUES, max_size=6)
DOCUMENTS = st.dictionaries(
    st.one_of(st.sampled_from(sorted(SPEC)), NAMES),
    st.one_of(TABLES, VALUES, st.dictionaries(NAMES, TABLES, max_size=3)),
    max_size=5,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(DOCUMENTS)
def test_any_toml_config_loads_or_raises_config_error(data):
    with tempfile.TemporaryDirectory() as folder:
        home = Path(folder)
        write(home, toml_document(data))
        try:
            config = Config.load(home)
        except ConfigError as exc:
            assert "\n" not in str(exc) and str(exc).startswith(f"invalid config file {home}")
            return
        # What loads keeps the rules: every limit finite and in range.
        for key, value in config.limits.items():
            if value is None:
                continue
            assert not isinstance(value, bool) and math.isfinite(value) and value >= 0, key
            assert key not in POSITIVE_LIMITS or value > 0, key
            assert key not in WHOLE_LIMITS or isinstance(value, int), key
        assert isinstance(config.default_model() or "", str)
        assert all(isinstance(name, str) for name in config.disabled_plugins)


@pytest.mark.parametrize(
    "make",
    [
        lambda home: Config(home=home),
        lambda home: Config.load(home),
        lambda home: Config.load(Path(home)),
    ],
    ids=["constructor", "load-str", "load-path"],
)
def test_a_relative_home_is_made_absolute_however_the_config_is_made(tmp_path, monkeypatch, make):
    monkeypatch.chdir(tmp_path)
    config = make("rel-home")
    monkeypatch.chdir(tmp_path.parent)  # a later chdir does not move the home
    assert config.home == tmp_path / "rel-home"
    assert config.path == tmp_path / "rel-home" / "config.toml"
    kernel = Kernel(config=config, builtins=[])
    assert kernel.config.home == tmp_path / "rel-home"
