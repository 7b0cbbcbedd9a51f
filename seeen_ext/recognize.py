"""`pixplot recognize`: label new images by their nearest neighbours in a labelled gallery.

The gallery (:mod:`seeen_ext.gallery`) is the labelled, non-excluded items of a bundle (or,
when nobody has labelled anything yet, a metadata column such as PixPlot's ``category``), a
gallery ``.npz`` from ``pixplot annotations export --format gallery``, or one uploaded to
``s3://bucket/prefix``.

A query is embedded exactly as the gallery was: the detector and embedder are re-created from
the ids recorded with the gallery (name, version and every parameter that changes results), and
the per-item functions are the build's own (:mod:`pixplot.work`). If the installed plugin no
longer gives the recorded id, or the caller asks for another one, that is an error: a vector
from another embedder is not comparable, and comparing it anyway would give a confident wrong
answer.

Each query gets its nearest gallery item's label and similarity; below the threshold it is
``unknown``. ``auto`` calibrates the threshold from the gallery itself (:func:`calibrate`).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from pixplot.errors import UserError
from pixplot.imageio import BadImage, open_image
from pixplot.knn import SEARCH_EXACT_LIMIT, VectorIndex, normalise, tune_nprobe
from pixplot.plugins import create
from seeen_ext.gallery import Gallery

UNKNOWN = "unknown"
#: Cells an approximate gallery index starts probing (then raised until recall@10 reaches 0.95).
RECOGNITION_NPROBE = 64
#: Gallery rows used as leave-one-out queries by the calibration (all of them below this).
CALIBRATION_QUERIES = 4000


# ---------------------------------------------------------------------------- plugins from ids


def split_id(plugin_id: str) -> tuple[str, dict[str, Any]]:
    """``classic@1{"a": 1}`` -> (``classic``, ``{"a": 1}``)."""
    name, _, rest = plugin_id.partition("@")
    brace = rest.find("{")
    params = json.loads(rest[brace:]) if brace >= 0 else {}
    return name, params


def plugin_from_id(kind: str, plugin_id: str, where: str) -> Any:
    """Re-create the plugin that made the gallery; its id must come out the same."""
    name, params = split_id(plugin_id)
    try:
        plugin = create(kind, name, **params)
    except UserError as exc:
        raise UserError(f"{where}: built with {kind} {name!r}, which cannot run here ({exc})") from exc
    if plugin.id != plugin_id:
        raise UserError(f"{where}: built with {kind} {plugin_id}, but the installed {name!r} gives {plugin.id}; "
                        "install the version that built it or rebuild the gallery")
    return plugin


def check_requested(g: Gallery, embedder: str | None, detector: str | None) -> None:
    """A caller's explicit --embedder/--detector must match the gallery's; never a silent swap."""
    if embedder and split_id(g.embedder)[0] != embedder:
        raise UserError(f"--embedder {embedder}: the gallery {g.source} was built with {split_id(g.embedder)[0]!r} "
                        f"({g.embedder}); drop --embedder, or rebuild the gallery with --embedder {embedder}")
    if detector is not None and g.detector_known:
        want = None if detector == "none" else detector
        have = split_id(g.detector)[0] if g.detector else None
        if want != have:
            raise UserError(f"--detector {detector}: the gallery {g.source} was built with detector "
                            f"{have or 'none'!r}; drop --detector, or rebuild the gallery with --detector {detector}")


def assume_detector(g: Gallery, detector: str) -> None:
    """For a gallery file that does not record its detector: the caller says which it was."""
    if not g.detector_known:
        g.detector = None if detector == "none" else create("detector", detector).id
        g.detector_known = True


def gallery_plugins(g: Gallery) -> tuple[Any, Any]:
    """(detector or None, embedder) as recorded with the gallery; constructing them loads no model,
    so a mismatch is found before any work."""
    if not g.detector_known:
        raise UserError(f"--gallery {g.source}: the file does not record which detector made it; pass "
                        "--detector none (whole images) or the detector it was built with")
    embedder = plugin_from_id("embedder", g.embedder, f"--gallery {g.source}")
    detector = plugin_from_id("detector", g.detector, f"--gallery {g.source}") if g.detector else None
    return detector, embedder


# ---------------------------------------------------------------------------- threshold calibration


@dataclass
class Calibration:
    threshold: float
    f1: float
    precision: float
    recall: float
    positives: int
    negatives: int

    def describe(self) -> str:
        return (f"threshold {self.threshold:.4f} (auto: F1 {self.f1:.3f}, precision {self.precision:.3f}, "
                f"recall {self.recall:.3f} on {self.positives} same-label and {self.negatives} different-label "
                "leave-one-out best matches)")


def choose_threshold(pos: np.ndarray, neg: np.ndarray) -> Calibration:
    """The similarity threshold maximising F1 when ``pos`` scores (true matches) should pass and
    ``neg`` scores (best matches of another label) should not. An item passes when score >=
    threshold; the threshold sits midway between the best cut's score and the next lower score."""
    pos = np.sort(np.asarray(pos, dtype=np.float64))[::-1]
    neg = np.sort(np.asarray(neg, dtype=np.float64))[::-1]
    if len(pos) == 0:
        raise UserError("--threshold auto: no label has two items in the gallery, so there is nothing to "
                        "calibrate on; give --threshold X")
    cands = np.unique(np.concatenate([pos, neg]))[::-1]
    tp = np.searchsorted(-pos, -cands, side="right")  # pos >= c
    fp = np.searchsorted(-neg, -cands, side="right")
    fn = len(pos) - tp
    f1 = 2 * tp / np.maximum(1, 2 * tp + fp + fn)
    best = int(np.argmax(f1))  # first maximum: the highest threshold among equals
    cut = cands[best]
    lower = cands[best + 1] if best + 1 < len(cands) else cut - 0.05
    t = float((cut + lower) / 2)
    return Calibration(threshold=t, f1=float(f1[best]), precision=float(tp[best] / max(1, tp[best] + fp[best])),
                       recall=float(tp[best] / len(pos)), positives=len(pos), negatives=len(neg))


