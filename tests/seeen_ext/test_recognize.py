"""`pixplot recognize`, its index and threshold, and `POST /api/recognize`: on constructed cases
and on a held-out split of the demo digits, embedded by the real classic embedder."""

from __future__ import annotations

import base64
import csv
import io
import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from pixplot.bundle import open_bundle
from pixplot.cli import main
from pixplot.errors import UserError
from seeen_ext import gallery as gl
from seeen_ext import recognize as rc
from seeen_ext.server import create_app
from seeen_ext.store import open_store
from tests.seeen_ext.conftest import api_client


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def _noise_png(seed: int = 0) -> bytes:
    rng = np.random.default_rng(seed)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8), "RGB").save(buf, "PNG")
    return buf.getvalue()


def _labelled_copy(digits: tuple[Path, Path], dest: Path) -> tuple[Path, dict[str, str]]:
    """A copy of the digits bundle whose annotations label every item with its digit."""
    shutil.copytree(digits[0], dest, symlinks=True, ignore=shutil.ignore_patterns("annotations.sqlite*"))
    b = open_bundle(dest)
    by: dict[str, list[str]] = {}
    for it in b.items:
        by.setdefault(it["meta"]["category"], []).append(it["id"])
    store = open_store(b)
    store.append([{"id": f"l{d}", "type": "label", "items": ids, "label": f"digit-{d}"} for d, ids in by.items()])
    store.close()
    return dest, {i: f"digit-{d}" for d, ids in by.items() for i in ids}


# ---------------------------------------------------------------------------- threshold


def test_threshold_maximises_f1_of_true_matches_over_impostors():
    # Hand computed: cut at 0.7 passes all 3 true matches and 1 impostor (F1 6/7); cut at 0.8
    # passes 2 and none (F1 4/5). The threshold sits midway between 0.7 and the next score, 0.3.
    cal = rc.choose_threshold(np.array([0.9, 0.8, 0.7]), np.array([0.75, 0.3, 0.2]))
    assert cal.f1 == pytest.approx(6 / 7)
    assert cal.threshold == pytest.approx(0.5)
    assert cal.precision == pytest.approx(0.75) and cal.recall == pytest.approx(1.0)


def test_separable_gallery_calibrates_between_impostors_and_true_matches():
    # Two labels on the unit circle: a at 0, 10, 20 degrees; b at 60, 70 degrees.
    ang = np.radians([0, 10, 20, 60, 70])
    E = np.stack([np.cos(ang), np.sin(ang)], 1).astype(np.float32)
    labels = np.array(["a", "a", "a", "b", "b"])
    pos, neg = rc.loo_best_matches(E, labels)
    # Leave-one-out best same-label match is 10 degrees away for everyone; the best impostor
    # is 40 degrees away (20 <-> 60) for the closest items.
    assert np.allclose(pos, np.cos(np.radians(10)))
    assert neg.max() == pytest.approx(np.cos(np.radians(40)))
    g = gl.Gallery(E, labels, np.array(list("12345")), "classic@1{}", None)
    cal = rc.calibrate(g)
    assert cal.f1 == pytest.approx(1.0)
    assert np.cos(np.radians(40)) < cal.threshold < np.cos(np.radians(10))


def test_a_gallery_of_singletons_cannot_be_calibrated():
    with pytest.raises(UserError, match="--threshold X"):
        rc.choose_threshold(np.array([]), np.array([0.5]))


# ---------------------------------------------------------------------------- index (pixplot.knn has its own tests)


def test_approximate_index_recognises_like_the_exact_one(digits, tmp_path, capsys):
    bundle, held = digits
    outs = {}
    for kind in ("exact", "approx"):
        outs[kind] = tmp_path / f"{kind}.csv"
        assert main(["recognize", str(held), "--gallery", str(bundle), "--out", str(outs[kind]),
                     "--index", kind]) == 0
    assert "faiss-ivf" in capsys.readouterr().err
    same = [a["nearest_label"] == b["nearest_label"] for a, b in zip(_read(outs["exact"]), _read(outs["approx"]),
                                                                      strict=True)]
    assert np.mean(same) >= 0.95


# ---------------------------------------------------------------------------- recognition


def test_held_out_digits_are_recognised_against_the_bundle(digits, tmp_path, capsys):
    bundle, held = digits
    out = tmp_path / "results.csv"
    assert main(["recognize", str(held), "--gallery", str(bundle), "--out", str(out), "--k", "3"]) == 0
    printed = capsys.readouterr().out
    assert "Threshold: threshold" in printed and "auto: F1" in printed
    rows = _read(out)
    assert len(rows) == 60
    truth = [Path(r["source"]).parent.name for r in rows]
    nearest = np.mean([r["nearest_label"] == t for r, t in zip(rows, truth, strict=True)])
    answered = [(r, t) for r, t in zip(rows, truth, strict=True) if r["label"] != "unknown"]
    assert nearest >= 0.9
    assert len(answered) >= 48 and np.mean([r["label"] == t for r, t in answered]) >= 0.95
    first = json.loads(rows[0]["neighbours"])
    assert len(first) == 3 and first[0]["score"] >= first[1]["score"] >= first[2]["score"]
    assert {r["status"] for r in rows} <= {"recognised", "unknown"}


