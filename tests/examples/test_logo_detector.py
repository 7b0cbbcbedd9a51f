"""The example in docs/plugins.md works through the CLI, registered the way pip registers it.

pip records a package's entry points in ``<name>.dist-info/entry_points.txt`` on sys.path;
the test writes that file itself (no install, no network) and puts the example on PYTHONPATH.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytestmark = pytest.mark.slow

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "logo_detector"


def logo(side: int) -> Image.Image:
    from skimage import data

    rgba = Image.fromarray(data.logo())
    flat = Image.new("RGB", rgba.size, (255, 255, 255))
    flat.paste(rgba, mask=rgba.split()[3])
    return flat.resize((side, side), Image.LANCZOS)


def registered_env(site: Path) -> dict[str, str]:
    """An environment in which the example is importable and registered as pip would do it."""
    info = site / "pixplot_logo_example-0.1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: pixplot-logo-example\nVersion: 0.1.0\n")
    (info / "entry_points.txt").write_text("[pixplot.detectors]\nlogo = pixplot_logo:LogoDetector\n")
    path = os.pathsep.join(p for p in (str(EXAMPLE), str(site), os.environ.get("PYTHONPATH")) if p)
    return dict(os.environ, PYTHONPATH=path, TF_CPP_MIN_LOG_LEVEL="3")


def pixplot(env: dict[str, str], *args: object) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pixplot", *map(str, args)], capture_output=True,
                          text=True, env=env, timeout=300)


def test_logo_example_finds_each_pasted_logo_through_the_cli(tmp_path):
    env = registered_env(tmp_path / "site")
    listing = pixplot(env, "plugins")
    assert "logo" in listing.stdout and "pixplot-logo-example" in listing.stdout

    images = tmp_path / "images"
    images.mkdir()
    rng = np.random.default_rng(0)
    truth: dict[str, list[tuple[int, int, int, int]]] = {}
    for k, sides in enumerate([(64, 128), (90,), ()]):  # the last picture has no logo
        canvas = Image.fromarray(rng.integers(90, 170, (300, 420, 3), dtype=np.uint8))
        boxes = []
        for j, side in enumerate(sides):
            x, y = 20 + j * 200, 40 + j * 50
            canvas.paste(logo(side), (x, y))
            boxes.append((x, y, side, side))
        canvas.save(images / f"poster{k}.png")
        truth[f"poster{k}.png"] = boxes
    template = tmp_path / "logo.png"
    logo(64).save(template)

    out = tmp_path / "bundle"
    proc = pixplot(env, "build", "--images", images, "--detector", "logo", "--logo_template", template,
                   "--out_dir", out, "--layouts", "tsne", "--quiet")
    assert proc.returncode == 0, proc.stderr
    manifest = json.loads((out / "data" / "manifest.json").read_text())
    items = json.loads((out / "data" / "items.json").read_text())["items"]
    assert manifest["detector"]["name"] == "logo"
    assert manifest["counts"]["images_without_detections"] == 1
    found = sorted((it["source"], tuple(round(v) for v in it["box"])) for it in items)
    expected = sorted((src, b) for src, boxes in truth.items() for b in boxes)
    assert len(found) == len(expected)
    for (src, box), (tsrc, tbox) in zip(found, expected, strict=True):
        assert src == tsrc
        assert all(abs(a - b) <= 0.15 * tbox[2] for a, b in zip(box, tbox, strict=True)), (box, tbox)
    assert all(it["class"] == "logo" and (out / "data" / it["thumb"]).exists() for it in items)


def test_logo_example_without_its_template_is_a_one_line_user_error(tmp_path):
    env = registered_env(tmp_path / "site")
    images = tmp_path / "images"
    images.mkdir()
    Image.new("RGB", (64, 64), (200, 10, 10)).save(images / "a.png")
    proc = pixplot(env, "build", "--images", images, "--detector", "logo", "--out_dir", tmp_path / "o",
                   "--layouts", "tsne", "--quiet")
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "--logo_template" in proc.stderr
