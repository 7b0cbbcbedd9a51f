"""The serve, upload and annotations commands as a user types them: BUNDLE really defaults to output/."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request

from pixplot.cli import make_parser


def _run(*args, cwd):
    return subprocess.run([sys.executable, "-m", "pixplot", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=120, env=dict(os.environ, PYTHONPATH=os.getcwd()))


def test_bundle_argument_defaults_to_output_for_every_command():
    p = make_parser()
    assert p.parse_args(["serve"]).bundle == "output"
    assert p.parse_args(["annotations", "export", "--format", "csv", "--out", "x.csv"]).bundle == "output"
    assert p.parse_args(["annotations", "import", "events.json"]).bundle == "output"
    assert p.parse_args(["annotations", "import", "events.json"]).file == "events.json"
    assert p.parse_args(["upload", "s3://b/p"]).target == "s3://b/p"
    assert p.parse_args(["upload", "mine", "s3://b/p"]).bundle == "mine"


def test_export_import_and_serve_without_bundle_use_output_in_the_working_folder(make_bundle, tmp_path):
    make_bundle("output")
    r = _run("annotations", "export", "--format", "csv", "--out", "labels.csv", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "labels.csv").read_text().startswith("item_id,")
    r = _run("annotations", "export", "--format", "json", "--out", "events.json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    r = _run("annotations", "import", "events.json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    proc = subprocess.Popen([sys.executable, "-m", "pixplot", "serve", "--port", "0"], cwd=tmp_path, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            env=dict(os.environ, PYTHONPATH=os.getcwd()))
    try:
        deadline = time.time() + 60
        url = None
        while time.time() < deadline and url is None:
            line = proc.stdout.readline()
            if line.startswith("pixplot: open "):
                url = line.split()[-1]
            elif not line and proc.poll() is not None:
                break
        assert url, "serve did not start"
        with urllib.request.urlopen(url.split("#")[0].split("?")[0].rstrip("/") + "/api/state", timeout=10) as resp:
            assert resp.status == 200
    finally:
        proc.terminate()
        proc.wait(timeout=30)
