"""A memory backend's failures as one clear error naming the store, not a library's traceback.

A damaged LanceDB folder (a truncated manifest, a missing data file) makes the
library raise its own errors from deep inside; every ``memory`` command and
every run's recall would print them as a traceback. :class:`GuardedBackend`
wraps the backend a kernel opens and turns any exception of its methods into a
:class:`MemoryStoreError` naming where the store is and what went wrong.
"""

from __future__ import annotations

import functools
from typing import Any

from ..errors import AutoplugError, describe_error

DETAIL_CHARS = 300
"""How much of the library's own message is kept (the start: it says what failed)."""


class MemoryStoreError(AutoplugError):
    """Raised when the memory backend cannot read or write its store; names the store."""


def location(backend: Any) -> str:
    """Where ``backend`` keeps its memories: its ``location``, else its ``folder``, else its name."""
    for attr in ("location", "folder"):
        value = getattr(backend, attr, None)
        if value:
            return str(value)
    return f"the {getattr(backend, 'name', type(backend).__name__)} backend"


class GuardedBackend:
    """``backend`` with every method's exception turned into a :class:`MemoryStoreError`.

    Attributes are passed through; errors autoplug raises on purpose
    (:class:`AutoplugError`) and interrupts pass unchanged.
    """

    def __init__(self, backend: Any) -> None:
        self._backend = backend

    @property
    def wrapped(self) -> Any:
        """The backend itself."""
        return self._backend

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._backend, name)
        if not callable(value) or name.startswith("_"):
            return value

        @functools.wraps(value)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            try:
                return value(*args, **kwargs)
            except AutoplugError:
                raise
            except Exception as exc:
                detail = describe_error(exc)
                if len(detail) > DETAIL_CHARS:
                    detail = detail[: DETAIL_CHARS - 1] + "…"
                raise MemoryStoreError(
                    f"the memory store in {location(self._backend)} cannot be used "
                    f"({getattr(self._backend, 'name', '?')} {name}): {detail}; it may be damaged: "
                    "move the folder away to start a new, empty store"
                ) from exc

        return guarded
