from __future__ import annotations

import csv
import glob
import os
import socket

import pytest

from pixplot.discover import MAX_CELL_CHARS, discover, find_images, load_metadata, read_metadata
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


# ---------------------------------------------------------------- links, loops and special files


def _tree_with_links(tmp_path):
    """images/ holding links out of the tree, into it, in loops and to nothing; outside/ the targets."""
    images, outside = tmp_path / "images", tmp_path / "outside"
    _touch(images / "a.jpg", b"a")
    _touch(images / "sub" / "d.jpg", b"d")
    _touch(outside / "b.jpg", b"b")
    _touch(outside / "library" / "c.jpg", b"c")
    os.symlink(outside / "b.jpg", images / "link_b.jpg")  # a file outside
    os.symlink(outside / "library", images / "library")  # a folder outside
    os.symlink("a.jpg", images / "alias.jpg")  # a file inside
    os.symlink("sub", images / "subalias")  # a folder inside
    os.symlink("..", images / "sub" / "up")  # a folder loop
    os.symlink("loop2", images / "loop1")  # a link loop
    os.symlink("loop1", images / "loop2")
    os.symlink("nothere.jpg", images / "dangling.jpg")
    return images, outside


def test_links_out_of_the_tree_are_followed_and_keep_their_own_names(tmp_path):
    images, outside = _tree_with_links(tmp_path)
    found = discover(str(images))
    want = {"a.jpg": images / "a.jpg", "link_b.jpg": outside / "b.jpg",
            "library/c.jpg": outside / "library" / "c.jpg", "sub/d.jpg": images / "sub" / "d.jpg"}
    assert [f.rel for f in found.files] == sorted(want)
    for f in found.files:
        assert f.path.is_absolute() and os.path.samefile(f.path, want[f.rel])


def test_link_loops_and_dangling_links_are_named_not_fatal(tmp_path):
    images, _ = _tree_with_links(tmp_path)
    skipped = dict(discover(str(images)).skipped)
    assert skipped["loop1"] == skipped["loop2"] == "symlink loop"
    assert skipped["sub/up"].startswith("symlink loop")
    assert skipped["dangling.jpg"] == "dangling symlink (its target nothere.jpg does not exist)"


def test_links_inside_the_tree_are_reported_as_duplicates_of_their_target(tmp_path):
    images, _ = _tree_with_links(tmp_path)
    found = discover(str(images))
    skipped = dict(found.skipped)
    assert skipped["alias.jpg"] == "duplicate of a.jpg (a symlink to the same file)"
    assert skipped["subalias"] == "duplicate of sub/ (a symlink to that folder)"
    assert found.aliases == {"alias.jpg": "a.jpg"}
    # Every non-hidden name in the tree is either a file or a named skip.
    names = {f.rel for f in found.files} | set(skipped)
    assert names == {"a.jpg", "alias.jpg", "dangling.jpg", "library/c.jpg", "link_b.jpg", "loop1", "loop2",
                     "sub/d.jpg", "sub/up", "subalias"}


def test_hard_links_are_one_item_found_without_reading(tmp_path):
    _touch(tmp_path / "a.jpg")
    os.link(tmp_path / "a.jpg", tmp_path / "b.jpg")
    found = discover(str(tmp_path))
    assert [f.rel for f in found.files] == ["a.jpg"]
    assert found.skipped == [("b.jpg", "duplicate of a.jpg (a hard link to the same file)")]


def test_two_links_to_one_outside_file_are_one_item(tmp_path):
    images = tmp_path / "images"
    _touch(tmp_path / "lib" / "x.jpg")
    images.mkdir()
    os.symlink(tmp_path / "lib" / "x.jpg", images / "one.jpg")
    os.symlink(tmp_path / "lib" / "x.jpg", images / "two.jpg")
    found = discover(str(images))
    assert [f.rel for f in found.files] == ["one.jpg"]
    assert found.skipped == [("two.jpg", "duplicate of one.jpg (a symlink to the same file)")]


def test_a_link_to_a_folder_holding_the_images_is_a_loop(tmp_path):
    images = tmp_path / "images"
    _touch(images / "a.jpg")
    os.symlink(tmp_path, images / "parent")
    found = discover(str(images))
    assert [f.rel for f in found.files] == ["a.jpg"]
    assert dict(found.skipped)["parent"].startswith("symlink loop")


