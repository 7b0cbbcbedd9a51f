"""Find and repair in a real browser: more like this, split, similar clusters and merge, label
suggestions and text search, each driven by its key and checked in the saved state."""

from __future__ import annotations

import json
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from viewer_helpers import lattice, open_viewer, serve_static
from werkzeug.serving import make_server

from pixplot.testing import write_synthetic_bundle
from pixplot.vectors import write_vectors

pytestmark = pytest.mark.browser


def truth_of(i: int) -> int:
    """The lattice's class structure: cluster 0 (top-left quadrant) mixes class 0 (columns 0-1) with
    class 1 (column 2), cluster 1 is class 1, clusters 2 and 3 are both class 2."""
    col, row = i % 6, i // 6
    if row < 3:
        return 0 if col <= 1 else 1
    return 2


def find_bundle(root: Path) -> Path:
    xy, clusters = lattice()
    write_synthetic_bundle(root, positions=xy, cluster_labels=clusters)
    rng = np.random.default_rng(3)
    centres = np.linalg.qr(rng.normal(size=(16, 16)))[0][:3]
    truth = np.array([truth_of(i) for i in range(len(xy))])
    E = centres[truth] + rng.normal(0, 0.08, (len(xy), 16))
    E = (E / np.linalg.norm(E, axis=1, keepdims=True)).astype(np.float32)
    np.save(root / "data" / "embeddings.npy", E)
    man = json.loads((root / "data" / "manifest.json").read_text())
    man["embedder"]["dim"] = 16
    man["vectors"] = write_vectors(root / "data", E)
    (root / "data" / "manifest.json").write_text(json.dumps(man))
    return root


def ids_of(bundle: Path) -> list[str]:
    return [it["id"] for it in json.loads((bundle / "data" / "items.json").read_text())["items"]]


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    return find_bundle(tmp_path / "bundle")


@pytest.fixture
def static(bundle: Path) -> Iterator[str]:
    url, srv = serve_static(bundle)
    yield url
    srv.shutdown()


@pytest.fixture
def served(bundle: Path) -> Iterator[str]:
    from seeen_ext.server import create_app

    srv = make_server("127.0.0.1", 0, create_app(bundle, token="s3cret"), threaded=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_port}/"
    srv.shutdown()


def server_state(url: str) -> dict:
    with urllib.request.urlopen(url + "api/state") as res:
        return json.load(res)


def wait_status(page, text: str) -> str:
    page.wait_for_function("(t) => document.querySelector('#find-status').textContent.includes(t)", arg=text,
                           timeout=15000)
    return page.text_content("#find-status")


def strip_ids(page) -> list[list[str]]:
    return page.evaluate("""[...document.querySelectorAll('#find-groups .find-group')].map(
        (g) => [...g.querySelectorAll('.tile')].map((t) => t.dataset.id))""")


def test_more_like_this_in_a_static_bundle_ranks_the_class_and_excludes_it_in_one_key(page, static, bundle):
    ids = ids_of(bundle)
    open_viewer(page, static)
    page.evaluate("(ids) => pixplot.select(ids)", [ids[0]])
    page.keyboard.press("r")
    msg = wait_status(page, "nearest items")
    assert "in this browser" in msg
    strip = strip_ids(page)[0]
    assert len(strip) == 24 and ids[0] not in strip
    # The 5 others of class 0 come first.
    assert {ids.index(i) for i in strip[:5]} == {i for i in range(36) if truth_of(i) == 0} - {0}
    # The strip is the selection: x excludes all of it in one action, saved in this browser.
    assert sorted(page.evaluate("pixplot.selection()")) == sorted(strip)
    page.keyboard.press("x")
    page.evaluate("pixplot.flushed()")
    page.reload()
    open_viewer(page, static)
    assert sorted(page.evaluate("pixplot.state().excluded")) == sorted(strip)
    ms = page.evaluate("pixplot.app.find.finder.lastMs")
    assert ms is None or ms < 50


