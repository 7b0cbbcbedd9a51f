"""Find and repair: similar items, text search, split, similar clusters and label suggestions.

Plain functions over a bundle's embeddings (rows of an L2-normalised float32 matrix) and the
annotation state; no Flask, no store. The server's ``routes.find`` blueprint and the benchmarks call
them, so what the viewer shows is what these functions return.

Why these choices:

- A set of items (a selection, a cluster) is searched by its centroid (the normalised mean of its
  members), with the members left out of the answer: "more like these", not "these again".
- Split re-clusters only the members' embeddings, with spherical k-means and k chosen by the
  cosine silhouette, because the build's clusterer already
  declined to split them: density-based clustering sees one blob, a centroid method still finds
  the two classes inside it. Fewer than :data:`MIN_SPLIT` items cannot be split meaningfully.
- Suggestions are recognition (:mod:`seeen_ext.recognize`) of the unlabelled items against the
  labelled, non-excluded ones: the same nearest-neighbour rule and the same calibrated threshold,
  so a suggestion is exactly what ``pixplot recognize`` would answer. Only items without a label
  are ever suggested, so a label the annotator set is never overwritten.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from pixplot.cluster import centroid_similarities
from pixplot.errors import UserError
from pixplot.knn import VectorIndex, normalise

#: Splitting needs at least this many items: with fewer, two sub-groups of two say nothing.
MIN_SPLIT = 4
#: Most sub-groups a split proposes when the caller does not say how many.
MAX_SPLIT = 8
#: Members used to choose the number of sub-groups (silhouette is quadratic in them).
SPLIT_SAMPLE = 1000
#: Suggestions match at most this many unlabelled items per request (excluded and noise first).
MAX_CANDIDATES = 20_000
#: Above this many labelled items, suggestions search them with the approximate index.
APPROX_GALLERY = 20_000
#: A calibrated threshold is reused while the gallery changes by less than this fraction.
RECALIBRATE = 0.1
#: At most this many members of a set are left out of its neighbours by over-fetching; a larger
#: set is searched for ``k + SKIP_FETCH`` and filtered (fewer answers when the set is compact).
SKIP_FETCH = 2000


def centroid(E: np.ndarray, rows: Sequence[int] | np.ndarray) -> np.ndarray:
    """The unit-length mean direction of ``rows`` of ``E`` (shape (d,))."""
    rows = np.asarray(rows, dtype=np.int64)
    if len(rows) == 0:
        raise UserError("nothing to search from: give at least one item")
    return normalise(np.asarray(E[rows], dtype=np.float32).mean(axis=0))[0]


@dataclass
class Neighbour:
    row: int
    score: float  # cosine similarity to the query (1 = identical)


def neighbours(index: VectorIndex, query: np.ndarray, k: int, skip: Iterable[int] = ()) -> list[Neighbour]:
    """The ``k`` nearest indexed rows to ``query`` (a vector), best first, without ``skip``."""
    skip = set(int(s) for s in skip)
    fetch = min(len(index), k + min(len(skip), SKIP_FETCH))
    if fetch <= 0:
        return []
    hits = index.search(normalise(query), fetch)
    out = []
    for i, s in zip(hits.indices[0], hits.scores[0], strict=True):
        if i < 0 or int(i) in skip:
            continue
        out.append(Neighbour(int(i), float(s)))
        if len(out) == k:
            break
    return out


def neighbours_of(index: VectorIndex, E: np.ndarray, rows: Sequence[int], k: int) -> list[Neighbour]:
    """More like ``rows``: the nearest items to their centroid, the rows themselves left out."""
    return neighbours(index, centroid(E, rows), k, skip=rows)


def text_neighbours(embedder: Any, index: VectorIndex, text: str, k: int, embedder_name: str = "") -> list[Neighbour]:
    """The items whose embeddings best match ``text``, for an embedder that also embeds text
    (a CLIP-family model offering ``embed_text(list[str])``)."""
    if not text.strip():
        raise UserError("type some words to search for")
    if not callable(getattr(embedder, "embed_text", None)):
        name = embedder_name or getattr(embedder, "name", type(embedder).__name__)
        raise UserError(f"text search needs a CLIP-family embedder; this bundle was built with {name!r} "
                        "(rebuild with a CLIP embedder to search by words)")
    vec = np.asarray(embedder.embed_text([text]), dtype=np.float32).reshape(1, -1)
    if vec.shape[1] != index_dim(index):
        raise UserError(f"the text embedding has {vec.shape[1]} dimensions, the bundle's images "
                        f"{index_dim(index)}; the bundle was built with another embedder")
    return neighbours(index, vec[0], k)


def index_dim(index: Any) -> int:
    """The dimension of an index's vectors (exact or approximate)."""
    if hasattr(index, "dim"):
        return int(index.dim)
    return int(index.vectors.shape[1])


