from __future__ import annotations

import csv
import http.client
import io
import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from pixplot.bundle import open_bundle
from seeen_ext.server import TOKEN_HEADER, create_app, is_loopback, open_url
from tests.seeen_ext.conftest import api_client


@pytest.fixture
def app_ids(bundle: Path) -> tuple[Any, list[str]]:
    app = create_app(bundle)
    return api_client(app), open_bundle(bundle).ids


def post(client: Any, url: str, body: Any, **headers: str) -> Any:
    return client.post(url, data=json.dumps(body), content_type="application/json", headers=headers)


def test_state_starts_empty_and_follows_events(app_ids: tuple[Any, list[str]]) -> None:
    client, ids = app_ids
    assert client.get("/api/state").get_json() == {"version": 0, "labels": {}, "excluded": [], "groups": {}}
    r = post(client, "/api/events", {"events": [
        {"id": "e1", "type": "label", "items": ids[:3], "label": "cat", "author": "ann"},
        {"id": "e2", "type": "exclude", "items": [ids[1]]},
    ]})
    assert r.status_code == 200
    assert r.get_json()["accepted"] == 2 and r.get_json()["version"] == 2
    st = client.get("/api/state").get_json()
    assert st["labels"] == {i: "cat" for i in ids[:3]}
    assert st["excluded"] == [ids[1]]
    log = client.get("/api/events?since=1").get_json()
    assert [e["id"] for e in log["events"]] == ["e2"] and log["version"] == 2


def test_resent_batch_is_accepted_and_not_applied_twice(app_ids: tuple[Any, list[str]]) -> None:
    client, ids = app_ids
    batch = {"events": [{"id": "same", "type": "label", "items": [ids[0]], "label": "x"}]}
    first, second = post(client, "/api/events", batch).get_json(), post(client, "/api/events", batch).get_json()
    assert first == {"accepted": 1, "version": 1, "duplicates": 0}
    assert second == {"accepted": 1, "version": 1, "duplicates": 1}


def test_unknown_type_is_400_naming_it_with_nothing_applied(app_ids: tuple[Any, list[str]]) -> None:
    client, ids = app_ids
    r = post(client, "/api/events", {"events": [
        {"id": "ok", "type": "label", "items": [ids[0]], "label": "cat"},
        {"id": "bad", "type": "recolour", "items": [ids[1]]},
    ]})
    assert r.status_code == 400
    assert "'recolour'" in r.get_json()["error"] and r.get_json()["type"] == "recolour"
    assert client.get("/api/state").get_json()["version"] == 0


def test_unknown_item_is_400_naming_it_with_nothing_applied(app_ids: tuple[Any, list[str]]) -> None:
    client, ids = app_ids
    r = post(client, "/api/events", {"events": [
        {"id": "ok", "type": "exclude", "items": [ids[0]]},
        {"id": "bad", "type": "label", "items": [ids[1], "deadbeefdeadbeef"], "label": "cat"},
    ]})
    assert r.status_code == 400
    assert "deadbeefdeadbeef" in r.get_json()["error"] and r.get_json()["item"] == "deadbeefdeadbeef"
    assert client.get("/api/state").get_json() == {"version": 0, "labels": {}, "excluded": [], "groups": {}}


def test_undo_and_redo_act_on_the_callers_author(app_ids: tuple[Any, list[str]]) -> None:
    client, ids = app_ids
    post(client, "/api/events", {"events": [{"id": "a", "type": "label", "items": [ids[0]], "label": "A",
                                             "author": "ann"}]})
    post(client, "/api/events", {"events": [{"id": "b", "type": "label", "items": [ids[1]], "label": "B",
                                             "author": "bob"}]})
    r = post(client, "/api/undo", {"author": "ann"})
    assert r.status_code == 200 and r.get_json()["event"] == "a"
    assert client.get("/api/state").get_json()["labels"] == {ids[1]: "B"}
    assert post(client, "/api/redo", {"author": "ann"}).get_json()["event"] == "a"
    assert client.get("/api/state").get_json()["labels"] == {ids[0]: "A", ids[1]: "B"}
    assert post(client, "/api/redo", {"author": "ann"}).get_json()["event"] is None


