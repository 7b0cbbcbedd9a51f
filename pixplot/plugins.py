"""Stage protocols and their registries.

Built-in stages register through the same entry points a third-party package uses
(groups ``pixplot.detectors``, ``pixplot.embedders``, ``pixplot.projectors``,
``pixplot.clusterers``, ``pixplot.commands``), so there is no special path for our own.

Like scikit-learn estimators, a plugin's constructor only stores its parameters; models
load lazily on first use, once per worker process. A plugin's id (name, version,
parameters) is derived, never typed by hand: it is the cache key and goes in the manifest.
"""

from __future__ import annotations

import hashlib
import inspect
import json
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from pixplot.errors import UserError

GROUPS = {
    "detector": "pixplot.detectors",
    "embedder": "pixplot.embedders",
    "projector": "pixplot.projectors",
    "clusterer": "pixplot.clusterers",
}


class Plugin:
    """Base of every stage plugin: parameters in, derived id out."""

    name: ClassVar[str] = ""
    version: ClassVar[str] = "1"
    #: Extra CLI options: parameter name -> argparse keyword arguments. The CLI adds a
    #: ``--<name>`` flag for each and passes the value to the constructor when given.
    options: ClassVar[dict[str, dict[str, Any]]] = {}

    def get_params(self) -> dict[str, Any]:
        sig = inspect.signature(type(self).__init__)
        return {
            p: getattr(self, p)
            for p in sig.parameters
            if p != "self" and sig.parameters[p].kind not in (inspect.Parameter.VAR_KEYWORD,
                                                              inspect.Parameter.VAR_POSITIONAL)
        }

    @property
    def id(self) -> str:
        """``name@version`` plus the parameters that change results, e.g. ``classic@2{...}``."""
        params = {k: v for k, v in self.get_params().items() if k not in self.id_excludes}
        return f"{self.name}@{self.version}" + json.dumps(params, sort_keys=True, default=str)

    #: Parameters that do not change results (batch sizes, file paths of the same weights...).
    id_excludes: ClassVar[tuple[str, ...]] = ()

    @property
    def key(self) -> str:
        """A short stable hash of :attr:`id`, for cache file names."""
        return hashlib.sha256(self.id.encode()).hexdigest()[:16]

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"


# ---------------------------------------------------------------------------- detectors


