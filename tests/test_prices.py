"""Prices (autoplug.prices): genai-prices' bundled data, [prices] overrides, and budgets that need one."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hostile_cli import last_error_line, run_autoplug

from autoplug import Kernel
from autoplug.config import Config
from autoplug.llm import Usage, UsageTracker
from autoplug.prices import find_price
from autoplug_builtins.models.usage import usage_from


def config_with(home: Path, toml: str) -> Config:
    (home / "config.toml").write_text(toml)
    return Config.load(home)


def autoplug(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "autoplug.cli", *args],
        input="",
        capture_output=True,
        text=True,
        timeout=60,
        env=os.environ.copy(),
    )


def test_a_known_model_is_priced_from_genai_prices_with_its_cache_rate(tmp_path):
    price = find_price("openai:gpt-4o-mini", config_with(tmp_path, ""))
    assert price is not None and price.source.startswith("genai-prices ")
    assert "openai gpt-4o-mini" in price.source
    assert price.cached_input_per_mtok is not None
    assert price.cached_input_per_mtok < price.input_per_mtok
    usage = Usage(1_000_000, 100_000, cached_input_tokens=400_000)
    expected = 0.6 * price.input_per_mtok + 0.4 * price.cached_input_per_mtok
    expected += 0.1 * price.output_per_mtok
    assert price.cost(usage) == pytest.approx(expected)


def test_a_tiered_price_charges_the_higher_tier_above_its_threshold(tmp_path):
    price = find_price("gemini:gemini-2.5-pro", config_with(tmp_path, ""))
    assert price is not None and price.tiers
    small, large = Usage(100_000, 0), Usage(300_000, 0)
    assert price.cost(small) == pytest.approx(0.1 * price.input_per_mtok)
    assert price.cost(large) > 0.3 * price.input_per_mtok


def test_a_prices_table_overrides_genai_prices(tmp_path):
    config = config_with(
        tmp_path,
        '[prices."openai:gpt-4o-mini"]\ninput_per_mtok = 1\noutput_per_mtok = 2\n',
    )
    price = find_price("openai:gpt-4o-mini", config)
    assert price.source == 'config [prices."openai:gpt-4o-mini"]'
    # With no cached_input_per_mtok, cached input costs what input does.
    assert price.cost(Usage(1_000_000, 1_000_000, cached_input_tokens=500_000)) == 3.0
    cheap = config_with(
        tmp_path,
        '[prices."openai:gpt-4o-mini"]\ninput_per_mtok = 1\ncached_input_per_mtok = 0.5\n',
    )
    assert (
        find_price("openai:gpt-4o-mini", cheap).cost(
            Usage(1_000_000, 0, cached_input_tokens=1_000_000)
        )
        == 0.5
    )


def test_price_provider_and_base_url_choose_the_price_source(tmp_path):
    config = config_with(
        tmp_path,
        '[providers.proxy]\nbase_url = "http://127.0.0.1:4000/v1"\nprice_provider = "openai"\n'
        '[providers.work]\nbase_url = "https://api.deepseek.com/v1"\n'
        '[providers.local]\nbase_url = "http://127.0.0.1:8000/v1"\n',
    )
    assert "(openai gpt-4o-mini)" in find_price("proxy:gpt-4o-mini", config).source
    assert "(deepseek deepseek-chat)" in find_price("work:deepseek-chat", config).source
    assert find_price("local:gpt-4o-mini", config) is None  # a local server: no guess by name
    assert find_price("ollama:llama3.1", config) is None
    assert find_price("openai:no-such-model", config) is None


def test_the_usage_of_a_run_counts_cached_and_reasoning_tokens_and_their_cost(tmp_path):
    config = config_with(
        tmp_path,
        '[prices."p:m"]\ninput_per_mtok = 2\noutput_per_mtok = 8\ncached_input_per_mtok = 1\n',
    )
    tracker = UsageTracker()
    for _ in range(2):
        tracker.add("p:m", Usage(1000, 500, cached_input_tokens=600, reasoning_tokens=300), config)
    usage = tracker.to_dict()
    assert (usage["cached_input_tokens"], usage["reasoning_tokens"]) == (1200, 600)
    assert usage["usd"] == pytest.approx(2 * (400 * 2 + 600 * 1 + 500 * 8) / 1e6)


@pytest.mark.parametrize(
    ("reported", "expected"),
    [
        # OpenAI (and xAI, OpenRouter, vLLM, Fireworks)
        (
            {
                "prompt_tokens": 100,
                "completion_tokens": 50,
                "prompt_tokens_details": {"cached_tokens": 64},
                "completion_tokens_details": {"reasoning_tokens": 30},
            },
            Usage(100, 50, 64, 30),
        ),
        # DeepSeek
        (
            {
                "prompt_tokens": 100,
                "completion_tokens": 50,
                "prompt_cache_hit_tokens": 80,
                "prompt_cache_miss_tokens": 20,
                "completion_tokens_details": {"reasoning_tokens": 40},
            },
            Usage(100, 50, 80, 40),
        ),
        # Moonshot / Kimi
        ({"prompt_tokens": 100, "completion_tokens": 5, "cached_tokens": 90}, Usage(100, 5, 90, 0)),
        # Anthropic: cache reads and writes are counted apart from input_tokens
        (
            {
                "input_tokens": 10,
                "output_tokens": 20,
                "cache_read_input_tokens": 70,
                "cache_creation_input_tokens": 20,
            },
            Usage(100, 20, 70, 0),
        ),
        # OpenAI Responses API
        (
            {
                "input_tokens": 100,
                "output_tokens": 20,
                "input_tokens_details": {"cached_tokens": 50},
                "output_tokens_details": {"reasoning_tokens": 12},
            },
            Usage(100, 20, 50, 12),
        ),
        # a server that claims more cached than input: clamped to the input
        ({"prompt_tokens": 10, "completion_tokens": 1, "cached_tokens": 99}, Usage(10, 1, 10, 0)),
        ({"prompt_tokens": None, "completion_tokens": "7"}, Usage(0, 0, 0, 0)),
    ],
    ids=["openai", "deepseek", "kimi", "anthropic", "responses", "clamped", "junk"],
)
def test_usage_is_read_from_every_provider_shape(reported, expected):
    assert usage_from(reported) == expected


def test_no_usage_object_is_none():
    assert usage_from(None) is None and usage_from({"total_tokens": 3}) is None


def test_max_usd_on_an_unpriced_model_refuses_to_start(isolated_home, tmp_path):
    (isolated_home / "config.toml").write_text(
        '[limits]\nmax_usd = 0.5\n[providers.local]\nbase_url = "http://127.0.0.1:9/v1"\n'
    )
    proc = autoplug("run", "hi", "--model", "local:qwen")
    assert proc.returncode == 2
    assert proc.stderr.startswith(
        "error: [limits] max_usd = 0.5 is set but model 'local:qwen' has no price; "
        'add [prices."local:qwen"] with input_per_mtok and output_per_mtok'
    )
    assert "price_provider" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert json.loads(autoplug("runs", "--json").stdout) == []  # no run was started


def test_max_usd_on_a_priced_model_starts(isolated_home, tmp_path):
    replies = tmp_path / "r.json"
    replies.write_text(json.dumps([{"call": "final", "arguments": {"answer": "ok"}}]))
    (isolated_home / "config.toml").write_text(
        '[memory]\nbackend = "none"\n[limits]\nmax_usd = 0.5\n'
        f'[prices."scripted:{replies}"]\ninput_per_mtok = 1\noutput_per_mtok = 1\n'
    )
    proc = autoplug("run", "hi", "--model", f"scripted:{replies}", "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["usage"]["usd"] > 0


def test_a_negative_cached_price_is_a_config_error(isolated_home):
    (isolated_home / "config.toml").write_text(
        '[prices."openai:gpt-4o-mini"]\ncached_input_per_mtok = -1\n'
    )
    proc = autoplug("models")
    assert proc.returncode == 2
    assert (
        '[prices."openai:gpt-4o-mini"] cached_input_per_mtok must be a number >= 0' in proc.stderr
    )


ANSWER_42 = [{"call": "final", "arguments": {"answer": "42"}}]


@pytest.mark.parametrize(
    ("toml", "fault"),
    [
        ('[prices."scripted:r.json"]\ninput_per_mtok = "cheap"\n', "input_per_mtok must be"),
        ('[prices."scripted:r.json"]\ninput_per_mtok = -1\n', "input_per_mtok must be"),
        (
            '[prices."scripted:r.json"]\ninput_per_token = 1\n',
            'unknown key [prices."scripted:r.json"] input_per_token',
        ),
        ('[prices]\n"scripted:r.json" = 3\n', "must be a table"),
    ],
)
def test_an_invalid_price_table_is_a_config_error(tmp_path, isolated_home, toml, fault):
    (isolated_home / "config.toml").write_text(toml)
    (tmp_path / "r.json").write_text(json.dumps(ANSWER_42))

    proc = run_autoplug(
        "run", "what is six times seven?", "--model", "scripted:r.json", cwd=tmp_path
    )

    assert proc.returncode == 2
    error = last_error_line(proc)
    assert error.startswith(f"error: invalid config file {isolated_home / 'config.toml'}: ")
    assert '[prices."scripted:r.json"]' in error and fault in error


def test_a_valid_price_table_prices_the_run(tmp_path, isolated_home):
    (isolated_home / "config.toml").write_text(
        '[memory]\nbackend = "none"\n[prices."scripted:r.json"]\n'
        "input_per_mtok = 1000000\noutput_per_mtok = 0\n"
    )
    (tmp_path / "r.json").write_text(json.dumps(ANSWER_42))

    proc = run_autoplug(
        "run", "six times seven?", "--model", "scripted:r.json", "--json", cwd=tmp_path
    )

    assert proc.returncode == 0, proc.stderr
    usage = json.loads(proc.stdout)["usage"]
    assert usage["usd"] == pytest.approx(usage["input_tokens"])


def test_models_shows_the_default_models_price_and_each_prices_entry(isolated_home):
    (isolated_home / "config.toml").write_text(
        'model = "openai:gpt-4o-mini"\n[prices."ollama:llama3.1"]\ninput_per_mtok = 0\n'
    )
    listing = json.loads(autoplug("models", "--json").stdout)
    assert listing["default_price"]["source"].startswith("genai-prices ")
    assert listing["default_price"]["input_per_mtok"] > 0
    assert listing["prices"] == [
        {
            "model": "ollama:llama3.1",
            "input_per_mtok": 0.0,
            "output_per_mtok": 0.0,
            "cached_input_per_mtok": None,
            "source": 'config [prices."ollama:llama3.1"]',
        }
    ]
    text = autoplug("models").stdout
    assert "price: $" in text and "(from genai-prices" in text
    assert "[prices] ollama:llama3.1: $0 in, $0 out per million tokens" in text


def test_kernel_runs_price_an_offline_model_at_nothing(tmp_path):
    from autoplug.scripted import ScriptedModel, call

    (tmp_path / "config.toml").write_text('[memory]\nbackend = "none"\n[limits]\nmax_usd = 1\n')
    kernel = Kernel(builtins=["autoplug_autos"], home=tmp_path)
    run = kernel.run("hi", model=ScriptedModel([call("final", answer="ok")]))
    assert run.status == "succeeded" and run.usage["usd"] == 0.0
