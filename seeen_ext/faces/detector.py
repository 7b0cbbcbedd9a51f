"""The ``faces`` detector: MTCNN (the ``mtcnn`` package, weights inside its wheel, TensorFlow CPU).

Each face becomes an item of the map. Boxes are made square around MTCNN's box (same centre,
side = its longer side): dlib's aligner was trained on square boxes, and square crops fill the
atlas's square cells. Landmarks are MTCNN's five points, in the order left eye, right eye,
nose, left mouth corner, right mouth corner (the subject's left and right as MTCNN names them).

Importing this module loads nothing heavy: the CLI imports every plugin class at start-up.
"""

from __future__ import annotations

import os
from typing import Any, ClassVar

import numpy as np

from pixplot.plugins import SOURCE_SCALE, Detection, Detector

KEYPOINTS = ("left_eye", "right_eye", "nose", "mouth_left", "mouth_right")

#: Models loaded in this process (one per worker, loaded on first use), by name@version: the
#: weights do not depend on the parameters.
_MODELS: dict[str, Any] = {}

#: MTCNN's P-Net cannot see faces below its 12-pixel window; below this side there is nothing to find.
_SMALLEST_IMAGE = 24
#: The smallest face MTCNN is asked for; mtcnn 1.0 builds a sound pyramid only up to this.
_MTCNN_MIN_FACE = 20
#: MTCNN's boxes are a little larger than the pyramid window that found them.
_BOX_TO_WINDOW = 0.8


def _mtcnn(key: str) -> Any:
    model = _MODELS.get(key)
    if model is None:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's start-up chatter quiet
        try:
            from mtcnn import MTCNN
        except ImportError as exc:
            from pixplot.errors import UserError

            raise UserError(f"--detector faces needs mtcnn and tensorflow-cpu ({exc}); "
                            "install them with `pip install 'seeen-pixplot[faces]'`") from exc

        model = _MODELS[key] = MTCNN()
    return model


def square_box(box: tuple[float, float, float, float], width: int, height: int) -> tuple[float, ...]:
    """The square of side max(w, h) on the box's centre, clipped to the image."""
    x, y, w, h = box
    side = max(w, h)
    cx, cy = x + w / 2, y + h / 2
    left, top = max(0.0, cx - side / 2), max(0.0, cy - side / 2)
    right, bottom = min(float(width), cx + side / 2), min(float(height), cy + side / 2)
    return (left, top, right - left, bottom - top)


