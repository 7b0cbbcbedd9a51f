"""Inception V3 with a weights file saved locally: no test downloads anything."""

from __future__ import annotations

import numpy as np
import pytest

from pixplot.embedders.inception import InceptionV3Embedder
from pixplot.errors import UserError
from pixplot.plugins import ItemImage
from tests.conftest import synthetic_photo


@pytest.fixture(scope="module")
def weights_file(tmp_path_factory):
    import tensorflow as tf

    tf.keras.utils.set_random_seed(0)
    model = tf.keras.applications.InceptionV3(include_top=False, pooling="avg", weights=None)
    path = tmp_path_factory.mktemp("w") / "inception.weights.h5"
    model.save_weights(str(path))
    return path


def test_inception_embeds_a_batch_to_2048_d(weights_file):
    e = InceptionV3Embedder(weights=str(weights_file), batch_size=4)
    batch = [ItemImage(synthetic_photo(k % 3, k)) for k in range(5)]
    X = e.embed(batch)
    assert X.shape == (5, 2048) and np.isfinite(X).all()
    assert np.allclose(e.embed(batch[:2]), X[:2], atol=1e-4)  # batching does not change results
    assert not np.allclose(X[0], X[1])
    assert "weights=" in e.id and str(weights_file) not in e.id  # the file's digest, not its path


def test_missing_weights_file_is_a_user_error(tmp_path):
    e = InceptionV3Embedder(weights=str(tmp_path / "nope.h5"))
    with pytest.raises(UserError, match="not found"):
        e.embed([ItemImage(synthetic_photo(0, 0))])
