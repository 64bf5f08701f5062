"""Running one function in several threads that switch often (the thread-safety tests)."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable


def in_busy_threads(target: Callable[[int], None], count: int) -> None:
    """``target(n)`` for n in ``range(count)``, each in its own thread, all joined.

    The interpreter switches threads every microsecond meanwhile, as a busy process
    does sometimes, so that races between them show.
    """
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        threads = [threading.Thread(target=target, args=(n,)) for n in range(count)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(interval)
