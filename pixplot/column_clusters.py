"""``--clusters-from COLUMN``: clusters given by a metadata column instead of computed.

Why: a collection often comes with its groups (an archive's series, a previous tool's clusters,
a camera id), and annotators want to review those groups, not a clustering's guess. Each distinct
value is a cluster; items without a value are noise (-1). A list value (``tags``) counts its first.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from pixplot.errors import UserError


def labels_from_column(items: list[dict[str, Any]], column: str) -> tuple[np.ndarray, list[str]]:
    """(label per item, -1 without a value; the value of each label) with labels numbered by first
    appearance (the build renumbers them largest first, like any clustering)."""
    col = column.strip().lower()
    codes: dict[str, int] = {}
    labels = np.full(len(items), -1, np.int64)
    for i, it in enumerate(items):
        v = (it.get("meta") or {}).get(col)
        if isinstance(v, list):
            v = v[0] if v else None
        if v is None or str(v).strip() == "":
            continue
        labels[i] = codes.setdefault(str(v), len(codes))
    if not codes:
        raise UserError(f"--clusters-from {column}: no item has a value in that metadata column "
                        "(is it in --metadata, spelled as in its header?)")
    return labels, list(codes)


def names_after_relabel(before: np.ndarray, after: np.ndarray, values: list[str]) -> dict[int, str]:
    """The column value of each renumbered cluster id."""
    out: dict[int, str] = {}
    for b, a in zip(before.tolist(), after.tolist(), strict=True):
        if a >= 0 and b >= 0:
            out.setdefault(int(a), values[b])
    return out
