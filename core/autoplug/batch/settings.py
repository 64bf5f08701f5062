"""What every task of a batch shares: plain picklable values, since it crosses processes."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class BatchSettings:
    """The batch-wide options of ``autoplug batch`` / ``kernel.batch``.

    A line's own ``model`` and ``auto`` win over these.

    :param home: the ``AUTOPLUG_HOME`` the runs are made in (a worker loads its kernel there).
    :param model: the model id for lines that name none (None: the home's default model).
    :param auto: the Auto for lines that name none (None: ``runner``).
    :param workspace: the folder file tools work in (None: the current directory).
    :param memory: False: the runs neither recall nor store long-term memories.
    :param approve: True approves every side-effect tool (``--yes``); False refuses them.
    """

    home: str
    model: str | None = None
    auto: str | None = None
    workspace: str | None = None
    memory: bool = True
    approve: bool = False
