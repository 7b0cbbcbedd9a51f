"""Annotation efficiency: how many actions does labelling a collection cluster by cluster take?

An oracle annotator that knows the truth drives the real server (`pixplot serve`, over HTTP) the
way a person drives the viewer, and reads only what the viewer reads (manifest, items, clusters):

1. Each cluster: one action excluding its intruders (a selection + "exclude"), when it has any;
   then one action labelling the rest with the cluster's majority truth.
2. The noise and the excluded items: ``POST /api/recognize`` against the gallery labelled so far
   suggests a label for each; each suggested label accepted for its correct items is one action,
   each wrong suggestion is corrected with one action, and what stays ``unknown`` is labelled one
   by one (one action each). Recognition is repeated while it still labels something.

It reports actions per item, final label accuracy (read back from ``GET /api/state``), and the
comparison with labelling one by one (one action per item). A stricter count, ``clicks``, also
charges one click per intruder or wrong suggestion picked out by hand. Target: at most
K + 0.05·N actions for N items in K true classes, at >= 99 % accuracy.

    python benchmarks/bench_annotation.py [--data digits,faces] [--work /tmp/pixplot-bench-annotation]

``digits``: the 1,797 demo digits (classic embedder, default UMAP + HDBSCAN build). ``faces``:
composites of the faces that ship with scikit-image (seeen_ext.faces.synthetic), several
augmented views per identity, built with the faces detector and face embedder.
For the faces it then recognises new composites (fresh views of the labelled identities, and
strangers nobody labelled) against the gallery the oracle just made.
Prints one summary line and writes benchmarks/results/bench_annotation.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import subprocess
import sys
import time
import urllib.request
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

OUT = Path(__file__).parent / "results" / "bench_annotation.json"


# ---------------------------------------------------------------------------- HTTP


class Api:
    def __init__(self, base: str) -> None:
        self.base = base
        self.seq = 0
        self.requests = 0

    def get(self, path: str) -> Any:
        self.requests += 1
        with urllib.request.urlopen(self.base + path, timeout=600) as r:
            return json.loads(r.read())

    def post(self, path: str, body: Any) -> Any:
        self.requests += 1
        req = urllib.request.Request(self.base + path, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=600) as r:
            return json.loads(r.read())

    def event(self, etype: str, items: list[str], label: str | None = None) -> None:
        self.seq += 1
        ev: dict[str, Any] = {"id": f"oracle-{self.seq}", "type": etype, "items": items, "author": "oracle"}
        if label is not None:
            ev["label"] = label
        self.post("/api/events", {"events": [ev]})


def free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def start_server(bundle: Path) -> tuple[subprocess.Popen, Api]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "pixplot", "serve", str(bundle), "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    api = Api(f"http://127.0.0.1:{port}")
    for _ in range(300):
        try:
            api.get("/api/state")
            return proc, api
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError(f"pixplot serve exited: {proc.stderr.read().decode()[-2000:]}") from None
            time.sleep(0.2)
    raise RuntimeError("pixplot serve did not answer in 60 s")


# ---------------------------------------------------------------------------- the oracle


def annotate(api: Api, truth: dict[str, str]) -> dict[str, Any]:
    """Label everything through the API; returns the action counts and the final accuracy."""
    manifest = api.get("/data/manifest.json")
    items = api.get("/data/" + manifest["items"])["items"]
    clustering = next(c for c in manifest["clusterings"] if c["name"] == manifest["default_clustering"])
    clusters = api.get("/data/" + clustering["file"])
    n = len(items)
    k = len(set(truth.values()))
    counts = Counter()
    t0 = time.perf_counter()

    # 1. Cluster by cluster.
    for c in clusters["clusters"]:
        members = c["members"]
        major = Counter(truth[i] for i in members).most_common(1)[0][0]
        intruders = [i for i in members if truth[i] != major]
        if intruders:
            api.event("exclude", intruders)
            counts["exclude_actions"] += 1
            counts["clicks"] += len(intruders) + 1
        rest = [i for i in members if truth[i] == major]
        api.event("label", rest, major)
        counts["cluster_label_actions"] += 1
        counts["clicks"] += 2  # click the cluster, press the label
    phase1 = api.get("/api/state")
    counts["labelled_by_clusters"] = len(phase1["labels"])

    # 2. Noise and excluded items: recognition suggests, the oracle accepts or corrects.
    recog_rounds = []
    remaining = [it["id"] for it in items if it["id"] not in phase1["labels"]]
    while remaining:
        res = api.post("/api/recognize", {"items": remaining})
        suggested: dict[str, list[str]] = defaultdict(list)
        wrong: list[str] = []
        unknown: list[str] = []
        for r in res["results"]:
            if r["label"] == "unknown":
                unknown.append(r["id"])
            elif r["label"] == truth[r["id"]]:
                suggested[r["label"]].append(r["id"])
            else:
                wrong.append(r["id"])
        recog_rounds.append({"queried": len(remaining), "right": sum(map(len, suggested.values())),
                             "wrong": len(wrong), "unknown": len(unknown), "threshold": res["threshold"]})
        for label, ids in suggested.items():
            api.event("label", ids, label)
            counts["accept_actions"] += 1
            counts["clicks"] += 2
        for i in wrong:
            api.event("label", [i], truth[i])
            counts["correct_actions"] += 1
            counts["clicks"] += 2
        if not suggested and not wrong:
            break
        remaining = unknown
    for i in remaining:  # recognition gave up on these: one by one
        api.event("label", [i], truth[i])
        counts["one_by_one_actions"] += 1
        counts["clicks"] += 2

    final = api.get("/api/state")["labels"]
    right = sum(final.get(i) == truth[i] for i in truth)
    actions = sum(v for key, v in counts.items() if key.endswith("_actions"))
    return {
        "items": n, "classes": k, "clusters": len(clusters["clusters"]), "noise": len(clusters["noise"]),
        "actions": actions, "actions_per_item": round(actions / n, 4), "budget": round(k + 0.05 * n, 1),
        "within_budget": actions <= k + 0.05 * n, "accuracy": round(right / n, 4),
        "one_by_one_actions": n, "saving": round(n / max(1, actions), 1),
        "clicks": counts["clicks"], "clicks_per_item": round(counts["clicks"] / n, 4),
        "breakdown": {key: v for key, v in counts.items() if key.endswith("_actions")},
        "labelled_by_clusters": counts["labelled_by_clusters"], "recognition_rounds": recog_rounds,
        "oracle_seconds": round(time.perf_counter() - t0, 1), "http_requests": api.requests,
    }


# ---------------------------------------------------------------------------- collections


def digits_bundle(work: Path) -> tuple[Path, dict[str, str]]:
    from pixplot.bundle import open_bundle
    from pixplot.demo import make_digits
    from pixplot.pipeline import BuildOptions, build

    images, meta = make_digits(work / "digits")
    out = work / "digits-bundle"
    build(BuildOptions(images=str(images), out_dir=str(out), metadata=str(meta), progress=False))
    b = open_bundle(out)
    return out, {it["id"]: it["meta"]["category"] for it in b.items}


def faces_bundle(work: Path, identities: int, views: int, per_image: int, seed: int = 0) -> tuple[Path, dict[str, str]]:
    """Composites holding ``views`` augmented views of each of ``identities`` faces."""
    import numpy as np

    from pixplot.bundle import open_bundle
    from pixplot.pipeline import BuildOptions, build
    from seeen_ext.faces import synthetic as S

    rng = np.random.default_rng(seed)
    tiles = S.face_tiles()[:identities]
    views_list = [(tile if v == 0 else S.augment(tile, rng), ident) for tile, ident in tiles for v in range(views)]
    order = rng.permutation(len(views_list))
    folder = work / "faces"
    folder.mkdir(parents=True, exist_ok=True)
    boxes: dict[str, list[tuple[tuple[int, ...], str]]] = {}
    for j, start in enumerate(range(0, len(order), per_image)):
        pick = [views_list[i] for i in order[start:start + per_image]]
        sizes = [int(rng.integers(100, 170)) for _ in pick]
        comp = S.paste_faces(S.background((720, 540), rng), pick, sizes, rng)
        name = f"group_{j:03d}.jpg"
        comp.image.save(folder / name, quality=92)
        boxes[name] = list(zip(comp.boxes, comp.identities, strict=True))
    out = work / "faces-bundle"
    build(BuildOptions(images=str(folder), out_dir=str(out), detector="faces", progress=False))
    b = open_bundle(out)
    truth = {}
    by_source: dict[str, list[dict]] = defaultdict(list)
    for it in b.items:
        by_source[it["source"]].append(it)
    for src, its in by_source.items():
        true = boxes.get(src, [])
        m = S.match([t[0] for t in true], [tuple(it["box"]) for it in its])
        found = {j: true[i][1] for i, j in enumerate(m) if j is not None}
        for j, it in enumerate(its):
            truth[it["id"]] = found.get(j, "_not_a_face")
    return out, truth


def recognise_new_faces(work: Path, bundle: Path, identities: int, strangers: int = 20,
                        seed: int = 1) -> dict[str, Any]:
    """After annotation: new composites with fresh views of the labelled identities and of
    ``strangers`` never labelled, recognised against the bundle's gallery (`pixplot recognize`'s
    code path). Known faces should get their name, strangers ``unknown``."""
    import numpy as np

    from seeen_ext import recognize as rc
    from seeen_ext.faces import synthetic as S
    from seeen_ext.gallery import gallery_from_bundle

    rng = np.random.default_rng(seed)
    tiles = S.face_tiles()
    known = [(S.augment(t, rng), ident) for t, ident in tiles[:identities]]
    unknown = [(S.augment(t, rng), "_stranger") for t, _ in tiles[identities:identities + strangers]]
    pool = [known[i] for i in rng.permutation(len(known))] + unknown
    order = rng.permutation(len(pool))
    folder = work / "faces-new"
    folder.mkdir(parents=True, exist_ok=True)
    truth_boxes: dict[str, list[tuple[tuple[int, ...], str]]] = {}
    for j, start in enumerate(range(0, len(order), 3)):
        pick = [pool[i] for i in order[start:start + 3]]
        comp = S.paste_faces(S.background((720, 540), rng), pick, [int(rng.integers(100, 170)) for _ in pick], rng)
        path = folder / f"new_{j:03d}.jpg"
        comp.image.save(path, quality=92)
        truth_boxes[str(path.resolve())] = list(zip(comp.boxes, comp.identities, strict=True))
    rec = rc.make_recogniser(gallery_from_bundle(bundle), "auto", k=5)
    t = time.perf_counter()
    rows = rec.recognise_sources(rc.query_files([str(folder)]))
    secs = time.perf_counter() - t
    tally = Counter()
    for src, true in truth_boxes.items():
        mine = [r for r in rows if r["source"] == src and r["box"] is not None]
        m = S.match([b for b, _ in true], [tuple(r["box"]) for r in mine])
        for (_, ident), j in zip(true, m, strict=True):
            if j is None:
                tally["missed_by_detector"] += 1
                continue
            got = mine[j]["label"]
            if ident == "_stranger":
                tally["strangers"] += 1
                tally["strangers_unknown"] += got == "unknown"
            else:
                tally["known"] += 1
                tally["known_right"] += got == ident
                tally["known_unknown"] += got == "unknown"
                tally["known_wrong"] += got not in (ident, "unknown")
    return {**tally, "threshold": round(rec.threshold, 4), "faces_per_s": round(len(rows) / secs, 2),
            "known_accuracy": round(tally["known_right"] / max(1, tally["known"]), 4),
            "strangers_rejected": round(tally["strangers_unknown"] / max(1, tally["strangers"]), 4)}


def run(name: str, bundle: Path, truth: dict[str, str]) -> dict[str, Any]:
    # A fresh store each run, so the count starts from nothing.
    from seeen_ext.store import store_path

    for suffix in ("", "-wal", "-shm"):
        Path(f"{store_path(bundle)}{suffix}").unlink(missing_ok=True)
    proc, api = start_server(bundle)
    try:
        r = annotate(api, truth)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    r["data"] = name
    return r


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default="digits,faces")
    ap.add_argument("--work", default="/tmp/pixplot-bench-annotation")
    ap.add_argument("--identities", type=int, default=40)
    ap.add_argument("--views", type=int, default=5)
    ap.add_argument("--per-image", type=int, default=3)
    args = ap.parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {"machine": {"platform": platform.platform(), "cpus": os.cpu_count()}, "runs": []}
    for name in args.data.split(","):
        t = time.perf_counter()
        if name == "digits":
            bundle, truth = digits_bundle(work)
        elif name == "faces":
            bundle, truth = faces_bundle(work, args.identities, args.views, args.per_image)
        else:
            raise SystemExit(f"--data {name}: choose digits or faces")
        build_s = time.perf_counter() - t
        with (work / f"{name}-truth.csv").open("w", encoding="utf-8") as f:  # for `pixplot evaluate --truth`
            f.write("item_id,label\n" + "".join(f"{i},{lab}\n" for i, lab in truth.items()))
        r = run(name, bundle, truth)
        r["build_seconds"] = round(build_s, 1)
        if name == "faces":
            r["recognition_of_new_images"] = recognise_new_faces(work, bundle, args.identities)
        print(json.dumps(r), flush=True)
        results["runs"].append(r)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(results, indent=1))
    print("bench_annotation: " + "; ".join(
        f"{r['data']}: N={r['items']} K={r['classes']}: {r['actions']} actions ({r['actions_per_item']:.3f}/item, "
        f"budget {r['budget']}), accuracy {r['accuracy']:.1%}, {r['saving']}x fewer than one by one"
        for r in results["runs"]))


if __name__ == "__main__":
    main()
