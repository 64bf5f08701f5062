"""Assets: types, previews, the report shape, atomic storage on disk and reloading."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autoplug import RunError
from autoplug.assets import INLINE_MAX, MANIFEST, OLD_MANIFEST, Asset, AssetStore

#: A JSON value too big to be kept inside its manifest entry: it gets a file of its own.
BIG = [1] * INLINE_MAX


def test_put_types_values_by_kind() -> None:
    store = AssetStore()
    assert store.put("t", "hello").type == "text"
    assert store.put("b", b"\x00\x01").type == "bytes"
    assert store.put("j", {"a": [1, 2]}).type == "json"
    assert store.put("n", 3).type == "json"


def test_put_sizes_count_the_stored_bytes() -> None:
    store = AssetStore()
    assert store.put("t", "héllo").size == len("héllo".encode())
    assert store.put("b", b"12345").size == 5
    assert store.put("j", {"a": 1}).size == len(json.dumps({"a": 1}).encode())


def test_value_that_is_not_json_is_stored_as_its_text() -> None:
    store = AssetStore()
    asset = store.put("obj", object())
    assert asset.type == "text"
    assert asset.value.startswith("<object object")


def test_tuples_read_back_as_lists_in_memory_as_on_disk() -> None:
    assert AssetStore().put("x", (1, 2)).value == [1, 2]


def test_put_records_step_and_tool() -> None:
    asset = AssetStore().put("x", 1, step="s1", tool="fetch")
    assert (asset.step, asset.tool) == ("s1", "fetch")


def test_preview_is_bounded_and_marks_the_cut() -> None:
    asset = AssetStore().put("long", "x" * 2000)
    assert asset.preview(100) == "x" * 100 + "…"
    assert asset.preview() == "x" * 500 + "…"
    assert AssetStore().put("short", "abc").preview() == "abc"


def test_preview_of_json_is_its_json_text() -> None:
    assert AssetStore().put("j", {"a": "é"}).preview() == '{"a": "é"}'


def test_preview_of_long_json_keeps_every_field_and_cuts_the_long_strings() -> None:
    # A search result: cut at 500 characters, its summary would hide "related".
    value = {"topic": "t", "summary": "word " * 400, "related": ["t-a", "t-b"]}
    preview = AssetStore().put("j", value).preview()
    assert len(preview) <= 500
    assert preview.startswith('{"topic": "t", "summary": "word word')
    assert preview.endswith('…", "related": ["t-a", "t-b"]}')


def test_preview_of_a_long_list_shows_its_first_items_and_counts_the_rest() -> None:
    value = [{"id": i, "text": "x" * 50} for i in range(1000)]
    preview = AssetStore().put("j", value).preview(300)
    assert len(preview) <= 300 and preview.startswith('[{"id": 0, "text": "xxx')
    assert preview.endswith(' more"]')


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=300),
    lambda children: (
        st.lists(children, max_size=30)
        | st.dictionaries(st.text(max_size=30), children, max_size=10)
    ),
    max_leaves=60,
)


@settings(max_examples=200, deadline=None)
@given(json_values.filter(lambda v: not isinstance(v, str)), st.integers(1, 600))
def test_a_json_preview_is_its_json_when_it_fits_and_never_longer_than_the_limit(value, limit):
    whole = json.dumps(value, ensure_ascii=False)
    preview = AssetStore().put("j", value).preview(limit)
    assert len(preview) <= limit + 1
    if len(whole) <= limit:
        assert preview == whole
    else:
        assert preview != whole and "…" in preview


def test_preview_of_bytes_names_the_size() -> None:
    assert AssetStore().put("b", b"1234").preview() == "<4 bytes>"


def test_to_dict_is_the_report_shape() -> None:
    data = AssetStore().put("x", [1], step="s", tool="t").to_dict()
    assert data == {
        "name": "x",
        "step": "s",
        "tool": "t",
        "type": "json",
        "size": 3,
        "preview": "[1]",
    }


def test_get_missing_names_the_asset_and_the_existing_ones() -> None:
    store = AssetStore()
    store.put("there", 1)
    with pytest.raises(KeyError, match="'missing'.*there"):
        store.get("missing")


def test_empty_name_is_refused() -> None:
    with pytest.raises(ValueError, match="non-empty"):
        AssetStore().put("", 1)


def test_names_contains_all_and_replacement() -> None:
    store = AssetStore()
    store.put("a", 1)
    store.put("b", 2)
    store.put("a", 3)
    assert store.names() == ["a", "b"]
    assert "a" in store and "c" not in store
    assert [a.value for a in store.all()] == [3, 2]


def test_folder_store_writes_a_big_value_to_its_own_file_then_the_manifest(tmp_path: Path) -> None:
    store = AssetStore(tmp_path / "assets")
    text = "text value " * (INLINE_MAX // 10)
    store.put("notes/../../evil name", text, step="s1", tool="read")
    lines = (tmp_path / "assets" / MANIFEST).read_text().splitlines()
    (entry,) = [json.loads(line) for line in lines]
    assert entry["name"] == "notes/../../evil name" and "value" not in entry
    # the file stays inside the folder whatever characters the name holds
    assert (tmp_path / "assets" / entry["file"]).read_text() == text
    assert "/" not in entry["file"]
    assert not [p for p in (tmp_path / "assets").iterdir() if p.name.endswith(".tmp")]


@pytest.mark.parametrize("value", ["small", "big " * INLINE_MAX, b"\x00"])
def test_the_folder_is_made_by_the_first_asset_stored_not_before(tmp_path: Path, value) -> None:
    folder = tmp_path / "run" / "assets"
    folder.parent.mkdir()  # the run's folder
    store = AssetStore(folder)
    assert not folder.exists()  # a run that stores no asset makes no folder
    assert AssetStore.load(folder).names() == []  # and reads back as holding none
    store.put("a", value, step="s1", tool="t")
    assert (folder / MANIFEST).is_file()
    assert AssetStore.load(folder).get("a").value == value


def test_a_small_value_is_written_inside_its_manifest_entry_and_no_file(tmp_path: Path) -> None:
    store = AssetStore(tmp_path)
    store.put("t", "line one\nline \u2028 two", step="s1", tool="read")
    store.put("j", {"a": [1, "x\ny"], "b": None}, step="s2", tool="calc")
    store.put("edge", "é" * (INLINE_MAX // 2))  # exactly INLINE_MAX bytes of UTF-8
    store.put("b", b"\x00")  # bytes always get a file
    entries = [json.loads(line) for line in (tmp_path / MANIFEST).read_bytes().split(b"\n")[:-1]]
    assert [e.get("value") for e in entries[:2]] == [
        "line one\nline \u2028 two",
        {"a": [1, "x\ny"], "b": None},
    ]
    assert entries[0]["size"] == len("line one\nline \u2028 two".encode())
    assert "file" not in entries[2] and "file" in entries[3]
    assert sorted(p.suffix for p in tmp_path.iterdir() if p.name != MANIFEST) == [".bin"]
    again = AssetStore.load(tmp_path)
    assert again.get("t") == store.get("t") and again.get("j") == store.get("j")
    assert again.get("edge").size == INLINE_MAX and again.lost == []


def test_one_byte_over_the_inline_limit_gets_a_file(tmp_path: Path) -> None:
    AssetStore(tmp_path).put("over", "x" * (INLINE_MAX + 1))
    (entry,) = [json.loads(line) for line in (tmp_path / MANIFEST).read_text().splitlines()]
    assert (tmp_path / entry["file"]).read_text() == "x" * (INLINE_MAX + 1)


@settings(max_examples=60, deadline=None)
@given(
    value=st.recursive(
        st.none()
        | st.booleans()
        | st.integers()
        | st.floats(allow_nan=False, allow_infinity=False)
        | st.text(),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
        max_leaves=20,
    )
)
def test_any_value_reads_back_the_same_inline_or_in_a_file(tmp_path_factory, value) -> None:
    folder = tmp_path_factory.mktemp("assets")
    store = AssetStore(folder)
    small = store.put("v", value)
    big = store.put("w", [value] * (INLINE_MAX // 2 + 1))
    again = AssetStore.load(folder)
    assert again.get("v") == small and again.get("w") == big


def test_a_garbled_inline_entry_names_the_manifest_and_entry(tmp_path: Path) -> None:
    (tmp_path / MANIFEST).write_text(
        json.dumps({"name": "x", "type": "text", "size": 1, "value": 5}) + "\n"
    )
    with pytest.raises(RunError, match=r"corrupt asset manifest .*manifest\.jsonl: entry 1"):
        AssetStore.load(tmp_path)


def test_load_reopens_every_asset(tmp_path: Path) -> None:
    store = AssetStore(tmp_path)
    store.put("j", {"deep": {"list": [1, 2]}}, step="s1", tool="t1")
    store.put("t", "words")
    store.put("b", b"\xff\x00")
    again = AssetStore.load(tmp_path)
    assert again.names() == ["j", "t", "b"]
    assert again.get("j") == Asset("j", {"deep": {"list": [1, 2]}}, "json", "s1", "t1", 26)
    assert again.get("t").value == "words"
    assert again.get("b").value == b"\xff\x00"


def test_replacing_with_another_type_drops_the_old_file(tmp_path: Path) -> None:
    store = AssetStore(tmp_path)
    store.put("x", {"a": BIG})
    store.put("x", "now text " * INLINE_MAX)
    files = sorted(p.name for p in tmp_path.iterdir() if p.name not in (MANIFEST, OLD_MANIFEST))
    assert len(files) == 1 and files[0].endswith(".txt")
    assert AssetStore.load(tmp_path).get("x").value == "now text " * INLINE_MAX


def test_replacing_keeps_one_file_per_asset(tmp_path: Path) -> None:
    store = AssetStore(tmp_path)
    for n in (1, 2, 3):
        store.put("x", [n] * INLINE_MAX)
    assert len([p for p in tmp_path.iterdir() if p.name not in (MANIFEST, OLD_MANIFEST)]) == 1
    assert AssetStore.load(tmp_path).get("x").value == [3] * INLINE_MAX


def test_replacing_a_file_version_with_a_small_one_drops_the_file(tmp_path: Path) -> None:
    store = AssetStore(tmp_path)
    store.put("x", BIG)
    store.put("x", [2])
    assert [p.name for p in tmp_path.iterdir()] == [MANIFEST]
    again = AssetStore.load(tmp_path)
    assert again.get("x").value == [2] and again.lost == []


def test_load_of_an_empty_folder_has_no_assets(tmp_path: Path) -> None:
    assert AssetStore.load(tmp_path / "new").names() == []


def test_load_with_corrupt_manifest_names_the_file(tmp_path: Path) -> None:
    (tmp_path / OLD_MANIFEST).write_text("{not json")
    with pytest.raises(RunError, match=r"corrupt asset manifest .*manifest\.json"):
        AssetStore.load(tmp_path)


def test_load_with_a_garbled_manifest_line_names_the_file_and_line(tmp_path: Path) -> None:
    AssetStore(tmp_path).put("x", [1])
    with open(tmp_path / MANIFEST, "a") as manifest:
        manifest.write("{not json\n")
    with pytest.raises(RunError, match=r"corrupt asset manifest .*manifest\.jsonl: line 2"):
        AssetStore.load(tmp_path)


def test_a_partial_last_manifest_line_is_ignored(tmp_path: Path) -> None:
    store = AssetStore(tmp_path)
    store.put("x", [1])
    with open(tmp_path / MANIFEST, "a") as manifest:
        manifest.write('{"name": "y", "fi')  # the writer was killed mid-line
    assert AssetStore.load(tmp_path).names() == ["x"]


def test_an_old_whole_file_manifest_is_still_read_and_appended_to(tmp_path: Path) -> None:
    (tmp_path / "a-1.json").write_text("[1]")
    (tmp_path / OLD_MANIFEST).write_text(
        json.dumps({"version": 1, "assets": [{"name": "a", "file": "a-1.json", "type": "json"}]})
    )
    store = AssetStore.load(tmp_path)
    assert store.get("a").value == [1]
    store.put("a", [2])  # a resumed old run replaces it: the appended line wins
    store.put("b", "new")
    again = AssetStore.load(tmp_path)
    assert again.names() == ["a", "b"] and again.get("a").value == [2]
    assert not (tmp_path / "a-1.json").exists()


def test_storing_an_asset_costs_one_line_however_many_the_run_holds(tmp_path: Path) -> None:
    store = AssetStore(tmp_path)
    for i in range(300):
        store.put(f"a{i}", [i])
        size = (tmp_path / MANIFEST).stat().st_size
    # The manifest grows by one entry a put; nothing rewrites what is already there.
    assert len((tmp_path / MANIFEST).read_text().splitlines()) == 300
    assert size < 300 * 120


def test_load_with_missing_asset_file_lists_it_as_lost(tmp_path: Path) -> None:
    first = AssetStore(tmp_path)
    first.put("x", BIG)
    first.put("y", "kept")
    (json_file,) = [
        p
        for p in tmp_path.iterdir()
        if p.suffix == ".json" and p.name not in (MANIFEST, OLD_MANIFEST)
    ]
    json_file.unlink()
    again = AssetStore.load(tmp_path)
    assert again.lost == ["x"]
    assert again.names() == ["y"] and again.get("y").value == "kept"


def test_load_with_a_corrupt_asset_file_names_it(tmp_path: Path) -> None:
    AssetStore(tmp_path).put("x", BIG)
    (json_file,) = [
        p
        for p in tmp_path.iterdir()
        if p.suffix == ".json" and p.name not in (MANIFEST, OLD_MANIFEST)
    ]
    json_file.write_text("{not json")
    with pytest.raises(RunError, match=r"cannot read asset 'x' from .*\.json"):
        AssetStore.load(tmp_path)


def test_load_with_corrupt_asset_json_names_it(tmp_path: Path) -> None:
    AssetStore(tmp_path).put("x", BIG)
    (json_file,) = [
        p
        for p in tmp_path.iterdir()
        if p.suffix == ".json" and p.name not in (MANIFEST, OLD_MANIFEST)
    ]
    json_file.write_text("[1,")
    with pytest.raises(RunError, match=json_file.name):
        AssetStore.load(tmp_path)


def test_manifest_entry_escaping_the_folder_is_refused(tmp_path: Path) -> None:
    (tmp_path / OLD_MANIFEST).write_text(
        json.dumps({"assets": [{"name": "x", "file": "../secret.json", "type": "json"}]})
    )
    with pytest.raises(RunError, match="entry 0"):
        AssetStore.load(tmp_path)


def test_an_appended_manifest_entry_escaping_the_folder_is_refused(tmp_path: Path) -> None:
    (tmp_path / MANIFEST).write_text(
        json.dumps({"name": "x", "file": "../secret.json", "type": "json"}) + "\n"
    )
    with pytest.raises(RunError, match=r"manifest\.jsonl: entry 1"):
        AssetStore.load(tmp_path)


# -- previews and values as stored (issue 14) -----------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        {"a": 1, "b": [1.5, "x", None, True]},
        {"long": "é" * 2000, "items": list(range(300))},
        ("a", 1),  # a tuple reads back as a list
        {1: "int key", "1": "str key"},  # both are "1" in JSON: the last one is kept
        5,
        10**100,
        True,
        -0.0,
        None,
        [],
    ],
)
def test_a_json_preview_shows_the_value_as_stored(value) -> None:
    from autoplug.agents.prompting import json_preview

    store = AssetStore()
    asset = store.put("v", value, step="s1", tool="t")
    assert asset == Asset("v", asset.value, "json", "s1", "t", asset.size)  # the same frozen value
    stored = json.dumps(value, ensure_ascii=False)
    assert asset.size == len(stored.encode()) and asset.value == json.loads(stored)
    for limit in (500, 150, 500, 20):
        assert asset.preview(limit) == json_preview(asset.value, limit)
    assert asset.to_dict(150)["preview"] == json_preview(asset.value, 150)
    assert asset.to_dict()["preview"] == asset.preview(500)
    with pytest.raises(dataclasses.FrozenInstanceError):
        asset.value = 1  # type: ignore[misc]


@pytest.mark.parametrize("store", ["memory", "folder"])
def test_an_integer_of_4301_digits_is_refused_with_a_clear_error_not_the_interpreters(
    tmp_path: Path, store: str
) -> None:
    # 10**4300 has 4,301 digits and as many bits as the largest 4,300-digit int.
    assets = AssetStore() if store == "memory" else AssetStore(tmp_path / "assets")
    assets.put("fine", 10**4300 - 1)
    assert assets.get("fine").value == 10**4300 - 1
    with pytest.raises(ValueError, match="it is an integer of more than 4300 digits"):
        assets.put("huge", -(10**4300))
    assert assets.names() == ["fine"]
