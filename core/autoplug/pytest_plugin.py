"""The autoplug pytest plugin: fixtures for testing autoplug plugins.

pytest loads it in every session of an environment where autoplug is installed
(through the ``pytest11`` entry point), so this module imports only pytest and
the standard library at load time; autoplug itself is imported when a fixture
is first used.

Fixtures:

``autoplug_home``
    A fresh temporary folder, set as ``AUTOPLUG_HOME`` for the test.
``autoplug_plugins``
    The plugins under test, as a list (empty by default). Override it in your
    ``conftest.py`` to give ``autoplug_kernel()`` its default plugins.
``autoplug_kernel``
    A factory: ``autoplug_kernel(*plugins, builtins=False)`` builds an isolated
    :class:`autoplug.Kernel` with only those plugins (or, with none given, the
    ``autoplug_plugins`` fixture's), living in ``autoplug_home``.
``scripted_model``
    A factory: ``scripted_model(replies)`` builds an :class:`autoplug.ScriptedModel`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture
def autoplug_home(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """A fresh temporary ``AUTOPLUG_HOME`` (set in the environment for this test)."""
    home = tmp_path_factory.mktemp("autoplug_home")
    monkeypatch.setenv("AUTOPLUG_HOME", str(home))
    return home


@pytest.fixture
def autoplug_plugins() -> list[Any]:
    """The plugins ``autoplug_kernel()`` loads when called with none; override in conftest.py."""
    return []


@pytest.fixture
def autoplug_kernel(autoplug_home: Path, autoplug_plugins: list[Any]) -> Callable[..., Any]:
    """A factory of isolated kernels: ``autoplug_kernel(*plugins, builtins=False) -> Kernel``.

    Each kernel holds only the plugins given (modules or objects with hookimpls)
    or, when none are given, those of the ``autoplug_plugins`` fixture, plus the
    builtins asked for (True for all, or a list of names such as
    ``["autoplug_autos"]``). Its home is ``autoplug_home``.
    """

    def make(*plugins: Any, builtins: bool | list[str] = False) -> Any:
        from autoplug.testing import isolated_kernel

        chosen = list(plugins) or list(autoplug_plugins)
        if not chosen and not builtins:
            raise TypeError(
                "autoplug_kernel() got no plugins: pass them, as in autoplug_kernel(my_plugin), "
                "or override the autoplug_plugins fixture in conftest.py"
            )
        return isolated_kernel(*chosen, builtins=builtins, home=autoplug_home)

    return make


@pytest.fixture
def scripted_model() -> Callable[..., Any]:
    """A factory: ``scripted_model(replies, model_id="scripted:test") -> ScriptedModel``.

    ``replies`` is a list (taken in order) or a function of the request; build
    function-call replies with :func:`autoplug.testing.call`.
    """

    def make(replies: Sequence[Any] | Callable[[Any], Any], model_id: str = "scripted:test") -> Any:
        from autoplug.scripted import ScriptedModel

        return ScriptedModel(replies, model_id=model_id)

    return make
