"""Build real throwaway plugin distributions and pip-install them (no network).

Each package is a directory with a hatchling pyproject.toml declaring an
``autoplug`` entry point; they are installed with ``pip install --no-deps
--no-build-isolation --target DIR`` so that a subprocess with ``PYTHONPATH=DIR``
discovers them through importlib.metadata exactly as an installed plugin.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

PYPROJECT = """\
[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"

[project]
name = "{dist}"
version = "{version}"
description = "a throwaway autoplug test plugin"

[project.entry-points.autoplug]
{entry} = "{module}"

[tool.hatch.build.targets.wheel]
packages = ["{module}"]
"""


def make_package(
    root: Path, dist: str, entry: str, module: str, code: str, version: str = "1.0.0"
) -> Path:
    """Write one plugin project under ``root`` and return its folder."""
    folder = root / dist
    (folder / module).mkdir(parents=True)
    (folder / "pyproject.toml").write_text(
        PYPROJECT.format(dist=dist, version=version, entry=entry, module=module)
    )
    (folder / module / "__init__.py").write_text(textwrap.dedent(code))
    return folder


def pip_install_target(projects: list[Path], target: Path) -> None:
    """Install ``projects`` into ``target`` with pip, offline."""
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "--target",
            str(target),
            *map(str, projects),
        ],
        check=True,
    )


def install_site(tmp_path_factory, *packages: tuple[str, str, str, str]) -> Path:
    """pip-install throwaway plugins, each ``(dist, entry, module, code)``, into a new site folder."""
    root = tmp_path_factory.mktemp("plugins_src")
    projects = [make_package(root, *package) for package in packages]
    target = tmp_path_factory.mktemp("plugins_site")
    pip_install_target(projects, target)
    return target


def dist_info_plugin(site: Path, module: str, code: str) -> Path:
    """A plugin module and its ``.dist-info`` in ``site``: a real entry point, no pip."""
    site.mkdir(parents=True, exist_ok=True)
    (site / f"{module}.py").write_text(code)
    info = site / f"{module}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {module}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[autoplug]\n{module} = {module}\n")
    return site
