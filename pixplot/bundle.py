"""The bundle format's one owner (docs/bundle.md): :class:`Bundle` reads a built bundle.

Everything that starts from a bundle (the server, exporters, evaluators, uploaders) reads it
through :class:`Bundle` and its typed properties, never through raw ``manifest[...]`` lookups,
so the format can change in one place.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from pixplot.errors import UserError

#: A detection's crop margin when the manifest does not record one (the build's default).
DEFAULT_CROP_MARGIN = 0.2


@dataclass(frozen=True)
class PluginRef:
    """Which plugin made a bundle's items or vectors: its name and derived id (the cache key)."""

    name: str
    id: str
    dim: int | None = None  # embedders only: vector length


@dataclass(frozen=True)
class AtlasInfo:
    """Where the atlas sprite sheets are and how cells are laid out on them."""

    size: int
    cell_size: int
    cols: int
    per_atlas: int
    files: tuple[str, ...]


def _ref(d: dict[str, Any] | None) -> PluginRef | None:
    if not d:
        return None
    return PluginRef(name=str(d.get("name", "")), id=str(d.get("id", "")),
                     dim=None if d.get("dim") is None else int(d["dim"]))


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

    # ------------------------------------------------------------------ typed manifest facts
    @property
    def embedder(self) -> PluginRef | None:
        """The embedder that made :attr:`embeddings` (``None`` only in hand-made bundles)."""
        return _ref(self.manifest.get("embedder"))

    @property
    def embedder_id(self) -> str:
        """The embedder's id, or ``""``: what a gallery or export must match to be comparable."""
        ref = self.embedder
        return ref.id if ref else ""

    @property
    def detector(self) -> PluginRef | None:
        """The detector whose boxes became items, or ``None`` for whole images."""
        return _ref(self.manifest.get("detector"))

    @property
    def detector_id(self) -> str | None:
        ref = self.detector
        return ref.id if ref else None

    @property
    def options(self) -> dict[str, Any]:
        """The build options recorded in the manifest (``{}`` if none)."""
        return dict(self.manifest.get("options") or {})

    @property
    def crop_margin(self) -> float:
        """The margin around a detection's box used for its crop (and its embedding)."""
        return float(self.options.get("crop_margin", DEFAULT_CROP_MARGIN))

    @property
    def counts(self) -> dict[str, int]:
        return {k: int(v) for k, v in (self.manifest.get("counts") or {}).items()}

    @property
    def metadata_fields(self) -> list[str]:
        return list(self.manifest.get("metadata_fields") or [])

    @property
    def layouts(self) -> list[dict[str, Any]]:
        """The manifest's layout entries (``name``, ``file``, optional ``guides``), in order."""
        return list(self.manifest.get("layouts") or [])

    @property
    def layout_names(self) -> list[str]:
        return [lay["name"] for lay in self.layouts]

    @property
    def default_layout(self) -> str | None:
        return self.manifest.get("default_layout") or (self.layout_names or [None])[0]

    @property
    def clusterings(self) -> list[dict[str, Any]]:
        """The manifest's clustering entries (``name``, ``file``, ``labels``, ``method``, ``on``...)."""
        return list(self.manifest.get("clusterings") or [])

    @property
    def clustering_names(self) -> list[str]:
        return [c["name"] for c in self.clusterings]

    @property
    def default_clustering(self) -> str | None:
        return self.manifest.get("default_clustering") or (self.clustering_names or [None])[0]

    @property
    def atlas(self) -> AtlasInfo:
        a = self.manifest["atlas"]
        return AtlasInfo(size=int(a["size"]), cell_size=int(a["cell_size"]), cols=int(a["cols"]),
                         per_atlas=int(a["per_atlas"]), files=tuple(a["files"]))

    # ------------------------------------------------------------------ data files
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
        for lay in self.layouts:
            if lay["name"] == name:
                return np.fromfile(self.data / lay["file"], dtype="<f4").reshape(-1, 2)
        raise UserError(f"{self.root}: no layout {name!r}")

    def layout_guides(self, name: str) -> dict[str, Any] | None:
        """A layout's guides (axis labels, text labels, polylines), or ``None`` when it has none."""
        for lay in self.layouts:
            if lay["name"] == name:
                return json.loads((self.data / lay["guides"]).read_text("utf-8")) if lay.get("guides") else None
        raise UserError(f"{self.root}: no layout {name!r}")

    def _clustering_entry(self, name: str | None) -> dict[str, Any]:
        name = name or self.default_clustering
        for c in self.clusterings:
            if c["name"] == name:
                return c
        raise UserError(f"{self.root}: no clustering {name!r}")

    def clustering(self, name: str | None = None) -> dict[str, Any]:
        return json.loads((self.data / self._clustering_entry(name)["file"]).read_text("utf-8"))

    def cluster_labels(self, name: str | None = None) -> np.ndarray:
        return np.fromfile(self.data / self._clustering_entry(name)["labels"], dtype="<i4")

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
