"""`pixplot evaluate`: metric values against hand-computed cases, and the whole command on a real
bundle of the demo digits."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from pixplot.bundle import open_bundle
from pixplot.cli import main
from pixplot.errors import UserError
from seeen_ext import evaluate as ev
from seeen_ext import labels as lb
from seeen_ext.store import open_store


def _unit_angles(degrees: list[float]) -> np.ndarray:
    a = np.radians(degrees)
    return np.stack([np.cos(a), np.sin(a)], axis=1).astype(np.float32)




# ---------------------------------------------------------------------------- metrics, by hand


def test_purity_counts_each_clusters_majority_over_clustered_items():
    truth = np.array(["a", "a", "a", "b", "b", "c"])
    pred = np.array([0, 0, 1, 1, 1, -1])
    s = ev.clustering_scores(truth, pred)
    # cluster 0 = {a, a}: 2 right; cluster 1 = {a, b, b}: 2 right; the noise item is not scored.
    assert s["purity"] == pytest.approx(4 / 5)
    assert s["fraction_clustered"] == pytest.approx(5 / 6)


def test_a_perfect_clustering_scores_one_and_a_crossed_one_scores_hand_computed_values():
    truth = np.array(["a", "a", "b", "b"])
    perfect = ev.clustering_scores(truth, np.array([0, 0, 1, 1]))
    assert perfect["ari"] == pytest.approx(1.0) and perfect["nmi"] == pytest.approx(1.0)
    crossed = ev.clustering_scores(truth, np.array([0, 1, 0, 1]))
    # Every cell of the contingency table is 1: index 0, expected 2*2/6, max 2 -> ARI = -0.5.
    assert crossed["ari"] == pytest.approx(-0.5)
    assert crossed["nmi"] == pytest.approx(0.0, abs=1e-12)
    assert crossed["purity"] == pytest.approx(0.5)


def test_splitting_a_class_keeps_homogeneity_and_costs_completeness():
    s = ev.clustering_scores(np.array(["a", "a", "b", "b"]), np.array([0, 0, 1, 2]))
    assert s["homogeneity"] == pytest.approx(1.0)
    # H(K) = 1.5 bits; H(K|C) = 0.5 bits (class b is split evenly in two) -> 1 - 0.5/1.5.
    assert s["completeness"] == pytest.approx(2 / 3)


def test_knn_accuracy_leaves_each_item_out_and_breaks_ties_by_the_nearest():
    E = _unit_angles([0, 8, 20, 90, 100, 185])
    truth = np.array(["a", "a", "b", "b", "b", "a"])
    acc = ev.knn_accuracy(E, truth, ks=(1, 2, 5))
    # k=1: 0->8 a ok, 8->0 a ok, 20->8 a wrong, 90->100 ok, 100->90 ok, 185->100 b wrong.
    assert acc["knn1"] == pytest.approx(4 / 6)
    # k=2: item 0 sees (8 a, 20 b), a tie won by the nearest (a): right. Same count as k=1.
    assert acc["knn2"] == pytest.approx(4 / 6)
    # k=5: everyone else votes, and the other class always has the majority.
    assert acc["knn5"] == pytest.approx(0.0)


def test_silhouette_of_two_tight_orthogonal_clusters_is_one_and_undefined_for_one_cluster():
    E = _unit_angles([0, 0, 90, 90])
    assert ev.silhouette(E, np.array([0, 0, 1, 1])) == pytest.approx(1.0)
    assert ev.silhouette(E, np.array([0, 0, 0, -1])) is None


def test_a_member_far_from_its_cluster_is_an_outlier_and_cohesion_is_the_mean_similarity():
    E = _unit_angles([0, 1, 2, 1, 0, 2, 1, 0, 1, 90])
    members = np.arange(10)
    coh, outliers = ev.cohesion_and_outliers(E, members)
    mean = E.mean(axis=0)
    assert coh == pytest.approx(float((E @ (mean / np.linalg.norm(mean))).mean()), abs=1e-6)
    assert outliers.tolist() == [9]
    tight = _unit_angles([0, 0.01, 0.02, 0.01])
    assert ev.cohesion_and_outliers(tight, np.arange(4))[1].tolist() == []


def test_per_cluster_names_the_majority_and_the_intruders():
    E = _unit_angles([0, 1, 2, 3, 90, 91])
    ids = [f"i{k}" for k in range(6)]
    truth = np.array(["a", "a", "b", "a", "c", ""])
    recs = ev.per_cluster(E, np.array([0, 0, 0, 0, 1, 1]), ids, truth)
    assert recs[0]["majority"] == "a" and recs[0]["purity"] == pytest.approx(0.75)
    assert recs[0]["intruders"] == [{"id": "i2", "truth": "b"}]
    assert recs[1]["labelled"] == 1 and recs[1]["intruders"] == []


# ---------------------------------------------------------------------------- truth sources


def test_truth_csv_matches_item_ids_and_source_paths_and_rejects_a_csv_of_strangers(digits, tmp_path):
    bundle = open_bundle(digits[0])
    a, b = bundle.items[0], bundle.items[1]
    csv_path = tmp_path / "truth.csv"
    csv_path.write_text(f"source,label\n{a['source']},zero\n{b['id']},one\nnot/here.png,x\n")
    t = lb.truth_from_csv(bundle, csv_path)
    assert t.labels == {a["id"]: "zero", b["id"]: "one"}
    assert "1 rows unmatched" in t.source
    bad = tmp_path / "bad.csv"
    bad.write_text("x.png,1\ny.png,2\n")
    with pytest.raises(UserError, match="bad.csv"):
        lb.truth_from_csv(bundle, bad)


def test_a_missing_metadata_column_is_a_user_error_naming_the_columns(digits):
    with pytest.raises(UserError, match="category"):
        lb.truth_from_column(open_bundle(digits[0]), "colour")


# ---------------------------------------------------------------------------- the command


def test_evaluate_scores_the_demo_digits_and_writes_json_and_report(digits, capsys):
    bundle_path = digits[0]
    assert main(["evaluate", str(bundle_path), "--truth-column", "category"]) == 0
    out = capsys.readouterr().out
    assert "kNN@1" in out and "purity" in out
    doc = json.loads((bundle_path / "evaluation.json").read_text())
    assert doc["truth"]["labels"] == 10 and doc["truth"]["items"] == 240
    assert doc["embedding"]["knn1"] >= 0.9  # handwritten digits separate well even with the classic embedder
    rec = doc["clusterings"][0]
    b = open_bundle(bundle_path)
    pred = b.cluster_labels()
    truth = np.array([it["meta"]["category"] for it in b.items])
    assert rec["purity"] == pytest.approx(ev.purity(truth[pred >= 0], pred[pred >= 0]))
    assert rec["fraction_clustered"] == pytest.approx(float((pred >= 0).mean()))
    worst = min(rec["per_cluster"], key=lambda c: c["purity"])
    assert len(worst["intruders"]) == round((1 - worst["purity"]) * worst["labelled"])
    report = bundle_path / "evaluation" / "index.html"
    page = report.read_text()
    assert "confusion-hdbscan.png" in page and "purity-hdbscan.png" in page
    for png in ("confusion-hdbscan.png", "purity-hdbscan.png"):
        assert (report.parent / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    impure = [c for c in rec["per_cluster"] if c["intruders"]]
    if impure:  # each intruder is shown by its bundle thumbnail
        first = impure[0]["intruders"][0]["id"]
        assert f"../data/thumbs/{first}.jpg" in page


def test_without_truth_only_label_free_scores_are_reported(digits, capsys):
    assert main(["evaluate", str(digits[0]), "--no-truth", "--no-report"]) == 0
    doc = json.loads((digits[0] / "evaluation.json").read_text())
    rec = doc["clusterings"][0]
    assert doc["truth"] is None and "purity" not in rec
    assert rec["silhouette"] is None or -1 <= rec["silhouette"] <= 1
    assert all(0 < c["cohesion"] <= 1 for c in rec["per_cluster"])
    assert "label-free" in capsys.readouterr().out


def test_a_clustering_that_is_all_noise_scores_null_not_nan(make_bundle):
    path = make_bundle()
    b = open_bundle(path)
    np.full(len(b.ids), -1, dtype="<i4").tofile(path / "data" / "clusters" / "hdbscan.i32")
    truth = lb.Truth({i: "a" if k % 2 else "b" for k, i in enumerate(b.ids)}, "test")
    rec = ev.evaluate_bundle(b, truth)["clusterings"][0]
    assert rec["clusters"] == 0 and rec["fraction_clustered"] == 0.0
    assert rec["purity"] is None and rec["nmi"] is None and rec["silhouette"] is None
    json.dumps(rec, allow_nan=False)  # strict JSON


def test_annotators_labels_can_be_the_ground_truth(digits, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(digits[0], copy, symlinks=True)
    b = open_bundle(copy)
    store = open_store(b)
    first20 = b.ids[:20]
    store.append([{"id": "e1", "type": "label", "items": first20[:10], "label": "x"},
                  {"id": "e2", "type": "label", "items": first20[10:], "label": "y"}])
    store.close()
    t = lb.truth_from_annotations(b)
    assert set(t.labels) == set(first20)
    result = ev.evaluate_bundle(b, lb.auto_truth(b))  # annotations come before the category column
    assert result["truth"]["items"] == 20 and result["truth"]["labels"] == 2
    fresh = tmp_path / "fresh"
    shutil.copytree(digits[0], fresh, symlinks=True, ignore=shutil.ignore_patterns("annotations.sqlite*"))
    with pytest.raises(UserError, match="labels none of this bundle"):
        lb.truth_from_annotations(open_bundle(fresh))
    # Another build of the same images takes its truth from the first one's annotations.
    assert lb.truth_from_annotations(open_bundle(fresh), copy).labels == t.labels


def test_compare_builds_one_bundle_per_embedder_and_prints_a_table(digits, tmp_path, capsys):
    images = next(digits[0].parent.glob("demo/images"))
    work = tmp_path / "work"
    argv = ["evaluate", "--images", str(images), "--embedders", "classic", "--work-dir", str(work),
            "--truth-folders", "--layouts", "tsne", "--cluster-on", "embedding", "--max-images", "60", "--quiet"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "embedder" in out and "kNN@1" in out and "classic" in out
    table = json.loads((work / "comparison.json").read_text())
    assert table["rows"][0][0] == "classic" and table["rows"][0][1] == 60
    assert table["truth"] == "source folder names"
    assert (work / "classic" / "evaluation.json").is_file()


def test_bundle_and_images_together_is_a_one_line_error(digits, capsys):
    assert main(["evaluate", str(digits[0]), "--images", "x"]) == 2
    err = capsys.readouterr().err
    assert "not both" in err and "Traceback" not in err
