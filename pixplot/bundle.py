"""The bundle format's one owner (docs/bundle.md).

:class:`BundleWriter` writes a bundle (the build and the test bundles of :mod:`pixplot.testing` both
use it) and :class:`Manifest` is what it writes last; :class:`Bundle` reads one. Everything that
starts from a bundle (the server, exporters, evaluators, uploaders) reads it through
:class:`Bundle` and its typed properties, never through raw ``manifest[...]`` lookups, so the
format changes in one place.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from pixplot import __version__
from pixplot.errors import UserError
from pixplot.fsutil import atomic_write_bytes, atomic_write_json, atomic_write_text, atomic_write_with

FORMAT = "pixplot-bundle"
FORMAT_VERSION = 1
#: Side of an atlas sprite sheet in pixels (WebGL's safe texture size everywhere).
ATLAS_SIZE = 2048
#: The viewer copied to a bundle's root (index.html, assets/).
WEB_DIR = Path(__file__).parent / "web"

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


# ---------------------------------------------------------------------------- writing


@dataclass(frozen=True)
class AtlasGeometry:
    """Where item ``k``'s cell is: sheet ``k // per_atlas``, row-major in a ``cols`` x ``cols`` grid."""

    size: int
    cell_size: int
    cols: int
    per_atlas: int
    files: tuple[str, ...]

    @classmethod
    def for_items(cls, n: int, cell_size: int, size: int = ATLAS_SIZE) -> AtlasGeometry:
        cols = size // cell_size
        per = cols * cols
        return cls(size, cell_size, cols, per, tuple(f"atlases/{k}.jpg" for k in range(-(-n // per))))

    def to_json(self) -> dict[str, Any]:
        return {"size": self.size, "cell_size": self.cell_size, "cols": self.cols, "per_atlas": self.per_atlas,
                "files": list(self.files)}


def utc_now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Manifest:
    """``data/manifest.json`` (docs/bundle.md); :meth:`to_json` keeps the documented key order."""

    counts: dict[str, int]
    options: dict[str, Any]
    detector: dict[str, Any] | None
    embedder: dict[str, Any] | None
    layouts: list[dict[str, Any]]
    clusterings: list[dict[str, Any]]
    atlas: dict[str, Any]
    thumbs: dict[str, Any]
    metadata_fields: list[str]
    default_layout: str | None = None  # default: the first layout
    default_clustering: str | None = None  # default: the first clustering
    created: str = field(default_factory=utc_now)
    pixplot_version: str = __version__
    extra: dict[str, Any] = field(default_factory=dict)  # e.g. notes, layout_fit

    def to_json(self) -> dict[str, Any]:
        m = {
            "format": FORMAT, "format_version": FORMAT_VERSION, "pixplot_version": self.pixplot_version,
            "created": self.created, "counts": self.counts, "options": self.options,
            "detector": self.detector, "embedder": self.embedder,
            "items": "items.json", "embeddings": "embeddings.npy", "skipped": "skipped.csv",
            "layouts": self.layouts,
            "default_layout": self.default_layout or (self.layouts[0]["name"] if self.layouts else None),
            "clusterings": self.clusterings,
            "default_clustering": self.default_clustering or (self.clusterings[0]["name"] if self.clusterings
                                                              else None),
            "atlas": self.atlas, "thumbs": self.thumbs, "metadata_fields": self.metadata_fields,
        }
        m.update(self.extra)
        return m


def copy_viewer(out: str | Path) -> int:
    """Put the installed viewer (index.html, assets/) at the bundle root, next to data/; returns the
    number of files written."""
    if not (WEB_DIR / "index.html").is_file():
        return 0
    n = 0
    for src in sorted(WEB_DIR.rglob("*")):
        if src.is_file() and "__pycache__" not in src.parts:
            atomic_write_bytes(Path(out) / src.relative_to(WEB_DIR), src.read_bytes())
            n += 1
    return n


def _insert_after(d: dict[str, Any], after: str, key: str, value: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        out[k] = v
        if k == after:
            out[key] = value
    out.setdefault(key, value)
    return out


class BundleWriter:
    """Writes a bundle's files, each atomically, and the manifest last.

    Opening a writer removes the old manifest first: until :meth:`finish` writes the new one, no
    reader mistakes a half-updated bundle for a whole one. Layout and clustering entries are
    recorded as their files are written and go into the manifest in that order.
    """

    def __init__(self, out: str | Path):
        self.out = Path(out)
        self.data = self.out / "data"
        self.data.mkdir(parents=True, exist_ok=True)
        (self.data / "manifest.json").unlink(missing_ok=True)
        self.layouts: list[dict[str, Any]] = []
        self.clusterings: list[dict[str, Any]] = []
        self.vectors: dict[str, Any] | None = None

    def viewer(self) -> None:
        copy_viewer(self.out)

    def items(self, items: list[dict[str, Any]]) -> None:
        atomic_write_json(self.data / "items.json", {"items": items})

    def embeddings(self, E: np.ndarray) -> None:
        """``embeddings.npy`` and the compact copy a static viewer searches (``vectors.f16``:
        PCA-64, float16; :mod:`pixplot.vectors`)."""
        from pixplot.vectors import write_vectors

        E32 = np.asarray(E, dtype=np.float32)  # no copy when it already is float32
        atomic_write_with(self.data / "embeddings.npy", lambda f: np.save(f, E32))
        self.vectors = write_vectors(self.data, E) if len(E) else None

    def layout(self, name: str, positions: np.ndarray, guides: dict[str, Any] | None = None) -> None:
        """``layouts/<name>.f32`` and, with guides, ``layouts/<name>.guides.json``."""
        entry: dict[str, Any] = {"name": name, "file": f"layouts/{name}.f32"}
        atomic_write_bytes(self.data / entry["file"], np.asarray(positions).astype("<f4").tobytes())
        if guides:
            entry["guides"] = f"layouts/{name}.guides.json"
            atomic_write_json(self.data / entry["guides"], guides)
        self.layouts.append(entry)

    def clustering(self, name: str, labels: np.ndarray, clusters: list[dict[str, Any]], ids: list[str], *,
                   method: str, on: str, params: dict[str, Any]) -> None:
        """``clusters/<name>.json`` (clusters with members, noise ids) and ``clusters/<name>.i32``."""
        labels = np.asarray(labels)
        noise = [ids[i] for i in np.flatnonzero(labels < 0)]
        atomic_write_json(self.data / "clusters" / f"{name}.json", {
            "name": name, "method": method, "on": on, "params": params, "clusters": clusters, "noise": noise})
        atomic_write_bytes(self.data / "clusters" / f"{name}.i32", labels.astype("<i4").tobytes())
        self.clusterings.append({"name": name, "file": f"clusters/{name}.json", "labels": f"clusters/{name}.i32",
                                 "method": method, "on": on, "count": len(clusters), "noise": len(noise)})

    def atlas_path(self, file: str) -> Path:
        return self.data / file

    def skipped(self, rows: list[tuple[str, str]]) -> None:
        sio = io.StringIO()
        w = csv.writer(sio)
        w.writerow(["path", "reason"])
        w.writerows(rows)
        atomic_write_text(self.data / "skipped.csv", sio.getvalue())

    def finish(self, manifest: Manifest) -> dict[str, Any]:
        """Write ``manifest.json``, last; returns what was written."""
        m = manifest.to_json()
        if self.vectors is not None and "vectors" not in m:  # beside "embeddings", as docs/bundle.md shows it
            m = _insert_after(m, "embeddings", "vectors", self.vectors)
        atomic_write_json(self.data / "manifest.json", m, indent=1)
        return m
