"""PixPlot's own embedder: Inception V3 (ImageNet) ``avg_pool`` features, 2048-d, batched.

Weights come from Keras's download on first use (needs internet once), or from a local
file with ``--weights FILE`` (a ``.weights.h5`` of the no-top model, or a whole ``.keras``
model whose output is the pooled features).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from pixplot.errors import UserError
from pixplot.plugins import Embedder, ItemImage

_MODELS: dict[str, Any] = {}


def _file_digest(path: str) -> str:
    if not Path(path).is_file():
        raise UserError(f"--weights {path}: file not found")
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:16]


class InceptionV3Embedder(Embedder):
    name: ClassVar[str] = "inception_v3"
    version: ClassVar[str] = "1"
    input_size: ClassVar[int] = 299
    in_process: ClassVar[bool] = True  # TensorFlow uses every core itself
    options: ClassVar[dict[str, dict[str, Any]]] = {
        "weights": {"metavar": "FILE", "help": "local weights for the embedder (no download)"},
    }
    id_excludes: ClassVar[tuple[str, ...]] = ("batch_size", "weights")

    def __init__(self, weights: str | None = None, batch_size: int = 32):
        self.weights = weights
        self.batch_size = batch_size

    dim = 2048

    @property
    def id(self) -> str:
        base = super().id
        source = _file_digest(self.weights) if self.weights else "imagenet"
        return f"{base}[weights={source}]"

    def _model(self) -> Any:
        key = self.id
        if key not in _MODELS:
            os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
            try:
                import tensorflow as tf
            except ImportError as exc:
                raise UserError(
                    "the inception_v3 embedder needs TensorFlow: pip install 'seeen-pixplot[inception]'"
                ) from exc
            if self.weights and not Path(self.weights).is_file():
                raise UserError(f"--weights {self.weights}: file not found")
            try:
                if self.weights and self.weights.endswith(".keras"):
                    model = tf.keras.models.load_model(self.weights, compile=False)
                else:
                    model = tf.keras.applications.InceptionV3(
                        include_top=False, pooling="avg", weights=self.weights or "imagenet"
                    )
            except UserError:
                raise
            except Exception as exc:
                where = self.weights or "Keras's ImageNet download"
                raise UserError(
                    f"inception_v3: could not load weights from {where} ({type(exc).__name__}); "
                    "pass --weights FILE with a local copy"
                ) from exc
            _MODELS[key] = model
        return _MODELS[key]

    def embed(self, batch: list[ItemImage]) -> np.ndarray:
        if not batch:
            return np.zeros((0, self.dim), np.float32)
        from PIL import Image

        model = self._model()
        size = self.input_size
        x = np.stack([
            np.asarray(it.image.convert("RGB").resize((size, size), Image.Resampling.BILINEAR),
                       dtype=np.float32)
            for it in batch
        ])
        x = x / 127.5 - 1.0  # inception_v3.preprocess_input
        out = model(x, training=False)
        return np.asarray(out, dtype=np.float32).reshape(len(batch), -1)
