from __future__ import annotations

from pixplot.stages import ingest
from tests.pixplot.stages.conftest import make_plan


def test_ingest_keeps_readable_images_and_names_broken_files_and_duplicates(tmp_path, images, files, cache,
                                                                           executor):
    plan = make_plan(tmp_path, images)
    got = ingest.run(plan, cache, executor, files)
    assert len(got.good) == 12
    reasons = dict(got.skipped)
    assert set(reasons) == {"broken.jpg", "warm/warm_000.jpg"} or set(reasons) == {"broken.jpg", "warm/copy.jpg"}
    assert any(r.startswith("duplicate of ") for r in reasons.values())
    assert len(list(plan.thumbs.glob("*.jpg"))) == 12  # whole-image previews, one per content
    assert len(cache.file_rows()) == 14  # every file's facts committed, bad ones too


def test_a_second_ingest_reads_nothing_that_did_not_change(tmp_path, images, files, cache, executor):
    plan = make_plan(tmp_path, images)
    ingest.run(plan, cache, executor, files)
    # (a file refused by its header is not stat'ed, so it is sniffed again: a few bytes)
    assert {f.rel for f in ingest._stale(plan, files.files, cache.file_rows())} <= {"broken.jpg"}
    (images / "checks" / "checks_000.jpg").write_bytes((images / "checks" / "checks_001.jpg").read_bytes() + b"x")
    stale = {f.rel for f in ingest._stale(plan, files.files, cache.file_rows())} - {"broken.jpg"}
    assert stale == {"checks/checks_000.jpg"}


def test_metadata_joins_on_the_relative_path(tmp_path, images, files, cache, executor):
    csv = tmp_path / "meta.csv"
    csv.write_text("filename,category\nwarm_001.jpg,sun\nnobody.jpg,x\n")
    plan = make_plan(tmp_path, images, metadata=str(csv))
    got = ingest.run(plan, cache, executor, files)
    assert got.meta["warm/warm_001.jpg"]["category"] == "sun"
    assert got.unmatched == 1 and "category" in got.meta_fields
