"""The ``face`` embedder: dlib descriptors that put one face's variations together."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageOps

from pixplot.plugins import ItemImage
from seeen_ext.faces import synthetic as S
from seeen_ext.faces.embedder import DlibFaceEmbedder

#: dlib's documented same-person threshold (0.6 on raw descriptors of norm ~1.38), normalised.
SAME_PERSON = 0.6 / 1.38


def as_item(face: Image.Image, size: int = 150, margin: float = 0.2) -> ItemImage:
    """A face tile as the pipeline hands it over: the box with a margin of background around it."""
    pad = int(size * margin)
    canvas = Image.new("RGB", (size + 2 * pad, size + 2 * pad), S._edge_colour(face))
    canvas.paste(face.resize((size, size), Image.BICUBIC), (pad, pad))
    return ItemImage(canvas, box=(pad, pad, size, size))


def test_descriptors_are_128_numbers_of_unit_length(embedder):
    tiles = S.face_tiles()[:3]
    X = embedder.embed([as_item(t) for t, _ in tiles])
    assert X.shape == (3, 128) and X.dtype == np.float32
    assert np.allclose(np.linalg.norm(X, axis=1), 1.0, atol=1e-5)
    assert embedder.embed([]).shape == (0, 128)


def test_mirrored_face_lies_within_dlibs_same_person_threshold(embedder):
    tile, _ = S.face_tiles()[0]  # the astronaut
    a, b = embedder.embed([as_item(tile), as_item(ImageOps.mirror(tile))])
    assert np.linalg.norm(a - b) < SAME_PERSON


def test_same_face_under_mild_augmentation_is_closer_than_different_faces(embedder):
    rng = np.random.default_rng(4)
    tiles = S.face_tiles()
    people = [tiles[0]] + tiles[1:60:10]  # the astronaut and six LFW faces
    items, who = [], []
    for k, (tile, _) in enumerate(people):
        for v in range(3):
            face = tile if v == 0 else S.augment(tile, rng)
            if v == 2:
                face = ImageOps.mirror(face)
            items.append(as_item(face, size=int(rng.integers(110, 170))))
            who.append(k)
    X = embedder.embed(items)
    y = np.array(who)
    D = np.linalg.norm(X[:, None] - X[None], axis=2)
    for k in range(len(people)):
        same = D[np.ix_(y == k, y == k)].max()
        other = D[np.ix_(y == k, y != k)].min()
        assert same < other, (k, same, other)
        assert same < SAME_PERSON


def test_a_crop_without_a_box_is_taken_as_the_face(embedder):
    tile, _ = S.face_tiles()[0]
    item = as_item(tile, margin=0.0)
    with_box, without = embedder.embed([item, ItemImage(item.image)])
    assert np.linalg.norm(with_box - without) < 1e-4


def test_jitters_are_part_of_the_id_and_batch_size_is_not():
    assert DlibFaceEmbedder(num_jitters=2).id != DlibFaceEmbedder().id
    assert DlibFaceEmbedder(batch_size=4).id == DlibFaceEmbedder().id
