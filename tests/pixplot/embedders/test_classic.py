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
    assert e.id.startswith("classic@1{") and "batch_size" not in e.id


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
