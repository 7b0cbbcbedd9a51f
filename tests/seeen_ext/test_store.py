from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from pixplot.errors import UserError
from seeen_ext.store import AnnotationStore, EventError

ITEMS = [f"item{i:02d}" for i in range(10)]


@pytest.fixture
def store(tmp_path: Path) -> AnnotationStore:
    return AnnotationStore(tmp_path / "annotations.sqlite", ITEMS)


def ev(eid: str, etype: str, **kw: object) -> dict[str, object]:
    return {"id": eid, "type": etype, **kw}


def test_labels_and_exclusions_make_the_state(store: AnnotationStore) -> None:
    res = store.append([
        ev("e1", "label", items=["item00", "item01", "item02"], label="cat"),
        ev("e2", "label", items=["item03"], label="dog"),
        ev("e3", "exclude", items=["item02"]),
        ev("e4", "unlabel", items=["item01"]),
    ])
    assert (res.accepted, res.duplicates) == (4, 0)
    st = store.state()
    assert st["labels"] == {"item00": "cat", "item02": "cat", "item03": "dog"}
    assert st["excluded"] == ["item02"]
    assert st["version"] == res.version == 4


def test_rename_merges_and_delete_removes_a_label(store: AnnotationStore) -> None:
    store.append([ev("a", "label", items=["item00", "item01"], label="cat"),
                  ev("b", "label", items=["item02"], label="kitty"),
                  ev("c", "rename_label", **{"from": "kitty", "to": "cat"}),
                  ev("d", "label", items=["item05"], label="dog"),
                  ev("e", "delete_label", label="dog")])
    assert store.state()["labels"] == {"item00": "cat", "item01": "cat", "item02": "cat"}


def test_event_sent_twice_is_stored_once(store: AnnotationStore) -> None:
    batch = [ev("x1", "label", items=["item00"], label="cat"), ev("x2", "exclude", items=["item01"])]
    store.append(batch)
    again = store.append(batch + [ev("x1", "label", items=["item00"], label="cat")])
    assert (again.accepted, again.duplicates) == (3, 3)
    assert [e["id"] for e in store.events()] == ["x1", "x2"]
    assert again.version == 2


@pytest.mark.parametrize(
    ("bad", "named"),
    [
        (ev("b1", "paint", items=["item00"]), "'paint'"),
        (ev("b2", "label", items=["item00", "nope"], label="cat"), "'nope'"),
        (ev("b3", "label", items=["item00"]), "'label'"),
        (ev("b4", "exclude", items=[]), "'items'"),
        ({"type": "exclude", "items": ["item00"]}, "'id'"),
    ],
)
def test_bad_event_rejects_the_whole_batch(store: AnnotationStore, bad: dict, named: str) -> None:
    good = ev("g1", "label", items=["item01"], label="dog")
    with pytest.raises(EventError) as err:
        store.append([good, bad])
    assert named in str(err.value)
    assert store.state() == {"version": 0, "labels": {}, "excluded": [], "groups": {}}


def test_undo_and_redo_are_appended_inverse_events(store: AnnotationStore) -> None:
    store.append([ev("1", "label", items=["item00", "item01"], label="cat", author="ann")])
    store.append([ev("2", "label", items=["item01", "item02"], label="dog", author="ann")])
    assert store.undo("ann")["event"] == "2"
    assert store.state()["labels"] == {"item00": "cat", "item01": "cat"}
    assert store.undo("ann")["event"] == "1"
    assert store.state()["labels"] == {}
    assert store.redo("ann")["event"] == "1"
    assert store.state()["labels"] == {"item00": "cat", "item01": "cat"}
    assert store.redo("ann")["event"] == "2"
    assert store.state()["labels"] == {"item00": "cat", "item01": "dog", "item02": "dog"}
    assert store.redo("ann")["event"] is None
    # nothing was deleted: the log only grew, and its replay gives the same state
    assert len(store.events()) == 7  # 2 done, 2 + 1 undo, 1 + 1 redo
    assert store.replay() == store.state()


def test_undo_is_per_author_and_spares_others_later_edits(store: AnnotationStore) -> None:
    store.append([ev("a1", "exclude", items=["item03", "item04"], author="ann")])
    store.append([ev("b1", "include", items=["item04"], author="bob")])
    store.append([ev("b2", "label", items=["item05"], label="x", author="bob")])
    store.undo("ann")  # ann's exclude: item04 was re-included by bob since, so it stays
    assert store.state()["excluded"] == []
    assert store.state()["labels"] == {"item05": "x"}
    store.undo("bob")
    assert store.state()["labels"] == {}


def test_new_action_clears_the_redo_stack(store: AnnotationStore) -> None:
    store.append([ev("1", "label", items=["item00"], label="a")])
    store.undo()
    store.append([ev("2", "label", items=["item01"], label="b")])
    assert store.redo()["event"] is None
    assert store.state()["labels"] == {"item01": "b"}


def test_undo_of_rename_restores_a_merge(store: AnnotationStore) -> None:
    store.append([ev("1", "label", items=["item00"], label="a"), ev("2", "label", items=["item01"], label="b"),
                  ev("3", "rename_label", **{"from": "a", "to": "b"})])
    store.undo()
    assert store.state()["labels"] == {"item00": "a", "item01": "b"}


def test_undo_request_sent_twice_undoes_once(store: AnnotationStore) -> None:
    store.append([ev("1", "label", items=["item00"], label="a"), ev("2", "label", items=["item01"], label="b")])
    assert store.undo(request_id="u1")["event"] == "2"
    assert store.undo(request_id="u1")["event"] == "2"
    assert store.state()["labels"] == {"item00": "a"}


def test_state_survives_reopening_and_is_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "annotations.sqlite"
    s1 = AnnotationStore(path, ITEMS)
    s1.append([ev("1", "label", items=["item09"], label="z")])
    s1.close()
    assert AnnotationStore(path, ITEMS).state()["labels"] == {"item09": "z"}
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_concurrent_writers_from_many_threads_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "annotations.sqlite"
    stores = [AnnotationStore(path, ITEMS) for _ in range(2)]  # two "processes" worth of connections

    def work(t: int) -> None:
        s = stores[t % 2]
        for k in range(25):
            s.append([ev(f"t{t}-{k}", "label", items=[ITEMS[(t + k) % 10]], label=f"L{t}", author=f"a{t}")])

    threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    ids = [e["id"] for e in stores[0].events()]
    assert len(ids) == len(set(ids)) == 100
    assert stores[0].replay() == stores[1].state()


def test_labels_of_items_gone_from_the_build_are_kept_but_not_shown(tmp_path: Path) -> None:
    path = tmp_path / "annotations.sqlite"
    AnnotationStore(path, ITEMS).append([ev("1", "label", items=["item00", "item01"], label="a"),
                                         ev("2", "exclude", items=["item01"])])
    rebuilt = AnnotationStore(path, ITEMS[1:])  # item00's file was removed
    assert rebuilt.state()["labels"] == {"item01": "a"} and rebuilt.state()["excluded"] == ["item01"]
    assert rebuilt.replay() == rebuilt.state()
    assert AnnotationStore(path, ITEMS).state()["labels"] == {"item00": "a", "item01": "a"}  # it came back


def test_a_damaged_store_file_is_a_user_error_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "annotations.sqlite"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(UserError, match="annotations.sqlite: cannot open the annotation store"):
        AnnotationStore(path, ITEMS)
