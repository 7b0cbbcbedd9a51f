"""The find routes of `pixplot serve`: neighbours, text search, split, similar clusters, suggestions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from pixplot.bundle import open_bundle
from seeen_ext.server import TOKEN_HEADER, create_app
from tests.seeen_ext.conftest import api_client
from tests.seeen_ext.test_find import classes_bundle


@pytest.fixture
def served(tmp_path: Path) -> tuple[Any, list[str], np.ndarray]:
    root, truth = classes_bundle(tmp_path / "b")
    return api_client(create_app(root)), open_bundle(root).ids, truth


def post(client: Any, url: str, body: Any, **headers: str) -> Any:
    return client.post(url, data=json.dumps(body), content_type="application/json", headers=headers)


def test_neighbors_of_an_item_are_its_class(served: tuple) -> None:
    client, ids, truth = served
    r = post(client, "/api/neighbors", {"items": [ids[0]], "k": 5})
    assert r.status_code == 200
    got = r.get_json()
    pos = {iid: i for i, iid in enumerate(ids)}
    assert len(got["neighbors"]) == 5 and ids[0] not in [n["id"] for n in got["neighbors"]]
    assert all(truth[pos[n["id"]]] == truth[0] for n in got["neighbors"])
    assert got["index"] == "exact" and got["ms"] >= 0


def test_neighbors_of_a_cluster_leave_its_members_out(served: tuple) -> None:
    client, ids, _ = served
    got = post(client, "/api/neighbors", {"cluster": "0", "k": 3}).get_json()
    members = set(ids[0::2])  # the fixture bundle's cluster 0: every other item
    assert not members & {n["id"] for n in got["neighbors"]} and got["query"]["cluster"] == "0"


def test_split_proposes_sub_groups_and_a_split_event_saves_them(served: tuple) -> None:
    client, ids, truth = served
    mixed = [ids[i] for i in np.flatnonzero(truth != 2)]
    got = post(client, "/api/split", {"items": mixed}).get_json()
    assert [len(g["items"]) for g in got["groups"]] == [12, 12]
    ev = {"id": "sp1", "type": "split", "groups": [g["items"] for g in got["groups"]]}
    assert post(client, "/api/events", {"events": [ev]}).status_code == 200
    st = client.get("/api/state").get_json()
    assert set(st["groups"].values()) == {"sp1/1", "sp1/2"} and len(st["groups"]) == 24
    # The saved sub-groups are clusters now: their neighbours and similar clusters answer by name.
    sim = post(client, "/api/similar-clusters", {"cluster": "sp1/1", "k": 10}).get_json()
    assert sim["of"] == "sp1/1" and "sp1/1" not in [c["cluster"] for c in sim["clusters"]]
    assert "sp1/2" in [c["cluster"] for c in sim["clusters"]]


def test_split_of_fewer_than_four_items_says_why(served: tuple) -> None:
    client, ids, _ = served
    r = post(client, "/api/split", {"items": ids[:3]})
    assert r.status_code == 400
    assert r.get_json()["error"] == "cannot split 3 items: a split needs at least 4; label or exclude them one by one"


def test_similar_clusters_rank_the_other_half_of_a_split_class_first(served: tuple) -> None:
    client, ids, truth = served
    a = [ids[i] for i in np.flatnonzero(truth == 0)[:6]]
    b = [ids[i] for i in np.flatnonzero(truth == 0)[6:]]
    c = [ids[i] for i in np.flatnonzero(truth == 1)]
    post(client, "/api/events", {"events": [
        {"id": "s", "type": "split", "groups": [a, b, c]},
        {"id": "l", "type": "label", "items": a, "label": "<b>ant</b>"}]})
    got = post(client, "/api/similar-clusters", {"cluster": "s/1", "k": 3}).get_json()
    first = got["clusters"][0]
    assert first["cluster"] == "s/2" and first["score"] > 0.9 and sorted(first["items"]) == sorted(b)
    # Merging it into the label is one event.
    post(client, "/api/events", {"events": [{"id": "m", "type": "merge", "items": first["items"], "into": "s/1",
                                             "label": "<b>ant</b>"}]})
    st = client.get("/api/state").get_json()
    assert all(st["labels"][i] == "<b>ant</b>" and st["groups"][i] == "s/1" for i in a + b)


def test_suggestions_group_by_label_best_first_and_skip_labelled_items(served: tuple) -> None:
    client, ids, truth = served
    names = ["ant", "bee", "cat"]
    labelled = {ids[i]: names[truth[i]] for i in range(len(ids)) if i % 3 == 0}
    events = [{"id": f"l{n}", "type": "label", "items": [iid], "label": lab}
              for n, (iid, lab) in enumerate(labelled.items())]
    post(client, "/api/events", {"events": events})
    got = post(client, "/api/suggestions", {}).get_json()
    assert got["threshold_source"] == "auto" and got["gallery"] == len(labelled)
    assert got["candidates"] == len(ids) - len(labelled)
    pos = {iid: i for i, iid in enumerate(ids)}
    for g in got["groups"]:
        scores = [s["score"] for s in g["items"]]
        assert scores == sorted(scores, reverse=True)
        assert all(s["id"] not in labelled for s in g["items"])
        assert all(names[truth[pos[s["id"]]]] == g["label"] for s in g["items"])
    # Accepting a group is one label event; the next answer has fewer candidates.
    g0 = got["groups"][0]
    post(client, "/api/events", {"events": [{"id": "acc", "type": "label", "items": [s["id"] for s in g0["items"]],
                                             "label": g0["label"]}]})
    again = post(client, "/api/suggestions", {}).get_json()
    assert again["candidates"] == got["candidates"] - len(g0["items"]) and again["version"] > got["version"]


def test_suggestions_before_any_label_say_what_to_do(served: tuple) -> None:
    client, _, _ = served
    r = post(client, "/api/suggestions", {})
    assert r.status_code == 400 and "label a cluster or two" in r.get_json()["error"]


def test_text_search_on_a_bundle_without_a_text_embedder_says_it_needs_clip(served: tuple) -> None:
    client, _, _ = served
    r = post(client, "/api/search/text", {"text": "a <b>cat</b> .*"})
    assert r.status_code == 400
    assert "text search needs" in r.get_json()["error"]


@pytest.mark.parametrize(("url", "body", "says"), [
    ("/api/neighbors", {"items": ["nope"]}, "unknown item id 'nope'"),
    ("/api/neighbors", {"items": []}, "'items' must be a non-empty list"),
    ("/api/neighbors", {"cluster": "99"}, "no cluster '99'"),
    ("/api/neighbors", {"items": None, "k": 0}, "'k' must be a whole number"),
    ("/api/split", {}, "give 'items' (item ids) or 'cluster'"),
    ("/api/suggestions", {"threshold": 7}, "'threshold' must be 'auto'"),
])
def test_bad_requests_are_one_line_400s(served: tuple, url: str, body: dict, says: str) -> None:
    client, _, _ = served
    r = post(client, url, body)
    assert r.status_code == 400 and says in r.get_json()["error"]


def test_find_routes_need_the_token_when_one_is_set(tmp_path: Path) -> None:
    root, _ = classes_bundle(tmp_path / "b")
    client = api_client(create_app(root, token="s3cret"))
    ids = open_bundle(root).ids
    assert post(client, "/api/neighbors", {"items": [ids[0]]}).status_code == 401
    assert post(client, "/api/neighbors", {"items": [ids[0]]}, **{TOKEN_HEADER: "s3cret"}).status_code == 200
