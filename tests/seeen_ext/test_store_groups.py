"""The store's split and merge events: sub-groups and merges are saved state, undone like the rest."""

from __future__ import annotations

from pathlib import Path

import pytest

from seeen_ext.store import AnnotationStore, EventError, group_name

ITEMS = [f"item{i:02d}" for i in range(10)]


@pytest.fixture
def store(tmp_path: Path) -> AnnotationStore:
    return AnnotationStore(tmp_path / "annotations.sqlite", ITEMS)


def test_a_split_puts_each_sub_group_in_a_group_named_after_the_event(store: AnnotationStore) -> None:
    store.append([{"id": "s1", "type": "split", "of": "3", "groups": [["item00", "item01"], ["item02", "item03"]]}])
    st = store.state()
    assert st["groups"] == {"item00": "s1/1", "item01": "s1/1", "item02": "s1/2", "item03": "s1/2"}
    assert group_name("s1", 2) == "s1/2"
    assert store.replay() == st
    assert store.events()[0]["of"] == "3"


def test_a_merge_moves_items_into_a_group_and_labels_them_in_one_event(store: AnnotationStore) -> None:
    store.append([{"id": "l1", "type": "label", "items": ["item00"], "label": "cat"},
                  {"id": "m1", "type": "merge", "items": ["item05", "item06"], "into": "2", "label": "cat"}])
    st = store.state()
    assert st["groups"] == {"item05": "2", "item06": "2"}
    assert st["labels"] == {"item00": "cat", "item05": "cat", "item06": "cat"}
    assert store.replay() == st


def test_undo_of_a_split_and_of_a_merge_restores_groups_and_labels(store: AnnotationStore) -> None:
    store.append([{"id": "s1", "type": "split", "groups": [["item00", "item01"], ["item02"]], "author": "ann"}])
    store.append([{"id": "m1", "type": "merge", "items": ["item02"], "into": "s1/1", "label": "cat",
                   "author": "ann"}])
    store.undo("ann")
    st = store.state()
    assert st["groups"]["item02"] == "s1/2" and st["labels"] == {}
    store.undo("ann")
    assert store.state()["groups"] == {}
    store.redo("ann")
    assert store.state()["groups"] == {"item00": "s1/1", "item01": "s1/1", "item02": "s1/2"}
    assert store.replay() == store.state()


def test_merge_into_null_returns_items_to_their_clusters(store: AnnotationStore) -> None:
    store.append([{"id": "s1", "type": "split", "groups": [["item00", "item01"]]},
                  {"id": "m1", "type": "merge", "items": ["item00"], "into": None}])
    assert store.state()["groups"] == {"item01": "s1/1"}


@pytest.mark.parametrize(("bad", "named"), [
    ({"id": "b1", "type": "split", "groups": []}, "'groups'"),
    ({"id": "b2", "type": "split", "groups": [["item00"], ["item00", "item01"]]}, "two sub-groups"),
    ({"id": "b3", "type": "split", "groups": [["item00", "nope"]]}, "'nope'"),
    ({"id": "b4", "type": "merge", "items": ["item00"], "into": ""}, "'into'"),
    ({"id": "b5", "type": "merge", "items": [], "into": "1"}, "'items'"),
    ({"id": "b6", "type": "merge", "items": ["item00"], "into": "1", "label": 3}, "'label'"),
])
def test_malformed_split_or_merge_rejects_the_batch(store: AnnotationStore, bad: dict, named: str) -> None:
    with pytest.raises(EventError) as err:
        store.append([{"id": "ok", "type": "label", "items": ["item09"], "label": "x"}, bad])
    assert named in str(err.value)
    assert store.version() == 0
