"""The settings of one HTTP model provider, read from ``[providers.NAME]``.

``api`` says which wire format the server speaks: ``openai`` (chat completions,
the default) or ``anthropic`` (the Messages API).

Kept free of httpx so that listing providers (``autoplug models``) stays light.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from autoplug import ConfigError

OPENAI_BASE_URL = "https://api.openai.com/v1"
OLLAMA_BASE_URL = "http://localhost:11434/v1"
#: As the official SDK takes it, without ``/v1``: requests go to ``BASE/v1/messages``.
ANTHROPIC_BASE_URL = "https://api.anthropic.com"

#: The wire formats a ``[providers.NAME]`` table may name with ``api``.
APIS = ("openai", "anthropic")
#: Anthropic's smallest thinking budget.
MIN_THINKING_BUDGET = 1024

#: Each ``[providers.NAME]`` key's default (None: none). What each key accepts is
#: the config's own rule (:data:`autoplug.config.PROVIDER_KEYS`), checked once here.
DEFAULTS: dict[str, Any] = {
    "api": "openai",
    "base_url": None,
    "api_key_env": None,
    "function_calling": True,
    "connect_timeout_s": 10.0,
    "read_timeout_s": 120.0,
    "max_retries": 4,
    "backoff_s": 0.5,
    "max_backoff_s": 30.0,
    "max_retry_wait_s": 60.0,
    "stream_usage": True,
    # Read by autoplug.prices, not by the client: the genai-prices provider id.
    "price_provider": None,
    # The Messages API requires max_tokens; thinking is off unless a budget is set.
    "max_tokens": 4096,
    "thinking_budget": None,
}


@dataclass(frozen=True)
class ProviderSettings:
    """How to reach one model server, in which wire format (``api``), and how patiently.

    ``api_key_env`` names the environment variable holding the key (None: the
    server needs no key). ``backoff_s`` is the first retry's wait before
    doubling (with jitter) up to ``max_backoff_s``; a ``Retry-After`` longer
    than ``max_retry_wait_s`` is not waited for. ``price_provider`` names the
    genai-prices provider that prices this server's models (see :mod:`autoplug.prices`).
    ``max_tokens`` and ``thinking_budget`` are read by the Anthropic client only:
    the reply's token limit when a request sets none, and the thinking budget
    (None: no thinking).
    """

    name: str
    base_url: str
    api: str = "openai"
    api_key_env: str | None = None
    function_calling: bool = True
    connect_timeout_s: float = 10.0
    read_timeout_s: float = 120.0
    max_retries: int = 4
    backoff_s: float = 0.5
    max_backoff_s: float = 30.0
    max_retry_wait_s: float = 60.0
    stream_usage: bool = True
    price_provider: str | None = None
    max_tokens: int = 4096
    thinking_budget: int | None = None
    where: str = "the builtin defaults"

    def api_key(self) -> str | None:
        """The key from the environment, or None when none is configured or set."""
        if not self.api_key_env:
            return None
        return os.environ.get(self.api_key_env) or None


def config_where(config: Any, name: str) -> str:
    """``[providers.NAME] in FILE`` for error messages."""
    path = getattr(config, "path", None)
    return f"[providers.{name}] in {path}" if path else f"[providers.{name}]"


def read_settings(
    name: str, table: dict[str, Any], defaults: dict[str, Any], where: str
) -> ProviderSettings:
    """Validate ``table`` (a ``[providers.NAME]`` table) over ``defaults``.

    Raises :class:`ConfigError` naming the table, the key and what was wrong.
    """
    from autoplug.config import PROVIDER_KEYS

    values: dict[str, Any] = dict(DEFAULTS)
    values.update(defaults)
    for key, value in table.items():
        rule = PROVIDER_KEYS.get(key)
        if rule is None:
            known = ", ".join(PROVIDER_KEYS)
            raise ConfigError(f"unknown key {key!r} in {where}; known keys: {known}")
        if not rule.accepts(value):
            raise ConfigError(f"{key} in {where} must be {rule.describe()}, not {value!r}")
        values[key] = value
    base_url = values["base_url"]
    if not base_url:
        example = (
            "http://localhost:4000" if values["api"] == "anthropic" else "http://localhost:8000/v1"
        )
        raise ConfigError(f'{where} needs base_url, e.g. base_url = "{example}"')
    if not base_url.startswith(("http://", "https://")):
        raise ConfigError(
            f"base_url in {where} must start with http:// or https://, not {base_url!r}"
        )
    if values["api"] not in APIS:
        raise ConfigError(
            f"api in {where} must be one of {', '.join(map(repr, APIS))}, not {values['api']!r}"
        )
    budget = values["thinking_budget"]
    if budget is not None and not MIN_THINKING_BUDGET <= budget < values["max_tokens"]:
        raise ConfigError(
            f"thinking_budget in {where} must be at least {MIN_THINKING_BUDGET} and less than "
            f"max_tokens ({values['max_tokens']}), not {budget}"
        )
    values["base_url"] = base_url.rstrip("/")
    return ProviderSettings(name=name, where=where, **values)


def openai_settings(config: Any) -> ProviderSettings:
    """``openai``: OPENAI_BASE_URL, else ``[providers.openai] base_url``, else the OpenAI API."""
    table = dict(_table(config, "openai"))
    env_url = os.environ.get("OPENAI_BASE_URL")
    if env_url:
        if not env_url.startswith(("http://", "https://")):
            raise ConfigError(
                f"the environment variable OPENAI_BASE_URL must start with http:// or https://, "
                f"not {env_url!r}"
            )
        table["base_url"] = env_url
    defaults = {"base_url": OPENAI_BASE_URL, "api_key_env": "OPENAI_API_KEY"}
    return read_settings("openai", table, defaults, config_where(config, "openai"))


def anthropic_settings(config: Any) -> ProviderSettings:
    """``anthropic``: ANTHROPIC_BASE_URL, else ``[providers.anthropic] base_url``, else the API.

    The base URL is given without ``/v1`` (as the official SDK takes it).
    """
    table = dict(_table(config, "anthropic"))
    env_url = os.environ.get("ANTHROPIC_BASE_URL")
    if env_url:
        if not env_url.startswith(("http://", "https://")):
            raise ConfigError(
                f"the environment variable ANTHROPIC_BASE_URL must start with http:// or "
                f"https://, not {env_url!r}"
            )
        table["base_url"] = env_url
    if table.get("api", "anthropic") != "anthropic":
        raise ConfigError(
            f'api in {config_where(config, "anthropic")} must be "anthropic" (the builtin '
            f"anthropic provider speaks only the Messages API), not {table['api']!r}"
        )
    defaults = {
        "base_url": ANTHROPIC_BASE_URL,
        "api_key_env": "ANTHROPIC_API_KEY",
        "api": "anthropic",
    }
    return read_settings("anthropic", table, defaults, config_where(config, "anthropic"))


def ollama_settings(config: Any) -> ProviderSettings:
    """``ollama``: a local Ollama server with no key, unless ``[providers.ollama]`` says otherwise."""
    defaults = {"base_url": OLLAMA_BASE_URL}
    return read_settings(
        "ollama", _table(config, "ollama"), defaults, config_where(config, "ollama")
    )


def named_settings(config: Any, name: str) -> ProviderSettings:
    """A provider of the user's own: everything comes from ``[providers.NAME]``."""
    return read_settings(name, _table(config, name), {}, config_where(config, name))


def _table(config: Any, name: str) -> dict[str, Any]:
    if config is None:
        return {}
    return dict(config.provider(name))
