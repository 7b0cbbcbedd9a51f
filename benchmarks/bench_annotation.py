"""Annotation efficiency: how many actions does labelling a collection cluster by cluster take?

An oracle annotator that knows the truth drives the real server (`pixplot serve`, over HTTP) the
way a person drives the viewer, and reads only what the viewer reads (manifest, items, clusters):

1. Each cluster: one action excluding its intruders (a selection + "exclude"), when it has any;
   then one action labelling the rest with the cluster's majority truth.
2. The noise and the excluded items: ``POST /api/recognize`` against the gallery labelled so far
   suggests a label for each; each suggested label accepted for its correct items is one action,
   each wrong suggestion is corrected with one action, and what stays ``unknown`` is labelled one
   by one (one action each). Recognition is repeated while it still labels something.

With ``--find`` (the default) it labels the same collection a second time, from a fresh store, with
the viewer's find and repair tools (issue 13; docs/viewer.md, Find panel), counting the same way:

1. Each cluster: when it mixes classes with at least 4 items of a second one, one action splits it
   (``POST /api/split`` + a ``split`` event) and each sub-group is labelled (one action; one more
   to exclude a sub-group's intruders); otherwise (a few intruders) as above. Then the clusters most like it
   (``POST /api/similar-clusters``) whose majority has the same label are merged into it, one
   ``merge`` event each (after excluding their intruders), so the loop never visits them.
2. Suggestions (``POST /api/suggestions``): per label group, the right ones are accepted in one
   action; the wrong ones, visible in the group's strip, are labelled one action per true class
   with two or more of them (a single one waits); repeated while it labels something, as each
   round has more labels to suggest from.
3. What is left: split into sub-groups; in each sub-group's strip every class with two or more
   items is labelled in one action; then suggestions again, while that labels something; the rest
   one by one.

It reports actions per item, final label accuracy (read back from ``GET /api/state``), and the
comparison with labelling one by one (one action per item), and with ``--find`` the ratio of the
two oracles' actions per item (target: at most half, at >= 99 % accuracy). A stricter count, ``clicks``, also
charges one click per intruder or wrong suggestion picked out by hand. Target: at most
K + 0.05·N actions for N items in K true classes, at >= 99 % accuracy.

    python benchmarks/bench_annotation.py [--data digits,faces,emoji,lfw] [--work /tmp/pixplot-bench-annotation]

``digits``: the 1,797 demo digits (classic embedder, default UMAP + HDBSCAN build). ``faces``:
composites of the faces that ship with scikit-image (seeen_ext.faces.synthetic), several
augmented views per identity, built with the faces detector and face embedder. ``emoji``,
``icons``, ``shapes`` and ``lfw`` (real sets from benchmarks/datasets.py, one folder per class)
are built with the default options.
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
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # `benchmarks.datasets`


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
                                     headers={"Content-Type": "application/json", "X-Requested-With": "pixplot"})
        with urllib.request.urlopen(req, timeout=600) as r:
            return json.loads(r.read())

    def event(self, etype: str, items: list[str] | None, label: str | None = None, **extra: Any) -> str:
        self.seq += 1
        ev: dict[str, Any] = {"id": f"oracle-{self.seq}", "type": etype, "author": "oracle", **extra}
        if items is not None:
            ev["items"] = items
        if label is not None:
            ev["label"] = label
        self.post("/api/events", {"events": [ev]})
        return ev["id"]


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


def annotate_find(api: Api, truth: dict[str, str]) -> dict[str, Any]:
    """The same job with split, merge and suggestions (see the module doc); same accounting."""
    manifest = api.get("/data/manifest.json")
    items = api.get("/data/" + manifest["items"])["items"]
    clustering = next(c for c in manifest["clusterings"] if c["name"] == manifest["default_clustering"])
    clusters = api.get("/data/" + clustering["file"])
    n = len(items)
    k = len(set(truth.values()))
    counts: Counter = Counter()
    t0 = time.perf_counter()
    done: set[str] = set()  # labelled by the oracle (so far)

    def label(ids: list[str], name: str, kind: str) -> None:
        if ids:
            api.event("label", ids, name)
            counts[kind] += 1
            counts["clicks"] += 2
            done.update(ids)

    def clean(ids: list[str]) -> tuple[str, list[str], list[str]]:
        """(majority label, its members, the intruders)."""
        major = Counter(truth[i] for i in ids).most_common(1)[0][0]
        return major, [i for i in ids if truth[i] == major], [i for i in ids if truth[i] != major]

    def by_class(ids: list[str]) -> dict[str, list[str]]:
        out: dict[str, list[str]] = defaultdict(list)
        for i in ids:
            out[truth[i]].append(i)
        return out

    def exclude(ids: list[str]) -> None:
        if ids:
            api.event("exclude", ids)
            counts["exclude_actions"] += 1
            counts["clicks"] += len(ids) + 1

    def split_and_label(ids: list[str], kind: str, of: str, main: str | None) -> None:
        res = api.post("/api/split", {"items": ids})
        api.event("split", None, groups=[g["items"] for g in res["groups"]], of=of)
        counts["split_actions"] += 1
        counts["clicks"] += 1
        for g in res["groups"]:
            major, rest, intruders = clean(g["items"])
            if main is None:
                # Leftovers: in each sub-group's strip, every class with 2 or more items is picked
                # and labelled (one action each); single items wait for one by one.
                for name, members in by_class(g["items"]).items():
                    if len(members) >= 2:
                        counts["clicks"] += len(members)
                        label(members, name, kind)
                continue
            if len(rest) * 2 < len(g["items"]) or len(rest) < 2:
                continue  # no majority worth an action: the suggestions or one by one take these
            if major != main and major in {truth[i] for i in done}:
                continue  # a class already labelled elsewhere: its suggestions will take these
            exclude(intruders)
            label(rest, major, kind)

    # 1. Cluster by cluster, with split and merge.
    for c in clusters["clusters"]:
        members = [i for i in c["members"] if i not in done]
        if not members:
            counts["clusters_merged_away"] += 1
            continue
        comp = Counter(truth[i] for i in members).most_common()
        # Two classes in earnest (the second at least 4 items and a quarter of the cluster): split.
        # A few intruders cost less excluded (one action) than split out (two).
        if len(comp) > 1 and comp[1][1] >= max(4, len(members) // 4):
            split_and_label(members, "cluster_label_actions", str(c["id"]), main=comp[0][0])
        else:
            major, rest, intruders = clean(members)
            exclude(intruders)
            label(rest, major, "cluster_label_actions")
        own = [i for i in c["members"] if i in done]
        if not own:
            continue
        name = truth[own[0]]
        sim = api.post("/api/similar-clusters", {"items": own, "k": 5})  # j: a click when it leads to a merge
        for s in sim["clusters"]:
            rest_s = [i for i in s["items"] if i not in done]
            if not rest_s:
                continue
            major, rest, intruders = clean(rest_s)
            if major != name or len(rest) * 2 < len(rest_s):
                continue
            exclude(intruders)
            api.event("merge", rest, name, into=str(c["id"]))
            counts["merge_actions"] += 1
            counts["clicks"] += 2  # j, y
            done.update(rest)
    counts["labelled_by_clusters"] = len(done)

    # 2. Suggestions, accepted per label group; wrong ones left for a later round.
    rounds = []

    def suggest_rounds() -> None:
        while True:
            res = api.post("/api/suggestions", {"limit": 100_000})
            progress = 0
            wrong = 0
            for g in res["groups"]:
                right = [s["id"] for s in g["items"] if truth[s["id"]] == g["label"]]
                wrong += len(g["items"]) - len(right)
                if right:
                    counts["clicks"] += len(g["items"]) - len(right)  # left out of the selection
                    label(right, g["label"], "accept_actions")
                    progress += len(right)
                # The wrong ones, seen in the strip: each true class with 2 or more of them is
                # picked and labelled in one action (a single one waits for a later round).
                for name, members in by_class([s["id"] for s in g["items"] if truth[s["id"]] != g["label"]]).items():
                    if len(members) >= 2:
                        counts["clicks"] += len(members)
                        label(members, name, "correct_group_actions")
                        progress += len(members)
            rounds.append({"candidates": res["candidates"], "accepted": progress, "wrong": wrong,
                           "unknown": res["unknown"], "threshold": res["threshold"]})
            if not progress:
                return

    suggest_rounds()
    # 3. The rest: split into sub-groups, label their majorities, suggest again, then one by one.
    while True:
        labelled = api.get("/api/state")["labels"]
        left = [it["id"] for it in items if it["id"] not in labelled]
        if len(left) < 4:
            break
        before = len(done)
        split_and_label(left, "leftover_group_actions", "leftovers", main=None)
        suggest_rounds()
        if len(done) == before:
            break
    state = api.get("/api/state")["labels"]
    for i in [it["id"] for it in items if it["id"] not in state]:
        api.event("label", [i], truth[i])
        counts["one_by_one_actions"] += 1
        counts["clicks"] += 2

    final = api.get("/api/state")["labels"]
    right = sum(final.get(i) == truth[i] for i in truth)
    actions = sum(v for key, v in counts.items() if key.endswith("_actions"))
    return {
        "items": n, "classes": k, "clusters": len(clusters["clusters"]), "noise": len(clusters["noise"]),
        "actions": actions, "actions_per_item": round(actions / n, 4), "accuracy": round(right / n, 4),
        "clicks": counts["clicks"], "clicks_per_item": round(counts["clicks"] / n, 4),
        "breakdown": {key: v for key, v in counts.items() if key.endswith("_actions")},
        "labelled_by_clusters": counts["labelled_by_clusters"], "clusters_merged_away": counts["clusters_merged_away"],
        "suggestion_rounds": rounds, "oracle_seconds": round(time.perf_counter() - t0, 1),
        "http_requests": api.requests,
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


def dataset_bundle(work: Path, name: str) -> tuple[Path, dict[str, str]]:
    """One of benchmarks/datasets.py's labelled sets (emoji, icons, shapes; ``lfw`` for its faces)
    written as a folder per class and built with the default options; the class is the folder."""
    from benchmarks import datasets
    from pixplot.bundle import open_bundle
    from pixplot.pipeline import BuildOptions, build

    set_name = "faces" if name == "lfw" else name
    images = work / "sets"
    if not (images / set_name).is_dir():
        try:
            datasets.write(set_name, images)
        except datasets.Unavailable as exc:
            raise SystemExit(f"--data {name}: {exc}") from exc
    out = work / f"{name}-bundle"
    build(BuildOptions(images=str(images / set_name), out_dir=str(out), progress=False))
    b = open_bundle(out)
    return out, {it["id"]: Path(it["source"]).parts[0] for it in b.items}


def recognise_new_faces(work: Path, bundle: Path, identities: int, strangers: int = 20,
                        seed: int = 1) -> dict[str, Any]:
    """After annotation: new composites with fresh views of the labelled identities and of
    ``strangers`` never labelled, recognised against the bundle's gallery (`pixplot recognize`'s
    code path). Known faces should get their name, strangers ``unknown``."""
    import numpy as np

    from seeen_ext import recognize as rc
    from seeen_ext.faces import synthetic as S
    from seeen_ext.gallery import Gallery

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
    rec = rc.make_recogniser(Gallery.from_bundle(bundle), "auto", k=5)
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


def run(name: str, bundle: Path, truth: dict[str, str], oracle: Any = None) -> dict[str, Any]:
    # A fresh store each run, so the count starts from nothing.
    from seeen_ext.store import store_path

    for suffix in ("", "-wal", "-shm"):
        Path(f"{store_path(bundle)}{suffix}").unlink(missing_ok=True)
    proc, api = start_server(bundle)
    try:
        r = (oracle or annotate)(api, truth)
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
    ap.add_argument("--no-find", dest="find", action="store_false",
                    help="skip the second oracle that uses split, merge and suggestions")
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
        elif name in ("emoji", "icons", "shapes", "lfw"):
            bundle, truth = dataset_bundle(work, name)
        else:
            raise SystemExit(f"--data {name}: choose digits, faces, emoji, icons, shapes or lfw")
        build_s = time.perf_counter() - t
        with (work / f"{name}-truth.csv").open("w", encoding="utf-8") as f:  # for `pixplot evaluate --truth`
            f.write("item_id,label\n" + "".join(f"{i},{lab}\n" for i, lab in truth.items()))
        r = run(name, bundle, truth)
        r["build_seconds"] = round(build_s, 1)
        if args.find:
            f = run(name, bundle, truth, annotate_find)
            r["with_find"] = {key: v for key, v in f.items() if key != "data"}
            r["find_ratio"] = round(f["actions_per_item"] / max(1e-9, r["actions_per_item"]), 3)
            r["find_clicks_ratio"] = round(f["clicks_per_item"] / max(1e-9, r["clicks_per_item"]), 3)
        if name == "faces":
            r["recognition_of_new_images"] = recognise_new_faces(work, bundle, args.identities)
        print(json.dumps(r), flush=True)
        results["runs"].append(r)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(results, indent=1))
    def find_part(r: dict[str, Any]) -> str:
        f = r.get("with_find")
        if not f:
            return ""
        return (f"; with split/merge/suggestions {f['actions']} actions ({f['actions_per_item']:.3f}/item, "
                f"{r['find_ratio']:.2f}x; clicks {r['find_clicks_ratio']:.2f}x), accuracy {f['accuracy']:.1%}")

    print("bench_annotation: " + "; ".join(
        f"{r['data']}: N={r['items']} K={r['classes']}: {r['actions']} actions ({r['actions_per_item']:.3f}/item, "
        f"budget {r['budget']}), accuracy {r['accuracy']:.1%}, {r['saving']}x fewer than one by one" + find_part(r)
        for r in results["runs"]))


if __name__ == "__main__":
    main()
