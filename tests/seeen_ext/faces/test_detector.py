"""The ``faces`` detector on real face pixels pasted at known places."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from pixplot.errors import UserError
from seeen_ext.faces import synthetic as S
from seeen_ext.faces.detector import MTCNNFaceDetector


def test_every_pasted_face_is_found_where_it_was_pasted(detector):
    comps = S.make_composites(3, faces_per_image=3, canvas=(640, 480), size_range=(100, 170), seed=7)
    found = detector.detect([c.image for c in comps])
    for c, dets in zip(comps, found, strict=True):
        assert len(dets) == len(c.boxes)
        matched = S.match(c.boxes, [d.box for d in dets], min_iou=0.5)
        assert None not in matched, (c.boxes, [d.box for d in dets])
        for d in dets:
            assert d.label == "face" and d.score >= 0.9


def test_landmarks_are_five_points_inside_the_face(detector):
    comp = S.make_composites(1, faces_per_image=2, size_range=(140, 160), seed=3)[0]
    for d in detector.detect([comp.image])[0]:
        x, y, w, h = d.box
        assert d.landmarks is not None and len(d.landmarks) == 5
        for px, py in d.landmarks:
            assert x <= px <= x + w and y <= py <= y + h
        eyes_y = (d.landmarks[0][1] + d.landmarks[1][1]) / 2
        mouth_y = (d.landmarks[3][1] + d.landmarks[4][1]) / 2
        assert eyes_y < d.landmarks[2][1] < mouth_y  # eyes, then nose, then mouth


def test_photos_without_faces_yield_no_detections(detector):
    rng = np.random.default_rng(0)
    patches = S.nonface_tiles()[:12]
    canvas = S.background((640, 480), rng)
    for k, p in enumerate(patches):
        canvas.paste(p.resize((100, 100), Image.BICUBIC), (20 + (k % 6) * 105, 40 + (k // 6) * 200))
    found = detector.detect(S.nonface_images() + [canvas, S.background((300, 200), rng)])
    assert found == [[] for _ in found]


def test_faces_below_min_face_size_are_dropped(detector):
    rng = np.random.default_rng(1)
    tiles = S.face_tiles()
    comp = S.paste_faces(S.background((600, 400), rng), [tiles[0], tiles[5]], [70, 180], rng, flip_prob=0)
    both = MTCNNFaceDetector(min_face_size=30).detect([comp.image])[0]
    assert len(both) == 2
    big_only = MTCNNFaceDetector(min_face_size=120).detect([comp.image])[0]
    assert len(big_only) == 1
    assert S.iou(big_only[0].box, comp.boxes[1]) >= 0.5


def test_a_higher_min_face_score_never_adds_faces(detector):
    comp = S.make_composites(1, faces_per_image=4, size_range=(90, 150), seed=11)[0]
    loose = MTCNNFaceDetector(min_face_score=0.5).detect([comp.image])[0]
    strict = MTCNNFaceDetector(min_face_score=0.999).detect([comp.image])[0]
    assert all(d.score >= 0.999 for d in strict)
    assert len(strict) <= len(loose)
    assert {tuple(d.box) for d in strict} <= {tuple(d.box) for d in loose}


def test_boxes_of_a_downscaled_large_image_map_back_to_its_pixels(detector):
    comp = S.make_composites(1, faces_per_image=2, canvas=(640, 480), size_range=(120, 160), seed=5)[0]
    large = comp.image.resize((1920, 1440), Image.BICUBIC)  # 3x, above max_side (1600)
    dets = detector.detect([large])[0]
    truth = [tuple(3 * v for v in b) for b in comp.boxes]
    assert len(dets) == 2
    assert None not in S.match(truth, [d.box for d in dets], min_iou=0.5)


def test_boxes_are_square_and_inside_the_image(detector):
    rng = np.random.default_rng(2)
    comp = S.paste_faces(S.background((400, 300), rng), [S.face_tiles()[0]], [150], rng)
    comp_edge = S.Composite(Image.new("RGB", (400, 300), (128, 128, 128)))
    comp_edge.image.paste(S.face_tiles()[0][0].resize((150, 150)), (0, 140))  # face at the corner
    for im in (comp.image, comp_edge.image):
        (d,) = detector.detect([im])[0]
        x, y, w, h = d.box
        assert x >= 0 and y >= 0 and x + w <= im.width + 1e-6 and y + h <= im.height + 1e-6
    (d,) = detector.detect([comp.image])[0]
    assert d.box[2] == pytest.approx(d.box[3])


def test_tiny_images_are_not_an_error(detector):
    assert detector.detect([Image.new("RGB", (10, 10)), Image.new("RGB", (1, 300))]) == [[], []]


def test_an_impossible_score_is_a_user_error():
    with pytest.raises(UserError, match="min_face_score"):
        MTCNNFaceDetector(min_face_score=1.5).detect([Image.new("RGB", (64, 64))])


def test_parameters_are_stored_and_name_the_id():
    det = MTCNNFaceDetector(min_face_size=64, min_face_score=0.95)
    assert det.get_params() == {"min_face_size": 64, "min_face_score": 0.95, "square": True}
    assert det.id != MTCNNFaceDetector().id and det.id.startswith("faces@1")


def test_importing_the_face_plugins_loads_no_model():
    code = ("import sys, seeen_ext.faces.detector, seeen_ext.faces.embedder; "
            "heavy = [m for m in ('tensorflow', 'mtcnn', 'dlib', 'keras') if m in sys.modules]; "
            "print(heavy); assert not heavy")
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, timeout=60)


def test_a_batch_gives_each_image_its_own_faces(detector):
    comps = S.make_composites(2, faces_per_image=3, seed=1)
    blank = S.background((640, 480), np.random.default_rng(0))
    batch = detector.detect([blank, comps[0].image, blank, comps[1].image])
    assert [len(f) for f in batch] == [0, 3, 0, 3]
    for c, got in zip(comps, (batch[1], batch[3]), strict=True):
        (alone,) = detector.detect([c.image])
        flat = lambda dets: [v for d in dets for v in d.box]  # noqa: E731
        assert flat(got) == pytest.approx(flat(alone), abs=1.0)


def test_a_missing_face_package_is_a_user_error_naming_the_extra():
    code = (
        "import sys\n"
        "sys.modules['mtcnn'] = sys.modules['dlib'] = None  # as if not installed\n"
        "from PIL import Image\n"
        "from pixplot.errors import UserError\n"
        "from pixplot.plugins import ItemImage\n"
        "from seeen_ext.faces.detector import MTCNNFaceDetector\n"
        "from seeen_ext.faces.embedder import DlibFaceEmbedder\n"
        "for call in (lambda: MTCNNFaceDetector().detect([Image.new('RGB', (64, 64))]),\n"
        "             lambda: DlibFaceEmbedder().embed([ItemImage(Image.new('RGB', (64, 64)))])):\n"
        "    try:\n"
        "        call()\n"
        "    except UserError as exc:\n"
        "        print(exc)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 2, proc.stdout + proc.stderr
    assert all("pip install 'seeen-pixplot[faces]'" in line for line in lines)


def test_min_face_size_counts_source_pixels_when_the_pipeline_downscales(tmp_path):
    """A 3200-px photo is decoded at 1600 px for detection; a 180-px face there measures 90 px,
    yet --min_face_size 150 must keep it (it is 180 source pixels) and 250 must drop it."""
    from pixplot.work import detect_batch

    rng = np.random.default_rng(2)
    tiles = S.face_tiles()
    comp = S.paste_faces(S.background((3200, 2000), rng), [tiles[1]], [180], rng, flip_prob=0)
    path = tmp_path / "big.jpg"
    comp.image.save(path, quality=92)
    ((_, kept),) = detect_batch(MTCNNFaceDetector(min_face_size=150), [(str(path), "sha")])
    assert len(kept) == 1 and S.iou(tuple(kept[0]["box"]), comp.boxes[0]) >= 0.5
    ((_, dropped),) = detect_batch(MTCNNFaceDetector(min_face_size=250), [(str(path), "sha")])
    assert dropped == []
