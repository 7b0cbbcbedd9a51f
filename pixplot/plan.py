"""What a build will do, decided before any work: options checked once, plugins chosen and created.

:func:`resolve` turns :class:`BuildOptions` (what the user asked for) into a :class:`BuildPlan`
(the detector, embedder, projectors and clusterer to run, with every default applied). All plugin
policy lives here: a detector's recommendations, the DBSCAN metric on embeddings, the clusterer a
large collection switches to. A bad option fails here with one line, before any image is read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pixplot.embedders import default_embedder
from pixplot.errors import UserError
from pixplot.imageio import DEFAULT_MAX_FILE_SIZE
from pixplot.plugins import Clusterer, Detector, Embedder, Projector, accepted_params, all_options, create, get_class

EXECUTORS = ("local", "ray")
ORIGINALS = ("link", "copy", "none")


@dataclass
class BuildOptions:
    images: str
    out_dir: str = "output"
    metadata: str | None = None
    max_images: int | None = None
    max_file_size: int = DEFAULT_MAX_FILE_SIZE  # bytes; larger files are skipped unread
    shuffle: bool = False
    seed: int = 24
    embedder: str | None = None  # default: the detector's, else embedders.default_embedder()
    detector: str = "none"
    layouts: str = "umap,grid"  # projector names, comma-separated; the first is the default layout
    cluster: str | None = None  # default: the detector's, else "hdbscan"
    cluster_on: str | None = None  # "embedding" | "umap"; default: the detector's, else "umap"
    min_cluster_size: int | None = None
    min_samples: int | None = None
    eps: float | None = None
    max_clusters: int | None = None
    n_neighbors: int = 15
    min_dist: float = 0.1
    umap_epochs: int | None = None  # None: UMAP's default, 100 above 50k items
    metric: str = "cosine"
    cell_size: int = 32
    thumb_size: int = 256
    crop_margin: float = 0.2
    originals: str = "link"  # link | copy | none
    use_cache: bool = True
    executor: str = "local"
    workers: int | None = None
    batch_size: int | None = None
    ray_address: str | None = None  # None: RAY_ADDRESS when set, else a local Ray instance
    num_gpus: float = 0.0  # per embedding task, on the ray executor
    endpoint_url: str | None = None  # S3 input: endpoint and profile
    profile: str | None = None
    umap_fit_sample: int = 200_000  # above this many items UMAP fits on a sample, places the rest
    vectors: str | None = None  # --vectors FILE: vectors computed elsewhere, in place of an embedder
    clusters_from: str | None = None  # --clusters-from COLUMN: clusters given by a metadata column
    layout_files: list[str] = field(default_factory=list)  # --layout-file NAME=FILE.csv (filename,x,y)
    gzip: bool = False  # --gzip: precompressed siblings of data/ files
    plot_id: str | None = None  # --plot_id: names the plot across rebuilds (the viewer keys saved work by it)
    plugin_options: dict[str, Any] = field(default_factory=dict)
    progress: bool = True


@dataclass
class BuildPlan:
    """The resolved build: plugins created, defaults applied, paths fixed."""

    options: BuildOptions
    detector: Detector | None
    embedder: Embedder
    embedder_reason: str  # why this embedder (printed in the build summary)
    layouts: list[str]  # the layouts the bundle gets, in --layouts order (the first is the default)
    projectors: dict[str, Projector]  # every layout to compute, each after the ones it requires
    clusterer: Clusterer
    cluster_name: str
    cluster_on: str  # "embedding", or the name of the layout clustered
    notes: list[str] = field(default_factory=list)  # decisions the user should hear about
    vectors: Any = None  # pixplot.external_vectors.GivenVectors when --vectors replaces the embedder

    @property
    def out(self) -> Path:
        return Path(self.options.out_dir)

    @property
    def data(self) -> Path:
        return self.out / "data"

    @property
    def thumbs(self) -> Path:
        return self.data / "thumbs"

    @property
    def cache_dir(self) -> Path:
        return self.out / ".pixplot-cache"

    def settle(self, n_items: int) -> None:
        """Apply what depends on the collection's size, known once items are counted.

        Above ``--umap-fit-sample`` items, clustering high-dimensional embeddings is what runs out
        of time and memory, so unless the user chose the clusterer or its input, the build clusters
        the 2-D UMAP layout with HDBSCAN instead (and says so).
        """
        o = self.options
        if (n_items > o.umap_fit_sample and o.cluster_on is None and o.cluster is None
                and self.cluster_on != "umap" and not o.clusters_from):
            self.cluster_on, self.cluster_name = "umap", "hdbscan"
            self.clusterer = create("clusterer", "hdbscan", min_cluster_size=o.min_cluster_size,
                                    min_samples=o.min_samples, seed=o.seed)
            if "umap" not in self.projectors:
                self.projectors.update(_projectors(o, ["umap"], {}))
            from pixplot.gpu import use_cuml

            sampled = getattr(self.clusterer, "fit_sample", 0) or 0
            how = (f" (fitted on a seeded sample of {sampled}, the rest by their nearest sample points)"
                   if 0 < sampled < n_items and not use_cuml() else "")
            self.notes.append(f"{n_items} items: clustered with hdbscan on the 2-D UMAP layout{how} "
                              "(choose with --cluster-on)")


def parse_layouts(spec: str) -> list[str]:
    """``"umap, tsne"`` -> ``["umap", "tsne"]``: names stripped, empty ones and repeats dropped."""
    names: list[str] = []
    for part in spec.split(","):
        name = part.strip()
        if name and name not in names:
            names.append(name)
    if not names:
        raise UserError(f"--layouts {spec!r}: name at least one layout, e.g. umap,grid (see `pixplot plugins`)")
    return names


def _layout_order(names: list[str]) -> list[str]:
    """Every named layout and the layouts it requires, each after what it requires."""
    order: list[str] = []

    def visit(name: str, chain: list[str]) -> None:
        if name in order:
            return
        if name in chain:
            raise UserError(f"--layouts: projectors require each other in a circle: {' -> '.join([*chain, name])}")
        try:
            cls = get_class("projector", name)
        except UserError as exc:
            raise UserError(f"--layouts: {exc}") from exc
        for req in getattr(cls, "requires", ()):
            visit(req, [*chain, name])
        order.append(name)

    for name in names:
        visit(name, [])
    return order


def _shared(cls: type, params: dict[str, Any]) -> dict[str, Any]:
    """The build-wide parameters (seed, metric...) that ``cls`` takes; the others are not its own."""
    takes = accepted_params(cls)
    return {k: v for k, v in params.items() if k in takes}


def _projector_params(o: BuildOptions) -> dict[str, Any]:
    return {"seed": o.seed, "metric": o.metric, "n_neighbors": o.n_neighbors, "min_dist": o.min_dist,
            "n_epochs": o.umap_epochs, "fit_sample": o.umap_fit_sample}


def _projectors(o: BuildOptions, order: list[str], routed: dict[str, dict[str, Any]]) -> dict[str, Projector]:
    out = {}
    for name in order:
        cls = get_class("projector", name)
        out[name] = create("projector", name, **{**_shared(cls, _projector_params(o)),
                                                 **routed.get(f"projector:{name}", {})})
    return out


def _route(plugin_options: dict[str, Any], chosen: list[tuple[str, str]]) -> dict[str, dict[str, Any]]:
    """Send each plugin option to every chosen plugin whose constructor takes it.

    An option no chosen plugin takes is an error, so ``--min_face_score`` without
    ``--detector faces`` is never silently ignored.
    """
    routed: dict[str, dict[str, Any]] = {f"{k}:{n}": {} for k, n in chosen}
    for key, value in plugin_options.items():
        if value is None:
            continue
        takers = [(k, n) for k, n in chosen if key in accepted_params(get_class(k, n))]
        if not takers:
            declared = [f"{o.kind} {o.plugin}" for o in all_options().get(key, [])]
            hint = f" (it belongs to {', '.join(declared)}, which this build does not use)" if declared else ""
            raise UserError(f"--{key}: no plugin of this build takes it{hint}")
        for k, n in takers:
            routed[f"{k}:{n}"][key] = value
    return routed


def parse_layout_files(specs: list[str], taken: list[str]) -> dict[str, str]:
    """``["mds=coords.csv"]`` -> ``{"mds": "coords.csv"}``; a name must be new and a plain word."""
    out: dict[str, str] = {}
    for spec in specs or []:
        name, sep, path = str(spec).partition("=")
        name, path = name.strip(), path.strip()
        if not sep or not name or not path:
            raise UserError(f"--layout-file {spec}: write NAME=FILE.csv (a CSV with columns filename, x, y)")
        if not all(c.isalnum() or c in "_-" for c in name):
            raise UserError(f"--layout-file {spec}: the name {name!r} may hold letters, digits, - and _ only")
        if name in taken or name in out:
            raise UserError(f"--layout-file {spec}: a layout named {name!r} is already in this build; pick another")
        if not Path(path).is_file():
            raise UserError(f"--layout-file {spec}: {path} not found")
        out[name] = path
    return out


def _check(o: BuildOptions) -> None:
    if o.cell_size < 8 or o.cell_size > 256:
        raise UserError(f"--cell_size {o.cell_size}: choose between 8 and 256 pixels")
    if o.originals not in ORIGINALS:
        raise UserError(f"--originals {o.originals}: choose link, copy or none")
    if o.executor not in EXECUTORS:
        raise UserError(f"unknown --executor {o.executor!r}; available: {', '.join(EXECUTORS)}")


def resolve(o: BuildOptions) -> BuildPlan:
    """Check every option and create every plugin, so a bad name or value fails before any work."""
    _check(o)
    layouts = parse_layouts(o.layouts)
    custom = parse_layout_files(o.layout_files, layouts)

    det_cls = get_class("detector", o.detector) if o.detector and o.detector != "none" else None
    given = None
    if o.vectors:
        from pixplot.external_vectors import GivenVectors

        if det_cls is not None:
            raise UserError(f"--vectors {o.vectors}: vectors are given per image, so they cannot describe the "
                            f"detections of --detector {o.detector}; drop one of the two")
        if o.embedder:
            raise UserError(f"--vectors {o.vectors} replaces the embedder; drop --embedder {o.embedder}")
        given = GivenVectors(o.vectors)
    if given is not None:
        emb_name, reason = "classic", f"--vectors {o.vectors}"  # the plan's embedder is the given vectors
    elif o.embedder:
        emb_name, reason = o.embedder, f"--embedder {o.embedder}"
    elif det_cls is not None and det_cls.default_embedder:
        emb_name, reason = det_cls.default_embedder, f"the {o.detector} detector's embedder"
    else:
        emb_name, reason = default_embedder()
    cluster_name = o.cluster or (det_cls.default_cluster if det_cls else None) or "hdbscan"
    cluster_on = o.cluster_on or (det_cls.default_cluster_on if det_cls else None) or "umap"
    if cluster_on not in ("embedding", "umap"):
        raise UserError(f"--cluster-on {cluster_on}: choose embedding or umap")
    if o.clusters_from:
        cluster_on = "metadata"  # no clusterer runs: the column is the clustering
    order = _layout_order(layouts + (["umap"] if cluster_on == "umap" else []))

    chosen = ([("detector", o.detector)] if det_cls else []) + ([("embedder", emb_name)] if given is None else [])
    chosen += [("projector", n) for n in order] + [("clusterer", cluster_name)]
    routed = _route(o.plugin_options, chosen)

    detector = create("detector", o.detector, **routed["detector:" + o.detector]) if det_cls else None
    if given is not None:
        embedder = given
    else:
        emb_cls = get_class("embedder", emb_name)
        embedder = create("embedder", emb_name, **{**_shared(emb_cls, {"batch_size": o.batch_size}),
                                                   **routed[f"embedder:{emb_name}"]})

    # Clusterer: the detector's recommendation, then what the user gave, then its own options.
    cl_cls = get_class("clusterer", cluster_name)
    cparams: dict[str, Any] = dict(getattr(det_cls, "default_cluster_params", {}) or {})
    for k in ("min_cluster_size", "min_samples", "eps"):
        if getattr(o, k) is not None:
            cparams[k] = getattr(o, k)
    cparams.update({"n_clusters": o.max_clusters, "seed": o.seed})
    if cluster_name == "dbscan" and cluster_on == "embedding":
        cparams.setdefault("metric", "euclidean")
    clusterer = create("clusterer", cluster_name, **{**_shared(cl_cls, cparams),
                                                     **routed[f"clusterer:{cluster_name}"]})

    projectors = _projectors(o, order, routed)
    for name, path in custom.items():  # each --layout-file is a custom projector under its own name
        projectors[name] = create("projector", "custom", file=path, title=name)
    if o.clusters_from:
        cluster_name = "column"
    return BuildPlan(options=o, detector=detector, embedder=embedder, embedder_reason=reason,
                     layouts=layouts + list(custom), projectors=projectors, clusterer=clusterer,
                     cluster_name=cluster_name, cluster_on=cluster_on, vectors=given)
