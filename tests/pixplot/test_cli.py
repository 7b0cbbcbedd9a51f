"""The `pixplot` command as a user runs it: a real subprocess."""

from __future__ import annotations

import http.server
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.request
from functools import partial

import numpy as np
import pytest

from pixplot.bundle import open_bundle
from tests.conftest import write_collection

pytestmark = pytest.mark.slow
# t-SNE and clustering on the embeddings: no numba JIT start-up in each subprocess.
FAST = ["--layouts", "tsne", "--cluster-on", "embedding", "--min_cluster_size", "5", "--quiet"]


def pixplot(*args, **kw):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    return subprocess.run([sys.executable, "-m", "pixplot", *map(str, args)], capture_output=True,
                          text=True, env=env, timeout=300, **kw)


def test_bare_pixplot_images_builds_and_says_how_to_open(tmp_path):
    images = tmp_path / "images"
    write_collection(images, per_class=4)
    r = pixplot("--images", images, "--out_dir", tmp_path / "out", *FAST)
    assert r.returncode == 0, r.stderr
    assert "12 items from 12 images" in r.stdout
    assert f"Bundle written to {(tmp_path / 'out').resolve()}" in r.stdout
    assert "pixplot serve" in r.stdout and "http.server" in r.stdout


def test_user_errors_are_one_line_with_exit_status_2(tmp_path):
    r = pixplot("build", "--images", tmp_path / "missing", "--out_dir", tmp_path / "o")
    assert r.returncode == 2
    assert r.stderr.strip().count("\n") == 0 and "missing" in r.stderr and "Traceback" not in r.stderr
    (tmp_path / "m.csv").write_text("nope\n1\n")
    write_collection(tmp_path / "i", per_class=1)
    r = pixplot("build", "--images", tmp_path / "i", "--metadata", tmp_path / "m.csv", "--out_dir", tmp_path / "o")
    assert r.returncode == 2 and "m.csv" in r.stderr and "filename" in r.stderr


def test_plugins_lists_builtins_with_their_origin():
    r = pixplot("plugins")
    assert r.returncode == 0
    for name in ("classic", "inception_v3", "umap", "tsne", "hdbscan", "dbscan", "kmeans"):
        assert name in r.stdout
    assert "seeen-pixplot" in r.stdout
    # Which implementation runs: cuML on a GPU, or the CPU library and why not the GPU.
    assert "backend: cuml (GPU)" in r.stdout or "backend: hdbscan (CPU; " in r.stdout


def test_killed_build_resumes_and_equals_an_uninterrupted_one(tmp_path):
    images = tmp_path / "images"
    write_collection(images, per_class=40)
    out = tmp_path / "killed"
    cmd = [sys.executable, "-m", "pixplot", "build", "--images", str(images), "--out_dir", str(out),
           "--workers", "1", *FAST]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    db = out / ".pixplot-cache" / "cache.sqlite"
    deadline = time.time() + 120
    embedded = 0
    while time.time() < deadline and proc.poll() is None:
        try:
            with sqlite3.connect(db) as c:
                embedded = c.execute("SELECT count(*) FROM embeddings").fetchone()[0]
        except sqlite3.Error:
            pass
        if embedded > 0:
            break
        time.sleep(0.05)
    assert proc.poll() is None, "build finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (out / "data" / "manifest.json").exists()
    r = pixplot("build", "--images", images, "--out_dir", out, *FAST)
    assert r.returncode == 0, r.stderr
    resumed_embedded = int(r.stdout.split(" embedded this run")[0].rsplit(" ", 1)[1])
    assert resumed_embedded < 120  # finished batches were reused
    r = pixplot("build", "--images", images, "--out_dir", tmp_path / "clean", *FAST)
    assert r.returncode == 0, r.stderr
    a, b = open_bundle(out), open_bundle(tmp_path / "clean")
    assert a.items == b.items
    assert np.array_equal(a.embeddings, b.embeddings)
    assert np.array_equal(a.layout("tsne"), b.layout("tsne"))
    assert np.array_equal(a.cluster_labels(), b.cluster_labels())