def test_export_csv_json_and_gallery(app_ids: tuple[Any, list[str]]) -> None:
    client, ids = app_ids
    post(client, "/api/events", {"events": [
        {"id": "1", "type": "label", "items": ids[:2], "label": "cat"},
        {"id": "2", "type": "exclude", "items": [ids[1]]},
    ]})
    csv_text = client.get("/api/export?format=csv").get_data(as_text=True)
    lines = csv_text.strip().split("\n")
    assert lines[0] == "item_id,source,box,cluster_id,label,excluded" and len(lines) == len(ids) + 1
    assert any(line.startswith(f"{ids[1]},") and line.endswith(",cat,true") for line in lines)
    doc = client.get("/api/export?format=json").get_json()
    assert doc["format"] == "pixplot-annotations" and len(doc["items"]) == len(ids)
    assert [e["id"] for e in doc["events"]] == ["1", "2"]
    r = client.get("/api/export?format=gallery")
    with np.load(io.BytesIO(r.data)) as z:
        assert list(z["ids"]) == [ids[0]] and list(z["labels"]) == ["cat"]
    assert client.get("/api/export?format=xml").status_code == 400


@pytest.mark.parametrize(
    "path",
    ["/../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd", "/data/..%2f..%2fannotations.sqlite",
     "/annotations.sqlite", "/annotations.sqlite-wal", "//etc/passwd", "/data/%2fetc%2fpasswd",
     "/.pixplot-cache/x", "/.pixplot/annotations.sqlite", "/.pixplot/annotations.sqlite-wal",
     "/%2epixplot/annotations.sqlite", "/data/..%5c..%5cmanifest.json", "/%2Fetc%2Fpasswd", "/data/nope.json"],
)
def test_paths_outside_the_bundle_or_private_are_404(app_ids: tuple[Any, list[str]], path: str) -> None:
    client, _ = app_ids
    assert client.get(path).status_code == 404


def test_bundle_files_and_linked_originals_are_served(bundle: Path) -> None:
    client = api_client(create_app(bundle))
    assert b"<title>pixplot" in client.get("/").data
    assert client.get("/data/manifest.json").get_json()["format"] == "pixplot-bundle"
    item = open_bundle(bundle).items[0]
    assert client.get(f"/data/{item['original']}").data[:3] == b"\xff\xd8\xff"


def test_writes_need_the_token_when_one_is_set(bundle: Path) -> None:
    client = api_client(create_app(bundle, token="s3cret"))
    ids = open_bundle(bundle).ids
    body = {"events": [{"id": "t", "type": "exclude", "items": [ids[0]]}]}
    assert post(client, "/api/events", body).status_code == 401
    assert post(client, "/api/events", body, **{TOKEN_HEADER: "wrong"}).status_code == 401
    assert post(client, "/api/undo", {}).status_code == 401
    assert post(client, "/api/upload", {"target": "s3://b/p"}).status_code == 401
    assert client.get("/api/state").get_json()["version"] == 0  # reads stay open
    assert post(client, "/api/events", body, **{TOKEN_HEADER: "s3cret"}).status_code == 200


def test_oversized_body_is_413(bundle: Path) -> None:
    client = api_client(create_app(bundle, max_body=1000))
    big = {"events": [{"id": f"e{i}", "type": "exclude", "items": ["x" * 16]} for i in range(100)]}
    r = post(client, "/api/events", big)
    assert r.status_code == 413 and "error" in r.get_json()


# ---------------------------------------------------------------------------- hostile requests (issue 15)


def test_cross_site_writes_are_refused_on_every_write_route_even_with_empty_bodies(bundle: Path) -> None:
    app = create_app(bundle)
    client, foreign = api_client(app), app.test_client()  # foreign: no X-Requested-With, as a form sends
    ids = open_bundle(bundle).ids
    post(client, "/api/events", {"events": [{"id": "a", "type": "label", "items": [ids[0]], "label": "A"}]})
    r = foreign.post("/api/undo")  # empty body: what a no-cors fetch or a bare form sends
    assert r.status_code == 403 and "X-Requested-With" in r.get_json()["error"]
    assert foreign.post("/api/undo", data="author=", content_type="application/x-www-form-urlencoded"
                        ).status_code == 403
    writes = sorted(rule.rule for rule in app.url_map.iter_rules() if rule.methods & {"POST", "PUT", "DELETE"})
    assert "/api/undo" in writes and "/api/upload" in writes and "/api/recognize" in writes
    for route in writes:
        assert foreign.post(route, data=b"").status_code == 403, route
    assert client.get("/api/state").get_json()["labels"] == {ids[0]: "A"}  # nothing was undone
    for headers in ({"Origin": "https://evil.example"}, {"Origin": "null"}, {"Sec-Fetch-Site": "cross-site"},
                    {"Sec-Fetch-Site": "same-site"}):
        assert client.post("/api/undo", headers=headers).status_code == 403, headers
    assert client.get("/api/state").get_json()["labels"] == {ids[0]: "A"}
    same = {"Origin": "http://localhost", "Sec-Fetch-Site": "same-origin"}  # the viewer, from this server
    assert client.post("/api/undo", headers=same).get_json()["event"] == "a"


