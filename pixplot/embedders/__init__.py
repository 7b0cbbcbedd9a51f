"""Built-in embedders; each registers through the ``pixplot.embedders`` entry point group."""

from __future__ import annotations


def default_embedder() -> tuple[str, str]:
    """The embedder a build uses when neither ``--embedder`` nor the detector chooses one:
    ``(name, reason)``; the reason is printed in the build summary."""
    return "classic", "the built-in classic embedder (no learned model needed)"