class MTCNNFaceDetector(Detector):
    """Faces with five landmarks, by MTCNN; tiny or doubtful faces are dropped."""

    name: ClassVar[str] = "faces"
    version: ClassVar[str] = "1"
    #: Photos larger than this are downscaled for detection (the pipeline decodes them to this
    #: size with JPEG draft mode) and the boxes mapped back.
    max_side: ClassVar[int] = 1600
    #: TensorFlow spreads one image over every core itself; a process pool would only add
    #: a TensorFlow start-up (seconds, ~0.5 GB) per worker.
    in_process: ClassVar[bool] = True
    default_embedder: ClassVar[str | None] = "face"
    default_cluster_on: ClassVar[str | None] = "embedding"
    default_cluster: ClassVar[str | None] = "dbscan"
    #: Measured in docs/faces.md: L2-normalised dlib descriptors, Euclidean distance. eps 0.30 is
    #: dlib's raw 0.41 (raw descriptors have norm ~1.38), stricter than its pairwise 0.6 because
    #: DBSCAN chains neighbours; min_samples 2 makes a person seen twice a cluster and leaves a
    #: face seen once as noise.
    default_cluster_params: ClassVar[dict[str, Any]] = {"eps": 0.30, "min_samples": 2, "metric": "euclidean"}
    options: ClassVar[dict[str, dict[str, Any]]] = {
        "min_face_size": {
            "type": int,
            "metavar": "PIXELS",
            "help": "faces: drop faces whose box is smaller than this many pixels (default: 40)",
        },
        "min_face_score": {
            "type": float,
            "metavar": "SCORE",
            "help": "faces: drop faces detected with a lower confidence, 0-1 (default: 0.9)",
        },
    }

    def __init__(self, min_face_size: int = 40, min_face_score: float = 0.9, square: bool = True):
        self.min_face_size = min_face_size
        self.min_face_score = min_face_score
        self.square = square

    def _check(self) -> None:
        from pixplot.errors import UserError

        if not 0.0 <= self.min_face_score <= 1.0:
            raise UserError(f"--min_face_score {self.min_face_score}: choose a confidence between 0 and 1")
        if self.min_face_size < 0:
            raise UserError(f"--min_face_size {self.min_face_size}: choose a size of 0 pixels or more")

    def detect(self, images: list[Any]) -> list[list[Detection]]:
        """Faces in each image, in that image's pixels; images of one size run as one batch."""
        self._check()
        out: list[list[Detection]] = [[] for _ in images]
        groups: dict[tuple[tuple[int, int], float, float], list[int]] = {}
        arrays: list[np.ndarray | None] = []
        for i, im in enumerate(images):
            # --min_face_size is in source pixels; the pipeline may hand us a downscaled image.
            min_size = self.min_face_size / float(im.info.get(SOURCE_SCALE, 1.0))
            small, scale = self._prepare(im, min_size)
            arrays.append(small)
            if small is not None:
                groups.setdefault((small.shape[:2], scale, min_size), []).append(i)
        for (_, scale, min_size), idx in groups.items():
            found = self._run([arrays[i] for i in idx], scale, min_size)
            for i, faces in zip(idx, found, strict=True):
                w, h = images[i].size
                dets = (self._detection(f, scale, w, h, min_size) for f in faces)
                out[i] = [d for d in dets if d is not None]
        return out

    def _prepare(self, im: Any, min_size: float) -> tuple[np.ndarray | None, float]:
        """The image MTCNN sees, and its scale: at most ``max_side``, and no larger than needed
        to see a face of ``min_face_size`` at MTCNN's own 20-pixel minimum. Shrinking the image
        rather than asking MTCNN for bigger faces gives the same first pyramid level, fewer
        pixels everywhere after it, and avoids mtcnn 1.0's pyramid going below its 12-px window
        (its level count ignores ``min_face_size``)."""
        im = im.convert("RGB")
        w, h = im.size
        scale = min(1.0, self.max_side / max(w, h))
        wanted = min_size * _BOX_TO_WINDOW
        if wanted > _MTCNN_MIN_FACE:
            scale = min(scale, _MTCNN_MIN_FACE / wanted)
        if min(w, h) * scale < _SMALLEST_IMAGE or max(w, h) < min_size:
            return None, scale
        if scale < 1.0:
            from PIL import Image

            im = im.resize((max(1, round(w * scale)), max(1, round(h * scale))), Image.Resampling.BILINEAR)
            scale = im.size[0] / w
        return np.ascontiguousarray(np.asarray(im, dtype=np.uint8)), scale

    def _run(self, arrays: list[np.ndarray], scale: float, min_size: float) -> list[list[dict[str, Any]]]:
        model = _mtcnn(f"{self.name}@{self.version}")
        smallest = min_size * _BOX_TO_WINDOW * scale
        kwargs = {
            "min_face_size": int(min(_MTCNN_MIN_FACE, max(12, smallest))),
            "threshold_onet": min(0.8, self.min_face_score),
        }
        if len(arrays) == 1:
            return [model.detect_faces(arrays[0], **kwargs)]
        return model.detect_faces(arrays, **kwargs)

    def _detection(self, face: dict[str, Any], scale: float, width: int, height: int,
                   min_size: float) -> Detection | None:
        score = float(face["confidence"])
        box = tuple(float(v) / scale for v in face["box"])
        if self.square:
            box = square_box(box, width, height)
        if score < self.min_face_score or max(box[2], box[3]) < min_size:
            return None
        kp = face.get("keypoints") or {}
        landmarks = None
        if all(k in kp for k in KEYPOINTS):
            landmarks = tuple((float(kp[k][0]) / scale, float(kp[k][1]) / scale) for k in KEYPOINTS)
        return Detection(box=box, score=score, landmarks=landmarks, label="face")
