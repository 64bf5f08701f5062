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

from .config_rules import Rule, Table, check
from .errors import ConfigError
from .mcpconfig import check_mcp_tables
from .roles import check_role_tables

DEFAULT_LIMITS: dict[str, Any] = {
    "iterations": 25,
    "llm_calls": 100,
    "loop_repeats": 3,
    "plan_repairs": 2,
    "fill_retries": 2,
    "rejected_replies": 3,
    "output_repairs": 2,
    "concurrency": 4,
    "children": 4,
    "tool_timeout_s": 60,
    "max_tokens": None,
    "max_usd": None,
}

DEFAULT_MEMORY: dict[str, Any] = {
    "backend": "lancedb",
    "embedder": None,  # chosen on first use and kept in the state folder
    "top_k": 5,
    "min_similarity": None,  # None: the embedder's own floor
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

# The keys of the [otel] table (read by the builtin plugin autoplug_otel).
OTEL_KEYS = ("enabled",)

# The keys of a [prices."ID"] table: USD per million tokens.
PRICE_KEYS = ("input_per_mtok", "output_per_mtok", "cached_input_per_mtok")

# -- the known keys: one line each (and one in CONFIG_TEMPLATE) ---------------------
# DESIGN "Config and state": numbers are finite; counts >= 1, repairs and retries >= 0,
# timeouts > 0, max_tokens and max_usd >= 0; a key left out means its default.

COUNT = Rule(("int",), low=1)
"""A whole number >= 1: how many of something."""
WHOLE = Rule(("int",), low=0)
"""A whole number >= 0: retries, repairs, token budgets."""
POSITIVE = Rule(("float",), low=0, low_open=True)
"""A number > 0: timeouts, half-lives."""
AMOUNT = Rule(("float",), low=0)
"""A number >= 0: USD, waits, ages."""
FRACTION = Rule(("float",), low=0, high=1)
"""A number from 0 to 1: similarities."""
TEXT = Rule(("str",))
"""A string."""
FLAG = Rule(("bool",))
"""true or false."""
NAMES = Rule(("names",))
"""A list of strings."""

LIMIT_KEYS: dict[str, Rule] = {
    "iterations": COUNT,
    "llm_calls": COUNT,
    "loop_repeats": COUNT,
    "plan_repairs": WHOLE,
    "fill_retries": WHOLE,
    "rejected_replies": COUNT,
    "output_repairs": WHOLE,
    "concurrency": COUNT,
    "children": COUNT,
    "tool_timeout_s": POSITIVE,
    "max_tokens": WHOLE,
    "max_usd": AMOUNT,
}

PROVIDER_KEYS: dict[str, Rule] = {
    "api": TEXT,
    "base_url": TEXT,
    "api_key_env": TEXT,
    "function_calling": FLAG,
    "connect_timeout_s": POSITIVE,
    "read_timeout_s": POSITIVE,
    "max_retries": WHOLE,
    "backoff_s": AMOUNT,
    "max_backoff_s": AMOUNT,
    "max_retry_wait_s": AMOUNT,
    "stream_usage": FLAG,
    "price_provider": TEXT,
    "max_tokens": COUNT,
    "thinking_budget": COUNT,
}

MEMORY_KEYS: dict[str, Rule] = {
    "backend": TEXT,
    "half_life_days": POSITIVE,
    "embedder_base_url": TEXT,
    "embedder_model": TEXT,
    "embedder_api_key_env": TEXT,
    "embedder_dimension": COUNT,
    "embedder_batch_size": COUNT,
    "embedder_timeout_s": POSITIVE,
    "embedder": TEXT,
    "top_k": COUNT,
    "min_similarity": FRACTION,
    "max_prompt_tokens": WHOLE,
    "capacity": COUNT,
    "max_age_days": AMOUNT,
}

MCP_KEYS: dict[str, Rule] = {
    "command": TEXT,
    "args": NAMES,
    "env": Rule(("texts",)),
    "cwd": TEXT,
    "url": TEXT,
    "headers": Rule(("texts",)),
    "auto_approve": FLAG,
    "timeout_s": POSITIVE,
    "disabled": FLAG,
}

ROLE_KEYS: dict[str, Rule] = {
    "description": TEXT,
    "instructions": TEXT,
    "tools": NAMES,
    "model": TEXT,
    "output_schema": Rule(("table",)),
    "output_schema_file": TEXT,
}

WEB_KEYS: dict[str, Rule] = {
    "allow_private": Rule(("bool", "names")),
    "search_url": TEXT,
    "timeout_s": POSITIVE,
    "max_bytes": COUNT,
}

SPEC: dict[str, Rule | Table] = {
    "model": TEXT,
    "plugins": Table({"disabled": NAMES}, owned=True),
    "providers": Table({}, named=PROVIDER_KEYS),
    "prices": Table({}, named={key: AMOUNT for key in PRICE_KEYS}, name_label='"ID"'),
    "limits": Table(LIMIT_KEYS),
    "memory": Table(MEMORY_KEYS),
    "web": Table(WEB_KEYS),
    "otel": Table({key: FLAG for key in OTEL_KEYS}),
    "mcp": Table({}, named=MCP_KEYS),  # autoplug.mcpconfig checks names and transports too
    "roles": Table({}, named=ROLE_KEYS),  # autoplug.roles checks names and required keys too
}
"""Every key the config file may hold: top-level keys and tables, checked by ``Config.load``.

Adding a key is one line here and one in ``CONFIG_TEMPLATE`` (a test checks that
the two list the same keys); a new table is one ``Table(...)`` entry.
"""

# Limits that count something: a fraction would be silently rounded one way or the other.
WHOLE_LIMITS = frozenset(key for key, rule in LIMIT_KEYS.items() if rule.whole)
# Limits where 0 makes no sense (no step could run; every tool would time out at once).
POSITIVE_LIMITS = frozenset(
    key for key, rule in LIMIT_KEYS.items() if rule.low_open or (rule.low or 0) >= 1
)


CONFIG_TEMPLATE = """\
# autoplug configuration. Every line is commented out: the defaults apply.
# Uncomment and edit a line to change it. Environment variables override the file.

# The default model, as provider:model (overridden by AUTOPLUG_MODEL and --model).
# model = "openai:gpt-4o-mini"

# [plugins]
# disabled = []            # plugin names never imported (AUTOPLUG_LOAD_PLUGINS replaces this)

# [providers.NAME]         # any OpenAI-compatible server, used as NAME:MODEL
# api = "openai"           # or "anthropic": the Messages API (base_url then without /v1)
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
# price_provider = "openai"   # the genai-prices provider that prices its models (default: NAME, else by base_url)
# max_tokens = 4096        # api = "anthropic": the reply's limit when a request sets none
# thinking_budget = 2048   # api = "anthropic": extended thinking on (off unless set)

# [prices."openai:gpt-4o-mini"]   # overrides the genai-prices package's price
# input_per_mtok = 0.15
# output_per_mtok = 0.60
# cached_input_per_mtok = 0.075   # prompt-cache reads (default: the input price)

# [limits]
# iterations = 25          # dynamic-agent turns per run
# llm_calls = 100          # model calls per run
# loop_repeats = 3         # the same decision this many times stops the run
# plan_repairs = 2
# fill_retries = 2
# rejected_replies = 3      # replies with no valid call in a row stop the run
# output_repairs = 2       # answers that break --output-schema sent back before the run fails
# concurrency = 4          # steps run at once
# children = 4             # a manager's child runs at once (--auto manager)
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
# embedder_batch_size = 64   # texts per request to the embedder server
# embedder_timeout_s = 30
# embedder = "minilm"      # default: chosen on first use (minilm when installed, else hashing)
# top_k = 5
# min_similarity = 0.3     # cosine floor for recall, 0..1 (default: the embedder's own)
# max_prompt_tokens = 800
# capacity = 10000
# max_age_days = 365

# [otel]                   # OpenTelemetry traces (pip install 'autoplug[otel]')
# enabled = false          # true: spans for every run; unset: on when OTEL_EXPORTER_OTLP_ENDPOINT is set

# [mcp.time]               # an MCP server NAME (here "time"): its tools become tools of plugin mcp_NAME
# command = "mcp-server-time"            # stdio: the program, its args, env and cwd
# args = ["--local-timezone", "UTC"]
# env = { TZ = "UTC" }
# cwd = "/path/to/folder"
# auto_approve = false     # true: this server's side-effect tools run without asking
# timeout_s = 60           # start-up and each call
# disabled = false
# [mcp.remote]             # or a server over streamable HTTP
# url = "http://localhost:8000/mcp"
# headers = { Authorization = "Bearer ..." }

# [roles.architect]        # a role the manager Auto delegates to (--auto manager)
# description = "designs the program's structure"   # one line the manager reads
# instructions = "You are the architect. Write the design to design.md."
# tools = ["read_file", "write_file"]   # the tools it may plan with (default: all; [] none)
# model = "openai:gpt-4o-mini"          # default: the run's model
# output_schema = { type = "object", properties = { files = { type = "array" } } }
# [roles.backend]
# description = "writes the server code"
# instructions = "You are the backend engineer."
# output_schema_file = "backend.schema.json"   # the schema in a file (relative to this one)

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

    def __post_init__(self) -> None:
        # Made absolute once, however the config is made: a run's files, claims and
        # memory are found by this path for as long as the kernel lives, and a
        # relative one would follow a later chdir.
        self.home = Path(self.home).absolute()

    @property
    def path(self) -> Path:
        """The config file's path."""
        return self.home / "config.toml"

    @classmethod
    def load(cls, home: Path | None = None, *, create: bool = True) -> Config:
        """Read ``home/config.toml``, writing the commented template first if missing.

        Raises :class:`ConfigError` naming the file and the fault when it is not
        valid TOML or breaks a rule of ``SPEC`` (an unknown table or key, a value
        of the wrong type or out of range).
        """
        config = cls(home=home if home is not None else default_home())
        path = config.path
        if not path.exists():
            if not create:
                return config
            write_template(config.home)
        try:
            text = path.read_text(encoding="utf-8")
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"invalid config file {path}: {exc}") from None
        except UnicodeDecodeError as exc:
            raise ConfigError(
                f"invalid config file {path}: not UTF-8 text (byte {exc.object[exc.start]:#04x} "
                f"at offset {exc.start})"
            ) from None
        except RecursionError:
            raise ConfigError(
                f"invalid config file {path}: arrays or inline tables nested too deeply"
            ) from None
        except ValueError as exc:  # an integer too long to convert (more than 4,300 digits)
            raise ConfigError(f"invalid config file {path}: {_long_number(text, exc)}") from None
        except OSError as exc:
            raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
        config.data = data
        config._check()
        return config

    def _check(self) -> None:
        check(self.data, SPEC, self.path)
        # Then what one key's rule cannot say: server names, exactly one transport.
        check_mcp_tables(self.data, self.path)
        check_role_tables(self.data, self.path)

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


def _long_number(text: str, exc: ValueError) -> str:
    """Where the integer too long to read is, for the error message."""
    match = re.search(r"\d[\d_]{999,}", text)
    if match is None:
        return " ".join(str(exc).split())[:200]
    line = text.count("\n", 0, match.start()) + 1
    return f"line {line} holds an integer of {match.end() - match.start()} digits, too long to read"
