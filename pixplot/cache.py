"""The build cache: what finished survives a kill, and a rebuild redoes only what changed.

One SQLite file (WAL) written only by the driver, one commit per finished batch:
- files: a source file's sha256 and size, keyed by path + size + mtime (no rehashing),
- detections: per file sha256 + detector id,
- embeddings: per item id (a content hash) + embedder id,
- layouts: per (item ids, embedder id, projector id) digest, as .npy files beside it.
"""

from __future__ import annotations

import io
import json
import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from pixplot.fsutil import atomic_write_bytes

SCHEMA = """
CREATE TABLE IF NOT EXISTS files (
  rel TEXT PRIMARY KEY, size INTEGER, mtime_ns INTEGER, sha256 TEXT,
  width INTEGER, height INTEGER, format TEXT, error TEXT, thumb_size INTEGER);
CREATE TABLE IF NOT EXISTS detections (
  sha256 TEXT, detector TEXT, json TEXT, PRIMARY KEY (sha256, detector));
CREATE TABLE IF NOT EXISTS embeddings (
  item_id TEXT, embedder TEXT, vec BLOB, PRIMARY KEY (item_id, embedder));
"""


class BuildCache:
    def __init__(self, folder: Path):
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(folder / "cache.sqlite", isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(SCHEMA)

    def close(self) -> None:
        self.db.close()

    # files ------------------------------------------------------------------
    def file_rows(self) -> dict[str, dict[str, Any]]:
        cur = self.db.execute("SELECT rel,size,mtime_ns,sha256,width,height,format,error,thumb_size FROM files")
        keys = ["rel", "size", "mtime_ns", "sha256", "width", "height", "format", "error", "thumb_size"]
        return {r[0]: dict(zip(keys, r, strict=True)) for r in cur}

    def put_files(self, rows: Iterable[dict[str, Any]]) -> None:
        with self.db:
            self.db.execute("BEGIN")
            self.db.executemany(
                "INSERT OR REPLACE INTO files VALUES "
                "(:rel,:size,:mtime_ns,:sha256,:width,:height,:format,:error,:thumb_size)",
                list(rows),
            )

    # detections ---------------------------------------------------------------
    def detections(self, detector: str) -> dict[str, list[dict[str, Any]]]:
        cur = self.db.execute("SELECT sha256, json FROM detections WHERE detector=?", (detector,))
        return {sha: json.loads(js) for sha, js in cur}

    def put_detections(self, detector: str, rows: Iterable[tuple[str, list[dict[str, Any]]]]) -> None:
        with self.db:
            self.db.execute("BEGIN")
            self.db.executemany(
                "INSERT OR REPLACE INTO detections VALUES (?,?,?)",
                [(sha, detector, json.dumps(dets)) for sha, dets in rows],
            )

    # embeddings -----------------------------------------------------------------
    def embedded_ids(self, embedder: str) -> set[str]:
        cur = self.db.execute("SELECT item_id FROM embeddings WHERE embedder=?", (embedder,))
        return {r[0] for r in cur}

    def put_embeddings(self, embedder: str, ids: list[str], vecs: np.ndarray) -> None:
        vecs = np.asarray(vecs, dtype="<f4")
        with self.db:
            self.db.execute("BEGIN")
            self.db.executemany(
                "INSERT OR REPLACE INTO embeddings VALUES (?,?,?)",
                [(i, embedder, v.tobytes()) for i, v in zip(ids, vecs, strict=True)],
            )

    def embeddings(self, embedder: str, ids: list[str]) -> np.ndarray:
        """Vectors for ``ids`` in that order (every id must be cached)."""
        pos = {item_id: k for k, item_id in enumerate(ids)}
        out: np.ndarray | None = None
        cur = self.db.execute("SELECT item_id, vec FROM embeddings WHERE embedder=?", (embedder,))
        for item_id, blob in cur:
            k = pos.get(item_id)
            if k is None:
                continue
            v = np.frombuffer(blob, dtype="<f4")
            if out is None:
                out = np.zeros((len(ids), len(v)), np.float32)
            out[k] = v
        if out is None:
            return np.zeros((len(ids), 0), np.float32)
        return out

    # layouts ------------------------------------------------------------------
    def layout(self, key: str) -> np.ndarray | None:
        p = self.folder / "layouts" / f"{key}.npy"
        return np.load(p) if p.is_file() else None

    def put_layout(self, key: str, arr: np.ndarray) -> None:
        buf = io.BytesIO()
        np.save(buf, arr)
        atomic_write_bytes(self.folder / "layouts" / f"{key}.npy", buf.getvalue())
