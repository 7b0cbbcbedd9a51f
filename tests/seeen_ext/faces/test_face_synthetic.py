"""The composite generator: its answers must be right for the detector tests to mean anything."""

from __future__ import annotations

import numpy as np

from seeen_ext.faces import synthetic as S


def test_composites_place_distinct_faces_apart_inside_the_canvas():
    comps = S.make_composites(4, faces_per_image=4, canvas=(640, 480), seed=3)
    for c in comps:
        assert len(c.boxes) == len(set(c.identities)) == 4
        for i, (x, y, w, h) in enumerate(c.boxes):
            assert x >= 0 and y >= 0 and x + w <= 640 and y + h <= 480
            for b in c.boxes[i + 1:]:
                assert S.iou((x, y, w, h), b) == 0.0


def test_the_pasted_pixels_are_the_face_flipped_as_recorded():
    rng = np.random.default_rng(0)
    tile, ident = S.face_tiles()[0]
    for flip_prob in (0.0, 1.0):
        c = S.paste_faces(S.background((300, 300), rng), [(tile, ident)], [110], rng, flip_prob=flip_prob)
        x, y, w, h = c.boxes[0]
        pasted = np.asarray(c.image.crop((x, y, x + w, y + h)), dtype=np.float32)
        face = np.asarray(tile.resize((w, h)), dtype=np.float32)
        if c.flipped[0]:
            face = face[:, ::-1]
        assert c.flipped[0] is (flip_prob == 1.0)
        assert np.abs(pasted - face).mean() < 1.0


def test_same_seed_same_composites():
    a, b = S.make_composites(2, seed=9), S.make_composites(2, seed=9)
    assert [c.boxes for c in a] == [c.boxes for c in b]
    assert np.array_equal(np.asarray(a[1].image), np.asarray(b[1].image))


def test_match_pairs_each_truth_with_its_best_detection_once():
    truth = [(0, 0, 10, 10), (100, 100, 10, 10)]
    found = [(101, 101, 10, 10), (1, 0, 10, 10), (2, 1, 10, 10)]
    assert S.match(truth, found) == [1, 0]
    assert S.match(truth, [(50, 50, 5, 5)]) == [None, None]
