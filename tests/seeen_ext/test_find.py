"""seeen_ext.find: more like this, split, similar clusters and label suggestions, on real bundles
whose embeddings have a known class structure."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pixplot.bundle import open_bundle
from pixplot.errors import UserError
from pixplot.knn import VectorIndex
from seeen_ext import find
from tests.seeen_ext.conftest import write_bundle


def classes_bundle(root: Path, classes: int = 3, per: int = 12, dim: int = 16, spread: float = 0.15,
                   seed: int = 0) -> tuple[Path, np.ndarray]:
    """A bundle of ``classes * per`` items whose embeddings form one tight blob per class; returns
    (bundle, class of each item in bundle order)."""
    write_bundle(root, n_images=classes * per, faces=0, png=0, dim=dim, seed=seed)
    rng = np.random.default_rng(seed)
    centres = np.linalg.qr(rng.normal(size=(dim, dim)))[0][:classes]  # orthonormal class directions
    truth = np.repeat(np.arange(classes), per)
    E = centres[truth] + rng.normal(0, spread, (len(truth), dim))
    E /= np.linalg.norm(E, axis=1, keepdims=True)
    np.save(root / "data" / "embeddings.npy", E.astype(np.float32))
    return root, truth


@pytest.fixture
def three(tmp_path: Path) -> tuple[object, np.ndarray]:
    root, truth = classes_bundle(tmp_path / "b")
    return open_bundle(root), truth


def test_neighbours_of_an_item_are_its_class_best_first_without_itself(three: tuple) -> None:
    b, truth = three
    E = b.embeddings
    got = find.neighbours_of(VectorIndex(E, kind="exact"), E, [0], k=5)
    assert [n.row for n in got if n.row == 0] == []
    assert all(truth[n.row] == truth[0] for n in got)
    scores = [n.score for n in got]
    assert scores == sorted(scores, reverse=True) and len(got) == 5


def test_neighbours_of_a_set_search_from_its_centroid_and_leave_the_set_out(three: tuple) -> None:
    b, truth = three
    E = b.embeddings
    members = list(np.flatnonzero(truth == 1)[:6])
    got = find.neighbours_of(VectorIndex(E, kind="exact"), E, members, k=6)
    rows = [n.row for n in got]
    assert not set(rows) & set(members)
    assert sorted(rows) == sorted(np.flatnonzero(truth == 1)[6:].tolist())


def test_split_finds_the_two_classes_a_mixed_cluster_holds(three: tuple) -> None:
    b, truth = three
    rows = np.flatnonzero(truth != 2).tolist()
    groups = find.split(b.embeddings, rows)
    assert len(groups) == 2
    assert sorted(sorted(truth[g.rows].tolist()) for g in groups) == [[0] * 12, [1] * 12]
    assert all(0.5 < g.cohesion <= 1.0 for g in groups)


def test_split_with_a_given_number_of_sub_groups_and_refusals(three: tuple) -> None:
    b, truth = three
    groups = find.split(b.embeddings, list(range(36)), k=3)
    assert sorted(len(g.rows) for g in groups) == [12, 12, 12]
    with pytest.raises(UserError, match="cannot split 3 items: a split needs at least 4"):
        find.split(b.embeddings, [0, 1, 2])
    with pytest.raises(UserError, match="give 2 to 2"):
        find.split(b.embeddings, [0, 1, 2, 3], k=3)


def test_similar_groups_rank_the_same_class_first(three: tuple) -> None:
    b, truth = three
    # Four "clusters": class 0 cut in two, classes 1 and 2 whole.
    keys = np.array(["a" if t == 0 and i % 2 else "b" if t == 0 else f"c{t}" for i, t in enumerate(truth)])
    groups = find.group_rows(keys)
    got = find.similar_groups(b.embeddings, groups, "a", k=3)
    assert [g.key for g in got][0] == "b" and got[0].score > 0.9 and got[0].size == 6
    assert "a" not in [g.key for g in got]
    with pytest.raises(UserError, match="no cluster 'zz'"):
        find.similar_groups(b.embeddings, groups, "zz")


def test_effective_groups_follow_splits_and_merges(three: tuple) -> None:
    b, truth = three
    cl = b.cluster_labels()
    overrides = {b.ids[0]: "e1/1", b.ids[1]: "e1/1", b.ids[2]: "1"}
    groups = find.effective_groups(cl, b.ids, overrides)
    assert sorted(groups["e1/1"].tolist()) == [0, 1]
    assert 2 in groups["1"].tolist() and 0 not in groups["0"].tolist()


def test_suggestions_label_the_unlabelled_from_labelled_neighbours_and_never_overwrite(three: tuple) -> None:
    b, truth = three
    names = ["ant", "bee", "cat"]
    # Half of each class labelled; one item of class 2 carries a wrong label the annotator chose.
    labels = {b.ids[i]: names[truth[i]] for i in range(len(truth)) if i % 2 == 0}
    wrong = int(np.flatnonzero(truth == 2)[1])
    labels[b.ids[wrong]] = "ant"
    excluded = {b.ids[3]}
    got = find.suggest(b, labels, excluded)
    rows = {s.row for s in got.items}
    assert wrong not in rows and not any(b.ids[r] in labels for r in rows)
    assert got.threshold_source == "auto" and got.candidates == len(truth) - len(labels)
    right = sum(names[truth[s.row]] == s.label for s in got.items)
    assert right >= len(got.items) - 1 and len(got.items) + got.unknown == got.candidates
    assert 3 in rows  # an excluded, unlabelled item is suggested too
    groups = got.by_label()
    assert {g["label"] for g in groups} <= set(names)
    for g in groups:
        scores = [s.score for s in g["items"]]
        assert scores == sorted(scores, reverse=True)


def test_suggestions_update_as_labels_are_added(three: tuple) -> None:
    b, truth = three
    labels = {b.ids[i]: f"class{truth[i]}" for i in range(len(truth)) if truth[i] == 0 and i < 6}
    first = find.suggest(b, labels, set())
    assert {s.label for s in first.items} == {"class0"}
    labels.update({b.ids[i]: f"class{truth[i]}" for i in range(len(truth)) if truth[i] == 1 and i < 18})
    second = find.suggest(b, labels, set())
    assert {s.label for s in second.items} == {"class0", "class1"}
    assert second.candidates == first.candidates - 6


def test_suggestions_refuse_without_labels(three: tuple) -> None:
    b, _ = three
    with pytest.raises(UserError, match="no labelled items yet"):
        find.suggest(b, {}, set())
    with pytest.raises(UserError, match="suggestions need a calibrated threshold"):
        find.suggest(b, {b.ids[0]: "solo"}, set())


class _Words:
    """A stand-in text tower: maps a word to a class direction (the real CLIP embedder is the
    embedders helper's; this checks the search plumbing, not a model)."""

    def __init__(self, E: np.ndarray, truth: np.ndarray) -> None:
        self.dirs = {f"class{t}": E[truth == t].mean(axis=0) for t in np.unique(truth)}

    def embed_text(self, texts: list[str]) -> np.ndarray:
        return np.stack([self.dirs[t] for t in texts])


def test_text_search_needs_an_embedder_with_embed_text(three: tuple) -> None:
    b, truth = three
    E = b.embeddings
    got = find.text_neighbours(_Words(E, truth), VectorIndex(E, kind="exact"), "class2", k=4)
    assert all(truth[n.row] == 2 for n in got)
    with pytest.raises(UserError, match="needs a CLIP-family embedder; this bundle was built with .classic."):
        find.text_neighbours(object(), VectorIndex(E, kind="exact"), "a cat", k=4, embedder_name="classic")
    with pytest.raises(UserError, match="type some words"):
        find.text_neighbours(_Words(E, truth), VectorIndex(E, kind="exact"), "  ", k=4)


def test_suggestions_match_excluded_items_first_and_stop_at_the_cap(three: tuple) -> None:
    b, truth = three
    labels = {b.ids[i]: f"class{truth[i]}" for i in range(len(truth)) if i % 2 == 0}
    late = [b.ids[i] for i in range(len(truth)) if i % 2][-2:]  # last in item order, but excluded
    got = find.suggest(b, labels, set(late), max_candidates=3)
    assert got.candidates == 3 and got.candidates_total == len(truth) - len(labels)
    assert {b.ids[s.row] for s in got.items} >= set(late)


def test_a_suggester_keeps_its_calibration_while_the_gallery_barely_changes(three: tuple) -> None:
    b, truth = three
    labels = {b.ids[i]: f"class{truth[i]}" for i in range(len(truth)) if i % 3}
    first = find.suggester(b, labels, set())
    labels[b.ids[0]] = f"class{truth[0]}"  # one more of 24: under 10 %
    again = find.suggester(b, labels, set(), previous=first)
    assert again.threshold == first.threshold and again.calibration is first.calibration
    assert len(again.gallery) == len(first.gallery) + 1
    labels.update({b.ids[i]: "other" for i in (3, 6)})  # a new label: calibrate afresh
    fresh = find.suggester(b, labels, set(), previous=again)
    assert fresh.calibration is not first.calibration
