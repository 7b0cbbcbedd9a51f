from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from pixplot.bundle import open_bundle
from pixplot.cli import main as pixplot
from pixplot.errors import UserError
from pixplot.imageio import crop_box
from seeen_ext.export import export, import_file, item_jpeg, safe_name
from seeen_ext.store import open_store
from tests.seeen_ext.conftest import api_client


def _annotate(bundle_path: Path) -> tuple[Any, list[dict[str, Any]]]:
    b = open_bundle(bundle_path)
    items = b.items
    faces = [it for it in items if it["box"] is not None]
    whole = [it for it in items if it["box"] is None]
    store = open_store(b)
    store.append([
        {"id": "1", "type": "label", "items": [faces[0]["id"], whole[1]["id"]], "label": "Ann"},
        {"id": "2", "type": "label", "items": [whole[2]["id"], whole[3]["id"]], "label": "a/../b"},
        {"id": "3", "type": "exclude", "items": [whole[3]["id"]]},
    ])
    return b, items


def test_csv_export_lists_every_item_with_label_and_flag(bundle: Path, tmp_path: Path) -> None:
    b, items = _annotate(bundle)
    out = tmp_path / "a.csv"
    assert pixplot(["annotations", "export", str(bundle), "--format", "csv", "--out", str(out)]) == 0
    rows = list(csv.DictReader(out.open()))
    assert [r["item_id"] for r in rows] == b.ids
    by_id = {r["item_id"]: r for r in rows}
    face = next(it for it in items if it["box"] is not None)
    assert by_id[face["id"]]["label"] == "Ann"
    assert json.loads(by_id[face["id"]]["box"]) == face["box"]
    assert by_id[items[0]["id"]]["box"] == ""
    assert sum(r["excluded"] == "true" for r in rows) == 1
    # The cluster id column is the default clustering's (the test bundle alternates 0, 1).
    assert [int(r["cluster_id"]) for r in rows] == [int(c) for c in b.cluster_labels()]
    assert {r["cluster_id"] for r in rows} == {"0", "1"}


def test_json_export_holds_items_state_and_events(bundle: Path, tmp_path: Path) -> None:
    b, _ = _annotate(bundle)
    out = tmp_path / "a.json"
    pixplot(["annotations", "export", str(bundle), "--format", "json", "--out", str(out)])
    doc = json.loads(out.read_text())
    assert doc["format"] == "pixplot-annotations" and doc["version"] == 1
    assert len(doc["items"]) == len(b.items) and len(doc["labels"]) == 4
    assert [e["id"] for e in doc["events"]] == ["1", "2", "3"]


def test_gallery_holds_labelled_non_excluded_embeddings(bundle: Path, tmp_path: Path) -> None:
    b, _ = _annotate(bundle)
    out = tmp_path / "g.npz"
    pixplot(["annotations", "export", str(bundle), "--format", "gallery", "--out", str(out)])
    with np.load(out) as z:
        ids, labels, emb = list(z["ids"]), list(z["labels"]), z["embeddings"]
        assert str(z["embedder"]) == b.manifest["embedder"]["id"]
    assert len(ids) == 3 and sorted(labels) == ["Ann", "Ann", "a/../b"]
    assert emb.dtype == np.float32
    np.testing.assert_array_equal(emb, b.embeddings[[b.index[i] for i in ids]])
    # the same state gives the same bytes (an upload rerun relies on it)
    assert _gallery_npz(b) == out.read_bytes()


def test_imagefolder_writes_crops_for_detections_and_images_otherwise(bundle: Path, tmp_path: Path) -> None:
    b, items = _annotate(bundle)
    out = tmp_path / "folder"
    pixplot(["annotations", "export", str(bundle), "--format", "imagefolder", "--out", str(out)])
    written = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.jpg"))
    face = next(it for it in items if it["box"] is not None)
    whole = [it for it in items if it["box"] is None]
    assert written == sorted([f"Ann/{face['id']}.jpg", f"Ann/{whole[1]['id']}.jpg", f"a_.._b/{whole[2]['id']}.jpg"])
    # a whole JPEG goes out byte for byte; a face is its box plus the margin
    assert (out / f"Ann/{whole[1]['id']}.jpg").read_bytes() == b.item_image_path(whole[1]).read_bytes()
    left, top, right, bottom = crop_box((64, 48), face["box"], 0.2)
    with Image.open(out / f"Ann/{face['id']}.jpg") as im:
        assert im.size == (right - left, bottom - top)
        assert im.size[0] > face["box"][2] and im.size[1] > face["box"][3]


def test_png_item_is_converted_to_jpeg(bundle: Path) -> None:
    b = open_bundle(bundle)
    png = next(it for it in b.items if it["source"].endswith(".png"))
    data = item_jpeg(b, png)
    with Image.open(io.BytesIO(data)) as im:
        assert im.format == "JPEG" and im.size == (png["width"], png["height"])
    assert item_jpeg(b, png) == data


def test_labels_never_escape_the_folder() -> None:
    assert safe_name("../..") == ".._.."
    assert safe_name("..") == "_" and safe_name("a\\b/c") == "a_b_c" and safe_name("Zoë") == "Zoë"


