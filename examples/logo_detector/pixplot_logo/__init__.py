"""An example pixplot detector: a logo found by multi-scale template matching (OpenCV).

Each place where the picture given with ``--logo_template`` appears, at any of several
scales, becomes an item of the map. Installed with ``pip install -e examples/logo_detector``,
it registers itself through the ``pixplot.detectors`` entry point in its pyproject.toml.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from pixplot.errors import UserError
from pixplot.plugins import Detection, Detector

#: Templates read in this process, by plugin id (the id holds the template's path).
_TEMPLATES: dict[str, np.ndarray] = {}


class LogoDetector(Detector):
    """Where a logo appears, by normalised cross-correlation at several scales."""

    name: ClassVar[str] = "logo"
    version: ClassVar[str] = "1"
    max_side: ClassVar[int] = 1024
    options: ClassVar[dict[str, dict[str, Any]]] = {
        "logo_template": {"metavar": "FILE", "help": "logo: a picture of the logo to find (PNG/JPEG)"},
        "min_logo_score": {"type": float, "metavar": "SCORE", "help": "logo: lowest match score, 0-1 (default: 0.8)"},
    }

    def __init__(self, logo_template: str | None = None, min_logo_score: float = 0.8,
                 scales: tuple[float, ...] = (0.5, 0.71, 1.0, 1.41, 2.0)):
        self.logo_template = logo_template
        self.min_logo_score = min_logo_score
        self.scales = scales

    def _template(self) -> np.ndarray:
        if self.id not in _TEMPLATES:
            from PIL import Image

            if not self.logo_template or not Path(self.logo_template).is_file():
                raise UserError(f"--logo_template {self.logo_template}: no such file; "
                                "give the path of a picture of the logo")
            with Image.open(self.logo_template) as im:
                _TEMPLATES[self.id] = np.asarray(im.convert("RGB"), dtype=np.uint8)
        return _TEMPLATES[self.id]

    def detect(self, images: list[Any]) -> list[list[Detection]]:
        import cv2

        tmpl = self._template()
        out = []
        for im in images:
            img = np.asarray(im.convert("RGB"), dtype=np.uint8)
            boxes, scores = [], []
            for s in self.scales:
                t = cv2.resize(tmpl, None, fx=s, fy=s, interpolation=cv2.INTER_AREA)
                th, tw = t.shape[:2]
                if th > img.shape[0] or tw > img.shape[1] or min(th, tw) < 8:
                    continue
                score = cv2.matchTemplate(img, t, cv2.TM_CCOEFF_NORMED)
                for y, x in zip(*np.nonzero(score >= self.min_logo_score), strict=True):
                    boxes.append([int(x), int(y), tw, th])
                    scores.append(float(score[y, x]))
            keep = cv2.dnn.NMSBoxes(boxes, scores, self.min_logo_score, 0.3) if boxes else []
            out.append([Detection(box=tuple(float(v) for v in boxes[i]), score=scores[i], label="logo")
                        for i in np.asarray(keep).ravel()])
        return out
