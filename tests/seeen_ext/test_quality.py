"""Clustering choices for annotation: the in-memory oracle by hand, and `pixplot evaluate --compare`."""

from __future__ import annotations

import json

import numpy as np

from pixplot.cli import main
from seeen_ext.quality import CHOICES, oracle_actions, score_clusterings


def test_the_oracle_pays_one_label_per_cluster_one_exclude_per_mixed_one_and_then_suggestions():
    truth = np.array(["a", "a", "b", "b", "b", "a", "c"])
    pred = np.array([0, 0, 0, 1, 1, -1, -1])
    E = np.array([[1, 0, 0], [1, 0, 0], [0, 1, 0], [0, 1, 0], [0, 1, 0], [1, 0.1, 0], [0, 0.2, 1]], np.float32)
    # cluster 0: exclude item 2 (b) + label a = 2; cluster 1: label b = 1.
    # Left: 2 (b, nearest labelled is b: right), 5 (a: right), 6 (c: nearest is b, wrong).
    # Accepting the b and a suggestions = 2, correcting item 6 = 1.
    assert oracle_actions(pred, truth, E) == 2 + 1 + 2 + 1


def test_nothing_clustered_costs_one_action_per_item():
    assert oracle_actions(np.full(4, -1), np.array(list("abab")), np.eye(4)) == 4


def test_separate_blobs_score_pure_under_every_hdbscan_choice():
    rng = np.random.default_rng(0)
    centres = np.eye(16)[:4] * 10
    E = np.concatenate([c + rng.normal(0, 0.3, (30, 16)) for c in centres]).astype(np.float32)
    truth = np.repeat(list("wxyz"), 30)
    xy = np.concatenate([np.array([i * 10, 0]) + rng.normal(0, 0.5, (30, 2)) for i in range(4)])
    scores = score_clusterings(E, truth, xy)
    assert set(scores) == set(CHOICES)
    for name, s in scores.items():
        assert s["knn5"] == 1.0
        if "hdbscan" in name:
            assert s["purity"] == 1.0, (name, s)
    assert scores["umap/hdbscan-eom-15"]["actions"] <= 8 / 120  # 4 labels, a few noise points


def test_evaluate_compare_prints_the_side_by_side_table_for_a_bundle(digits, capsys):
    bundle = digits[0]
    assert main(["evaluate", str(bundle), "--truth-column", "category", "--no-report", "--compare"]) == 0
    out = capsys.readouterr().out
    assert "act/it" in out and "embedding/hdbscan-leaf-5" in out and "fewest actions with" in out
    rows = json.loads((bundle / "quality.json").read_text())["rows"]
    assert {r["clustering"] for r in rows} == {k for k, v in CHOICES.items() if v[0] == "embedding"}
    assert all(0 < r["actions"] <= 1.0 and 0 <= r["purity"] <= 1 for r in rows)
