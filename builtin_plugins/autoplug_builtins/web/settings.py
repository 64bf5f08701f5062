"""The ``[web]`` settings of the config file, read when a web tool is called.

Tools receive only their arguments and a ``CallContext``, and the
``register_tools`` hook never sees the kernel, so the web tools read the config
file themselves at call time: ``config.toml`` in ``CallContext.home``, the home of
the kernel the call runs in (``Kernel(home=...)`` as much as the CLI's). Nothing
is cached, so an edit to the file applies to the next call.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from autoplug import ConfigError
from autoplug.config import Config, default_home


@dataclass(frozen=True)
class WebSettings:
    """The validated ``[web]`` table.

    ``allow_private`` is True, False, or the networks whose non-public addresses
    ``browse_url`` may reach. ``config_path`` is the file the values came from,
    for error messages that tell the user where to change them.
    """

    allow_private: bool | tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]
    search_url: str | None
    timeout_s: float
    max_bytes: int
    config_path: Path


def load_settings(home: Path | None = None) -> WebSettings:
    """The ``[web]`` settings of ``home`` (None, for a context outside any kernel:
    ``AUTOPLUG_HOME``), defaults applied.

    Never creates the config file. Raises :class:`autoplug.ConfigError` naming
    the file and the key when a value has the wrong type or range.
    """
    config = Config.load(home if home is not None else default_home(), create=False)
    web = config.web
    where = f"invalid config file {config.path}: [web]"
    allow_private = _allowance(web["allow_private"], where)
    # Types and ranges of timeout_s and max_bytes are the config's rules (WEB_KEYS),
    # checked when the file was loaded.
    timeout_s = web["timeout_s"]
    max_bytes = web["max_bytes"]
    search_url = web["search_url"]
    if isinstance(search_url, str) and not search_url.strip():
        search_url = None  # an empty string means "not configured"
    if search_url is not None and (
        not isinstance(search_url, str)
        or not search_url.strip().lower().startswith(("http://", "https://"))
    ):
        raise ConfigError(f"{where} search_url must be an http:// or https:// URL")
    return WebSettings(
        allow_private=allow_private,
        search_url=search_url.strip() if search_url else None,
        timeout_s=float(timeout_s),
        max_bytes=max_bytes,
        config_path=config.path,
    )


def _allowance(
    value: Any, where: str
) -> bool | tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """``allow_private`` checked: a bool, or a list of networks such as ``"127.0.0.0/8"``."""
    if isinstance(value, bool):
        return value
    message = f'{where} allow_private must be true, false or a list of networks like "127.0.0.0/8"'
    if not isinstance(value, list):
        raise ConfigError(message)
    networks = []
    for item in value:
        if not isinstance(item, str):
            raise ConfigError(f"{message}; {item!r} is not a network")
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except (TypeError, ValueError):
            raise ConfigError(f"{message}; {item!r} is not a network") from None
    return tuple(networks)