def test_token_header_alone_marks_a_write_as_same_site(bundle: Path) -> None:
    client = create_app(bundle, token="s3cret").test_client()  # a script with the token, no X-Requested-With
    r = client.post("/api/undo", headers={TOKEN_HEADER: "s3cret"})
    assert r.status_code == 200 and r.get_json()["event"] is None


@pytest.mark.parametrize("label", ["a\x00b", "two\nlines", "cr\rhere", "tab\there", "bell\x07", "c1\x85"])
def test_labels_with_control_characters_are_400(app_ids: tuple[Any, list[str]], label: str) -> None:
    client, ids = app_ids
    r = post(client, "/api/events", {"events": [{"id": "c", "type": "label", "items": [ids[0]], "label": label}]})
    assert r.status_code == 400 and r.get_json()["field"] == "label" and "control character" in r.get_json()["error"]
    r = post(client, "/api/events", {"events": [{"id": "d", "type": "rename_label", "from": "x", "to": label}]})
    assert r.status_code == 400 and r.get_json()["field"] == "to"
    assert client.get("/api/state").get_json()["version"] == 0


def test_csv_export_neutralises_formulas_and_says_its_charset_once(app_ids: tuple[Any, list[str]]) -> None:
    client, ids = app_ids
    hostile = ["=HYPERLINK(\"http://x\",\"y\")", "+1+1", "-2+3", "@SUM(A1)"]
    post(client, "/api/events", {"events": [
        {"id": str(i), "type": "label", "items": [ids[i]], "label": lab} for i, lab in enumerate(hostile)]})
    r = client.get("/api/export?format=csv")
    assert r.headers["Content-Type"] == "text/csv; charset=utf-8"
    cells = {row["item_id"]: row["label"] for row in csv.DictReader(io.StringIO(r.get_data(as_text=True)))}
    assert [cells[ids[i]] for i in range(len(hostile))] == ["'" + lab for lab in hostile]
    assert client.get("/api/export?format=json").get_json()["labels"][ids[0]] == hostile[0]  # JSON keeps it exact


@pytest.mark.parametrize("query", ["since=99999999999999999999", "limit=99999999999999999999",
                                   "since=9223372036854775808", "since=%D9%A3", "limit=%C2%B2", "since=-1",
                                   "since=1.0", "limit="])
def test_events_since_and_limit_take_ascii_digits_in_range_only(app_ids: tuple[Any, list[str]], query: str) -> None:
    client, _ = app_ids
    r = client.get(f"/api/events?{query}")
    assert r.status_code == 400 and "error" in r.get_json()


def test_events_since_and_limit_accept_the_largest_integer(app_ids: tuple[Any, list[str]]) -> None:
    client, _ = app_ids
    r = client.get("/api/events?since=9223372036854775807&limit=9223372036854775807")
    assert r.status_code == 200 and r.get_json()["events"] == []


@pytest.mark.parametrize("value", ["false", "true", 0, 1, None, [], {}])
def test_upload_flags_must_be_json_booleans(app_ids: tuple[Any, list[str]], value: Any) -> None:
    client, _ = app_ids
    r = post(client, "/api/upload", {"target": "s3://bucket/prefix", "include_unlabelled": value})
    assert r.status_code == 400 and "include_unlabelled" in r.get_json()["error"]


def test_non_json_post_is_refused(app_ids: tuple[Any, list[str]]) -> None:
    client, _ = app_ids
    r = client.post("/api/events", data='{"events": []}', content_type="text/plain")
    assert r.status_code == 415


def test_loopback_detection_and_printed_url() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.4")
    assert open_url("10.0.0.5", 8000, "tok") == "http://10.0.0.5:8000/#token=tok"
    assert open_url("127.0.0.1", 5000, None) == "http://127.0.0.1:5000/"


