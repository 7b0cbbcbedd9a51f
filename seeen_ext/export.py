"""Exports of a bundle's annotations: CSV, JSON, an ImageFolder tree, and the recognition gallery.

Plain functions from (bundle, state) to bytes or files, shared by the CLI, the server's
``/api/export`` and the upload; none of them knows about HTTP or S3.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pixplot.bundle import Bundle
from pixplot.csvsafe import csv_bytes
from pixplot.errors import UserError
from pixplot.fsutil import atomic_write_bytes
from seeen_ext.gallery import Gallery

FORMATS = ("csv", "json", "imagefolder", "gallery")
ANNOTATIONS_FORMAT = "pixplot-annotations"
UNLABELLED_DIR = "_unlabelled"
EXCLUDED_DIR = "_excluded"


def safe_name(label: str) -> str:
    """A label as one path component (folder or S3 key part): no separators, no control
    characters, never ``.`` or ``..``. Distinct labels may map to the same name; labels.csv
    keeps the exact label."""
    out = "".join("_" if (c in "/\\" or ord(c) < 32 or c == "\x7f") else c for c in label).strip()
    return "_" if out in ("", ".", "..") else out


def box_text(box: Any) -> str:
    return "" if box is None else json.dumps([round(float(v), 2) for v in box])


@dataclass(frozen=True)
class Row:
    """One item with its annotation: what every export is made of."""

    id: str
    source: str
    box: list[float] | None
    label: str | None
    excluded: bool
    item: dict[str, Any]


def rows(bundle: Bundle, state: dict[str, Any]) -> list[Row]:
    """Every item of the bundle, in item order, with its label and excluded flag."""
    labels = state["labels"]
    excluded = set(state["excluded"])
    return [
        Row(it["id"], it.get("source", ""), it.get("box"), labels.get(it["id"]), it["id"] in excluded, it)
        for it in bundle.items
    ]


def cluster_ids(bundle: Bundle) -> list[int]:
    """The default clustering's cluster id per item (-1 = noise), or -1 for all without one."""
    try:
        return [int(c) for c in bundle.cluster_labels()]
    except (UserError, KeyError, OSError, TypeError):
        return [-1] * len(bundle.items)


def to_csv(bundle: Bundle, state: dict[str, Any]) -> bytes:
    """``item_id,source,box,cluster_id,label,excluded``; box as JSON ``[x, y, w, h]`` or empty;
    cluster_id from the default clustering (-1 = noise); cells that would start a spreadsheet
    formula are quoted (:mod:`pixplot.csvsafe`)."""
    return csv_bytes(["item_id", "source", "box", "cluster_id", "label", "excluded"],
                     ([r.id, r.source, box_text(r.box), cid, r.label or "", "true" if r.excluded else "false"]
                      for r, cid in zip(rows(bundle, state), cluster_ids(bundle), strict=False)))


def to_json(bundle: Bundle, state: dict[str, Any], events: list[dict[str, Any]] | None = None) -> bytes:
    """The static-mode annotations format plus one record per item, so the same file both reads
    well and can be merged into another build of the same images with ``annotations import``."""
    doc = {
        "format": ANNOTATIONS_FORMAT,
        "version": 1,
        "embedder": bundle.embedder_id or None,
        "state_version": state["version"],
        "items": [
            {"id": r.id, "source": r.source, "box": r.box, "label": r.label, "excluded": r.excluded}
            for r in rows(bundle, state)
        ],
        "labels": state["labels"],
        "excluded": state["excluded"],
        "events": [{k: v for k, v in ev.items() if k != "seq"} for ev in (events or [])],
    }
    return json.dumps(doc, ensure_ascii=False, indent=1).encode("utf-8")


def gallery_rows(bundle: Bundle, state: dict[str, Any]) -> list[Row]:
    """The recognition gallery: labelled items that are not excluded."""
    return [r for r in rows(bundle, state) if r.label is not None and not r.excluded]


def item_jpeg(bundle: Bundle, item: dict[str, Any]) -> bytes:
    """The item's picture as JPEG: the source bytes themselves for a whole JPEG image (no loss),
    else the crop around the detection box (or the converted image), encoded the same way every
    time."""
    path = bundle.item_image_path(item)
    if path is None:
        raise UserError(
            f"{bundle.root}: item {item['id']} has no original image in data/originals; "
            "rebuild the bundle with originals kept"
        )
    box = item.get("box")
    if box is None:
        with path.open("rb") as f:
            head = f.read(3)
        if head == b"\xff\xd8\xff":
            return path.read_bytes()
    from pixplot.imageio import BadImage, load_item_image

    try:
        im, _scale, _offset = load_item_image(path, tuple(box) if box is not None else None, bundle.crop_margin)
    except BadImage as exc:
        raise UserError(f"{path}: {exc}; rebuild the bundle or remove the file") from exc
    buf = io.BytesIO()
    im.save(buf, format="JPEG", quality=92)
    return buf.getvalue()


def image_key(r: Row) -> str:
    """``<label>/<item_id>.jpg``, or the ``_excluded``/``_unlabelled`` folder for the rest."""
    if r.excluded:
        folder = EXCLUDED_DIR
    elif r.label is None:
        folder = UNLABELLED_DIR
    else:
        folder = safe_name(r.label)
    return f"{folder}/{r.id}.jpg"


