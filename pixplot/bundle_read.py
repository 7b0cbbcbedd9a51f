"""Read a built bundle (docs/bundle.md): what the server, exporters and evaluators start from."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from pixplot.errors import UserError


@dataclass
class Bundle:
    root: Path

    @property
    def data(self) -> Path:
        return self.root / "data"

    @cached_property
    def manifest(self) -> dict[str, Any]:
        path = self.data / "manifest.json"
        if not path.is_file():
            raise UserError(f"{self.root}: not a pixplot bundle (no data/manifest.json); run `pixplot build`")
        try:
            return json.loads(path.read_text("utf-8"))
        except json.JSONDecodeError as exc:
            raise UserError(f"{path}: unreadable manifest ({exc})") from exc

    @cached_property
    def items(self) -> list[dict[str, Any]]:
        return json.loads((self.data / self.manifest["items"]).read_text("utf-8"))["items"]

    @cached_property
    def ids(self) -> list[str]:
        return [it["id"] for it in self.items]

    @cached_property
    def index(self) -> dict[str, int]:
        return {item_id: i for i, item_id in enumerate(self.ids)}

    @cached_property
    def embeddings(self) -> np.ndarray:
        return np.load(self.data / self.manifest["embeddings"])

    def layout(self, name: str) -> np.ndarray:
        for lay in self.manifest["layouts"]:
            if lay["name"] == name:
                return np.fromfile(self.data / lay["file"], dtype="<f4").reshape(-1, 2)
        raise UserError(f"{self.root}: no layout {name!r}")

    def clustering(self, name: str | None = None) -> dict[str, Any]:
        name = name or self.manifest["default_clustering"]
        for c in self.manifest["clusterings"]:
            if c["name"] == name:
                return json.loads((self.data / c["file"]).read_text("utf-8"))
        raise UserError(f"{self.root}: no clustering {name!r}")

    def cluster_labels(self, name: str | None = None) -> np.ndarray:
        name = name or self.manifest["default_clustering"]
        for c in self.manifest["clusterings"]:
            if c["name"] == name:
                return np.fromfile(self.data / c["labels"], dtype="<i4")
        raise UserError(f"{self.root}: no clustering {name!r}")

    def item_image_path(self, item: dict[str, Any]) -> Path | None:
        """The full source image for an item, through the bundle's originals link or copy."""
        if item.get("original"):
            p = self.data / item["original"]
            if p.exists():
                return p
        return None


def open_bundle(path: str | Path) -> Bundle:
    b = Bundle(Path(path))
    b.manifest  # validate early  # noqa: B018
    return b