def test_pipes_and_sockets_are_skipped_without_being_opened(tmp_path):
    images = tmp_path / "images"
    _touch(images / "a.jpg")
    os.mkfifo(images / "pipe.jpg")  # opening it to read would block forever
    os.mkfifo(tmp_path / "outside_pipe")
    os.symlink(tmp_path / "outside_pipe", images / "linked_pipe.jpg")
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(images / "sock.jpg"))
    try:
        found = discover(str(images))
    finally:
        sock.close()
    assert [f.rel for f in found.files] == ["a.jpg"]
    assert dict(found.skipped) == {"linked_pipe.jpg": "not a regular file (named pipe)",
                                   "pipe.jpg": "not a regular file (named pipe)",
                                   "sock.jpg": "not a regular file (socket)"}
    with pytest.raises(UserError, match="named pipe"):
        discover(str(images / "pipe.jpg"))


def test_glob_matches_like_glob_glob(tmp_path):
    for rel in ["x/1.jpg", "x/y/2.jpg", "x/3.png", "x/[a].jpg", "x/y/z/4.jpg", "5.png", "x/.h/6.jpg"]:
        _touch(tmp_path / rel)
    for pattern in ["x/**/*.jpg", "x/*.jpg", "x/?/*.jpg", "x/**", "**/*.png", "x/[!y]*", "x/[[]a].jpg"]:
        root = tmp_path / "x" if pattern.startswith("x/") else tmp_path  # names are relative to the fixed part
        want = sorted(os.path.relpath(p, root) for p in glob.glob(str(tmp_path / pattern), recursive=True)
                      if os.path.isfile(p))
        assert [f.rel for f in discover(str(tmp_path / pattern)).files] == want, pattern


def test_glob_follows_links_and_names_loops_without_hanging(tmp_path):
    images, _ = _tree_with_links(tmp_path)  # glob.glob itself would walk sub/up/sub/up/... here
    found = discover(str(images / "**" / "*.jpg"))
    assert [f.rel for f in found.files] == ["a.jpg", "library/c.jpg", "link_b.jpg", "sub/d.jpg"]
    skipped = dict(found.skipped)
    assert skipped["dangling.jpg"].startswith("dangling symlink") and skipped["sub/up"].startswith("symlink loop")


def test_a_single_file_given_through_a_link_keeps_the_link_name(tmp_path):
    _touch(tmp_path / "real.jpg")
    os.symlink(tmp_path / "real.jpg", tmp_path / "named.jpg")
    found = discover(str(tmp_path / "named.jpg"))
    assert [f.rel for f in found.files] == ["named.jpg"]
    assert os.path.samefile(found.files[0].path, tmp_path / "real.jpg")


# ---------------------------------------------------------------- hostile metadata


def test_a_megabyte_cell_is_cut_with_a_warning_not_fatal(tmp_path, capsys):
    csv_path = tmp_path / "meta.csv"
    huge = "x" * 1_000_000
    csv_path.write_text(f"filename,category,description\na.jpg,cats,{huge}\nb.jpg,dogs,short\n", encoding="utf-8")
    m = load_metadata(str(csv_path), ["a.jpg", "b.jpg"])
    assert m.by_rel["a.jpg"]["description"] == "x" * MAX_CELL_CHARS + "…"
    assert m.by_rel["b.jpg"] == {"category": "dogs", "description": "short"}
    assert m.truncated == 1
    err = capsys.readouterr().err
    assert "meta.csv" in err and "line 2" in err and "'description'" in err
    assert csv.field_size_limit() == 131072  # the module's limit is put back


def test_rows_for_a_skipped_duplicate_follow_the_kept_copy(tmp_path):
    csv_path = tmp_path / "meta.csv"
    csv_path.write_text("filename,category\n"
                        "dups/copy.jpg,from-the-copy\n"  # the only row for kept.jpg's content
                        "alias.jpg,from-a-link\n"  # kept2.jpg has its own row: that one stands
                        "kept2.jpg,own\n"
                        "gone.jpg,nobody\n", encoding="utf-8")
    m = load_metadata(str(csv_path), ["kept.jpg", "kept2.jpg"],
                      aliases={"dups/copy.jpg": "kept.jpg", "alias.jpg": "kept2.jpg"})
    assert m.by_rel == {"kept.jpg": {"category": "from-the-copy"}, "kept2.jpg": {"category": "own"}}
    assert m.followed == [("dups/copy.jpg", "kept.jpg"), ("alias.jpg", "kept2.jpg")]
    assert m.unmatched == ["gone.jpg"]


def test_a_basename_shared_by_a_file_and_its_link_still_matches(tmp_path):
    csv_path = tmp_path / "meta.csv"
    csv_path.write_text("filename,category\ncat.jpg,cats\n", encoding="utf-8")
    m = load_metadata(str(csv_path), ["photos/cat.jpg"], aliases={"links/cat.jpg": "photos/cat.jpg"})
    assert m.by_rel == {"photos/cat.jpg": {"category": "cats"}} and m.followed == []
