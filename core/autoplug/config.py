"""The TOML config file under ``AUTOPLUG_HOME``, its defaults and environment overrides.

The file is created by the first command that reads it, with every line
commented out, so that defaults can change in later versions without the file
pinning old ones.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ConfigError
from .mcpconfig import check_mcp_tables

DEFAULT_LIMITS: dict[str, Any] = {
    "iterations": 25,
    "llm_calls": 100,
    "loop_repeats": 3,
    "plan_repairs": 2,
    "fill_retries": 2,
    "concurrency": 4,
    "tool_timeout_s": 60,
    "max_tokens": None,
    "max_usd": None,
}

# Limits that count something: a fraction would be silently rounded one way or the other.
WHOLE_LIMITS = frozenset(
    ("iterations", "llm_calls", "loop_repeats", "plan_repairs", "fill_retries")
    + ("concurrency", "max_tokens")
)
# Limits where 0 makes no sense (no step could run; every tool would time out at once).
POSITIVE_LIMITS = frozenset({"concurrency", "tool_timeout_s"})

DEFAULT_MEMORY: dict[str, Any] = {
    "backend": "lancedb",
    "embedder": None,  # chosen on first use and written to the file
    "top_k": 5,
    "max_prompt_tokens": 800,
    "capacity": 10000,
    "max_age_days": 365,
}

DEFAULT_WEB: dict[str, Any] = {
    "allow_private": False,
    "search_url": None,
    "timeout_s": 15,
    "max_bytes": 2_000_000,
}

# The keys of a [prices."ID"] table: USD per million tokens.
PRICE_KEYS = ("input_per_mtok", "output_per_mtok")

CONFIG_TEMPLATE = """\
# autoplug configuration. Every line is commented out: the defaults apply.
# Uncomment and edit a line to change it. Environment variables override the file.

# The default model, as provider:model (overridden by AUTOPLUG_MODEL and --model).
# model = "openai:gpt-4o-mini"

# [plugins]
# disabled = []            # plugin names never imported (AUTOPLUG_LOAD_PLUGINS replaces this)

# [providers.NAME]         # any OpenAI-compatible server, used as NAME:MODEL
# base_url = "http://localhost:8000/v1"
# api_key_env = "MY_SERVER_KEY"
# function_calling = true
# connect_timeout_s = 10
# read_timeout_s = 120
# max_retries = 4
# backoff_s = 0.5          # first retry wait, doubling, with jitter
# max_backoff_s = 30
# max_retry_wait_s = 60    # a longer Retry-After fails at once
# stream_usage = true      # false for servers that reject stream_options

# [prices."openai:gpt-4o-mini"]
# input_per_mtok = 0.15
# output_per_mtok = 0.60

# [limits]
# iterations = 25          # dynamic-agent turns per run
# llm_calls = 100          # model calls per run
# loop_repeats = 3         # the same decision this many times stops the run
# plan_repairs = 2
# fill_retries = 2
# concurrency = 4          # steps run at once
# tool_timeout_s = 60
# max_tokens = 200000      # prompt + completion tokens per run (default: no limit)
# max_usd = 1.0            # USD per run, from [prices] (default: no limit)

# [memory]
# backend = "lancedb"      # or "inprocess" (tests), or "none" to turn memory off
# half_life_days = 30      # recency halves every 30 days without use
# embedder_base_url = "http://localhost:8000/v1"   # for embedder = "openai"
# embedder_model = "text-embedding-3-small"
# embedder_api_key_env = "OPENAI_API_KEY"
# embedder_dimension = 1536
# embedder = "minilm"      # written here on first use; minilm when installed, else hashing
# top_k = 5
# max_prompt_tokens = 800
# capacity = 10000
# max_age_days = 365