def test_static_bundle_splits_in_the_browser_and_keeps_the_sub_groups_after_a_reload(page, static, bundle):
    ids = ids_of(bundle)
    open_viewer(page, static)
    page.evaluate("pixplot.app.openCluster(0)")
    page.keyboard.press("s")
    wait_status(page, "sub-groups (saved)")
    groups = strip_ids(page)
    assert sorted(sorted(truth_of(ids.index(i)) for i in g) for g in groups) == [[0] * 6, [1] * 3]
    page.keyboard.press(".")  # the second sub-group becomes the selection; x excludes it
    page.keyboard.press("x")
    page.evaluate("pixplot.flushed()")
    page.reload()
    open_viewer(page, static)
    st = page.evaluate("pixplot.state()")
    assert sorted(st["excluded"]) == sorted(groups[1]) and len(set(st["groups"].values())) == 2
    page.evaluate("pixplot.app.openCluster(0)")
    page.keyboard.press("4")
    wait_status(page, "2 saved sub-groups")


def test_static_bundle_suggests_labels_in_the_browser_and_accepts_a_group_in_one_key(page, static, bundle):
    ids = ids_of(bundle)
    two = [ids[i] for i in range(36) if truth_of(i) == 2]
    open_viewer(page, static)
    page.evaluate("(ids) => pixplot.select(ids)", two[:3])
    page.evaluate("pixplot.label('two')")
    page.keyboard.press("o")
    wait_status(page, "calibrated threshold")
    assert page.evaluate("pixplot.app.find.state.groups.map((g) => g.label)") == ["two"]
    suggested = strip_ids(page)[0]
    assert set(suggested) <= set(two[3:]) and len(suggested) >= 10
    page.keyboard.press("y")
    page.evaluate("pixplot.flushed()")
    page.reload()
    open_viewer(page, static)
    labels = page.evaluate("pixplot.state().labels")
    assert {i for i, lab in labels.items() if lab == "two"} == set(two[:3]) | set(suggested)


def test_static_bundle_says_text_search_needs_the_server(page, static):
    open_viewer(page, static)
    page.keyboard.press("w")
    page.keyboard.type("a <b>cat</b> .*")
    page.keyboard.press("Enter")
    assert "CLIP-family" in wait_status(page, "Text search needs")


def test_split_is_saved_and_each_sub_group_is_labelled_in_one_action(page, served, bundle):
    ids = ids_of(bundle)
    open_viewer(page, served + "#token=s3cret")
    page.evaluate("pixplot.app.openCluster(0)")
    page.keyboard.press("s")
    wait_status(page, "sub-groups (saved)")
    groups = strip_ids(page)
    assert sorted(sorted(truth_of(ids.index(i)) for i in g) for g in groups) == [[0] * 6, [1] * 3]
    page.evaluate("pixplot.flushed()")
    saved = server_state(served)["groups"]
    assert len(saved) == 9 and len(set(saved.values())) == 2
    # The active sub-group (the larger) gets a label from the Find panel's box.
    page.click("#find-label")
    page.keyboard.type("<i>zero</i>")
    page.keyboard.press("Enter")
    page.evaluate("pixplot.flushed()")
    labels = server_state(served)["labels"]
    assert {i for i, lab in labels.items() if lab == "<i>zero</i>"} == set(groups[0])
    # A reload (or a second annotator) sees the saved sub-groups.
    page.evaluate("localStorage.clear()")
    page.reload()
    open_viewer(page, served + "#token=s3cret")
    page.evaluate("pixplot.app.openCluster(0)")
    page.keyboard.press("4")
    wait_status(page, "2 saved sub-groups")
    assert sorted(map(sorted, strip_ids(page))) == sorted(map(sorted, groups))
    # Labels are text: the markup is shown as typed.
    assert page.evaluate("document.querySelector('#find-groups .caption').textContent") == "<i>zero</i>"
    assert page.evaluate("document.querySelector('#find-groups i')") is None


