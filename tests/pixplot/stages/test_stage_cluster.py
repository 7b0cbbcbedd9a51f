from __future__ import annotations

from sklearn.metrics import adjusted_rand_score

from pixplot.stages import cluster
from tests.pixplot.stages.conftest import make_plan


def test_clusters_the_embeddings_largest_first_with_members(tmp_path, blobs):
    E, y = blobs
    plan = make_plan(tmp_path, cluster="kmeans", cluster_on="embedding", max_clusters=3)
    ids = [f"{i:016x}" for i in range(60)]
    got = cluster.run(plan, {}, E, ids)
    assert adjusted_rand_score(y, got.labels) == 1.0 and got.noise == 0 and got.dropped == 0
    assert [c["size"] for c in got.clusters] == [20, 20, 20]
    assert got.clusters[0]["representative"] in got.clusters[0]["members"]


def test_clusters_a_layout_when_asked_and_max_clusters_turns_the_rest_to_noise(tmp_path, blobs):
    E, y = blobs
    plan = make_plan(tmp_path, cluster="dbscan", cluster_on="umap", eps=0.5, max_clusters=2)
    layouts = {"umap": E[:, :2] * 0 + y[:, None].astype("float32")}  # three points, 20 items each
    got = cluster.run(plan, layouts, E, [str(i) for i in range(60)])
    assert got.dropped == 1 and got.noise == 20 and len(got.clusters) == 2
