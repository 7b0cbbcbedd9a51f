"""The viewer's Upload button drives a real upload job to `done` against a real S3 server."""

from __future__ import annotations

import threading

import pytest
from werkzeug.serving import make_server

from pixplot.bundle import open_bundle
from pixplot.pipeline import BuildOptions, build
from tests.conftest import write_collection
from tests.pixplot.web.viewer_helpers import open_viewer

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_upload_button_drives_a_job_to_done(page, aws_env, tmp_path):
    from seeen_ext.server import create_app

    write_collection(tmp_path / "images", per_class=3)
    out = tmp_path / "bundle"
    build(BuildOptions(images=str(tmp_path / "images"), out_dir=str(out), layouts="tsne",
                       cluster_on="embedding", min_cluster_size=2, progress=False, workers=1))
    ids = open_bundle(out).ids
    app = create_app(out, token="tok", upload_defaults={"endpoint_url": aws_env.endpoint})
    srv = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        open_viewer(page, f"http://127.0.0.1:{srv.server_port}/#token=tok")
        page.evaluate("(ids) => { pixplot.select(ids); pixplot.label('warm'); }", ids[:3])
        page.evaluate("pixplot.flushed()")
        page.get_by_role("button", name="Upload").click()
        page.locator("dialog[open] input").fill(f"s3://{aws_env.bucket}/viewer-upload")
        page.locator("dialog[open] form button").first.click()
        page.wait_for_function(
            "document.querySelector('dialog[open] p.muted').textContent.startsWith('Finished')", timeout=60000)
        assert page.text_content("dialog[open] p.muted") == "Finished: done"
    finally:
        srv.shutdown()
    keys = {o["Key"] for o in aws_env.client().list_objects_v2(
        Bucket=aws_env.bucket, Prefix="viewer-upload/").get("Contents", [])}
    assert {f"viewer-upload/images/warm/{i}.jpg" for i in ids[:3]} <= keys
    assert {"viewer-upload/labels.csv", "viewer-upload/gallery.npz", "viewer-upload/manifest.json"} <= keys