def test_similar_cluster_merges_into_the_current_label_in_one_key(page, served, bundle):
    ids = ids_of(bundle)
    open_viewer(page, served + "#token=s3cret")
    page.evaluate("pixplot.app.openCluster(2)")
    page.keyboard.press("t")
    page.keyboard.type("two")
    page.keyboard.press("Shift+Enter")
    page.keyboard.press("j")
    wait_status(page, 'merges the active one into "two"')
    groups = page.evaluate("[...document.querySelectorAll('#find-groups .find-group')].map((g) => g.dataset.key)")
    assert groups[0] == "3"
    page.keyboard.press("y")
    page.evaluate("pixplot.flushed()")
    st = server_state(served)
    cluster3 = [ids[i] for i in range(36) if i % 6 >= 3 and i // 6 >= 3]
    assert all(st["labels"][i] == "two" and st["groups"][i] == "2" for i in cluster3)
    # One action: one undo takes the merge back.
    page.keyboard.press("Control+z")
    page.evaluate("pixplot.flushed()")
    st = server_state(served)
    assert not any(i in st["labels"] or i in st["groups"] for i in cluster3)


def test_suggestions_are_grouped_by_label_and_accepted_in_one_key_without_overwriting(page, served, bundle):
    ids = ids_of(bundle)
    open_viewer(page, served + "#token=s3cret")
    two = [ids[i] for i in range(36) if truth_of(i) == 2]
    one = [ids[i] for i in range(36) if truth_of(i) == 1]
    page.evaluate("(ids) => pixplot.select(ids)", two[:3])
    page.evaluate("pixplot.label('two')")
    page.evaluate("(ids) => pixplot.select(ids)", one[:2])
    page.evaluate("pixplot.label('<b>one</b>')")
    wrong = one[2]  # the annotator's own (odd) label is never replaced
    page.evaluate("(ids) => pixplot.select(ids)", [wrong])
    page.evaluate("pixplot.label('special')")
    page.evaluate("pixplot.flushed()")
    page.keyboard.press("o")
    wait_status(page, "calibrated threshold")
    titles = page.evaluate("[...document.querySelectorAll('#find-groups .find-title')].map((b) => b.textContent)")
    assert any(t.startswith("<b>one</b>:") for t in titles)
    assert page.evaluate("document.querySelector('#find-groups b')") is None
    names = page.evaluate("pixplot.app.find.state.groups.map((g) => g.label)")
    suggested = {g: strip_ids(page)[k] for k, g in enumerate(names)}
    assert wrong not in sum(suggested.values(), [])
    assert set(suggested["two"]) <= set(two) and len(suggested["two"]) >= 8
    # Make "two" the active group, leave one suggestion out of it, and accept the rest with y.
    while page.evaluate("pixplot.app.find.state.groups[pixplot.app.find.state.active].label") != "two":
        page.keyboard.press(".")
    page.click(f"#find-groups .find-group.active .tile[data-id='{suggested['two'][-1]}']")
    page.keyboard.press("y")
    page.evaluate("pixplot.flushed()")
    labels = server_state(served)["labels"]
    assert {i for i in suggested["two"][:-1]} <= {i for i, lab in labels.items() if lab == "two"}
    assert suggested["two"][-1] not in labels and labels[wrong] == "special"
    # The suggestions follow: the accepted items are no longer suggested.
    page.wait_for_function("(n) => pixplot.app.find.state.mode === 'suggest' && "
                           "!pixplot.app.find.state.groups.some((g) => g.rows.includes(n))",
                           arg=page.evaluate("(id) => pixplot.app.store.index.get(id)", suggested["two"][0]),
                           timeout=15000)


def test_text_search_served_without_a_clip_embedder_says_so(page, served):
    open_viewer(page, served + "#token=s3cret")
    page.keyboard.press("w")
    page.keyboard.type("a <b>dog</b> [")
    page.keyboard.press("Enter")
    assert "text search needs" in wait_status(page, "text search needs")


def test_help_lists_every_find_key(page, static):
    open_viewer(page, static)
    page.keyboard.press("?")
    keys = page.evaluate("[...document.querySelectorAll('#help kbd')].map((k) => k.textContent)")
    assert {"4", "r", "s", "j", "o", "w", ".", ",", "y"} <= set(keys)


def test_similar_clusters_and_merge_work_in_a_static_bundle_and_survive_a_reload(page, static, bundle):
    ids = ids_of(bundle)
    open_viewer(page, static)
    page.evaluate("pixplot.app.openCluster(2)")
    page.keyboard.press("t")
    page.keyboard.type("two")
    page.keyboard.press("Shift+Enter")
    page.keyboard.press("j")
    wait_status(page, 'merges the active one into "two"')
    assert page.evaluate("document.querySelector('#find-groups .find-group').dataset.key") == "3"
    page.keyboard.press("y")
    page.evaluate("pixplot.flushed()")
    page.reload()
    open_viewer(page, static)
    st = page.evaluate("pixplot.state()")
    cluster3 = [ids[i] for i in range(36) if i % 6 >= 3 and i // 6 >= 3]
    assert all(st["labels"][i] == "two" and st["groups"][i] == "2" for i in cluster3)