def test_bundle_opens_from_a_plain_static_web_server(tmp_path):
    images = tmp_path / "images"
    write_collection(images, per_class=3)
    out = tmp_path / "out"
    assert pixplot("build", "--images", images, "--out_dir", out, *FAST).returncode == 0
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(out))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    try:
        manifest = json.load(urllib.request.urlopen(base + "data/manifest.json"))
        items = json.load(urllib.request.urlopen(base + "data/" + manifest["items"]))["items"]
        layout = urllib.request.urlopen(base + "data/" + manifest["layouts"][0]["file"]).read()
        assert len(layout) == 8 * len(items)
        for rel in [manifest["atlas"]["files"][0], items[0]["thumb"], items[0]["original"]]:
            assert urllib.request.urlopen(base + "data/" + rel).status == 200
    finally:
        server.shutdown()


def test_demo_builds_labelled_digits_offline(tmp_path):
    r = pixplot("demo", "--out_dir", tmp_path / "demo" / "output", "--max_images", 60, *FAST)
    assert r.returncode == 0, r.stderr
    b = open_bundle(tmp_path / "demo" / "output")
    assert len(b.items) == 60 and b.manifest["metadata_fields"][0] == "category"
    cats = {it["meta"]["category"] for it in b.items}
    assert cats == {str(d) for d in range(10)}
    assert all(it["source"].startswith(it["meta"]["category"] + "/") for it in b.items)
    assert "pixplot serve" in r.stdout
    # The demo picks classic itself (purer on tiny digit scans, docs/quality.md) and says so.
    assert b.manifest["embedder"]["name"] == "classic" and "Demo embedder: classic" in r.stdout


def test_open_hint_runs_as_written_when_the_venv_is_not_active(tmp_path):
    """The README's set-up runs `.venv/bin/pixplot demo` without activating the venv: the closing hint
    must not say a bare `pixplot`, which that shell cannot find."""
    script = os.path.join(sys.prefix, "bin", "pixplot")
    env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
    env.update(PATH="/usr/bin:/bin", TF_CPP_MIN_LOG_LEVEL="3")
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    r = subprocess.run([os.path.relpath(script, repo) if script.startswith(repo) else script, "demo",
                        "--max_images", "40", "--out_dir", str(tmp_path / "out"), *FAST],
                       capture_output=True, text=True, env=env, cwd=repo, timeout=300)
    assert r.returncode == 0, r.stderr
    hint = next(line for line in r.stdout.splitlines() if line.startswith("Open it to annotate:"))
    command = hint.split(":", 1)[1].strip()
    assert not command.startswith("pixplot ")
    ran = subprocess.run(["sh", "-c", command + " --help"], capture_output=True, text=True, env=env, cwd=repo,
                         timeout=120)
    assert ran.returncode == 0 and "usage: pixplot serve" in ran.stdout, ran.stderr


def test_open_hint_says_plain_pixplot_when_the_shell_finds_this_one(tmp_path, monkeypatch):
    from pixplot import cli

    prefix = tmp_path / "env"
    (prefix / "bin").mkdir(parents=True)
    (prefix / "bin" / "pixplot").write_text("#!/bin/sh\n")
    (prefix / "bin" / "pixplot").chmod(0o755)
    monkeypatch.setattr(sys, "prefix", str(prefix))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PATH", f"{prefix / 'bin'}:/usr/bin:/bin")  # an active venv
    assert cli.pixplot_command() == "pixplot"
    monkeypatch.setenv("PATH", "/usr/bin:/bin")  # not active: the path, relative to here
    assert cli.pixplot_command() == "env/bin/pixplot"
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    assert cli.pixplot_command() == str(prefix / "bin" / "pixplot")
