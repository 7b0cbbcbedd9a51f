"""The ``face`` embedder: dlib's ResNet face descriptor (128-d), after dlib's 5-point alignment.

The models come from the ``face-recognition-models`` package (no download). For each item,
dlib's 5-point shape predictor finds the eyes and nose inside the detected box, the face is
rotated upright and scaled to a 150x150 chip (``get_face_chip``'s alignment), and the ResNet
maps the chip to 128 numbers. dlib's raw descriptors have a norm of about 1.38; they are
returned L2-normalised, so dlib's same-person threshold of 0.6 becomes about 0.43.

Importing this module loads nothing heavy: the CLI imports every plugin class at start-up.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from pixplot.plugins import Embedder, ItemImage
from seeen_ext.faces.detector import square_box

DIM = 128

#: Models loaded in this process (one per worker, loaded on first use), by name@version.
_MODELS: dict[str, tuple[Any, Any]] = {}


def _import_dlib() -> tuple[Any, Any]:
    try:
        import dlib
        import face_recognition_models as frm
    except ImportError as exc:
        from pixplot.errors import UserError

        raise UserError(f"--embedder face needs dlib and face-recognition-models ({exc}); "
                        "install them with `pip install 'seeen-pixplot[faces]'`") from exc
    return dlib, frm


def _dlib_models(key: str) -> tuple[Any, Any]:
    models = _MODELS.get(key)
    if models is None:
        dlib, frm = _import_dlib()

        predictor = dlib.shape_predictor(frm.pose_predictor_five_point_model_location())
        net = dlib.face_recognition_model_v1(frm.face_recognition_model_location())
        models = _MODELS[key] = (predictor, net)
    return models


class DlibFaceEmbedder(Embedder):
    """128-d identity descriptors: faces of one person lie close, whatever the photo."""

    name: ClassVar[str] = "face"
    version: ClassVar[str] = "1"
    #: The chip is 150 px for the face plus 25% padding; a crop of this size (face + the
    #: pipeline's 20% margin) keeps the face above 140 px, so nothing is upsampled.
    input_size: ClassVar[int] = 200
    #: dlib runs one face on one core; the pipeline's process pool spreads faces over cores.
    in_process: ClassVar[bool] = False
    id_excludes: ClassVar[tuple[str, ...]] = ("batch_size",)

    def __init__(self, num_jitters: int = 0, batch_size: int = 32):
        self.num_jitters = num_jitters
        self.batch_size = batch_size

    @property
    def dim(self) -> int:
        return DIM

    def embed(self, batch: list[ItemImage]) -> np.ndarray:
        """One L2-normalised descriptor per item; the box is the whole image when absent."""
        if not batch:
            return np.zeros((0, DIM), np.float32)
        dlib, _ = _import_dlib()
        predictor, net = _dlib_models(f"{self.name}@{self.version}")
        images, shapes = [], []
        for item in batch:
            img = np.ascontiguousarray(np.asarray(item.image.convert("RGB"), dtype=np.uint8))
            h, w = img.shape[:2]
            x, y, bw, bh = square_box(item.box or (0.0, 0.0, float(w), float(h)), w, h)
            rect = dlib.rectangle(int(round(x)), int(round(y)), int(round(x + bw)), int(round(y + bh)))
            faces = dlib.full_object_detections()
            faces.append(predictor(img, rect))
            images.append(img)
            shapes.append(faces)
        vecs = net.compute_face_descriptor(images, shapes, num_jitters=self.num_jitters)
        X = np.array([np.asarray(v[0]) for v in vecs], dtype=np.float32)
        norms = np.linalg.norm(X, axis=1, keepdims=True)
        return X / np.where(norms > 0, norms, 1.0)