# ---------------------------------------------------------------------------- a real server process


def _start_server(bundle: Path, port: int, host: str = "127.0.0.1", token: str | None = None,
                  max_body: int | None = None) -> subprocess.Popen[bytes]:
    """``pixplot serve`` as its own process (the real CLI, waitress and all)."""
    args = [sys.executable, "-m", "pixplot", "serve", str(bundle), "--host", host, "--port", str(port)]
    if token:
        args += ["--token", token]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return proc
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError(proc.stdout.read().decode() if proc.stdout else "server exited") from None
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("server did not start in 30 s")


def _stop(proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
    if proc.poll() is None:
        os.kill(proc.pid, sig)
    proc.wait(timeout=10)


@pytest.fixture
def live(bundle: Path, free_ports: Any) -> Iterator[tuple[int, Path]]:
    port = free_ports(1)[0]
    proc = _start_server(bundle, port)
    yield port, bundle
    _stop(proc)


def _raw_get(port: int, path: str) -> int:
    """A request whose path goes on the wire exactly as written (no client-side normalising)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    conn.putrequest("GET", path, skip_host=True)
    conn.putheader("Host", f"127.0.0.1:{port}")
    conn.endheaders()
    status = conn.getresponse().status
    conn.close()
    return status


def test_served_process_refuses_traversal_on_the_wire(live: tuple[int, Path]) -> None:
    port, _ = live
    for path in ["/../../../../etc/passwd", "/%2e%2e/%2e%2e/%2e%2e/etc/passwd", "/..%2f..%2f..%2fetc%2fpasswd",
                 "/data/../../annotations.sqlite", "/annotations.sqlite", "/%2fetc%2fpasswd",
                 "http://127.0.0.1/../../etc/passwd", "/data/%2e%2e/%2e%2e/%2e%2e/etc/passwd"]:
        assert _raw_get(port, path) == 404, path
    assert _raw_get(port, "/data/manifest.json") == 200


def test_served_process_prints_the_url_and_token_beyond_loopback(bundle: Path, free_ports: Any) -> None:
    port = free_ports(1)[0]
    proc = _start_server(bundle, port, host="0.0.0.0")
    try:
        body = json.dumps({"events": [{"id": "x", "type": "exclude", "items": [open_bundle(bundle).ids[0]]}]})
        req = urllib.request.Request(f"http://127.0.0.1:{port}/api/events", data=body.encode(),
                                     headers={"Content-Type": "application/json"})
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(req, timeout=5)
        assert err.value.code == 401
    finally:
        _stop(proc)
    out = proc.stdout.read().decode() if proc.stdout else ""
    assert f":{port}/#token=" in out
    token = out.split("#token=")[1].split()[0]
    assert len(token) >= 20


def test_served_process_answers_an_oversized_body_with_413(live: tuple[int, Path]) -> None:
    port, _ = live
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.putrequest("POST", "/api/events")
    conn.putheader("Content-Type", "application/json")
    conn.putheader("Content-Length", str(17 * 1024 * 1024))
    conn.endheaders()  # the server answers from the headers alone, before any of the body
    resp = conn.getresponse()
    assert resp.status == 413 and resp.getheader("Content-Type") == "application/json"
    assert "larger than this server's limit" in json.loads(resp.read())["error"]  # JSON, like every error
    conn.close()


def test_port_in_use_is_a_one_line_error(live: tuple[int, Path]) -> None:
    port, bundle = live
    proc = subprocess.run([sys.executable, "-m", "pixplot", "serve", str(bundle), "--port", str(port)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and f"127.0.0.1:{port}" in proc.stderr and "--port" in proc.stderr
    assert "open http" not in proc.stdout


def test_loopback_server_refuses_foreign_host_header(live: tuple[int, Path]) -> None:
    port, _ = live
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    conn.request("GET", "/api/state", headers={"Host": "evil.example:80"})
    assert conn.getresponse().status == 403


# ---------------------------------------------------------------------------- reliability


def _post_until_acked(port: int, batch: list[dict[str, Any]], stats: dict[str, int], lock: threading.Lock) -> None:
    """Like the viewer's save queue: resend the same batch (same ids) until a response arrives."""
    body = json.dumps({"events": batch}).encode()
    while True:
        try:
            req = urllib.request.Request(f"http://127.0.0.1:{port}/api/events", data=body,
                                         headers={"Content-Type": "application/json",
                                                  "X-Requested-With": "pixplot"})
            with urllib.request.urlopen(req, timeout=10) as resp:
                res = json.loads(resp.read())
            with lock:
                stats["acked_events"] += res["accepted"]
                stats["duplicates_on_resend"] += res["duplicates"]
            assert res["accepted"] == len(batch)
            return
        except (urllib.error.URLError, ConnectionError, http.client.HTTPException, TimeoutError, OSError):
            with lock:
                stats["failed_requests"] += 1
            time.sleep(0.05)


@pytest.mark.slow
def test_no_acknowledged_event_is_lost_or_doubled_across_kill9_restarts(bundle: Path, free_ports: Any) -> None:
    ids = open_bundle(bundle).ids
    port = free_ports(1)[0]
    proc = _start_server(bundle, port)
    rng = random.Random(5)
    per_client, clients = 250, 4
    plans: list[list[list[dict[str, Any]]]] = []
    for c in range(clients):
        events = []
        for k in range(per_client):
            kind = rng.choice(["label", "label", "exclude", "include", "unlabel"])
            ev: dict[str, Any] = {"id": f"c{c}-{k}-{uuid.uuid4().hex[:8]}", "type": kind, "author": f"client{c}",
                                  "items": rng.sample(ids, rng.randint(1, 3))}
            if kind == "label":
                ev["label"] = f"L{rng.randint(0, 5)}"
            events.append(ev)
        batches, i = [], 0
        while i < len(events):
            n = rng.randint(1, 8)
            batches.append(events[i : i + n])
            i += n
        plans.append(batches)
    stats = {"acked_events": 0, "duplicates_on_resend": 0, "failed_requests": 0, "restarts": 0}
    lock = threading.Lock()

    def client(c: int) -> None:
        for batch in plans[c]:
            _post_until_acked(port, batch, stats, lock)
            time.sleep(0.002)

    threads = [threading.Thread(target=client, args=(c,)) for c in range(clients)]
    kill_points: list[int] = []
    t0 = time.monotonic()
    for th in threads:
        th.start()
    try:
        for frac in (0.3, 0.65):
            while stats["acked_events"] < frac * clients * per_client and time.monotonic() - t0 < 90:
                time.sleep(0.01)
            kill_points.append(stats["acked_events"])
            os.kill(proc.pid, signal.SIGKILL)  # mid-stream: requests are in flight
            proc.wait()
            proc = _start_server(bundle, port)
            stats["restarts"] += 1
        for th in threads:
            th.join(timeout=120)
        assert not any(th.is_alive() for th in threads)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/events", timeout=10) as resp:
            log = json.loads(resp.read())
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/state", timeout=10) as resp:
            state = json.loads(resp.read())
    finally:
        _stop(proc)
    sent = [ev["id"] for batches in plans for b in batches for ev in b]
    stored = [ev["id"] for ev in log["events"]]
    assert len(sent) == 1000
    assert len(kill_points) == 2 and all(0 < k < 1000 for k in kill_points)  # killed while clients posted
    assert stats["acked_events"] == 1000  # every event got a response in the end
    assert sorted(stored) == sorted(sent)  # each acknowledged event stored, exactly once
    assert len(stored) == len(set(stored))
    # the derived state is the replay of the log, and each client's events are stored in its order
    from seeen_ext.store import open_store

    store = open_store(open_bundle(bundle))
    assert store.replay() == state
    for c in range(clients):
        mine = [i for i in stored if i.startswith(f"c{c}-")]
        assert mine == [ev["id"] for b in plans[c] for ev in b]
    print(f"\nreliability: 4 clients, {len(sent)} events, {stats['restarts']} kill -9 restarts "
          f"(after {kill_points} acked), "
          f"{stats['failed_requests']} failed requests resent, {stats['duplicates_on_resend']} events "
          f"committed before their response was lost (deduplicated), {len(stored)} stored, 0 lost, "
          f"0 doubled, {time.monotonic() - t0:.1f} s")


def test_bundle_files_say_they_come_from_pixplot_serve_so_the_viewer_asks_the_api(bundle: Path) -> None:
    client = create_app(bundle).test_client()
    assert client.get("/data/manifest.json").headers["X-Pixplot-Serve"] == "1"
    assert client.get("/").headers["X-Pixplot-Serve"] == "1"
