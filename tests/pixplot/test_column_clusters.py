"""--clusters-from: a metadata column's values are the clusters; items without one are noise."""

from __future__ import annotations

import numpy as np
import pytest

from pixplot.cluster import relabel_by_size
from pixplot.column_clusters import labels_from_column, names_after_relabel
from pixplot.errors import UserError


def test_each_value_is_a_cluster_and_missing_values_are_noise():
    items = [{"meta": {"series": s}} if s else {"meta": {}} for s in ["b", "a", "b", None, "b", "a", "c"]]
    labels, values = labels_from_column(items, "Series")
    assert values == ["b", "a", "c"] and labels.tolist() == [0, 1, 0, -1, 0, 1, 2]
    after, dropped = relabel_by_size(labels)
    names = names_after_relabel(labels, after, values)
    assert names == {0: "b", 1: "a", 2: "c"} and dropped == 0
    assert np.array_equal(after == -1, labels == -1)


def test_a_column_nobody_has_is_one_clear_error():
    with pytest.raises(UserError, match="--clusters-from nope: no item has a value"):
        labels_from_column([{"meta": {"category": "x"}}], "nope")
