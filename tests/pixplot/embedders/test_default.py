"""Which embedder a build uses when nobody chooses one."""

from __future__ import annotations

from pixplot import embedders
from pixplot.embedders import default_embedder


def test_the_offline_learned_embedder_is_the_default_when_its_extra_is_installed(monkeypatch):
    monkeypatch.delenv(embedders.ENV_DEFAULT, raising=False)
    assert embedders.learned_available() is None  # [all] installs it (the test extra needs [all] anyway)
    name, reason = default_embedder()
    assert name == "efficientnet_lite" and "offline" in reason


def test_classic_is_the_default_without_torch_and_the_reason_says_how_to_get_more(monkeypatch):
    monkeypatch.delenv(embedders.ENV_DEFAULT, raising=False)
    monkeypatch.setattr(embedders, "find_spec", lambda name: None)
    name, reason = default_embedder()
    assert name == "classic"
    assert reason == "PyTorch is not installed; pip install 'seeen-pixplot[learned]' for a learned embedder"


def test_the_environment_variable_overrides_the_choice(monkeypatch):
    monkeypatch.setenv(embedders.ENV_DEFAULT, "classic")
    assert default_embedder() == ("classic", "$PIXPLOT_DEFAULT_EMBEDDER names it")


def test_a_build_without_embedder_maps_with_the_learned_model(tmp_path, monkeypatch):
    from pixplot.bundle import open_bundle
    from pixplot.pipeline import BuildOptions, build
    from tests.conftest import write_collection

    monkeypatch.delenv(embedders.ENV_DEFAULT, raising=False)
    write_collection(tmp_path / "imgs", per_class=3)
    build(BuildOptions(images=str(tmp_path / "imgs"), out_dir=str(tmp_path / "out"), layouts="umap",
                       progress=False))
    b = open_bundle(tmp_path / "out")
    assert b.manifest["embedder"]["name"] == "efficientnet_lite"
    assert b.embeddings.shape == (9, 1280)