# ---------------------------------------------------------------------------- split


@dataclass
class SubGroup:
    rows: list[int]
    cohesion: float  # mean cosine similarity of the members to their centroid


def cohesion(E: np.ndarray, rows: Sequence[int]) -> float:
    return float(centroid_similarities(normalise(E[np.asarray(rows, dtype=np.int64)])).mean())


def kmeans(X: np.ndarray, k: int, seed: int = 0, restarts: int = 3, iters: int = 30) -> np.ndarray:
    """Spherical k-means labels of unit rows ``X``: k-means++ starts, the best (highest total
    similarity to the centres) of ``restarts``. Plain numpy on one BLAS thread: a few items'
    worth of work, where threads only wait on each other (scikit-learn's and faiss's k-means took
    seconds for 1,250 items on the loaded two-core machine, this takes tens of milliseconds)."""
    rng = np.random.default_rng(seed)
    n = len(X)
    best_lab, best_fit = np.zeros(n, np.int64), -np.inf
    for _ in range(restarts):
        C = np.empty((k, X.shape[1]), np.float32)
        C[0] = X[rng.integers(n)]
        closest = 1.0 - X @ C[0]
        for j in range(1, k):
            p = np.maximum(closest, 0) ** 2
            C[j] = X[rng.choice(n, p=p / p.sum()) if p.sum() > 0 else rng.integers(n)]
            closest = np.minimum(closest, 1.0 - X @ C[j])
        lab = np.zeros(n, np.int64)
        for it in range(iters):
            S = X @ C.T
            new = S.argmax(axis=1)
            if it and np.array_equal(new, lab):
                break
            lab = new
            for j in range(k):
                members = X[lab == j]
                if len(members):
                    c = members.sum(axis=0)
                    C[j] = c / max(float(np.linalg.norm(c)), 1e-12)
        fit = float((X @ C.T).max(axis=1).sum())
        if fit > best_fit:
            best_lab, best_fit = lab, fit
    return best_lab


def silhouette(X: np.ndarray, labels: np.ndarray) -> float:
    """Mean silhouette with cosine distance (1 - similarity) of unit rows; singletons count 0."""
    D = 1.0 - X @ X.T
    ks, codes = np.unique(labels, return_inverse=True)
    if len(ks) < 2:
        return -1.0
    onehot = np.zeros((len(X), len(ks)), np.float32)
    onehot[np.arange(len(X)), codes] = 1
    sums = D @ onehot
    counts = onehot.sum(axis=0)
    own = counts[codes]
    a = sums[np.arange(len(X)), codes] / np.maximum(own - 1, 1)
    mean_other = sums / counts
    mean_other[np.arange(len(X)), codes] = np.inf
    b = mean_other.min(axis=1)
    sil = np.where(own > 1, (b - a) / np.maximum(np.maximum(a, b), 1e-12), 0.0)
    return float(sil.mean())


def split(E: np.ndarray, rows: Sequence[int], k: int | None = None, seed: int = 0) -> list[SubGroup]:
    """Re-cluster ``rows`` of ``E`` into sub-groups, largest first.

    ``k`` sub-groups when given (2 or more); otherwise 2 to :data:`MAX_SPLIT`, whichever gives the
    best silhouette on (a sample of) the members."""
    rows = np.asarray(list(dict.fromkeys(int(r) for r in rows)), dtype=np.int64)
    if len(rows) < MIN_SPLIT:
        raise UserError(f"cannot split {len(rows)} item{'s' if len(rows) != 1 else ''}: a split needs at least "
                        f"{MIN_SPLIT}; label or exclude them one by one")
    if k is not None and not 2 <= k <= len(rows) // 2:
        raise UserError(f"cannot split {len(rows)} items into {k} sub-groups: give 2 to {len(rows) // 2}")
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        return _split(normalise(np.asarray(E[rows], dtype=np.float32)), rows, E, k, seed)


