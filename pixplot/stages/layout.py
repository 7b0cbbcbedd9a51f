"""Layout: every projector of the plan, each after the layouts it requires.

A layout computed from the embeddings alone is cached per (item ids, embedder id, projector
cache id), so a rebuild with the same items reuses it; layouts over other layouts or metadata
(``grid``...) are cheap and recomputed every build.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from pixplot.cache import BuildCache
from pixplot.plan import BuildPlan
from pixplot.plugins import Layout, LayoutContext, Projector
from pixplot.progress import say


@dataclass
class Layouts:
    positions: dict[str, np.ndarray]  # name -> (n, 2), every layout computed (required ones too)
    guides: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> guides JSON, when given
    report: dict[str, Any] = field(default_factory=dict)  # what projectors reported for the manifest


def _cacheable(proj: Projector) -> bool:
    return proj.uses_embeddings and not proj.requires


def cache_key(order_key: str, proj: Projector, n: int) -> str:
    cache_id = proj.cache_id(n) if hasattr(proj, "cache_id") else proj.id
    return hashlib.sha256((order_key + cache_id).encode()).hexdigest()[:16]


def run(plan: BuildPlan, cache: BuildCache, executor: Any, items: list[dict[str, Any]], E: np.ndarray) -> Layouts:
    ids = [it["id"] for it in items]
    order_key = hashlib.sha256(("\n".join(ids) + plan.embedder.id).encode()).hexdigest()[:16]
    ctx = LayoutContext(items=items, executor=executor, seed=plan.options.seed, cache_dir=plan.cache_dir,
                        progress=plan.options.progress)
    out = Layouts(positions=ctx.layouts, report=ctx.report)
    for name, proj in plan.projectors.items():
        key = cache_key(order_key, proj, len(ids)) if _cacheable(proj) else None
        P = cache.layout(key) if key else None
        guides = None
        if P is None:
            if key:
                say(plan.options.progress, f"Projecting {len(ids)} items with {proj.name}...")
            got = proj.project(E if proj.uses_embeddings else np.zeros((len(ids), 0), np.float32), context=ctx)
            P, guides = (got.positions, got.guides) if isinstance(got, Layout) else (got, None)
            P = np.asarray(P, dtype=np.float32)
            if P.shape != (len(ids), 2):
                raise ValueError(f"projector {name!r} returned positions of shape {P.shape}, not ({len(ids)}, 2)")
            if key:
                cache.put_layout(key, P)
        ctx.layouts[name] = P
        if guides:
            out.guides[name] = guides
    return out
