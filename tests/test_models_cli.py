"""`autoplug models` and the register_models hook of the builtin autoplug_models."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from autoplug import Kernel


def run_cli(home, *args, **env_extra):
    env = {**os.environ, "AUTOPLUG_HOME": str(home), **env_extra}
    return subprocess.run(
        [str(Path(sys.executable).with_name("autoplug")), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


def test_hook_register_models_lists_providers_and_default(tmp_path):
    (tmp_path / "config.toml").write_text(
        '[providers.vllm]\nbase_url = "http://gpu-box:8000/v1"\napi_key_env = "VLLM_KEY"\n'
        '[providers.tiny]\nbase_url = "http://localhost:8080/v1"\nfunction_calling = false\n'
    )
    done = run_cli(tmp_path, "models", "--json", AUTOPLUG_MODEL="vllm:qwen2.5")
    assert done.returncode == 0, done.stderr
    listing = json.loads(done.stdout)
    assert listing["default"] == "vllm:qwen2.5"
    by_name = {p["name"]: p for p in listing["providers"]}
    assert sorted(by_name) == [
        "anthropic",
        "ollama",
        "openai",
        "replay",
        "scripted",
        "tiny",
        "vllm",
    ]
    assert by_name["anthropic"]["description"] == (
        "Anthropic API at https://api.anthropic.com (key from ANTHROPIC_API_KEY)"
    )
    assert {p["plugin"] for p in listing["providers"]} == {"autoplug_models"}
    assert by_name["vllm"]["description"] == (
        "OpenAI-compatible server at http://gpu-box:8000/v1 (key from VLLM_KEY)"
    )
    assert "function calls as JSON text" in by_name["tiny"]["description"]
    assert "OPENAI_API_KEY" in by_name["openai"]["description"]


def test_models_table_shows_default_from_config(tmp_path):
    (tmp_path / "config.toml").write_text('model = "ollama:llama3.1"\n')
    done = run_cli(tmp_path, "models")
    assert done.returncode == 0, done.stderr
    assert "default model: ollama:llama3.1" in done.stdout
    assert "http://localhost:11434/v1" in done.stdout


def test_invalid_provider_table_is_listed_not_fatal(tmp_path):
    (tmp_path / "config.toml").write_text('[providers.broken]\nbase_url = "ftp://x"\n')
    done = run_cli(tmp_path, "models", "--json")
    assert done.returncode == 0, done.stderr
    (broken,) = [p for p in json.loads(done.stdout)["providers"] if p["name"] == "broken"]
    assert "invalid config: base_url in [providers.broken]" in broken["description"]


def test_openai_base_url_env_shown(tmp_path):
    done = run_cli(tmp_path, "models", "--json", OPENAI_BASE_URL="http://127.0.0.1:9/v1")
    (openai,) = [p for p in json.loads(done.stdout)["providers"] if p["name"] == "openai"]
    assert "http://127.0.0.1:9/v1" in openai["description"]


def test_plugin_import_does_not_load_httpx():
    code = "import sys, autoplug_builtins.models; print('httpx' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


def test_providers_table_named_like_builtin_configures_it(tmp_path):
    (tmp_path / "config.toml").write_text(
        '[providers.ollama]\nbase_url = "http://gpu-box:11434/v1"\nread_timeout_s = 600\n'
    )
    kernel = Kernel(builtins=["autoplug_models"], home=tmp_path)
    model = kernel.model("ollama:llama3.1")
    assert model.url == "http://gpu-box:11434/v1/chat/completions"
    assert model.settings.read_timeout_s == 600
    assert sorted(kernel.models.providers) == [
        "anthropic",
        "ollama",
        "openai",
        "replay",
        "scripted",
    ]


def test_wrong_key_fails_run_with_one_line_naming_the_variable(tmp_path):
    from openai_server import OpenAIServer, providers_toml

    with OpenAIServer(api_key="right-key") as server:
        toml = providers_toml("loop", server.url, api_key_env="LOOP_KEY")
        (tmp_path / "config.toml").write_text(toml)
        plugins = "autoplug_models,autoplug_autos"  # no memory: this is about the model
        done = run_cli(
            tmp_path,
            "run",
            "Say hi",
            "--model",
            "loop:m",
            LOOP_KEY="wrong-key",
            AUTOPLUG_LOAD_PLUGINS=plugins,
        )
        sent = server.requests[0].headers["authorization"]
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert "refused the API key (HTTP 401): check the key in LOOP_KEY" in done.stderr
    assert sent == "Bearer wrong-key"
    assert len(server.requests) == 1  # not retried