def _split(X: np.ndarray, rows: np.ndarray, E: np.ndarray, k: int | None, seed: int) -> list[SubGroup]:
    if k is None:
        rng = np.random.default_rng(seed)
        sample = X if len(X) <= SPLIT_SAMPLE else X[np.sort(rng.choice(len(X), SPLIT_SAMPLE, replace=False))]
        best, best_score = 2, -2.0
        for kk in range(2, min(MAX_SPLIT, len(sample) // 2) + 1):
            score = silhouette(sample, kmeans(sample, kk, seed, restarts=2))
            if score > best_score + 1e-9:
                best, best_score = kk, score
        k = best
    labels = kmeans(X, k, seed)
    groups = [rows[labels == g].tolist() for g in range(k)]
    groups = [g for g in groups if g]
    groups.sort(key=lambda g: (-len(g), g[0]))
    return [SubGroup(g, cohesion(E, g)) for g in groups]


# ---------------------------------------------------------------------------- similar clusters


def group_rows(keys: np.ndarray) -> dict[Any, np.ndarray]:
    """Rows of each distinct key (one sort, not one scan per key)."""
    order = np.argsort(keys, kind="stable")
    uniq, starts = np.unique(keys[order], return_index=True)
    ends = list(starts[1:]) + [len(order)]
    return {u.item(): order[s:e] for u, s, e in zip(uniq, starts, ends, strict=True)}


def centroids(E: np.ndarray, groups: Mapping[Any, np.ndarray]) -> tuple[list[Any], np.ndarray]:
    """(keys, unit centroid per key) for groups of rows."""
    keys = list(groups)
    C = np.zeros((len(keys), E.shape[1]), np.float32)
    for j, key in enumerate(keys):
        C[j] = np.asarray(E[groups[key]], dtype=np.float32).mean(axis=0)
    return keys, normalise(C) if len(keys) else C


@dataclass
class SimilarGroup:
    key: Any
    score: float  # cosine similarity of the two centroids
    size: int


def similar_groups(E: np.ndarray, groups: Mapping[Any, np.ndarray], key: Any, k: int = 10,
                   query_rows: Sequence[int] | None = None,
                   cents: tuple[list[Any], np.ndarray] | None = None) -> list[SimilarGroup]:
    """The groups whose centroids are nearest ``key``'s (or ``query_rows``' centroid), best first,
    ``key`` itself left out: candidates to merge into it. ``cents``: :func:`centroids` of
    ``groups``, when the caller keeps them (a pass over every embedding: 1 s at a million)."""
    keys, C = cents if cents is not None else centroids(E, groups)
    if query_rows is not None:
        q = centroid(E, query_rows)
    elif key in groups:
        q = C[keys.index(key)]
    else:
        raise UserError(f"no cluster {key!r}")
    scores = C @ q
    order = np.argsort(-scores, kind="stable")
    out = []
    for j in order:
        if keys[j] == key:
            continue
        out.append(SimilarGroup(keys[j], float(scores[j]), len(groups[keys[j]])))
        if len(out) == k:
            break
    return out


def effective_groups(cluster_of: np.ndarray, ids: Sequence[str], overrides: Mapping[str, str],
                     noise: bool = False) -> dict[str, np.ndarray]:
    """Rows of each group: an item's cluster number as a string (``"12"``), unless a split or merge
    put it in another group (``overrides``: item id -> group, from the store's state). Noise
    (cluster -1) is left out unless ``noise``."""
    keys = np.array([str(int(c)) for c in cluster_of], dtype=object)
    if overrides:
        index = {iid: i for i, iid in enumerate(ids)}
        for iid, grp in overrides.items():
            i = index.get(iid)
            if i is not None:
                keys[i] = grp
    groups = group_rows(keys.astype(str))
    if not noise:
        groups.pop("-1", None)
    return groups


# ---------------------------------------------------------------------------- suggestions


@dataclass
class Suggestion:
    row: int
    label: str
    score: float  # similarity of the nearest labelled item (recognition's score)
    agree: float  # share of the k nearest labelled items that carry the label
    neighbour: str  # id of that nearest labelled item


@dataclass
class Suggestions:
    threshold: float
    threshold_source: str  # "auto" (calibrated) or "given"
    gallery: int  # labelled, non-excluded items suggested from
    candidates: int  # unlabelled items considered
    items: list[Suggestion]
    unknown: int  # candidates whose best match is below the threshold
    candidates_total: int = 0  # unlabelled items there were (candidates: those matched)

    def by_label(self) -> list[dict[str, Any]]:
        """Groups of suggestions, one per label: the most confident groups first, each best first."""
        groups: dict[str, list[Suggestion]] = {}
        for s in self.items:
            groups.setdefault(s.label, []).append(s)
        for g in groups.values():
            g.sort(key=lambda s: (-s.score, -s.agree, s.row))
        ordered = sorted(groups.items(), key=lambda kv: (-float(np.mean([s.score for s in kv[1]])), kv[0]))
        return [{"label": lab, "items": g} for lab, g in ordered]


def suggester(bundle: Any, labels: Mapping[str, str], excluded: Iterable[str], threshold: str | float = "auto",
              k: int = 5, previous: Any = None) -> Any:
    """The recogniser suggestions use: the labelled, non-excluded items, their index and the
    calibrated threshold (rebuild it when the annotations change).

    ``previous``: the suggester of an earlier state. Its calibrated threshold is kept while the
    labels are the same names and the gallery grew or shrank by less than :data:`RECALIBRATE`
    (calibrating scores thousands of leave-one-out queries: half a minute for a 50k gallery on a
    loaded two-core machine, too slow to repeat after every accepted group). Above
    :data:`APPROX_GALLERY` labelled items the gallery gets the approximate index."""
    from seeen_ext.gallery import Gallery
    from seeen_ext.recognize import make_recogniser

    g = Gallery.from_state(bundle, labels, excluded)
    if len(g) == 0:
        raise UserError("no labelled items yet: label a cluster or two, then ask for suggestions")
    index = "approx" if len(g) > APPROX_GALLERY else "exact"
    if (threshold == "auto" and previous is not None and previous.calibration is not None
            and set(previous.gallery.labels.tolist()) == set(g.labels.tolist())
            and abs(len(g) - len(previous.gallery)) < RECALIBRATE * len(previous.gallery)):
        rec = make_recogniser(g, previous.threshold, k, index)
        rec.calibration = previous.calibration
        return rec
    try:
        return make_recogniser(g, threshold, k, index)
    except UserError as exc:
        raise UserError(f"suggestions need a calibrated threshold ({exc}); label a second item of some label") \
            from exc


def candidate_rows(bundle: Any, labels: Mapping[str, str], excluded: Iterable[str],
                   candidates: Sequence[int] | None = None) -> np.ndarray:
    """The unlabelled rows to suggest for, those most in need first: excluded items, then noise,
    then members of clusters nobody labelled (in item order within each)."""
    ids = bundle.ids
    if candidates is None:
        rows = np.array([i for i, iid in enumerate(ids) if iid not in labels], dtype=np.int64)
    else:
        rows = np.array([int(r) for r in dict.fromkeys(candidates) if ids[int(r)] not in labels], dtype=np.int64)
    if not len(rows):
        return rows
    excl = set(excluded)
    rank = np.array([0 if ids[r] in excl else 2 for r in rows], dtype=np.int8)
    if bundle.clusterings:
        cl = bundle.cluster_labels()
        rank = np.where((rank == 2) & (cl[rows] < 0), 1, rank)
    return rows[np.argsort(rank, kind="stable")]


def suggest(bundle: Any, labels: Mapping[str, str], excluded: Iterable[str], threshold: str | float = "auto",
            k: int = 5, candidates: Sequence[int] | None = None, rec: Any = None,
            max_candidates: int = MAX_CANDIDATES) -> Suggestions:
    """Label suggestions for unlabelled items (noise, excluded, members of unlabelled clusters).

    ``labels``/``excluded``: the store's state. ``candidates``: rows to consider (default: every
    unlabelled item); labelled rows among them are dropped, so a label is never overwritten. At
    most ``max_candidates`` are matched, in :func:`candidate_rows`' order; ``candidates_total``
    says how many there were. ``rec``: a :func:`suggester` built for this state (the server
    keeps one per version)."""
    from seeen_ext.recognize import UNKNOWN

    excluded = set(excluded)
    if rec is None:
        rec = suggester(bundle, labels, excluded, threshold, k)
    g = rec.gallery
    ordered = candidate_rows(bundle, labels, excluded, candidates)
    rows = ordered[:max_candidates]
    E = bundle.embeddings
    items: list[Suggestion] = []
    unknown = 0
    for start in range(0, len(rows), 4096):
        part = rows[start:start + 4096]
        matches = rec.match(np.asarray(E[part], dtype=np.float32))
        for r, m in zip(part, matches, strict=True):
            if m.label == UNKNOWN:
                unknown += 1
                continue
            agree = sum(1 for nb in m.neighbours if nb["label"] == m.label) / max(1, len(m.neighbours))
            items.append(Suggestion(int(r), m.label, float(m.score), float(agree), m.neighbours[0]["id"]))
    return Suggestions(threshold=float(rec.threshold), threshold_source="auto" if rec.calibration else "given",
                       gallery=len(g), candidates=len(rows), items=items, unknown=unknown,
                       candidates_total=len(ordered))