def selected_rows(bundle: Bundle, state: dict[str, Any], include_unlabelled: bool = False) -> list[Row]:
    """Rows whose images go out: labelled and not excluded, or all with ``include_unlabelled``."""
    return rows(bundle, state) if include_unlabelled else gallery_rows(bundle, state)


def labels_csv(selection: list[Row], bundle: Bundle | None = None) -> bytes:
    """``item_id,label,source,box,cluster_id,excluded`` for the uploaded items (formula-safe, as
    :func:`to_csv`); ``cluster_id`` from the bundle's default clustering (-1: noise or unknown)."""
    cid = dict(zip(bundle.ids, cluster_ids(bundle), strict=False)) if bundle is not None else {}
    return csv_bytes(["item_id", "label", "source", "box", "cluster_id", "excluded"],
                     ([r.id, r.label or "", r.source, box_text(r.box), cid.get(r.id, -1),
                       "true" if r.excluded else "false"] for r in selection))


def write_imagefolder(
    bundle: Bundle, state: dict[str, Any], out: Path, include_unlabelled: bool = False
) -> Iterator[Path]:
    """Write ``out/<label>/<item_id>.jpg`` for each selected item; yields each path written."""
    out = Path(out)
    for r in selected_rows(bundle, state, include_unlabelled):
        path = out / image_key(r)
        data = item_jpeg(bundle, r.item)
        if not (path.is_file() and hashlib.sha256(path.read_bytes()).digest() == hashlib.sha256(data).digest()):
            atomic_write_bytes(path, data)
        yield path


def export(bundle: Bundle, state: dict[str, Any], fmt: str, out: str | Path,
           events: list[dict[str, Any]] | None = None, include_unlabelled: bool = False) -> int:
    """Write one export to ``out`` (a file, or a folder for ``imagefolder``); returns items written."""
    if fmt not in FORMATS:
        raise UserError(f"unknown export format {fmt!r}; use one of {', '.join(FORMATS)}")
    out = Path(out)
    if fmt == "imagefolder":
        if out.exists() and not out.is_dir():
            raise UserError(f"{out}: exists and is not a folder; choose another --out")
        return sum(1 for _ in write_imagefolder(bundle, state, out, include_unlabelled))
    if out.is_dir():
        raise UserError(f"{out}: is a folder; give a file name for --out")
    if fmt == "csv":
        atomic_write_bytes(out, to_csv(bundle, state))
        return len(bundle.items)
    if fmt == "json":
        atomic_write_bytes(out, to_json(bundle, state, events))
        return len(bundle.items)
    g = Gallery.from_state(bundle, state["labels"], state["excluded"])
    atomic_write_bytes(out, g.to_npz())
    return len(g)


# ---------------------------------------------------------------------------- import


def _snapshot_events(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """Events that reproduce a file's ``labels``/``excluded`` snapshot when it has no event log.
    Their ids come from their content, so importing the same file twice stores them once."""
    by_label: dict[str, list[str]] = {}
    for item, label in (doc.get("labels") or {}).items():
        by_label.setdefault(label, []).append(item)
    events = [{"type": "label", "items": sorted(items), "label": label} for label, items in sorted(by_label.items())]
    if doc.get("excluded"):
        events.append({"type": "exclude", "items": sorted(doc["excluded"])})
    for ev in events:
        ev["id"] = "import-" + hashlib.sha256(json.dumps(ev, sort_keys=True).encode()).hexdigest()[:24]
        ev["author"] = "import"
    return events


def read_annotations_file(path: str | Path) -> list[dict[str, Any]]:
    """The events of a static-mode export (or a JSON export of another server), in file order."""
    path = Path(path)
    try:
        doc = json.loads(path.read_text("utf-8"))
    except FileNotFoundError as exc:
        raise UserError(f"{path}: no such file; give the JSON the viewer exported") from exc
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UserError(f"{path}: not JSON ({exc}); give the JSON the viewer exported") from exc
    if not isinstance(doc, dict) or doc.get("format") != ANNOTATIONS_FORMAT:
        raise UserError(f"{path}: not a pixplot annotations file (format must be {ANNOTATIONS_FORMAT!r})")
    if doc.get("version") != 1:
        raise UserError(f"{path}: annotations format version {doc.get('version')!r} is not supported (want 1)")
    events = doc.get("events")
    if events is None or events == []:
        return _snapshot_events(doc)
    if not isinstance(events, list):
        raise UserError(f"{path}: 'events' must be a list")
    return [{k: v for k, v in ev.items() if k != "seq"} if isinstance(ev, dict) else ev for ev in events]


def import_file(store: Any, path: str | Path) -> Any:
    """Merge a file's events into ``store``; events already stored (same id) are skipped."""
    from seeen_ext.store import EventError

    events = read_annotations_file(path)
    try:
        return store.append(events, keep_time=True)
    except EventError as exc:
        raise UserError(f"{path}: {exc}; was it exported from a bundle of the same images?") from exc
