"""``autoplug new-plugin NAME [-o PARENT]``: a new plugin project from the bundled template.

The template (a cookiecutter template) ships inside the wheel as
``autoplug/plugin_template``; in a source checkout it is the repository's
``plugin_template/``. cookiecutter is imported only when the command runs.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path
from typing import Any

import click

from ..errors import UsageError
from ..plugins import BUILTIN_NAMES

_NOT_SLUG = re.compile(r"[^a-z0-9]+")


def add_commands(cli: click.Group) -> None:
    """Add this module's commands to ``cli``."""
    cli.add_command(new_plugin_command)


# Latin letters NFKD does not decompose into an ASCII letter and marks.
_ASCII_SPELLING = str.maketrans(
    {"ß": "ss", "æ": "ae", "Æ": "AE", "œ": "oe", "Œ": "OE", "ø": "o", "Ø": "O",
     "đ": "d", "Đ": "D", "ł": "l", "Ł": "L", "þ": "th", "Þ": "TH", "ı": "i"}
)  # fmt: skip


def slugify(name: str) -> str:
    """The plugin name for ``name``: ASCII, lower-cased, each run of other characters one ``_``.

    Letters are transliterated (``"Météo Tools"`` gives ``"meteo_tools"``, by
    Unicode's compatibility decomposition with the marks dropped); no ``_`` at
    either end, and a leading ``autoplug`` is dropped (``"autoplug-weather"``
    gives ``"weather"``: the module is ``autoplug_`` + the slug already).
    """
    decomposed = unicodedata.normalize("NFKD", name.translate(_ASCII_SPELLING))
    ascii_name = decomposed.encode("ascii", "ignore").decode("ascii")
    slug = _NOT_SLUG.sub("_", ascii_name.lower()).strip("_")
    if slug == "autoplug" or slug.startswith("autoplug_"):
        slug = slug.removeprefix("autoplug").strip("_")
    return slug


def distribution_name(slug: str) -> str:
    """The distribution (and project folder) of a plugin: ``autoplug-`` + slug, ``_`` as ``-``."""
    return "autoplug-" + slug.replace("_", "-")


def check_slug(name: str) -> str:
    """The slug of ``name``; UsageError when it is not a valid Python identifier."""
    slug = slugify(name)
    if not slug:
        raise UsageError(
            f"plugin name {name!r} has no letters or digits that ASCII can spell "
            "(besides a leading 'autoplug'); give a name such as 'weather' or 'my-tools'"
        )
    if not slug.isidentifier():
        raise UsageError(
            f"plugin name {name!r} becomes {slug!r}, which is not a valid Python identifier "
            "(it must start with a letter); give a name such as 'weather' or 'my-tools'"
        )
    if f"autoplug_{slug}" in BUILTIN_NAMES:
        # A kernel names a plugin module by its __name__, so this module would clash
        # with the builtin plugin of that name whenever both are loaded in a test.
        raise UsageError(
            f"plugin name {name!r} gives the module 'autoplug_{slug}', the name of a builtin "
            f"plugin; choose another name, such as '{slug}_extra' or 'my_{slug}'"
        )
    return slug


def template_dir() -> Path:
    """The plugin template: inside the installed package, else in the source checkout."""
    import autoplug

    package = Path(autoplug.__file__).resolve().parent
    for candidate in (package / "plugin_template", package.parent.parent / "plugin_template"):
        if (candidate / "cookiecutter.json").is_file():
            return candidate
    raise UsageError(
        f"the plugin template is missing from this autoplug install "
        f"(looked in {package / 'plugin_template'} and {package.parent.parent / 'plugin_template'})"
    )


def plugin_context(name: str, description: str | None, author: str | None) -> dict[str, Any]:
    """The cookiecutter variables for a plugin called ``name``."""
    slug = check_slug(name)
    context: dict[str, Any] = {
        "plugin_name": name.strip(),
        "slug": slug,
        "distribution": distribution_name(slug),
        "module": f"autoplug_{slug}",
    }
    if description:
        context["description"] = description
    if author:
        context["author"] = author
    return context


def render_plugin(
    name: str, parent: Path, *, description: str | None = None, author: str | None = None
) -> Path:
    """Render the template for ``name`` into ``parent/DISTRIBUTION`` and return that folder.

    No prompts. Raises UsageError for a name that is not an identifier once
    slugged and for a target folder that already exists.
    """
    context = plugin_context(name, description, author)
    target = parent / context["distribution"]
    if target.exists():
        raise UsageError(f"{target} already exists; remove it or choose another name or -o PARENT")
    if parent.exists() and not parent.is_dir():
        raise UsageError(f"-o {parent}: not a folder")
    # The lower-level API, not cookiecutter.main.cookiecutter(): it neither reads
    # ~/.cookiecutterrc nor writes a replay file into the user's home.
    from cookiecutter.generate import generate_context, generate_files
    from cookiecutter.prompt import prompt_for_config

    source = template_dir()
    full = generate_context(context_file=str(source / "cookiecutter.json"), extra_context=context)
    full["cookiecutter"] = prompt_for_config(full, no_input=True)
    parent.mkdir(parents=True, exist_ok=True)
    generate_files(repo_dir=str(source), context=full, output_dir=str(parent), accept_hooks=False)
    return target


@click.command("new-plugin")
@click.argument("name")
@click.option(
    "-o",
    "--output",
    "parent",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="The folder to create the project in.",
)
@click.option("--description", default=None, help="One line saying what the plugin does.")
@click.option("--author", default=None, help="The author's name for pyproject.toml.")
def new_plugin_command(
    name: str, parent: Path, description: str | None, author: str | None
) -> None:
    """Create a plugin project in PARENT/autoplug-DIST, ready to install and test.

    SLUG is NAME in ASCII, lower-cased, with each run of other characters
    replaced by `_` (a leading "autoplug" dropped); DIST is SLUG with `-` for
    `_`. The project has the module autoplug_SLUG, the entry point SLUG, an
    example tool with its tests, a README and a CI workflow.
    """
    target = render_plugin(name, parent, description=description, author=author)
    slug = slugify(name)
    click.echo(f"created {target}", err=True)
    click.echo(
        "next:\n"
        f"  cd {target}\n"
        "  pip install -e '.[test]'     # where autoplug is installed (see README.md)\n"
        "  python -m pytest\n"
        f"  autoplug plugins            # lists {slug!r} as loaded\n"
        '  autoplug tools call word_stats \'{"text": "hello hello world"}\'',
        err=True,
    )
    click.echo(str(target))
