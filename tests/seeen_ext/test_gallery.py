"""One gallery type: built from a bundle's labelling, written as .npz and read back unchanged."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pixplot.bundle import open_bundle
from pixplot.errors import UserError
from seeen_ext.gallery import Gallery
from seeen_ext.store import open_store


def test_from_state_takes_labelled_non_excluded_items_in_item_order(bundle: Path) -> None:
    b = open_bundle(bundle)
    labels = {b.ids[3]: "b", b.ids[0]: "a", b.ids[1]: "x"}
    g = Gallery.from_state(b, labels, {b.ids[1]})
    assert g.ids.tolist() == [b.ids[0], b.ids[3]] and g.labels.tolist() == ["a", "b"]
    assert g.embedder == b.embedder_id and g.detector == b.detector_id and g.crop_margin == b.crop_margin
    np.testing.assert_allclose(np.linalg.norm(g.embeddings, axis=1), 1, atol=1e-6)


def test_npz_round_trip_keeps_everything_and_the_same_gallery_is_the_same_bytes(bundle: Path) -> None:
    b = open_bundle(bundle)
    g = Gallery.from_state(b, {i: f"l{k % 2}" for k, i in enumerate(b.ids)})
    data = g.to_npz()
    assert data == Gallery.from_state(b, {i: f"l{k % 2}" for k, i in enumerate(b.ids)}).to_npz()
    back = Gallery.from_npz(data, "test.npz")
    assert back.ids.tolist() == g.ids.tolist() and back.labels.tolist() == g.labels.tolist()
    assert (back.embedder, back.detector, back.crop_margin, back.detector_known) == \
        (g.embedder, g.detector, g.crop_margin, True)
    np.testing.assert_array_equal(back.embeddings, g.embeddings)


def test_from_bundle_uses_the_annotations_and_refuses_a_bundle_with_no_labels(bundle: Path) -> None:
    with pytest.raises(UserError, match="no labelled items"):
        Gallery.from_bundle(bundle)
    b = open_bundle(bundle)
    open_store(b).append([{"id": "1", "type": "label", "items": b.ids[:2], "label": "cat"},
                          {"id": "2", "type": "exclude", "items": [b.ids[1]]}])
    g = Gallery.from_bundle(bundle)
    assert g.ids.tolist() == [b.ids[0]] and "annotations" in g.source
