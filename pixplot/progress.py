"""Progress bars for the stage drivers: on stderr, off with ``--quiet`` or when there is nothing to do."""

from __future__ import annotations

import sys

from tqdm import tqdm


def bar(enabled: bool, total: int, desc: str, unit: str) -> tqdm:
    return tqdm(total=total, desc=desc, unit=unit, disable=not enabled or total == 0,
                file=sys.stderr, dynamic_ncols=True, smoothing=0.1)


def say(enabled: bool, text: str) -> None:
    """One status line on stderr (for steps without a per-item count)."""
    if enabled:
        print(text, file=sys.stderr, flush=True)


def chunks(seq: list, size: int) -> list[list]:
    return [seq[i:i + size] for i in range(0, len(seq), size)]
