"""Where labels come from, for scoring (`pixplot evaluate`'s ground truth) and for recognition
(a bundle's gallery): a CSV, a metadata column, folder names, or what annotators gave in a store.

Each source gives item id -> label with a phrase saying where the labels came from (:class:`Truth`);
a source that labels nothing is a :class:`UserError` naming what to do instead.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pixplot.bundle import Bundle
from pixplot.errors import UserError


@dataclass
class Truth:
    """Item id -> label, and a phrase saying where the labels came from."""

    labels: dict[str, str]
    source: str


def truth_from_csv(bundle: Bundle, path: str | Path) -> Truth:
    """A CSV whose first column is an item id or a source path and whose second is the label
    (a header row naming ``item_id``/``id``/``source``/``filename`` and ``label``/``category`` may
    pick other columns). A source path labels every item cut from that image."""
    p = Path(path)
    if not p.is_file():
        raise UserError(f"--truth {p}: no such file; give a CSV of item_id (or source),label")
    with p.open(newline="", encoding="utf-8-sig") as f:
        rows = [r for r in csv.reader(f) if r and any(c.strip() for c in r)]
    if not rows:
        raise UserError(f"--truth {p}: the file is empty; give rows of item_id (or source),label")
    head = [c.strip().lower() for c in rows[0]]
    key_col, lab_col = 0, 1
    keys = ("item_id", "id", "source", "filename", "path")
    if any(h in keys for h in head):
        key_col = next(i for i, h in enumerate(head) if h in keys)
        lab_col = next((i for i, h in enumerate(head) if h in ("label", "category", "truth", "class")),
                       1 if key_col != 1 else 0)
        rows = rows[1:]
    if any(len(r) <= max(key_col, lab_col) for r in rows):
        raise UserError(f"--truth {p}: every row needs an item id (or source) and a label")
    by_source: dict[str, list[str]] = {}
    for it in bundle.items:
        by_source.setdefault(it["source"], []).append(it["id"])
    labels: dict[str, str] = {}
    unmatched = 0
    for r in rows:
        key, label = r[key_col].strip(), r[lab_col].strip()
        if not label:
            continue
        if key in bundle.index:
            labels[key] = label
        elif key.replace("\\", "/") in by_source:
            for iid in by_source[key.replace("\\", "/")]:
                labels[iid] = label
        else:
            unmatched += 1
    if not labels:
        raise UserError(f"--truth {p}: none of its {len(rows)} rows names an item id or source path of "
                        f"{bundle.root}; the first column must hold ids (items.json) or sources")
    extra = f", {unmatched} rows unmatched" if unmatched else ""
    return Truth(labels, f"CSV {p.name}{extra}")


def truth_from_column(bundle: Bundle, column: str) -> Truth:
    """A metadata column given at build time (``--metadata``), e.g. PixPlot's ``category``."""
    labels = {}
    for it in bundle.items:
        v = (it.get("meta") or {}).get(column)
        if isinstance(v, list):
            v = v[0] if v else None
        if v is not None and str(v).strip():
            labels[it["id"]] = str(v).strip()
    if not labels:
        fields = ", ".join(bundle.metadata_fields) or "none"
        raise UserError(f"--truth-column {column}: no item of {bundle.root} has it (metadata columns: {fields}); "
                        "rebuild with --metadata or pick another column")
    return Truth(labels, f"metadata column {column!r}")


def truth_from_folders(bundle: Bundle) -> Truth:
    """The folder each source sits in (ImageFolder-style collections: ``cats/1.jpg``)."""
    labels = {it["id"]: it["source"].rsplit("/", 2)[-2] for it in bundle.items if "/" in it["source"]}
    if not labels:
        raise UserError(f"--truth-folders: the images of {bundle.root} are not in sub-folders; "
                        "use --truth CSV or --truth-column instead")
    return Truth(labels, "source folder names")


def annotation_state(bundle_root: str | Path, item_ids: list[str]) -> dict[str, Any]:
    """The annotation state (labels, excluded) of these items in a bundle's store, without creating
    a store where there is none (then no labels)."""
    from seeen_ext.store import AnnotationStore, existing_store

    path = existing_store(bundle_root)
    if path is None:
        return {"version": 0, "labels": {}, "excluded": []}
    store = AnnotationStore(path, item_ids)
    try:
        return store.state()
    finally:
        store.close()


def annotation_labels(bundle_root: str | Path, item_ids: list[str]) -> dict[str, str]:
    """Labels annotators gave to these items in a bundle's store (excluded items keep theirs)."""
    return dict(annotation_state(bundle_root, item_ids)["labels"])


def truth_from_annotations(bundle: Bundle, source: str | Path | None = None) -> Truth:
    """The labels annotators gave, in this bundle or in another build of the same images (item ids
    are stable across rebuilds, so labels carry over to a new embedder's bundle)."""
    root = Path(source) if source else bundle.root
    labels = annotation_labels(root, bundle.ids)
    if not labels:
        why = "labels none of this bundle's items (none yet, or another collection)"
        raise UserError(f"--truth-annotations {root}: its annotation store {why}; label clusters with "
                        "`pixplot serve` first")
    return Truth(labels, f"annotations in {root}")


def auto_truth(bundle: Bundle) -> Truth | None:
    """Without a flag: the bundle's own annotations, else a ``category`` metadata column, else none."""
    labels = annotation_labels(bundle.root, bundle.ids)
    if labels:
        return Truth(labels, "annotations (auto)")
    if "category" in bundle.metadata_fields:
        try:
            t = truth_from_column(bundle, "category")
            t.source += " (auto)"
            return t
        except UserError:
            return None
    return None


def gallery_labels(bundle: Bundle, label_column: str | None = None) -> tuple[dict[str, str], set[str], str]:
    """(labels, excluded ids, description) for a bundle's recognition gallery: ``label_column`` when
    given, else the annotations (excluded items left out), else a ``category`` metadata column while
    nobody has labelled anything."""
    if label_column:
        return truth_from_column(bundle, label_column).labels, set(), f"metadata column {label_column!r}"
    state = annotation_state(bundle.root, bundle.ids)
    if state["labels"]:
        return dict(state["labels"]), set(state["excluded"]), "annotations"
    if "category" in bundle.metadata_fields:
        return truth_from_column(bundle, "category").labels, set(), "metadata column 'category' (no annotations yet)"
    raise UserError(f"{bundle.root}: no labelled items to recognise against; label clusters with `pixplot serve`, "
                    "or name a metadata column with --label-column")
