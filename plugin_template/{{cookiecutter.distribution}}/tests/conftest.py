"""Test setup: the autoplug pytest plugin's fixtures, pointed at this plugin.

autoplug installs a pytest plugin that gives every test these fixtures:
``autoplug_home`` (a temporary AUTOPLUG_HOME), ``autoplug_kernel`` (a factory of
isolated kernels) and ``scripted_model`` (a factory of scripted models). Overriding
``autoplug_plugins`` here makes ``autoplug_kernel()`` load this plugin, and only it.
"""

from __future__ import annotations

from typing import Any

import pytest

import {{ cookiecutter.module }}


@pytest.fixture
def autoplug_plugins() -> list[Any]:
    """The plugins under test."""
    return [{{ cookiecutter.module }}]
