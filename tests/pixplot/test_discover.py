from __future__ import annotations

import pytest

from pixplot.discover import find_images, read_metadata
from pixplot.errors import UserError


def _touch(p, data=b"x"):
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(data)


def test_folder_is_searched_recursively_sorted_with_unicode_and_duplicate_basenames(tmp_path):
    for rel in ["b/cat.jpg", "a/cat.jpg", "ünïcødé/日本.png", ".hidden/x.jpg", "a/.DS_Store", "top.jpg"]:
        _touch(tmp_path / rel)
    root, files = find_images(str(tmp_path))
    assert root == tmp_path.resolve()
    assert [f.rel for f in files] == ["a/cat.jpg", "b/cat.jpg", "top.jpg", "ünïcødé/日本.png"]


def test_glob_keeps_paths_relative_to_its_fixed_part(tmp_path):
    for rel in ["x/1.jpg", "x/y/2.jpg", "x/3.png"]:
        _touch(tmp_path / rel)
    root, files = find_images(str(tmp_path / "x" / "**" / "*.jpg"))
    assert root == (tmp_path / "x").resolve()
    assert [f.rel for f in files] == ["1.jpg", "y/2.jpg"]


def test_max_images_with_shuffle_is_seeded(tmp_path):
    for i in range(20):
        _touch(tmp_path / f"{i:02d}.jpg")
    _, a = find_images(str(tmp_path), max_images=5, shuffle=True, seed=1)
    _, b = find_images(str(tmp_path), max_images=5, shuffle=True, seed=1)
    _, c = find_images(str(tmp_path), max_images=5, shuffle=True, seed=2)
    _, first = find_images(str(tmp_path), max_images=5)
    assert a == b and a != c and len(a) == 5
    assert [f.rel for f in first] == [f"{i:02d}.jpg" for i in range(5)]


def test_missing_input_is_a_one_line_user_error(tmp_path):
    with pytest.raises(UserError, match="no such folder"):
        find_images(str(tmp_path / "nope"))
    with pytest.raises(UserError, match="no files"):
        find_images(str(tmp_path / "*.jpg"))


def test_metadata_matches_by_path_or_unique_basename(tmp_path):
    csv = tmp_path / "meta.csv"
    csv.write_text(
        "filename,category,tags,description,lat\n"
        "a/cat.jpg,cats,fluffy|orange,first cat,51.5\n"
        "dog.jpg,dogs,,a dog,\n"
        "cat.jpg,ambiguous,,,\n"
        "missing.jpg,none,,,\n",
        encoding="utf-8",
    )
    meta, fields, unmatched = read_metadata(str(csv), ["a/cat.jpg", "b/cat.jpg", "pets/dog.jpg"])
    assert meta["a/cat.jpg"] == {"category": "cats", "tags": ["fluffy", "orange"],
                                 "description": "first cat", "lat": 51.5}
    assert meta["pets/dog.jpg"]["category"] == "dogs"
    assert "b/cat.jpg" not in meta  # 'cat.jpg' is ambiguous: not guessed
    assert unmatched == 2
    assert fields[:3] == ["category", "tags", "description"]


def test_metadata_without_filename_column_is_refused(tmp_path):
    csv = tmp_path / "m.csv"
    csv.write_text("name,category\nx.jpg,a\n")
    with pytest.raises(UserError, match="filename"):
        read_metadata(str(csv), ["x.jpg"])