@dataclass(frozen=True)
class Detection:
    """One object found in an image, in the (EXIF-oriented) source image's pixels."""

    box: tuple[float, float, float, float]  # x, y, width, height
    score: float = 1.0
    landmarks: tuple[tuple[float, float], ...] | None = None
    label: str = "object"

    def to_json(self) -> dict[str, Any]:
        return {
            "box": [round(float(v), 1) for v in self.box],
            "score": round(float(self.score), 4),
            "landmarks": None
            if self.landmarks is None
            else [[round(float(x), 1), round(float(y), 1)] for x, y in self.landmarks],
            "label": self.label,
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Detection:
        lm = d.get("landmarks")
        return cls(
            box=tuple(d["box"]),
            score=d.get("score", 1.0),
            landmarks=None if lm is None else tuple(tuple(p) for p in lm),
            label=d.get("label", "object"),
        )


#: Key in a PIL image's ``info`` handed to a detector: source pixels per pixel of that image
#: (the pipeline decodes large images at reduced size), so that size limits can be kept in
#: source pixels.
SOURCE_SCALE = "pixplot_source_scale"


class Detector(Plugin):
    """Finds objects in images; each detection becomes an item of the map.

    ``detect`` returns boxes in the pixels of the images it is given; the pipeline maps them
    back to source pixels (see :data:`SOURCE_SCALE`).
    """

    #: Largest side the detector needs; bigger images are downscaled and boxes mapped back.
    max_side: ClassVar[int] = 1600
    #: True when the model parallelises itself (TensorFlow...) and should run in the driver.
    in_process: ClassVar[bool] = False
    #: The embedder used by default with this detector, and the default clustering input.
    default_embedder: ClassVar[str | None] = None
    default_cluster_on: ClassVar[str | None] = None
    default_cluster: ClassVar[str | None] = None
    default_cluster_params: ClassVar[dict[str, Any]] = {}

    def detect(self, images: list[Any]) -> list[list[Detection]]:  # images: PIL RGB
        raise NotImplementedError


# ---------------------------------------------------------------------------- embedders


@dataclass
class ItemImage:
    """What an embedder sees of one item.

    ``image`` is the whole image, or for a detection the crop around it (with margin);
    ``box`` and ``landmarks`` are then given in the crop's pixels.
    """

    image: Any  # PIL.Image.Image, RGB
    box: tuple[float, float, float, float] | None = None
    landmarks: tuple[tuple[float, float], ...] | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class Embedder(Plugin):
    """Maps item images to vectors; the pipeline L2-normalises what it returns."""

    #: Side the loader should decode the item image to (at least), for draft decoding.
    input_size: ClassVar[int] = 256
    in_process: ClassVar[bool] = False
    batch_size: int = 64

    def embed(self, batch: list[ItemImage]) -> np.ndarray:
        raise NotImplementedError


# ---------------------------------------------------------------------------- whole-set stages


@dataclass
class LayoutContext:
    """What a projector may use besides the embeddings, handed to :meth:`Projector.project`.

    ``layouts`` holds the layouts computed so far (every name in the projector's ``requires`` is
    there); ``items`` are the bundle's item records (``source``, ``meta``...) in item order, for
    layouts made from metadata; ``executor`` runs per-item work (UMAP places a large collection's
    points on it); ``cache_dir`` is the build cache folder for resumable intermediate files.
    """

    items: list[dict[str, Any]] = field(default_factory=list)
    layouts: dict[str, np.ndarray] = field(default_factory=dict)
    executor: Any = None
    seed: int = 24
    cache_dir: Path | None = None
    progress: bool = False
    #: Facts for the manifest a projector reports (e.g. UMAP's sample-fit report, notes):
    #: key -> JSON value; ``notes`` is a list of one-line strings shown in the build summary.
    report: dict[str, Any] = field(default_factory=dict)

    def note(self, text: str) -> None:
        self.report.setdefault("notes", []).append(text)


@dataclass
class Layout:
    """A projector's result when it has more to say than positions.

    ``positions`` (n, 2) in any units (the pipeline does not rescale them; built-in projectors
    normalise to [-1, 1] on the longer axis). ``guides`` is optional JSON the bundle writes beside
    the layout (``layouts/<name>.guides.json``) and the viewer draws, in layout units, e.g.
    ``{"axes": {"x": "year", "y": "hue"}, "labels": [{"text": "1900", "x": -1, "y": -1.05}],
    "lines": [[[x, y], ...], ...]}``.
    """

    positions: np.ndarray
    guides: dict[str, Any] | None = None


class Projector(Plugin):
    """Embeddings (n, d) -> 2-D positions (n, 2), chosen by name with ``--layouts``."""

    #: Other layouts this one is computed from (``grid`` -> ``("umap",)``): the build computes
    #: them first (even when not asked for) and passes them in ``context.layouts``.
    requires: ClassVar[tuple[str, ...]] = ()
    #: False for layouts made only from metadata or other layouts: ``X`` may then be empty.
    uses_embeddings: ClassVar[bool] = True

    def project(self, X: np.ndarray, *, context: LayoutContext | None = None) -> np.ndarray | Layout:
        raise NotImplementedError


class Clusterer(Plugin):
    """Points (n, d) -> cluster label per point, -1 for noise."""

    def cluster(self, X: np.ndarray) -> np.ndarray:
        raise NotImplementedError


# ---------------------------------------------------------------------------- registry


@dataclass
class PluginInfo:
    kind: str
    name: str
    target: str  # "module:attr"
    dist: str  # distribution that provides it
    version: str
    error: str | None = None


def _entry_points(group: str) -> list[metadata.EntryPoint]:
    return sorted(metadata.entry_points(group=group), key=lambda e: e.name)


def list_plugins(kind: str | None = None) -> list[PluginInfo]:
    """Every installed plugin; one that fails to import is listed with its error."""
    out = []
    for k, group in GROUPS.items():
        if kind and k != kind:
            continue
        for ep in _entry_points(group):
            dist = ep.dist.metadata["Name"] if ep.dist else "?"
            dver = ep.dist.version if ep.dist else "?"
            info = PluginInfo(k, ep.name, ep.value, dist, dver)
            try:
                cls = ep.load()
                info.version = f"{getattr(cls, 'version', '?')} ({dist} {dver})"
            except Exception as exc:  # a broken plugin never breaks the CLI
                info.error = f"{type(exc).__name__}: {exc}"
            out.append(info)
    return out


def get_class(kind: str, name: str) -> type:
    group = GROUPS[kind]
    eps = [ep for ep in _entry_points(group) if ep.name == name]
    if not eps:
        names = ", ".join(ep.name for ep in _entry_points(group)) or "none installed"
        raise UserError(f"unknown {kind} {name!r}; installed: {names} (see `pixplot plugins`)")
    try:
        return eps[0].load()
    except ImportError as exc:
        raise UserError(
            f"{kind} {name!r} needs a package that is not installed ({exc}); "
            "try `pip install 'seeen-pixplot[all]'`"
        ) from exc


def accepted_params(cls: type) -> set[str]:
    """The keyword parameters ``cls``'s constructor takes."""
    sig = inspect.signature(cls.__init__)
    return {p for p, v in sig.parameters.items() if p != "self"
            and v.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)}


