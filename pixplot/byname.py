"""Match rows keyed by file name (a layout CSV, a vectors file) to the collection's images.

The rule is the metadata CSV's (PixPlot's): a name matches an image's path relative to the images
root, or its basename when that basename is unique in the collection. Leading ``./`` and
backslashes are forgiven. Kept in one place so every file keyed by name behaves the same.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field


@dataclass
class NameMatch:
    """``rows[k]`` is the image (relative path) row ``k`` names, or None; and what matched nothing."""

    rows: list[str | None]
    unmatched_rows: list[str] = field(default_factory=list)  # names of rows that match no image
    rowless: list[str] = field(default_factory=list)  # images no row names, in the given order

    def summary(self, what: str) -> str:
        """One line: ``3 rows of FILE match no image (a.jpg, b.jpg, ...); 2 images have no row (...)``."""
        parts = []
        if self.unmatched_rows:
            parts.append(f"{len(self.unmatched_rows)} rows of {what} match no image ({_few(self.unmatched_rows)})")
        if self.rowless:
            parts.append(f"{len(self.rowless)} images have no row in {what} ({_few(self.rowless)})")
        return "; ".join(parts)


def _few(names: list[str], k: int = 3) -> str:
    return ", ".join(names[:k]) + (f", and {len(names) - k} more" if len(names) > k else "")


def clean(name: str) -> str:
    name = str(name).strip().replace("\\", "/")
    while name.startswith("./"):
        name = name[2:]
    return name


def match_names(names: Iterable[str], rels: list[str]) -> NameMatch:
    """Match each name to one of ``rels``; a second row naming the same image is unmatched."""
    relset = set(rels)
    by_base: dict[str, list[str]] = {}
    for rel in rels:
        by_base.setdefault(rel.rsplit("/", 1)[-1], []).append(rel)
    rows: list[str | None] = []
    unmatched: list[str] = []
    taken: set[str] = set()
    for raw in names:
        name = clean(raw)
        rel = name if name in relset else None
        if rel is None:
            cands = by_base.get(name.rsplit("/", 1)[-1], [])
            rel = cands[0] if len(cands) == 1 else None
        if rel is None or rel in taken:
            unmatched.append(name or "(empty)")
            rows.append(None)
            continue
        taken.add(rel)
        rows.append(rel)
    return NameMatch(rows, unmatched, [r for r in rels if r not in taken])