def test_annotations_are_the_gallery_and_excluded_items_are_left_out(digits, tmp_path):
    path, labels = _labelled_copy(digits, tmp_path / "b")
    b = open_bundle(path)
    store = open_store(b)
    store.append([{"id": "x", "type": "exclude", "items": b.ids[:5]}])
    store.close()
    g = gl.Gallery.from_bundle(path)
    assert len(g) == len(b.ids) - 5 and set(g.ids.tolist()) == set(b.ids[5:])
    assert all(labels[i] == lab for i, lab in zip(g.ids, g.labels, strict=True))
    assert "annotations" in g.source


def test_something_unlike_the_gallery_is_unknown(digits, tmp_path):
    g = gl.load_gallery(str(digits[0]))
    rec = rc.make_recogniser(g, "auto")
    rows = rec.recognise_sources([("noise.png", _noise_png()), ("bad.png", b"not an image")])
    assert rows[0]["status"] == "unknown" and rows[0]["label"] == "unknown"
    assert rows[0]["score"] < rec.threshold and rows[0]["nearest_label"] in set(g.labels.tolist())
    assert rows[1]["status"] == "unreadable"


def test_another_embedder_than_the_gallerys_is_a_clear_error(digits, tmp_path, capsys):
    argv = ["recognize", str(digits[1]), "--gallery", str(digits[0]), "--out", str(tmp_path / "r.csv")]
    assert main([*argv, "--embedder", "inception_v3"]) == 2
    err = capsys.readouterr().err
    assert "built with 'classic'" in err and "Traceback" not in err
    assert main([*argv, "--detector", "faces"]) == 2
    assert "detector 'none'" in capsys.readouterr().err
    assert not (tmp_path / "r.csv").exists()


def test_a_gallery_from_another_embedder_version_is_refused(tmp_path):
    g = gl.Gallery(np.eye(2, dtype=np.float32), np.array(["a", "b"]), np.array(["1", "2"]),
                   'classic@0{"color_weight": 1.0, "hog_weight": 1.0, "tiny_weight": 0.7}', None)
    rec = rc.make_recogniser(g, 0.5)
    with pytest.raises(UserError, match="installed 'classic' gives classic@2"):
        rec.recognise_sources([("x.png", _noise_png())])


