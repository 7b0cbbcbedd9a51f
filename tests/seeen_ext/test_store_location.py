"""The annotation store lives outside the published tree, and older bundles move there losing nothing."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from pixplot.bundle import open_bundle
from pixplot.errors import UserError
from seeen_ext.server import create_app
from seeen_ext.store import AnnotationStore, legacy_store_path, open_store, store_path
from tests.seeen_ext.conftest import api_client


def test_a_new_store_is_created_in_a_private_dot_folder(bundle: Path) -> None:
    store = open_store(open_bundle(bundle))
    store.close()
    assert store.path == bundle / ".pixplot" / "annotations.sqlite"
    assert store.path.is_file()
    assert stat.S_IMODE(store.path.parent.stat().st_mode) == 0o700
    assert not legacy_store_path(bundle).exists()


def test_a_legacy_store_moves_out_on_first_serve_with_every_event(bundle: Path) -> None:
    b = open_bundle(bundle)
    ids = b.ids
    old = AnnotationStore(legacy_store_path(bundle), ids)
    old.append([{"id": "e1", "type": "label", "items": ids[:3], "label": "cat", "author": "ann"},
                {"id": "e2", "type": "exclude", "items": [ids[1]], "author": "bob"}])
    old.undo("bob")
    before_state, before_log = old.state(), old.events()
    # The server starts while the old store's write-ahead log still holds the last commits.
    assert Path(f"{legacy_store_path(bundle)}-wal").exists()
    client = api_client(create_app(bundle))
    assert client.get("/api/state").get_json() == before_state
    assert client.get("/api/events").get_json()["events"] == before_log
    for suffix in ("", "-wal", "-shm"):
        assert not Path(f"{legacy_store_path(bundle)}{suffix}").exists()
    assert store_path(bundle).is_file()
    old.close()
    # Undo history moved too: bob's redo brings his exclusion back.
    r = client.post("/api/redo", json={"author": "bob"})
    assert r.status_code == 200 and client.get("/api/state").get_json()["excluded"] == [ids[1]]


def test_two_stores_at_once_are_refused_with_one_line(bundle: Path) -> None:
    b = open_bundle(bundle)
    open_store(b).close()
    AnnotationStore(legacy_store_path(bundle), b.ids).close()
    with pytest.raises(UserError, match="annotations.sqlite: an older annotation store"):
        open_store(b)
