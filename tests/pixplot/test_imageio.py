from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from pixplot import imageio
from pixplot.imageio import BadImage, crop_box, full_size, load_item_image, open_image
from tests.conftest import synthetic_photo, write_bad_files


def _jpeg_with_orientation(orientation: int) -> bytes:
    im = Image.new("RGB", (40, 20), (255, 0, 0))
    im.paste((0, 0, 255), (0, 0, 10, 20))  # blue strip on the left
    exif = Image.Exif()
    exif[0x0112] = orientation
    buf = io.BytesIO()
    im.save(buf, "JPEG", exif=exif, quality=95)
    return buf.getvalue()


def test_exif_orientation_is_honoured():
    data = _jpeg_with_orientation(6)  # rotate 90° clockwise to display
    im = open_image(data)
    assert im.size == (20, 40)
    assert full_size(data) == (20, 40)
    top = np.asarray(im)[2, 10]
    assert top[2] > 200 and top[0] < 80  # the blue strip is now on top


@pytest.mark.parametrize("mode", ["CMYK", "I;16", "P", "RGBA", "LA", "L", "1", "F"])
def test_every_mode_becomes_rgb(mode):
    src = synthetic_photo(0, 1, (64, 48))
    if mode == "I;16":
        arr = (np.asarray(src.convert("L"), dtype=np.uint16) * 257)
        im = Image.fromarray(arr)
    elif mode == "F":
        im = Image.fromarray(np.asarray(src.convert("L"), dtype=np.float32) / 255.0)
    else:
        im = src.convert(mode)
    fmt = "TIFF" if mode in ("CMYK", "I;16", "F") else "PNG"
    buf = io.BytesIO()
    im.save(buf, fmt)
    out = open_image(buf.getvalue())
    assert out.mode == "RGB" and out.size == (64, 48)
    assert np.asarray(out).std() > 5  # real content survived the conversion


def test_sixteen_bit_keeps_contrast():
    arr = np.zeros((10, 10), np.uint16)
    arr[:, 5:] = 65535
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, "PNG")
    out = np.asarray(open_image(buf.getvalue()))
    assert out[0, 0, 0] == 0 and out[0, 9, 0] == 255


def test_transparency_is_composited_on_white():
    im = Image.new("RGBA", (8, 8), (0, 0, 0, 0))
    buf = io.BytesIO()
    im.save(buf, "PNG")
    assert tuple(np.asarray(open_image(buf.getvalue()))[0, 0]) == (255, 255, 255)


def test_large_jpeg_is_draft_decoded_to_the_size_asked():
    big = synthetic_photo(1, 3, (2000, 1500))
    buf = io.BytesIO()
    big.save(buf, "JPEG")
    im = open_image(buf.getvalue(), max_side=256)
    assert max(im.size) == 256 and im.size[0] / im.size[1] == pytest.approx(2000 / 1500, rel=0.02)
    probe = Image.open(io.BytesIO(buf.getvalue()))
    probe.draft("RGB", (256, 256))
    assert probe.size[0] < 2000  # the decoder really skips work at reduced scale


def test_bad_files_are_refused_with_a_reason(tmp_path):
    expected = write_bad_files(tmp_path)
    for name, word in expected.items():
        with pytest.raises(BadImage) as err:
            open_image(tmp_path / name)
        assert word in str(err.value), (name, str(err.value))


def test_bomb_limit_applies(monkeypatch, tmp_path):
    p = tmp_path / "x.png"
    Image.new("RGB", (100, 100)).save(p)
    monkeypatch.setattr(imageio, "MAX_PIXELS", 5000)
    with pytest.raises(BadImage, match="bomb"):
        open_image(p)


def test_crop_box_adds_margin_and_clips():
    assert crop_box((100, 100), (10, 20, 30, 40), 0.2) == (4, 12, 46, 68)
    assert crop_box((50, 50), (0, 0, 50, 50), 0.5) == (0, 0, 50, 50)


def test_load_item_image_returns_the_box_region(tmp_path):
    im = Image.new("RGB", (400, 300), (0, 0, 0))
    im.paste((255, 0, 0), (100, 50, 200, 150))
    p = tmp_path / "a.png"
    im.save(p)
    crop, scale, origin = load_item_image(p, (100, 50, 100, 100), margin=0.0)
    assert crop.size == (100, 100) and scale == 1.0 and origin == (100, 50)
    assert np.asarray(crop)[..., 0].min() > 200
    small, s2, _ = load_item_image(p, (100, 50, 100, 100), margin=0.0, max_side=40)
    assert max(small.size) == 40 and s2 == pytest.approx(0.4, rel=0.02)
