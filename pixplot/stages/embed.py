"""Embed: one L2-normalised vector per item, cached per item id and embedder id, so a rebuild
embeds only new items. Items that cannot be decoded for embedding are dropped (and reported)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pixplot.cache import BuildCache
from pixplot.plan import BuildPlan
from pixplot.progress import bar, chunks
from pixplot.work import embed_batch


@dataclass
class Embedded:
    items: list[dict[str, Any]]  # the items that have a vector, in item order
    vectors: np.ndarray  # (n, d) float32, row i for items[i]
    embedded: int  # vectors computed in this run (the rest came from the cache)
    lost: list[tuple[str, str]]  # (source, reason) for items dropped here


def batch_size(embedder: Any, todo: int, workers: int) -> int:
    """The embedder's batch size; smaller for process-pool embedders, so every core gets work."""
    bs = max(1, getattr(embedder, "batch_size", 64))
    if not embedder.in_process and todo:
        bs = max(1, min(bs, -(-todo // (workers * 2))))
    return bs


def from_file(plan: BuildPlan, items: list[dict[str, Any]]) -> Embedded:
    """``--vectors``: the file's vectors for the items whose image has a row; the others are
    dropped with a reason, and rows and images that matched nothing are named in a note."""
    from pixplot.external_vectors import load_vectors, vectors_for_items

    v = load_vectors(plan.vectors.path, list(dict.fromkeys(it["source"] for it in items)))
    keep, E, lost = vectors_for_items(v, items)
    if v.match.unmatched_rows or v.match.rowless:
        plan.notes.append(v.match.summary(Path(v.path).name))
    return Embedded(keep, E, 0, lost)


def run(plan: BuildPlan, cache: BuildCache, executor: Any, items: list[dict[str, Any]],
        paths: dict[str, str]) -> Embedded:
    if plan.vectors is not None:
        return from_file(plan, items)
    embedder = plan.embedder
    done = cache.embedded_ids(embedder.id)
    todo = [(it["id"], paths[it["id"]], it["box"], it["landmarks"]) for it in items if it["id"] not in done]
    b = bar(plan.options.progress, len(items), f"Embedding ({embedder.name})", "item")
    b.update(len(items) - len(todo))
    embedded = 0
    bs = batch_size(embedder, len(todo), executor.workers)
    tasks = [(embedder, c, plan.options.crop_margin) for c in chunks(todo, bs)]
    for got_ids, vecs in executor.map_unordered(embed_batch, tasks, in_process=embedder.in_process):
        if got_ids:
            cache.put_embeddings(embedder.id, got_ids, vecs)
        embedded += len(got_ids)
        b.update(len(got_ids))
    b.close()
    done = cache.embedded_ids(embedder.id)
    lost = [(it["source"], "could not be decoded for embedding") for it in items if it["id"] not in done]
    if lost:
        items = [it for it in items if it["id"] in done]
    E = cache.embeddings(embedder.id, [it["id"] for it in items])
    return Embedded(items, E, embedded, lost)