def create(kind: str, name: str, **params: Any) -> Any:
    """Instantiate a plugin; ``None`` values mean "not given" (the constructor's default applies).

    A parameter the constructor does not take is a :class:`UserError`, never silently dropped:
    a misspelt option would otherwise build something other than what was asked for.
    """
    cls = get_class(kind, name)
    given = {k: v for k, v in params.items() if v is not None}
    unknown = sorted(set(given) - accepted_params(cls))
    if unknown:
        takes = ", ".join(sorted(accepted_params(cls))) or "none"
        raise UserError(f"{kind} {name!r} has no parameter {', '.join(map(repr, unknown))} (it takes: {takes})")
    return cls(**given)


@dataclass
class PluginOption:
    """One ``--<name>`` flag a plugin declares in its ``options``."""

    name: str
    kind: str
    plugin: str
    argparse: dict[str, Any]


def _same_flag(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return {k: v for k, v in a.items() if k != "help"} == {k: v for k, v in b.items() if k != "help"}


def all_options(reserved: frozenset[str] | set[str] = frozenset()) -> dict[str, list[PluginOption]]:
    """Every ``--<name>`` flag declared by importable detectors, embedders, projectors and clusterers.

    One name may be declared by several plugins of the same kind (one of a kind runs per build, so
    the value goes to the chosen one) when they agree on everything but ``help``. The same name in
    two kinds, two different flags under one name, or a name in ``reserved`` (the build's own
    flags) is a clash: :class:`UserError` naming both declarations. Raised when the build command
    reads its options, never at import, so ``pixplot plugins`` still lists everything.
    """
    opts: dict[str, list[PluginOption]] = {}
    for kind in GROUPS:
        for ep in _entry_points(GROUPS[kind]):
            try:
                cls = ep.load()
            except Exception:
                continue
            for name, kw in getattr(cls, "options", {}).items():
                opt = PluginOption(name, kind, ep.name, dict(kw))
                if name in reserved:
                    raise UserError(f"{kind} {ep.name!r} declares option --{name}, which is one of pixplot's "
                                    "own build flags; the plugin must rename it")
                for other in opts.get(name, []):
                    if other.kind != kind or not _same_flag(other.argparse, opt.argparse):
                        raise UserError(f"option --{name} is declared by both {other.kind} {other.plugin!r} and "
                                        f"{kind} {ep.name!r}; one of the plugins must rename it "
                                        "(plugin option names are shared, see docs/plugins.md)")
                opts.setdefault(name, []).append(opt)
    return opts


def commands() -> list[metadata.EntryPoint]:
    return _entry_points("pixplot.commands")
