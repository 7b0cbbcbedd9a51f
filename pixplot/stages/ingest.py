"""Ingest: hash and decode every file (writing whole-image previews), skip bad files and duplicates,
join the metadata CSV. Files unchanged since the last build (size, mtime) come from the cache.
A metadata row naming a duplicate applies to the kept copy."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pixplot.cache import BuildCache
from pixplot.discover import Found, load_metadata
from pixplot.errors import UserError
from pixplot.plan import BuildPlan
from pixplot.progress import bar, chunks
from pixplot.work import ingest_batch, item_id


@dataclass
class Ingested:
    good: list[tuple[Any, dict[str, Any]]]  # (found file, its cache row), first copy of each content
    skipped: list[tuple[str, str]]  # (path, reason)
    meta: dict[str, dict[str, Any]] = field(default_factory=dict)  # rel path -> metadata columns
    meta_fields: list[str] = field(default_factory=list)
    unmatched: int = 0  # metadata rows that name no image
    notes: list[str] = field(default_factory=list)  # for the build summary and the manifest


def _stale(plan: BuildPlan, files: list, known: dict[str, dict[str, Any]]) -> list:
    """Files to (re)read: new, changed, or whose whole-image preview is missing or another size."""
    whole_thumbs = plan.detector is None
    todo = []
    for f in files:
        if f.size is not None:  # listed from S3
            size, mtime_ns = f.size, f.mtime_ns
        else:
            try:
                st = f.path.stat()
            except OSError:
                todo.append(f)
                continue
            size, mtime_ns = st.st_size, st.st_mtime_ns
        row = known.get(f.rel)
        fresh = (row and row["size"] == size and row["mtime_ns"] == mtime_ns
                 and not (row["error"] or "").startswith("too large"))  # the cap may have changed
        thumb_ok = (not whole_thumbs or row is None or row["error"]
                    or (row["thumb_size"] == plan.options.thumb_size
                        and (plan.thumbs / f"{item_id(row['sha256'])}.jpg").exists()))
        if not (fresh and thumb_ok):
            todo.append(f)
    return todo


def run(plan: BuildPlan, cache: BuildCache, executor: Any, found: Found) -> Ingested:
    o = plan.options
    files = found.files
    known = cache.file_rows()
    todo = _stale(plan, files, known)
    b = bar(o.progress, len(files), "Reading images", "img")
    b.update(len(files) - len(todo))
    thumbs = str(plan.thumbs) if plan.detector is None else None
    tasks = [([(str(f.path), f.rel) for f in chunk], thumbs, o.thumb_size, o.max_file_size)
             for chunk in chunks(todo, 32)]
    for rows in executor.map_unordered(ingest_batch, tasks):
        cache.put_files(rows)
        for r in rows:
            known[r["rel"]] = r
        b.update(len(rows))
    b.close()

    skipped: list[tuple[str, str]] = list(found.skipped)  # what discovery could not use
    aliases = dict(found.aliases)  # a duplicate's name -> the kept copy's, for metadata rows
    good = []
    first_of: dict[str, str] = {}
    for f in files:
        row = known[f.rel]
        if row["error"]:
            skipped.append((f.rel, row["error"]))
        elif row["sha256"] in first_of:
            skipped.append((f.rel, f"duplicate of {first_of[row['sha256']]}"))
            aliases[f.rel] = first_of[row["sha256"]]
        else:
            first_of[row["sha256"]] = f.rel
            good.append((f, row))
    if not good:
        raise UserError(f"--images {o.images}: none of the {len(files)} files is a readable image "
                        f"(first problem: {skipped[0][0]}: {skipped[0][1]})")
    out = Ingested(good=good, skipped=skipped)
    if o.metadata:
        md = load_metadata(o.metadata, [f.rel for f, _ in good], aliases)
        out.meta, out.meta_fields, out.unmatched = md.by_rel, md.fields, len(md.unmatched)
        if md.followed:
            out.notes.append(f"{len(md.followed)} metadata rows name a file skipped as a duplicate; each applies "
                             f"to the kept copy unless it has a row of its own (first: {md.followed[0][0]} -> "
                             f"{md.followed[0][1]})")
        if md.unmatched:
            out.notes.append(f"{len(md.unmatched)} metadata rows match no file (first: {', '.join(md.unmatched[:3])})")
    return out
