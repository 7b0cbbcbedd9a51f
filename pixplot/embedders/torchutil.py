"""What the PyTorch embedders share: importing torch with a useful error, picking the device,
and hashing a weights file so that an embedder's id names the exact weights it ran."""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path
from typing import Any

from pixplot.errors import UserError

DEVICES = ("auto", "cpu", "cuda", "mps")
EXTRA = "learned"


def import_torch(embedder: str) -> Any:
    """``torch``, or a one-line UserError naming the extra that installs it."""
    try:
        import torch
    except ImportError as exc:
        raise UserError(
            f"the {embedder} embedder needs PyTorch: pip install 'seeen-pixplot[{EXTRA}]' "
            "(see the README for a CPU-only or a CUDA torch)"
        ) from exc
    return torch


def resolve_device(torch: Any, device: str) -> str:
    """``auto`` -> cuda, else mps, else cpu; an explicit device that is not there is a UserError."""
    if device not in DEVICES:
        raise UserError(f"--device {device}: choose one of {', '.join(DEVICES)}")
    cuda = torch.cuda.is_available()
    mps = bool(getattr(torch.backends, "mps", None) and torch.backends.mps.is_available())
    if device == "auto":
        return "cuda" if cuda else "mps" if mps else "cpu"
    if device == "cuda" and not cuda:
        raise UserError("--device cuda: this PyTorch sees no CUDA GPU (a CPU-only build, or no driver); "
                        "use --device cpu or auto")
    if device == "mps" and not mps:
        raise UserError("--device mps: Apple's Metal backend is not available here; use --device cpu or auto")
    return device


@lru_cache(maxsize=32)
def _digest(path: str, size: int, mtime_ns: int) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:16]


def file_digest(path: str | Path, flag: str = "--weights") -> str:
    """First 16 hex digits of the file's SHA-256 (memoised per size and mtime)."""
    p = Path(path)
    if not p.is_file():
        raise UserError(f"{flag} {p}: file not found")
    st = p.stat()
    return _digest(str(p), st.st_size, st.st_mtime_ns)