def test_import_merges_a_static_export_idempotently(bundle: Path, tmp_path: Path) -> None:
    b = open_bundle(bundle)
    ids = b.ids
    f = tmp_path / "static.json"
    f.write_text(json.dumps({
        "format": "pixplot-annotations", "version": 1,
        "events": [{"id": "s1", "type": "label", "items": ids[:2], "label": "cat", "author": "web",
                    "time": "2026-11-26T10:00:00Z"},
                   {"id": "s2", "type": "exclude", "items": [ids[1]]}],
        "labels": {ids[0]: "cat", ids[1]: "cat"}, "excluded": [ids[1]],
    }))
    open_store(b).append([{"id": "local", "type": "label", "items": [ids[4]], "label": "dog"}])
    assert pixplot(["annotations", "import", str(bundle), str(f)]) == 0
    assert pixplot(["annotations", "import", str(bundle), str(f)]) == 0
    store = open_store(b)
    st = store.state()
    assert st["labels"] == {ids[0]: "cat", ids[1]: "cat", ids[4]: "dog"} and st["excluded"] == [ids[1]]
    events = store.events()
    assert [e["id"] for e in events] == ["local", "s1", "s2"]
    assert events[1]["time"] == "2026-11-26T10:00:00Z"


def test_server_json_export_imports_into_a_fresh_copy(make_bundle: Any, tmp_path: Path) -> None:
    src = make_bundle("one")
    b, _ = _annotate(src)
    dst = make_bundle("two")  # same images, so the same ids
    f = tmp_path / "x.json"
    export(b, open_store(b).state(), "json", f, events=open_store(b).events())
    res = import_file(open_store(open_bundle(dst)), f)
    assert res.accepted == 3
    assert open_store(open_bundle(dst)).state()["labels"] == open_store(b).state()["labels"]


def test_snapshot_without_events_imports_once(bundle: Path, tmp_path: Path) -> None:
    ids = open_bundle(bundle).ids
    f = tmp_path / "snap.json"
    f.write_text(json.dumps({"format": "pixplot-annotations", "version": 1,
                             "labels": {ids[0]: "a", ids[2]: "b"}, "excluded": [ids[3]]}))
    store = open_store(open_bundle(bundle))
    import_file(store, f)
    again = import_file(store, f)
    assert again.duplicates == again.accepted == 3
    assert store.state()["labels"] == {ids[0]: "a", ids[2]: "b"}


def test_import_naming_unknown_items_is_a_one_line_error(bundle: Path, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "other.json"
    f.write_text(json.dumps({"format": "pixplot-annotations", "version": 1,
                             "events": [{"id": "z", "type": "exclude", "items": ["ffffffffffffffff"]}]}))
    assert pixplot(["annotations", "import", str(bundle), str(f)]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "ffffffffffffffff" in err and str(f) in err
    with pytest.raises(UserError, match="not a pixplot annotations file"):
        (tmp_path / "x.json").write_text("{}")
        import_file(open_store(open_bundle(bundle)), tmp_path / "x.json")
    assert open_store(open_bundle(bundle)).state()["version"] == 0


@pytest.mark.slow
def test_labels_made_through_the_api_survive_a_rebuild_and_export(tmp_path: Path) -> None:
    """End to end through the real pipeline: build, label over HTTP, rebuild with one more image."""
    from pixplot.pipeline import BuildOptions, build
    from seeen_ext.server import create_app
    from tests.conftest import synthetic_photo, write_collection

    images, out = tmp_path / "images", tmp_path / "out"
    write_collection(images, per_class=3)
    opts = dict(images=str(images), out_dir=str(out), progress=False, layouts="grid", cluster="kmeans",
                cluster_on="embedding", max_clusters=3, workers=1)
    build(BuildOptions(**opts))
    client = api_client(create_app(out))
    ids = open_bundle(out).ids
    r = client.post("/api/events", json={"events": [{"id": "e", "type": "label", "items": ids[:2], "label": "warm"}]})
    assert r.status_code == 200
    synthetic_photo(2, 777).save(images / "checks" / "new.jpg")
    build(BuildOptions(**opts))
    b = open_bundle(out)
    assert len(b.ids) == len(ids) + 1
    st = open_store(b).state()
    assert st["labels"] == {ids[0]: "warm", ids[1]: "warm"}
    folder = tmp_path / "folder"
    assert export(b, st, "imagefolder", folder) == 2
    assert sorted(p.name for p in (folder / "warm").iterdir()) == sorted(f"{i}.jpg" for i in ids[:2])


def test_uploaded_labels_csv_neutralises_formulas_in_labels_and_sources(bundle: Path) -> None:
    from seeen_ext.export import labels_csv, selected_rows

    b = open_bundle(bundle)
    store = open_store(b)
    store.append([{"id": "f", "type": "label", "items": [b.ids[0]], "label": "=cmd|' /C calc'!A0"},
                  {"id": "g", "type": "label", "items": [b.ids[1]], "label": "-plain"}])
    rows = list(csv.reader(io.StringIO(labels_csv(selected_rows(b, store.state())).decode())))
    by_id = {r[0]: r for r in rows[1:]}
    assert by_id[b.ids[0]][1] == "'=cmd|' /C calc'!A0" and by_id[b.ids[1]][1] == "'-plain"
    # With the bundle, every uploaded row carries its cluster id (a number, never quoted).
    rows = list(csv.DictReader(io.StringIO(labels_csv(selected_rows(b, store.state()), b).decode())))
    clusters = dict(zip(b.ids, b.cluster_labels().tolist(), strict=True))
    assert rows and all(int(r["cluster_id"]) == clusters[r["item_id"]] for r in rows)


def _gallery_npz(b: Any) -> bytes:
    """The bundle's gallery file for its current annotations, as /api/export?format=gallery sends it."""
    from seeen_ext.gallery import Gallery

    st = open_store(b).state()
    return Gallery.from_state(b, st["labels"], st["excluded"]).to_npz()