def test_a_gallery_whose_embedder_is_not_installed_is_refused_before_any_work(bundle, tmp_path, capsys):
    b = open_bundle(bundle)  # conftest's bundle: embedder "test", which no package provides
    store = open_store(b)
    store.append([{"id": "l", "type": "label", "items": b.ids[:4], "label": "x"}])
    store.close()
    out = tmp_path / "r.csv"
    assert main(["recognize", str(bundle), "--gallery", str(bundle), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "built with embedder 'test', which cannot run here" in err and "Traceback" not in err
    assert not out.exists()


def test_gallery_npz_records_its_detector_and_recognises_without_flags(digits, tmp_path, capsys):
    path, _ = _labelled_copy(digits, tmp_path / "b")
    b = open_bundle(path)
    npz = tmp_path / "gallery.npz"
    npz.write_bytes(_gallery_npz(b))
    with np.load(npz) as z:
        assert str(z["detector"]) == "" and float(z["crop_margin"]) == pytest.approx(0.2)
    out = tmp_path / "r.csv"
    assert main(["recognize", str(digits[1] / "3"), "--gallery", str(npz), "--out", str(out)]) == 0
    rows = _read(out)
    assert rows and sum(r["label"] == "digit-3" for r in rows) >= len(rows) - 1
    # A file from before the detector was recorded: the caller must say which it was.
    with np.load(npz) as z:
        old = {k: z[k] for k in z.files if k not in ("detector", "crop_margin")}
    legacy = tmp_path / "legacy.npz"
    np.savez(legacy, **old)
    argv = ["recognize", str(digits[1] / "3"), "--gallery", str(legacy), "--out", str(out)]
    assert main(argv) == 2
    assert "--detector none" in capsys.readouterr().err
    assert main([*argv, "--detector", "none"]) == 0
    assert _read(out) == rows


def test_gallery_from_s3_recognises_like_the_local_one(digits, tmp_path, aws_env, capsys):
    path, _ = _labelled_copy(digits, tmp_path / "b")
    b = open_bundle(path)
    client = aws_env.client()
    client.put_object(Bucket=aws_env.bucket, Key="recog/gallery.npz", Body=_gallery_npz(b))
    client.put_object(Bucket=aws_env.bucket, Key="recog/manifest.json",
                      Body=json.dumps({"format": "pixplot-upload", "detector": None}).encode())
    out = tmp_path / "s3.csv"
    argv = ["recognize", str(digits[1] / "7"), "--gallery", f"s3://{aws_env.bucket}/recog", "--out", str(out),
            "--endpoint-url", aws_env.endpoint]
    assert main(argv) == 0
    rows = _read(out)
    assert rows and sum(r["nearest_label"] == "digit-7" for r in rows) >= len(rows) - 1
    missing = ["recognize", str(digits[1] / "7"), "--gallery", f"s3://{aws_env.bucket}/nothing-here", "--out",
               str(out), "--endpoint-url", aws_env.endpoint]
    assert main(missing) == 2
    assert "no s3://" in capsys.readouterr().err


# ---------------------------------------------------------------------------- POST /api/recognize


def _client(path: Path) -> Any:
    return api_client(create_app(path))


def test_api_recognises_an_uploaded_image_against_the_current_labels(digits, tmp_path):
    path, _ = _labelled_copy(digits, tmp_path / "b")
    client = _client(path)
    img = next((digits[1] / "4").glob("*.png")).read_bytes()
    r = client.post("/api/recognize?k=2", data=img, content_type="image/png")
    assert r.status_code == 200, r.get_json()
    doc = r.get_json()
    assert doc["results"][0]["label"] == "digit-4" and len(doc["results"][0]["neighbours"]) == 2
    assert doc["threshold_source"] == "auto" and doc["gallery"]["labels"] == 10
    r = client.post("/api/recognize", data=json.dumps({"image": base64.b64encode(img).decode(), "threshold": 0.999}),
                    content_type="application/json")
    assert r.get_json()["results"][0]["label"] == "unknown" and r.get_json()["threshold"] == 0.999


def test_api_recognises_bundle_items_leaving_each_one_out(digits, tmp_path):
    path, labels = _labelled_copy(digits, tmp_path / "b")
    b = open_bundle(path)
    client = _client(path)
    some = b.ids[:30]
    r = client.post("/api/recognize", data=json.dumps({"items": some, "k": 3}), content_type="application/json")
    res = r.get_json()["results"]
    assert [x["id"] for x in res] == some
    assert all(n["id"] != x["id"] for x in res for n in x["neighbours"])
    assert np.mean([x["nearest_label"] == labels[x["id"]] for x in res]) >= 0.9


def test_api_refuses_forms_and_unknown_items_and_an_empty_gallery(digits, tmp_path):
    shutil.copytree(digits[0], tmp_path / "b", symlinks=True, ignore=shutil.ignore_patterns("annotations.sqlite*"))
    client = _client(tmp_path / "b")
    r = client.post("/api/recognize", data={"f": (io.BytesIO(_noise_png()), "x.png")},
                    content_type="multipart/form-data")
    assert r.status_code == 415
    r = client.post("/api/recognize", data=_noise_png(), content_type="image/png")
    assert r.status_code == 400 and "no labelled items" in r.get_json()["error"]
    path, _ = _labelled_copy(digits, tmp_path / "c")
    r = _client(path).post("/api/recognize", data=json.dumps({"items": ["deadbeefdeadbeef"]}),
                           content_type="application/json")
    assert r.status_code == 400 and "deadbeefdeadbeef" in r.get_json()["error"]


def test_recogniser_cache_rebuilds_only_for_a_new_key_and_keeps_loaded_models():
    from seeen_ext.gallery import Gallery
    from seeen_ext.recognize import RecogniserCache

    rng = np.random.default_rng(4)
    E = rng.normal(size=(12, 8)).astype(np.float32)
    made = []

    def gallery():
        made.append(1)
        return Gallery(E, np.array(list("aabbccddeeff")), np.array([f"i{j}" for j in range(12)]), "fake@1", None)

    cache = RecogniserCache()
    first = cache.get(("v1", 0.5, 3), gallery, 0.5, 3)
    assert cache.get(("v1", 0.5, 3), gallery, 0.5, 3) is first and len(made) == 1
    first._embedder = model = object()  # as if recognise_sources had loaded the embedder
    second = cache.get(("v2", 0.5, 3), gallery, 0.5, 3)
    assert second is not first and len(made) == 2
    assert second.plugins() == (None, model)  # not loaded again for the new gallery version


def _gallery_npz(b: Any) -> bytes:
    """The bundle's gallery file for its current annotations, as /api/export?format=gallery sends it."""
    from seeen_ext.gallery import Gallery

    st = open_store(b).state()
    return Gallery.from_state(b, st["labels"], st["excluded"]).to_npz()
