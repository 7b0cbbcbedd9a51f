"""Plan resolution: every option checked once, every plugin default applied in one place."""

from __future__ import annotations

import pytest

from pixplot.embedders import default_embedder
from pixplot.errors import UserError
from pixplot.plan import BuildOptions, parse_layouts, resolve
from pixplot.plugins import create


def opts(**kw) -> BuildOptions:
    return BuildOptions(images="unused", **kw)


@pytest.mark.parametrize("spec,names", [
    ("umap,grid", ["umap", "grid"]),
    ("umap, tsne", ["umap", "tsne"]),  # the old bug: t-SNE computed, then left out of the bundle
    (" grid", ["grid"]),  # the old bug: an IndexError
    ("tsne,,umap,tsne", ["tsne", "umap"]),
])
def test_layout_names_are_stripped_and_deduplicated(spec, names):
    assert parse_layouts(spec) == names


def test_layouts_with_spaces_are_all_planned_and_written_in_the_order_given():
    plan = resolve(opts(layouts="tsne, umap"))
    assert plan.layouts == ["tsne", "umap"]
    assert list(plan.projectors) == ["tsne", "umap"]


def test_a_layout_brings_the_layouts_it_requires_first():
    plan = resolve(opts(layouts=" grid", cluster_on="embedding"))
    assert plan.layouts == ["grid"]
    assert list(plan.projectors) == ["umap", "grid"]  # computed for grid, not written


@pytest.mark.parametrize("spec,message", [
    ("", "name at least one layout"),
    (" , ", "name at least one layout"),
    ("umap,pca", "--layouts: unknown projector 'pca'; installed: .*grid, tsne, umap"),
])
def test_bad_layouts_are_one_line_user_errors(spec, message):
    with pytest.raises(UserError, match=message):
        resolve(opts(layouts=spec))


def test_defaults_without_a_detector():
    plan = resolve(opts())
    assert plan.detector is None
    assert (plan.embedder.name, plan.embedder_reason) == default_embedder()  # classic under the test suite
    assert (plan.cluster_name, plan.cluster_on) == ("hdbscan", "umap")
    umap = plan.projectors["umap"]
    assert (umap.n_neighbors, umap.min_dist, umap.metric, umap.seed) == (15, 0.1, "cosine", 24)


def test_build_wide_parameters_reach_only_the_plugins_that_take_them():
    plan = resolve(opts(layouts="umap,tsne", metric="euclidean", seed=7, umap_epochs=30, umap_fit_sample=99,
                        cluster="kmeans", max_clusters=4, min_cluster_size=3))
    assert plan.projectors["umap"].n_epochs == 30 and plan.projectors["umap"].fit_sample == 99
    assert plan.projectors["tsne"].metric == "euclidean" and plan.projectors["tsne"].seed == 7
    assert plan.clusterer.get_params() == {"n_clusters": 4, "seed": 7}  # min_cluster_size is not k-means'


def test_dbscan_on_embeddings_gets_the_euclidean_metric_and_the_users_eps():
    plan = resolve(opts(cluster="dbscan", cluster_on="embedding", eps=0.3))
    assert plan.clusterer.get_params() == {"eps": 0.3, "min_samples": 5, "metric": "euclidean"}


def test_a_large_collection_clusters_the_umap_layout_unless_the_user_chose():
    plan = resolve(opts(cluster_on=None, umap_fit_sample=10))
    plan.cluster_on = "embedding"  # as a detector's recommendation would
    plan.settle(11)
    assert (plan.cluster_name, plan.cluster_on) == ("hdbscan", "umap") and plan.notes
    chosen = resolve(opts(cluster_on="embedding", umap_fit_sample=10))
    chosen.settle(11)
    assert chosen.cluster_on == "embedding" and not chosen.notes


def test_plugin_options_go_to_the_plugin_that_takes_them():
    plan = resolve(opts(cluster="hdbscan", plugin_options={"cluster_selection_epsilon": 0.5}))
    assert plan.clusterer.cluster_selection_epsilon == 0.5
    with pytest.raises(UserError, match="--weights: no plugin of this build takes it .*embedder inception_v3"):
        resolve(opts(plugin_options={"weights": "w.h5"}))


@pytest.mark.parametrize("kw,message", [
    ({"cell_size": 4}, "--cell_size 4"),
    ({"originals": "move"}, "--originals move"),
    ({"executor": "dask"}, "--executor 'dask'"),
    ({"cluster_on": "tsne"}, "--cluster-on tsne"),
    ({"embedder": "nope"}, "unknown embedder 'nope'"),
    ({"cluster": "nope"}, "unknown clusterer 'nope'"),
    ({"detector": "nope"}, "unknown detector 'nope'"),
])
def test_bad_options_fail_before_any_work(kw, message):
    with pytest.raises(UserError, match=message):
        resolve(opts(**kw))


def test_create_refuses_a_parameter_the_constructor_does_not_take():
    with pytest.raises(UserError, match="clusterer 'kmeans' has no parameter 'k' .*n_clusters"):
        create("clusterer", "kmeans", k=3)
    assert create("clusterer", "kmeans", n_clusters=None).n_clusters is None  # None: not given
