"""The entry-point reader behind plugin discovery: the same answer as importlib.metadata, faster."""

from __future__ import annotations

import sys
import zipfile
from importlib.metadata import entry_points as metadata_entry_points
from pathlib import Path

import pytest

from autoplug.entrypoints import entry_points
from autoplug.plugins import entry_points as plugin_entry_points


def shape(eps) -> list[tuple[str, str, str | None, str | None]]:
    return sorted((e.name, e.value, e.dist.name, e.dist.version) for e in eps)


@pytest.mark.parametrize("group", ["autoplug", "console_scripts", "pytest11"])
def test_the_reader_finds_what_importlib_metadata_finds(group):
    found = entry_points(group)
    assert found is not None
    assert shape(found) == shape(metadata_entry_points(group=group))


def dist_info(site: Path, name: str, version: str, entry_points_txt: str) -> None:
    info = site / f"{name.replace('-', '_')}-{version}.dist-info"  # as wheels name it
    info.mkdir(parents=True)
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n\nName: not a header\n"
    )
    (info / "entry_points.txt").write_text(entry_points_txt)


def test_a_dist_info_on_the_path_is_read_and_the_first_of_a_name_wins(tmp_path, monkeypatch):
    first, second = tmp_path / "first", tmp_path / "second"
    text = (
        "# a comment\n[console_scripts]\nnot-ours = x:y\n\n"
        "[autoplug]\nepgood = epgood_mod:Plugin.inner [extra]\n# another comment\n"
    )
    dist_info(first, "Ep_Good", "1.2", text)
    dist_info(second, "ep-good", "9.9", "[autoplug]\nshadowed = nowhere\n")
    (first / "epgood_mod.py").write_text("class Plugin:\n    class inner:\n        seen = 42\n")
    monkeypatch.setattr(sys, "path", [str(first), str(second), *sys.path])
    mine = [e for e in entry_points("autoplug") if e.dist.name == "Ep_Good"]
    assert [(e.name, e.module, e.attr, e.dist.version) for e in mine] == [
        ("epgood", "epgood_mod", "Plugin.inner", "1.2")
    ]
    assert mine[0].load().seen == 42
    assert "shadowed" not in {e.name for e in entry_points("autoplug")}
    assert shape(entry_points("autoplug")) == shape(metadata_entry_points(group="autoplug"))


def test_a_zip_on_the_path_is_left_to_importlib_metadata(tmp_path, monkeypatch):
    archive = tmp_path / "plugins.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("zipped_plugin.py", "")
        zf.writestr("zipped_plugin-0.3.dist-info/METADATA", "Name: zipped-plugin\nVersion: 0.3\n")
        zf.writestr(
            "zipped_plugin-0.3.dist-info/entry_points.txt", "[autoplug]\nzipped = zipped_plugin\n"
        )
    monkeypatch.setattr(sys, "path", [str(archive), *sys.path])
    assert entry_points("autoplug") is None  # not read here: the zip is importlib's to read
    assert "zipped" in {e.name for e in plugin_entry_points()}


def test_an_entry_point_is_an_immutable_value():
    from autoplug.entrypoints import Distribution, EntryPoint

    one = EntryPoint("a", "mod:obj", "autoplug", Distribution("dist", "1.0"))
    same = EntryPoint("a", "mod:obj", "autoplug", Distribution("dist", "1.0"))
    assert one == same and hash(one) == hash(same) and len({one, same}) == 1
    assert one != EntryPoint("a", "mod:other", "autoplug", Distribution("dist", "1.0"))
    assert one != ("a", "mod:obj", "autoplug")
    assert repr(one) == (
        "EntryPoint(name='a', value='mod:obj', group='autoplug', "
        "dist=Distribution(name='dist', version='1.0'))"
    )
    with pytest.raises(AttributeError, match="immutable"):
        one.name = "b"  # type: ignore[misc]
    with pytest.raises(AttributeError, match="immutable"):
        del one.dist.version


@pytest.mark.parametrize("name", ["old_plugin-1.0.egg-info", "old_plugin-1.0-py3.11.egg"])
def test_an_egg_on_the_path_is_left_to_importlib_metadata(tmp_path, monkeypatch, name):
    (tmp_path / name).mkdir()
    (tmp_path / "not_an_egg.eggs").mkdir()  # only the whole suffix counts
    monkeypatch.setattr(sys, "path", [str(tmp_path), *sys.path])
    assert entry_points("autoplug") is None
    (tmp_path / name).rmdir()
    assert entry_points("autoplug") is not None


def test_a_group_named_only_inside_another_section_is_not_read_as_one(tmp_path, monkeypatch):
    dist_info(tmp_path, "other-dist", "2.0", "[console_scripts]\nautoplug-ish = x:autoplug\n")
    monkeypatch.setattr(sys, "path", [str(tmp_path), *sys.path])
    assert "autoplug-ish" not in {e.name for e in entry_points("autoplug")}
    assert "autoplug-ish" in {e.name for e in entry_points("console_scripts")}
