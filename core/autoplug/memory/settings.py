"""The ``[memory]`` settings, checked: a wrong value names the key and the config file."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import ConfigError

OFF = ("none", "off")
"""``[memory] backend`` values that turn long-term memory off."""


@dataclass(frozen=True)
class MemorySettings:
    """``[memory]`` merged over its defaults, every value checked.

    ``half_life_days`` is the recency half-life of the scoring (default 30).
    ``min_similarity`` is the cosine floor of recall, or None for the embedder's own.
    """

    backend: str
    embedder: str | None
    top_k: int
    max_prompt_tokens: int
    capacity: int
    max_age_days: float
    half_life_days: float
    min_similarity: float | None = None

    @property
    def enabled(self) -> bool:
        """False when ``backend`` is ``"none"`` or ``"off"``."""
        return self.backend.lower() not in OFF

    @classmethod
    def from_config(cls, config: Any) -> MemorySettings:
        """Read ``config.memory``; raise :class:`ConfigError` naming a bad key and the file.

        Every run reads them (twice): the last valid values' settings are kept and
        given again while ``[memory]`` holds the same values of the same types (a
        config's tables can be changed in place, so they are compared each time).
        """
        values = config.memory
        key = [(name, type(value), value) for name, value in values.items()]
        last = _LAST
        if last and last[0] == key:
            return last[1]
        settings = cls._checked(config, values)
        _LAST[:] = (key, settings)
        return settings

    @classmethod
    def _checked(cls, config: Any, values: dict[str, Any]) -> MemorySettings:
        where = f"in config file {config.path}"

        def number(key: str, default: float, *, integer: bool, minimum: float) -> Any:
            value = values.get(key, default)
            ok_type = isinstance(value, int) if integer else isinstance(value, int | float)
            if isinstance(value, bool) or not ok_type or value < minimum:
                kind = "an integer" if integer else "a number"
                raise ConfigError(
                    f"[memory] {key} must be {kind} >= {minimum:g}, got {value!r} ({where})"
                )
            return value

        backend = values.get("backend", "lancedb")
        if not isinstance(backend, str) or not backend:
            raise ConfigError(f"[memory] backend must be a non-empty string ({where})")
        embedder = values.get("embedder")
        if embedder is not None and (not isinstance(embedder, str) or not embedder):
            raise ConfigError(f"[memory] embedder must be a non-empty string ({where})")
        floor = values.get("min_similarity")
        if floor is not None and (
            isinstance(floor, bool)
            or not isinstance(floor, int | float)
            or not 0.0 <= floor <= 1.0  # also refuses nan
        ):
            raise ConfigError(
                f"[memory] min_similarity must be a number from 0 to 1 (a cosine similarity), "
                f"got {floor!r} ({where})"
            )
        return cls(
            backend=backend,
            embedder=embedder,
            top_k=number("top_k", 5, integer=True, minimum=1),
            max_prompt_tokens=number("max_prompt_tokens", 800, integer=True, minimum=0),
            capacity=number("capacity", 10000, integer=True, minimum=1),
            max_age_days=number("max_age_days", 365, integer=False, minimum=0),
            half_life_days=number("half_life_days", 30.0, integer=False, minimum=0.001),
            min_similarity=float(floor) if floor is not None else None,
        )


#: The last valid ``[memory]`` values (name, type, value) and their settings.
_LAST: list[Any] = []
