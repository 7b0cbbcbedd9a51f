from __future__ import annotations

import numpy as np
from sklearn.model_selection import cross_val_score
from sklearn.neighbors import KNeighborsClassifier

from pixplot.embedders.classic import ClassicEmbedder
from pixplot.plugins import ItemImage, create
from tests.conftest import synthetic_photo


def test_classic_is_deterministic_and_registered():
    e = create("embedder", "classic")
    assert isinstance(e, ClassicEmbedder)
    batch = [ItemImage(synthetic_photo(k % 3, k)) for k in range(6)]
    a, b = e.embed(batch), ClassicEmbedder().embed(batch)
    assert a.shape == (6, e.dim) and a.dtype == np.float32
    assert np.array_equal(a, b)
    assert e.id.startswith("classic@2{") and "batch_size" not in e.id


def test_classic_separates_handwritten_digits():
    from PIL import Image
    from sklearn.datasets import load_digits

    d = load_digits()
    n = 600
    imgs = [ItemImage(Image.fromarray((255 - x * 16).clip(0, 255).astype(np.uint8)).resize((64, 64)))
            for x in d.images[:n]]
    X = ClassicEmbedder().embed(imgs)
    acc = cross_val_score(KNeighborsClassifier(5), X, d.target[:n], cv=3).mean()
    assert acc > 0.85, acc  # chance is 0.1


def test_parameters_change_the_id():
    assert ClassicEmbedder().id != ClassicEmbedder(tiny_weight=0.1).id
    assert ClassicEmbedder().key == ClassicEmbedder(batch_size=3).key


def test_classic_groups_shapes_by_colour_and_shape_wherever_and_however_large_they_are():
    """12 classes (4 colours x 3 shapes), each drawn at a random position, size and rotation on a
    plain light background: version 1 (composition features) scored 0.19 here, chance is 0.08."""
    from benchmarks.datasets import shapes

    images, labels = shapes(per_class=16, seed=3)
    X = ClassicEmbedder().embed([ItemImage(im) for im in images])
    acc = cross_val_score(KNeighborsClassifier(5), X, labels, cv=4).mean()
    assert acc > 0.6, acc
    colour = [lab.split()[0] for lab in labels]
    assert cross_val_score(KNeighborsClassifier(5), X, colour, cv=4).mean() > 0.9


def test_a_moved_and_scaled_object_stays_nearer_to_itself_than_to_another_shape():
    from PIL import Image, ImageDraw

    def draw(shape: str, box: tuple[int, int, int, int]) -> Image.Image:
        im = Image.new("RGB", (128, 128), (235, 235, 235))
        d = ImageDraw.Draw(im)
        (d.ellipse if shape == "disc" else d.rectangle)(box, fill=(40, 70, 200))
        return im

    e = ClassicEmbedder()
    a, moved, other = e.embed([ItemImage(draw("disc", (10, 10, 50, 50))), ItemImage(draw("disc", (60, 50, 120, 110))),
                               ItemImage(draw("square", (12, 12, 48, 48)))])
    assert np.linalg.norm(a - moved) < np.linalg.norm(a - other)
