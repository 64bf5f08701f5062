"""When the dynamic agent lets the event loop run between its turns.

A turn whose model and tools answer without waiting (the scripted model, a
replayed cassette, instant tools) never gives the event loop a chance to run
anything else. After each such turn the agent lets the loop run when that
matters, and only then (a pass through the loop is a ``select`` call and a
loop iteration: about a tenth of an instant turn's cost):

- something else is ready to run: a stream consumer woken by the turn's events,
  the run's trace lines waiting for the end of the loop's turn, a callback another
  thread scheduled (Ctrl-C's is one);
- the run's own task has been asked to stop (``task.cancel()`` from inside the
  turn, by an observer or an approval callback);
- :data:`TURN_SLICE` seconds have gone by since the agent last let the loop run,
  so timers fall due (``asyncio.timeout`` around a run), sockets are read and
  other runs in the same loop go on, however long a run of instant turns lasts.

A loop of another implementation than asyncio's own (uvloop's) says nothing of
what is ready: the agent lets it run after every turn.
"""

from __future__ import annotations

import asyncio
from time import monotonic

#: The longest a run's instant turns keep the event loop to themselves, in seconds.
TURN_SLICE = 0.002


class LoopTurns:
    """One run's record of when it last let the event loop run (see the module)."""

    __slots__ = ("since",)

    def __init__(self) -> None:
        self.since = monotonic()

    def due(self) -> bool:
        """Whether the agent should let the loop run before its next turn."""
        # asyncio's loops keep the callbacks ready to run in ``_ready`` (no public
        # accessor says whether any is waiting); another implementation has none.
        ready = getattr(asyncio.get_running_loop(), "_ready", None)
        if ready is None or ready:
            return True
        task = asyncio.current_task()
        if task is not None and task.cancelling():
            return True
        return monotonic() - self.since >= TURN_SLICE

    async def let_run(self) -> None:
        """Let the loop run everything that is ready, then go on."""
        await asyncio.sleep(0)
        self.since = monotonic()
