from __future__ import annotations

from typing import ClassVar

import pytest

from pixplot.errors import UserError
from pixplot.plugins import Detection, Detector
from pixplot.stages import detect, ingest
from pixplot.work import item_id
from tests.pixplot.stages.conftest import make_plan


class TwoBoxes(Detector):
    """Two fixed boxes in every image."""

    name: ClassVar[str] = "two_boxes"

    def detect(self, images):
        return [[Detection((1, 2, 30, 40)), Detection((50, 20, 30, 40), label="thing")] for _ in images]


def test_without_a_detector_each_image_is_one_item(tmp_path, images, files, cache, executor):
    plan = make_plan(tmp_path, images)
    good = ingest.run(plan, cache, executor, files).good
    got = detect.run(plan, cache, executor, good, {})
    assert len(got.items) == 12 and got.no_detections == 0
    f, row = good[0]
    assert got.items[0]["id"] == item_id(row["sha256"]) and got.paths[got.items[0]["id"]] == str(f.path)
    assert got.items[0]["box"] is None and got.items[0]["thumb"] == f"thumbs/{got.items[0]['id']}.jpg"


def test_each_detection_becomes_an_item_with_its_crop_as_preview(tmp_path, images, files, cache, executor):
    plan = make_plan(tmp_path, images)
    plan.detector = TwoBoxes()
    good = ingest.run(plan, cache, executor, files).good
    got = detect.run(plan, cache, executor, good, {})
    assert len(got.items) == 24 and {it["class"] for it in got.items} == {"object", "thing"}
    assert len(cache.detections(plan.detector.id)) == 12  # cached per file content
    detect.crop_previews(plan, executor, got.items, got.paths)
    assert all((plan.thumbs / f"{it['id']}.jpg").is_file() for it in got.items)


def test_a_detector_that_finds_nothing_anywhere_is_a_user_error(tmp_path, images, files, cache, executor):
    class Nothing(TwoBoxes):
        def detect(self, images):
            return [[] for _ in images]

    plan = make_plan(tmp_path, images)
    plan.detector = Nothing()
    good = ingest.run(plan, cache, executor, files).good
    with pytest.raises(UserError, match="found nothing in 12 images"):
        detect.run(plan, cache, executor, good, {})
