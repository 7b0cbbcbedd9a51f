"""Images and metadata read straight from S3 (a real SeaweedFS server): the same bundle as a
build from a local copy of the same files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from pixplot.discover import list_s3
from pixplot.errors import UserError
from pixplot.sources import s3_settings
from tests.pixplot.conftest import reference_options

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def uploaded(s3_server, reference_build) -> tuple[str, Path]:
    """The reference images under s3://<bucket>/photos/, a hidden object and a folder marker."""
    images, _ = reference_build
    c = s3_server.client()
    for f in sorted(images.rglob("*")):
        if f.is_file():
            c.put_object(Bucket=s3_server.bucket, Key=f"photos/{f.relative_to(images).as_posix()}", Body=f.read_bytes())
    c.put_object(Bucket=s3_server.bucket, Key="photos/.DS_Store", Body=b"junk")
    c.put_object(Bucket=s3_server.bucket, Key="photos/empty-folder/", Body=b"")
    c.put_object(Bucket=s3_server.bucket, Key="meta/photos.csv",
                 Body=b"filename,category\nwarm/warm_001.jpg,sunny\nchecks_002.jpg,board\n")
    return f"s3://{s3_server.bucket}/photos/", images


def test_listing_follows_every_page_and_names_objects_like_a_folder_walk(aws_env, uploaded):
    url, images = uploaded
    with s3_settings(aws_env.endpoint, None):
        files = list_s3(url, page_size=5)
    local = sorted(f.relative_to(images).as_posix() for f in images.rglob("*") if f.is_file())
    assert [f.rel for f in files] == local and len(local) == 36
    assert files[0].path == f"{url}{local[0]}" and files[0].size == (images / local[0]).stat().st_size


def test_s3_build_equals_local_build_and_reuses_its_cache(aws_env, uploaded, reference_build, tmp_path):
    from pixplot.pipeline import build

    url, images = uploaded
    _, local_out = reference_build
    bucket = aws_env.bucket
    opts = reference_options(url, tmp_path / "s3", endpoint_url=aws_env.endpoint,
                             metadata=f"s3://{bucket}/meta/photos.csv")
    res = build(opts)
    assert res.items == 36 and not res.skipped
    data, ref = tmp_path / "s3" / "data", local_out / "data"
    items = json.loads((data / "items.json").read_text())["items"]
    ref_items = json.loads((ref / "items.json").read_text())["items"]
    by_source = {it["source"]: it["meta"] for it in items}
    assert by_source["warm/warm_001.jpg"] == {"category": "sunny"}
    assert by_source["checks/checks_002.jpg"] == {"category": "board"}
    for it in items:
        it["meta"] = {}
    assert items == ref_items  # same ids (content hashes), sources, sizes, cells
    np.testing.assert_array_equal(np.load(data / "embeddings.npy"), np.load(ref / "embeddings.npy"))
    assert (data / "layouts" / "umap.f32").read_bytes() == (ref / "layouts" / "umap.f32").read_bytes()
    assert (json.loads((data / "clusters" / "hdbscan.json").read_text())["clusters"]
            == json.loads((ref / "clusters" / "hdbscan.json").read_text())["clusters"])
    for it in items:  # previews made from the objects; originals copied, since nothing can link to S3
        assert (data / it["thumb"]).read_bytes() == (ref / it["thumb"]).read_bytes()
        original = data / it["original"]
        assert not original.is_symlink() and original.read_bytes() == (images / it["source"]).read_bytes()
    again = build(opts)
    assert again.embedded == 0 and again.items == 36


def test_missing_bucket_is_a_one_line_user_error(aws_env):
    with s3_settings(aws_env.endpoint, None), pytest.raises(UserError, match="no-such-bucket"):
        list_s3("s3://no-such-bucket/photos/")


def test_objects_above_the_size_cap_or_not_images_are_refused_before_a_whole_read(aws_env, s3_server):
    from pixplot.work import ingest_batch

    c = s3_server.client()
    c.put_object(Bucket=s3_server.bucket, Key="odd/big.bin", Body=b"\x89PNG\r\n\x1a\n" + bytes(2 << 20))
    c.put_object(Bucket=s3_server.bucket, Key="odd/notes.txt", Body=b"not an image\n")
    c.put_object(Bucket=s3_server.bucket, Key="odd/empty.jpg", Body=b"")
    base = f"s3://{s3_server.bucket}/odd/"
    with s3_settings(aws_env.endpoint, None):
        rows = ingest_batch([(base + "big.bin", "big.bin"), (base + "notes.txt", "notes.txt"),
                             (base + "empty.jpg", "empty.jpg")], None, 64, max_file_size=1 << 20)
    assert [r["error"] for r in rows] == [
        f"too large ({(2 << 20) + 8:,} bytes; the cap is {1 << 20:,}, change it with --max_file_size)",
        "not an image (unknown format)", "empty file"]