def loo_best_matches(E: np.ndarray, labels: np.ndarray, max_queries: int = CALIBRATION_QUERIES,
                     seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """For each (sampled) gallery item, leaving it out: the similarity of its best same-label match
    (a known query's score) and of its best different-label match (what an unknown would score)."""
    n = len(E)
    rows = np.arange(n)
    if n > max_queries:
        rows = np.sort(np.random.default_rng(seed).choice(n, max_queries, replace=False))
    codes = np.unique(labels, return_inverse=True)[1]
    pos, neg = [], []
    for start in range(0, len(rows), 256):
        r = rows[start:start + 256]
        S = E[r] @ E.T
        S[np.arange(len(r)), r] = -np.inf
        same = codes[r][:, None] == codes[None, :]
        bs = np.where(same, S, -np.inf).max(axis=1)
        bd = np.where(~same, S, -np.inf).max(axis=1)
        pos.append(bs[np.isfinite(bs)])
        neg.append(bd[np.isfinite(bd)])
    return np.concatenate(pos), np.concatenate(neg)


def calibrate(g: Gallery, max_queries: int = CALIBRATION_QUERIES) -> Calibration:
    pos, neg = loo_best_matches(g.embeddings, g.labels, max_queries)
    return choose_threshold(pos, neg)


# ---------------------------------------------------------------------------- recognition


@dataclass
class Match:
    label: str  # the answer, or UNKNOWN
    nearest_label: str  # the nearest item's label, whatever its score
    score: float
    neighbours: list[dict[str, Any]]  # top-k: id, label, score

    def as_json(self) -> dict[str, Any]:
        return {"label": self.label, "nearest_label": self.nearest_label, "score": round(self.score, 4),
                "neighbours": self.neighbours}


@dataclass
class Recogniser:
    """A gallery with its index and threshold; answers vectors, image files or image bytes."""

    gallery: Gallery
    threshold: float
    k: int = 5
    index_kind: str = "auto"
    calibration: Calibration | None = None
    index: VectorIndex = field(init=False)
    recall: float | None = field(init=False, default=None)
    _embedder: Any = field(init=False, default=None)
    _detector: Any = field(init=False, default=None)

    def __post_init__(self) -> None:
        if self.k < 1:
            raise UserError(f"--k {self.k}: give at least 1")
        if self.index_kind not in ("auto", "exact", "approx"):
            raise UserError(f"--index {self.index_kind}: choose auto, exact or approx")
        self.index = VectorIndex(self.gallery.embeddings, kind=self.index_kind, exact_limit=SEARCH_EXACT_LIMIT,
                                 nprobe=RECOGNITION_NPROBE)
        if self.index.kind != "exact":  # measured, never assumed; more cells if too low
            rng = np.random.default_rng(0)
            q = self.gallery.embeddings[rng.choice(len(self.gallery), min(200, len(self.gallery)), replace=False)]
            exact = VectorIndex(self.gallery.embeddings, kind="exact")
            self.recall = tune_nprobe(self.index, exact, q, max(self.k, 10))

    # -------------------------------------------------------------- plugins
    def plugins(self) -> tuple[Any, Any]:
        """(detector or None, embedder), re-created from the gallery's ids once."""
        if self._embedder is None:
            self._detector, self._embedder = gallery_plugins(self.gallery)
        return self._detector, self._embedder

    def adopt_plugins(self, other: Recogniser) -> None:
        """Use the models ``other`` already loaded, when its gallery was made by the same detector
        and embedder (loading a learned model takes seconds; a new gallery version need not)."""
        same = (other.gallery.embedder, other.gallery.detector) == (self.gallery.embedder, self.gallery.detector)
        if same and other._embedder is not None and self._embedder is None:
            self._detector, self._embedder = other._detector, other._embedder

    # -------------------------------------------------------------- answers
    def match(self, vectors: np.ndarray, exclude: list[str | None] | None = None) -> list[Match]:
        """Nearest gallery items for each vector; ``exclude[i]`` is a gallery id to leave out."""
        if len(vectors) == 0:
            return []
        V = normalise(vectors)
        if V.shape[1] != self.gallery.embeddings.shape[1]:
            raise UserError(f"--gallery {self.gallery.source}: its vectors have {self.gallery.embeddings.shape[1]} "
                            f"dimensions, the queries {V.shape[1]}; they come from different embedders")
        extra = 1 if exclude else 0
        hits = self.index.search(V, self.k + extra)
        out = []
        for r in range(len(V)):
            nb = []
            for i, s in zip(hits.indices[r], hits.scores[r], strict=True):
                if i < 0 or (exclude and exclude[r] == self.gallery.ids[i]):
                    continue
                nb.append({"id": str(self.gallery.ids[i]), "label": str(self.gallery.labels[i]),
                           "score": round(float(s), 4)})
            nb = nb[:self.k]
            if not nb:
                out.append(Match(UNKNOWN, "", float("-inf"), []))
                continue
            best = nb[0]
            label = best["label"] if best["score"] >= self.threshold else UNKNOWN
            out.append(Match(label, best["label"], float(best["score"]), nb))
        return out

    def recognise_sources(self, sources: list[tuple[str, str | bytes]]) -> list[dict[str, Any]]:
        """Detect (if the gallery did), embed and match each (name, path or bytes) image.

        One row per detection (or per image), with ``status``: recognised, unknown,
        no_detection or unreadable."""
        from pixplot.work import detect_batch, embed_batch

        detector, embedder = self.plugins()
        rows: list[dict[str, Any]] = []
        specs: list[tuple[str, Any, list | None, list | None]] = []
        meta: dict[str, tuple[str, list | None]] = {}
        readable: list[tuple[str, Any, str]] = []
        for name, src in sources:
            try:
                data = src if isinstance(src, bytes) else Path(src).read_bytes()
                open_image(data, max_side=64)
            except (BadImage, OSError) as exc:
                reason = str(exc) if isinstance(exc, BadImage) else f"unreadable ({exc.strerror or exc})"
                rows.append(_row(name, None, None, "unreadable", reason))
                continue
            readable.append((name, src, hashlib.sha256(data).hexdigest()))
        if detector is None:
            for name, src, sha in readable:
                key = f"{len(specs)}:{sha[:16]}"
                specs.append((key, src, None, None))
                meta[key] = (name, None)
        else:
            for start in range(0, len(readable), 8):
                chunk = readable[start:start + 8]
                found = dict(detect_batch(detector, [(src, f"{j}") for j, (_, src, _) in enumerate(chunk)]))
                for j, (name, src, _) in enumerate(chunk):
                    dets = found.get(f"{j}", [])
                    if not dets:
                        rows.append(_row(name, None, None, "no_detection", "nothing detected"))
                    for d in dets:
                        key = f"{len(specs)}"
                        specs.append((key, src, d["box"], d.get("landmarks")))
                        meta[key] = (name, d["box"])
        bs = max(1, int(getattr(embedder, "batch_size", 64)))
        for start in range(0, len(specs), bs):
            got, vecs = embed_batch(embedder, specs[start:start + bs], self.gallery.crop_margin)
            done = set(got)
            for key, m in zip(got, self.match(vecs), strict=True):
                name, box = meta[key]
                rows.append(_row(name, box, m, "recognised" if m.label != UNKNOWN else "unknown", ""))
            for key, *_ in specs[start:start + bs]:
                if key not in done:
                    name, box = meta[key]
                    rows.append(_row(name, box, None, "unreadable", "could not be decoded for embedding"))
        order = {name: i for i, (name, _) in enumerate(sources)}
        rows.sort(key=lambda r: order.get(r["source"], 0))
        return rows


def _row(source: str, box: list | None, m: Match | None, status: str, note: str) -> dict[str, Any]:
    return {"source": source, "box": box, "label": m.label if m else UNKNOWN,
            "score": None if m is None or not np.isfinite(m.score) else round(m.score, 4),
            "nearest_label": m.nearest_label if m else "", "status": status, "note": note,
            "neighbours": m.neighbours if m else []}


class RecogniserCache:
    """One recogniser per key (e.g. the store version with the threshold and k), rebuilt only when
    the key changes; a rebuilt one keeps the models the previous one loaded. Thread-safe: the
    server's request threads share one."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._key: Hashable | None = None
        self._rec: Recogniser | None = None

    def get(self, key: Hashable, gallery: Callable[[], Gallery], threshold: str | float = "auto",
            k: int = 5) -> Recogniser:
        """The recogniser for ``key``; ``gallery()`` is called only when it must be built."""
        with self._lock:
            if self._rec is None or self._key != key:
                rec = make_recogniser(gallery(), threshold, k)
                if self._rec is not None:
                    rec.adopt_plugins(self._rec)
                self._key, self._rec = key, rec
            return self._rec


def make_recogniser(g: Gallery, threshold: str | float = "auto", k: int = 5, index: str = "auto") -> Recogniser:
    """The gallery's recogniser; ``threshold`` is a similarity in [-1, 1] or ``auto``."""
    cal = None
    if isinstance(threshold, str) and threshold == "auto":
        cal = calibrate(g)
        t = cal.threshold
    else:
        try:
            t = float(threshold)
        except ValueError as exc:
            raise UserError(f"--threshold {threshold}: give auto or a cosine similarity between -1 and 1") from exc
        if not -1.0 <= t <= 1.0:
            raise UserError(f"--threshold {threshold}: give auto or a cosine similarity between -1 and 1")
    return Recogniser(g, t, k, index, cal)


# ---------------------------------------------------------------------------- files


def query_files(paths: list[str]) -> list[tuple[str, str]]:
    """Every image file named by the arguments (files, folders searched recursively, globs)."""
    from pixplot.discover import find_images

    out: list[tuple[str, str]] = []
    for p in paths:
        _, files = find_images(p)
        out.extend((str(f.path), str(f.path)) for f in files)
    return out


CSV_FIELDS = ["source", "box", "label", "score", "nearest_label", "status", "neighbours"]


def write_csv(rows: list[dict[str, Any]], out: str | Path) -> None:
    """source, box ([x,y,w,h] JSON or empty), label, score, nearest_label, status, and the top-k
    neighbours as JSON ``[{"id", "label", "score"}, ...]``."""
    from pixplot.fsutil import atomic_write_text

    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(CSV_FIELDS)
    for r in rows:
        w.writerow([r["source"], json.dumps(r["box"]) if r["box"] is not None else "", r["label"],
                    "" if r["score"] is None else f"{r['score']:.4f}", r["nearest_label"], r["status"],
                    json.dumps(r["neighbours"], ensure_ascii=False)])
    atomic_write_text(Path(out), buf.getvalue())
