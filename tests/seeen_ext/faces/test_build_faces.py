"""`pixplot build --detector faces` end to end: faces become items, with crop and provenance."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from seeen_ext.faces import synthetic as S

pytestmark = pytest.mark.slow


def pixplot(*args: object) -> tuple[int, str, str]:
    """The CLI's own entry point, run in this process so TensorFlow loads once for the suite."""
    from pixplot.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in args])
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def face_photos(tmp_path_factory) -> tuple[Path, dict[str, S.Composite]]:
    """Two group photos (the astronaut in both, mirrored in one) and a photo with no face."""
    root = tmp_path_factory.mktemp("faces")
    rng = np.random.default_rng(12)
    tiles = S.face_tiles()
    groups = {"party/a.png": [tiles[0], tiles[21], tiles[41]], "party/b.png": [tiles[0], tiles[61]]}
    truth = {}
    for rel, people in groups.items():
        comp = S.paste_faces(S.background((640, 480), rng), people, [150] * len(people), rng, flip_prob=0.5)
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        comp.image.save(root / rel)
        truth[rel] = comp
    S.nonface_images()[0].save(root / "coffee.jpg")
    return root, truth


@pytest.fixture(scope="module")
def bundle(face_photos, tmp_path_factory) -> tuple[Path, str]:
    images, _ = face_photos
    out = tmp_path_factory.mktemp("bundle")
    code, stdout, stderr = pixplot("build", "--images", images, "--detector", "faces", "--out_dir", out,
                                   "--layouts", "tsne", "--quiet")
    assert code == 0, stderr
    return out / "data", stdout


def test_faces_become_items_with_crop_and_provenance(face_photos, bundle):
    _, truth = face_photos
    data, stdout = bundle
    assert "1 images with no detections" in stdout
    manifest = json.loads((data / "manifest.json").read_text())
    items = json.loads((data / "items.json").read_text())["items"]
    assert manifest["detector"]["name"] == "faces"
    assert manifest["embedder"]["name"] == "face" and manifest["embedder"]["dim"] == 128
    assert len(items) == sum(len(c.boxes) for c in truth.values())

    for it in items:
        comp = truth[it["source"]]
        assert it["class"] == "face" and it["score"] >= 0.9
        assert max(S.iou(it["box"], b) for b in comp.boxes) >= 0.5
        assert len(it["landmarks"]) == 5
        x, y, w, h = it["box"]
        assert all(x <= px <= x + w and y <= py <= y + h for px, py in it["landmarks"])
        with Image.open(data / it["thumb"]) as thumb:  # the crop: the square box plus its margin
            assert abs(thumb.width / thumb.height - 1) < 0.1
        assert (data / it["original"]).exists()

    X = np.load(data / manifest["embeddings"])
    assert X.shape == (len(items), 128)
    assert np.allclose(np.linalg.norm(X, axis=1), 1, atol=1e-4)


def test_one_person_seen_twice_is_one_cluster_and_strangers_are_noise(face_photos, bundle):
    _, truth = face_photos
    data, _ = bundle
    manifest = json.loads((data / "manifest.json").read_text())
    items = json.loads((data / "items.json").read_text())["items"]
    entry = next(c for c in manifest["clusterings"] if c["name"] == manifest["default_clustering"])
    assert entry["method"] == "dbscan" and entry["on"] == "embedding"
    clustering = json.loads((data / entry["file"]).read_text())

    def who(it: dict) -> str:
        comp = truth[it["source"]]
        k = max(range(len(comp.boxes)), key=lambda j: S.iou(it["box"], comp.boxes[j]))
        return comp.identities[k]

    by_id = {it["id"]: who(it) for it in items}
    assert [sorted(by_id[m] for m in c["members"]) for c in clustering["clusters"]] == [["astronaut"] * 2]
    assert sorted(by_id[m] for m in clustering["noise"]) == ["lfw020", "lfw040", "lfw060"]


def test_min_face_size_flag_reaches_the_detector(face_photos, tmp_path):
    images, _ = face_photos
    code, _, stderr = pixplot("build", "--images", images, "--detector", "faces", "--min_face_size", "400",
                              "--out_dir", tmp_path / "bundle", "--layouts", "tsne", "--quiet")
    assert code == 2
    err = stderr.strip()
    assert err.startswith("pixplot: error:") and "\n" not in err and "--min_face_size" in err
