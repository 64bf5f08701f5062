"""Builtin plugin ``autoplug_models``: OpenAI-compatible servers, Anthropic, scripted replies, record and replay.

Providers (use a model as ``PROVIDER:MODEL``):

- ``openai``: the OpenAI API, or ``OPENAI_BASE_URL``; key from ``OPENAI_API_KEY``;
- ``anthropic``: Anthropic's Messages API, or ``ANTHROPIC_BASE_URL`` (without
  ``/v1``); key from ``ANTHROPIC_API_KEY``;
- ``ollama``: a local Ollama server at ``http://localhost:11434/v1``, no key;
- one provider per ``[providers.NAME]`` table in the config (vLLM, llama.cpp
  server, LM Studio, gateways: any OpenAI-compatible server, or with
  ``api = "anthropic"`` any server speaking the Messages API);
- ``scripted``: ``scripted:PATH`` answers with the replies in a JSON/JSONL file;
- ``replay``: ``replay:PATH`` answers from a cassette written by ``--record``.

This module imports nothing heavy: httpx loads only when an HTTP model is built.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from autoplug import ModelError, hookimpl
from autoplug.llm import Model

if TYPE_CHECKING:
    from .settings import ProviderSettings

# Names with a meaning of their own: a [providers.NAME] table with one of these
# configures the builtin (openai, anthropic, ollama) or is not a server (scripted, replay).
RESERVED = ("openai", "anthropic", "ollama", "scripted", "replay")
#: The settings reader of each builtin server (``autoplug_builtins.models.settings``).
BUILTIN_READERS = {
    "openai": "openai_settings",
    "anthropic": "anthropic_settings",
    "ollama": "ollama_settings",
}


def read_settings(config: Any, name: str) -> ProviderSettings:
    """The settings of provider ``name``: a builtin's reader, else its ``[providers.NAME]`` table.

    The settings module is imported here, not with the plugin: every command loads
    the plugin, few read a provider's settings.
    """
    from . import settings

    reader = BUILTIN_READERS.get(name)
    return getattr(settings, reader)(config) if reader else settings.named_settings(config, name)


class HTTPProvider:
    """A model server (OpenAI-compatible or Anthropic); its settings are read when a model is built.

    ``description`` (for ``autoplug models``) is worked out from the config when first read.
    """

    def __init__(self, name: str, config: Any, what: str | None) -> None:
        self.name = name
        self._config = config
        self._what = what
        self._description: str | None = None

    @property
    def description(self) -> str:
        """One line for ``autoplug models``: what the server is, where, and its key."""
        if self._description is None:
            self._description = _describe(self._config, self.name, self._what)
        return self._description

    def settings(self, config: Any) -> ProviderSettings:
        """This provider's settings from ``config`` (ConfigError when they are invalid)."""
        return read_settings(config, self.name)

    def model(self, model_name: str, config: Any) -> Model:
        """The model ``NAME:model_name``; ModelError naming the variable when the key is missing."""
        settings = self.settings(config)
        if settings.api_key_env and settings.api_key() is None:
            raise ModelError(
                f"{self.name}:{model_name} needs an API key: set the environment variable "
                f"{settings.api_key_env} (for example: export {settings.api_key_env}=...)"
            )
        if settings.api == "anthropic":
            from .anthropic import AnthropicModel

            return AnthropicModel(settings, model_name)
        from .openai import OpenAICompatibleModel

        return OpenAICompatibleModel(settings, model_name)


class ScriptedProvider:
    """``scripted:PATH``: replies, in order, from a JSON array or JSON Lines file."""

    name = "scripted"
    description = "replies in order from a JSON or JSONL file: scripted:PATH (for tests and demos)"

    def model(self, model_name: str, config: Any) -> Model:
        """A ScriptedModel with the file's replies; UsageError naming the file and line."""
        from autoplug.scripted import ScriptedModel, load_replies

        return ScriptedModel(load_replies(model_name), model_id=f"scripted:{model_name}")


class ReplayProvider:
    """``replay:PATH``: answers from a cassette; also records cassettes (``recorder``)."""

    name = "replay"
    description = (
        "answers from a recorded cassette: replay:PATH (record with autoplug run --record PATH)"
    )

    def model(self, model_name: str, config: Any) -> Model:
        """A ReplayModel of the cassette; UsageError naming the file and line when unusable."""
        from .cassette import ReplayModel

        return ReplayModel(model_name)

    def recorder(
        self, model: Model, path: str | Path, catalog: list[dict[str, Any]] | None = None
    ) -> Model:
        """``model`` wrapped so every exchange is appended to the cassette at ``path``.

        ``catalog`` is the tool catalog the run offers, kept in the cassette's header.
        """
        from .cassette import RecordingModel

        return RecordingModel(model, path, catalog)


class ProviderSource:
    """Expands, with the kernel's config, into every provider of this plugin.

    The ``register_models`` hook has no config, so the registry calls
    :meth:`providers` (see :meth:`autoplug.llm.ModelRegistry.add`).
    """

    def providers(self, config: Any) -> Iterator[Any]:
        """openai, anthropic, ollama, one per ``[providers.NAME]``, scripted, replay."""
        yield HTTPProvider("openai", config, "OpenAI API")
        yield HTTPProvider("anthropic", config, "Anthropic API")
        yield HTTPProvider("ollama", config, "local Ollama")
        tables = config.section("providers") if config is not None else {}
        for name in sorted(tables):
            if name in RESERVED or ":" in name or not name or not isinstance(tables[name], dict):
                continue
            yield HTTPProvider(name, config, None)
        yield ScriptedProvider()
        yield ReplayProvider()


def _describe(config: Any, name: str, what: str | None) -> str:
    """One line for ``autoplug models``; ``what`` None: named by the table's ``api``."""
    try:
        settings = read_settings(config, name)
    except Exception as exc:  # listing must not fail on a bad table; using it will
        return f"{what or 'server'} (invalid config: {exc})"
    if what is None:
        what = (
            "Anthropic Messages API" if settings.api == "anthropic" else "OpenAI-compatible server"
        )
    key = f"key from {settings.api_key_env}" if settings.api_key_env else "no key"
    calling = "" if settings.function_calling else ", function calls as JSON text"
    thinking = f", thinking budget {settings.thinking_budget}" if settings.thinking_budget else ""
    return f"{what} at {settings.base_url} ({key}{calling}{thinking})"


@hookimpl
def register_models(register: Any) -> None:
    """Register this plugin's providers (expanded with the config by the registry)."""
    register(ProviderSource())