# [mcp.NAME]               # an MCP server: its tools become autoplug tools (plugin mcp_NAME)
# command = "mcp-server-time"            # stdio: the program, its args, env and cwd
# args = ["--local-timezone", "UTC"]
# env = { TZ = "UTC" }
# cwd = "/path/to/folder"
# url = "http://localhost:8000/mcp"      # or streamable HTTP (with headers) instead of command
# headers = { Authorization = "Bearer ..." }
# auto_approve = false     # true: this server's side-effect tools run without asking
# timeout_s = 60           # start-up and each call
# disabled = false

# [web]
# allow_private = false    # true, or a list of networks like ["127.0.0.0/8"]: lets browse_url reach non-public addresses
# search_url = "http://localhost:8888"   # a SearXNG instance for web_search
# timeout_s = 15
# max_bytes = 2000000
"""


def default_home() -> Path:
    """``AUTOPLUG_HOME``, else ``$XDG_DATA_HOME/autoplug``, else ``~/.local/share/autoplug``."""
    env = os.environ.get("AUTOPLUG_HOME")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_DATA_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".local" / "share"
    return base / "autoplug"


def write_template(home: Path) -> None:
    """Write the commented config template as ``home/config.toml``.

    Raises :class:`ConfigError` naming the folder when it cannot be created (for
    example when ``AUTOPLUG_HOME`` is a file).
    """
    try:
        home.mkdir(parents=True, exist_ok=True)
        (home / "config.toml").write_text(CONFIG_TEMPLATE, encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            f"cannot create the config file {home / 'config.toml'}: {exc.strerror}; "
            f"the autoplug home {home} must be a folder autoplug can write "
            "(AUTOPLUG_HOME chooses another)"
        ) from None


@dataclass
class Config:
    """The parsed config file of one ``AUTOPLUG_HOME``.

    ``data`` is the file's content as a dict; the accessors apply defaults.
    """

    home: Path
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def path(self) -> Path:
        """The config file's path."""
        return self.home / "config.toml"

    @classmethod
    def load(cls, home: Path | None = None, *, create: bool = True) -> Config:
        """Read ``home/config.toml``, writing the commented template first if missing.

        Raises :class:`ConfigError` naming the file and the fault when it is not valid TOML.
        """
        home = Path(home) if home is not None else default_home()
        path = home / "config.toml"
        if not path.exists():
            if not create:
                return cls(home=home)
            write_template(home)
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"invalid config file {path}: {exc}") from None
        except UnicodeDecodeError as exc:
            raise ConfigError(
                f"invalid config file {path}: not UTF-8 text (byte {exc.object[exc.start]:#04x} "
                f"at offset {exc.start})"
            ) from None
        except OSError as exc:
            raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
        config = cls(home=home, data=data)
        config._check()
        return config

    def _check(self) -> None:
        for section in ("plugins", "limits", "memory", "web", "providers", "prices"):
            value = self.data.get(section, {})
            if not isinstance(value, dict):
                raise ConfigError(f"invalid config file {self.path}: [{section}] must be a table")
        if "model" in self.data and not isinstance(self.data["model"], str):
            raise ConfigError(f"invalid config file {self.path}: 'model' must be a string")
        disabled = self.data.get("plugins", {}).get("disabled", [])
        if not isinstance(disabled, list) or not all(isinstance(x, str) for x in disabled):
            raise ConfigError(
                f"invalid config file {self.path}: [plugins] disabled must be a list of names"
            )
        for name, value in self.data.get("providers", {}).items():
            if not isinstance(value, dict):
                raise ConfigError(
                    f"invalid config file {self.path}: [providers.{name}] must be a table "
                    f'such as [providers.{name}] base_url = "http://localhost:8000/v1"'
                )
        for model_id, value in self.data.get("prices", {}).items():
            self._check_price(model_id, value)
        check_mcp_tables(self.data, self.path)
        for key, value in self.data.get("limits", {}).items():
            if key not in DEFAULT_LIMITS:
                raise ConfigError(f"invalid config file {self.path}: unknown key [limits] {key}")
            if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
                raise ConfigError(
                    f"invalid config file {self.path}: [limits] {key} must be a non-negative number"
                )
            if key in WHOLE_LIMITS and not isinstance(value, int):
                raise ConfigError(
                    f"invalid config file {self.path}: [limits] {key} must be a whole number, "
                    f"not {value!r}"
                )
            if key in POSITIVE_LIMITS and value == 0:
                raise ConfigError(
                    f"invalid config file {self.path}: [limits] {key} must be more than 0"
                )

    def _check_price(self, model_id: str, value: Any) -> None:
        where = f'invalid config file {self.path}: [prices."{model_id}"]'
        if not isinstance(value, dict):
            raise ConfigError(f"{where} must be a table of input_per_mtok and output_per_mtok")
        for key, price in value.items():
            if key not in PRICE_KEYS:
                raise ConfigError(
                    f"{where}: unknown key {key!r}; known keys: {', '.join(PRICE_KEYS)}"
                )
            if not isinstance(price, int | float) or isinstance(price, bool) or price < 0:
                raise ConfigError(f"{where} {key} must be a non-negative number of USD")

    def section(self, name: str) -> dict[str, Any]:
        """A top-level table of the file, or an empty dict."""
        value = self.data.get(name, {})
        return value if isinstance(value, dict) else {}

    @property
    def limits(self) -> dict[str, Any]:
        """``[limits]`` merged over the defaults."""
        return {**DEFAULT_LIMITS, **self.section("limits")}

    @property
    def memory(self) -> dict[str, Any]:
        """``[memory]`` merged over the defaults."""
        return {**DEFAULT_MEMORY, **self.section("memory")}

    @property
    def web(self) -> dict[str, Any]:
        """``[web]`` merged over the defaults."""
        return {**DEFAULT_WEB, **self.section("web")}

    @property
    def disabled_plugins(self) -> list[str]:
        """``[plugins] disabled``."""
        return list(self.section("plugins").get("disabled", []))

    def provider(self, name: str) -> dict[str, Any]:
        """``[providers.NAME]``, or an empty dict."""
        value = self.section("providers").get(name, {})
        return value if isinstance(value, dict) else {}

    def price(self, model_id: str) -> dict[str, Any] | None:
        """``[prices."ID"]`` for a model id, or None."""
        value = self.section("prices").get(model_id)
        return value if isinstance(value, dict) else None

    def default_model(self) -> str | None:
        """``AUTOPLUG_MODEL``, else the file's ``model``, else None."""
        return os.environ.get("AUTOPLUG_MODEL") or self.data.get("model") or None

    def set_value(self, section: str, key: str, value: str | int | float | bool) -> None:
        """Write ``key = value`` under ``[section]`` in the file, keeping everything else.

        Used for choices made once and kept (the embedder). Updates ``data`` too.
        """
        literal = _toml_literal(value)
        path = self.path
        self.home.mkdir(parents=True, exist_ok=True)
        text = path.read_text(encoding="utf-8") if path.exists() else CONFIG_TEMPLATE
        lines = text.splitlines()
        header = f"[{section}]"
        start = next((i for i, line in enumerate(lines) if line.strip() == header), None)
        if start is None:
            lines += ["", header, f"{key} = {literal}"]
        else:
            end = next(
                (i for i in range(start + 1, len(lines)) if lines[i].lstrip().startswith("[")),
                len(lines),
            )
            pattern = re.compile(rf"^\s*{re.escape(key)}\s*=")
            for i in range(start + 1, end):
                if pattern.match(lines[i]):
                    lines[i] = f"{key} = {literal}"
                    break
            else:
                lines.insert(start + 1, f"{key} = {literal}")
        tmp = path.with_suffix(".toml.tmp")
        tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
        os.replace(tmp, path)
        self.data.setdefault(section, {})[key] = value


def _toml_literal(value: str | int | float | bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'
