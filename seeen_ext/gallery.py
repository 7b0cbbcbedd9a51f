"""Recognition galleries: labelled vectors, and the record of how they were made.

From a bundle (its labelled, non-excluded items; a metadata column stands in while nobody has
labelled anything), a gallery ``.npz`` (docs/api.md), or one uploaded to ``s3://bucket/prefix``
(with the upload's manifest.json beside it). Loading knows nothing of images or plugins.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pixplot.errors import UserError
from pixplot.knn import normalise

DEFAULT_MARGIN = 0.2


@dataclass
class Gallery:
    """Labelled vectors and how they were made."""

    embeddings: np.ndarray  # float32 (n, d), L2-normalised
    labels: np.ndarray  # str (n,)
    ids: np.ndarray  # str (n,)
    embedder: str  # embedder id, e.g. classic@1{...}
    detector: str | None  # detector id, None for whole images
    detector_known: bool = True  # False when the gallery file does not record it
    crop_margin: float = DEFAULT_MARGIN
    source: str = ""

    def __len__(self) -> int:
        return len(self.labels)


def _label_source(bundle: Any, label_column: str | None) -> tuple[dict[str, str], set[str], str]:
    """(labels, excluded ids, description) for a bundle's gallery."""
    from seeen_ext.evaluate import truth_from_column
    from seeen_ext.store import AnnotationStore, existing_store

    if label_column:
        return truth_from_column(bundle, label_column).labels, set(), f"metadata column {label_column!r}"
    state: dict[str, Any] = {"labels": {}, "excluded": []}
    path = existing_store(bundle.root)
    if path is not None:
        store = AnnotationStore(path, bundle.ids)
        try:
            state = store.state()
        finally:
            store.close()
    if state["labels"]:
        return state["labels"], set(state["excluded"]), "annotations"
    if "category" in (bundle.manifest.get("metadata_fields") or []):
        return truth_from_column(bundle, "category").labels, set(), "metadata column 'category' (no annotations yet)"
    raise UserError(f"{bundle.root}: no labelled items to recognise against; label clusters with `pixplot serve`, "
                    "or name a metadata column with --label-column")


def gallery_from_state(bundle: Any, labels: dict[str, str], excluded: set[str], source: str) -> Gallery:
    """The gallery of a bundle for a given labelling: labelled items that are not excluded."""
    idx = [i for i, iid in enumerate(bundle.ids) if iid in labels and iid not in excluded]
    E = np.asarray(bundle.embeddings, dtype=np.float32)
    det = bundle.manifest.get("detector")
    return Gallery(
        embeddings=normalise(E[idx]) if idx else np.zeros((0, E.shape[1]), np.float32),
        labels=np.array([labels[bundle.ids[i]] for i in idx], dtype=str),
        ids=np.array([bundle.ids[i] for i in idx], dtype=str),
        embedder=(bundle.manifest.get("embedder") or {}).get("id", ""),
        detector=det["id"] if det else None,
        crop_margin=float((bundle.manifest.get("options") or {}).get("crop_margin", DEFAULT_MARGIN)),
        source=f"{bundle.root} ({source})",
    )


def gallery_from_bundle(path: str | Path, label_column: str | None = None) -> Gallery:
    from pixplot.bundle import open_bundle

    bundle = open_bundle(path)
    labels, excluded, source = _label_source(bundle, label_column)
    return gallery_from_state(bundle, labels, excluded, source)


def _text(arr: Any) -> str:
    return str(np.asarray(arr).item()) if arr is not None else ""


def gallery_from_npz(data: bytes | str | Path, where: str, sidecar: dict[str, Any] | None = None) -> Gallery:
    """A gallery ``.npz`` (docs/api.md: embeddings, labels, ids, embedder; optionally detector and
    crop_margin). ``sidecar`` is an upload's manifest.json, which may record what the file lacks."""
    try:
        with np.load(io.BytesIO(data) if isinstance(data, bytes) else data, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except (OSError, ValueError) as exc:
        raise UserError(f"--gallery {where}: not a gallery .npz ({exc}); export one with "
                        "`pixplot annotations export BUNDLE --format gallery`") from exc
    missing = [k for k in ("embeddings", "labels", "embedder") if k not in arrays]
    if missing:
        raise UserError(f"--gallery {where}: lacks {', '.join(missing)}; export it again with "
                        "`pixplot annotations export BUNDLE --format gallery`")
    sidecar = sidecar or {}
    det: str | None = None
    known = True
    if "detector" in arrays:
        det = _text(arrays["detector"]) or None
    elif "detector" in sidecar:
        d = sidecar["detector"]
        det = (d.get("id") if isinstance(d, dict) else d) or None
    else:
        known = False
    margin = float(arrays["crop_margin"]) if "crop_margin" in arrays else float(sidecar.get("crop_margin",
                                                                                             DEFAULT_MARGIN))
    E = np.asarray(arrays["embeddings"], dtype=np.float32)
    labels = np.asarray(arrays["labels"]).astype(str)
    ids = np.asarray(arrays["ids"]).astype(str) if "ids" in arrays else np.array([str(i) for i in range(len(E))])
    if E.ndim != 2 or len(E) != len(labels):
        raise UserError(f"--gallery {where}: {len(labels)} labels for embeddings of shape {E.shape}; export it again")
    return Gallery(normalise(E) if len(E) else E, labels, ids, _text(arrays["embedder"]), det, known, margin, where)


def _s3_get(url: str, endpoint_url: str | None, profile: str | None) -> tuple[bytes, dict[str, Any] | None]:
    """The gallery object and, when present beside it, the upload's manifest.json."""
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    bucket, _, key = url[5:].partition("/")
    if not bucket:
        raise UserError(f"--gallery {url}: no bucket; write s3://bucket/prefix (the prefix of an upload)")
    key = key.strip("/")
    if not key.endswith(".npz"):
        key = f"{key}/gallery.npz" if key else "gallery.npz"
    folder = key.rsplit("/", 1)[0] if "/" in key else ""
    try:
        client = boto3.Session(profile_name=profile).client("s3", endpoint_url=endpoint_url)
        data = client.get_object(Bucket=bucket, Key=key)["Body"].read()
    except ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code", ""))
        if code in ("NoSuchKey", "404", "NoSuchBucket"):
            raise UserError(f"--gallery {url}: no s3://{bucket}/{key}; upload one with `pixplot upload BUNDLE "
                            f"s3://{bucket}/{folder}`") from exc
        raise UserError(f"--gallery {url}: the storage refused ({code or exc}); check the credentials "
                        "(AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or --profile) and --endpoint-url") from exc
    except BotoCoreError as exc:
        raise UserError(f"--gallery {url}: {exc}; check --endpoint-url and the credentials") from exc
    sidecar = None
    try:
        man_key = f"{folder}/manifest.json" if folder else "manifest.json"
        sidecar = json.loads(client.get_object(Bucket=bucket, Key=man_key)["Body"].read())
    except (ClientError, BotoCoreError, ValueError):
        pass
    return data, sidecar


def load_gallery(spec: str, label_column: str | None = None, endpoint_url: str | None = None,
                 profile: str | None = None) -> Gallery:
    """A bundle folder, a ``.npz`` file, or ``s3://bucket/prefix[/gallery.npz]``."""
    if spec.startswith("s3://"):
        data, sidecar = _s3_get(spec, endpoint_url, profile)
        g = gallery_from_npz(data, spec, sidecar)
    elif Path(spec).is_dir():
        g = gallery_from_bundle(spec, label_column)
    elif Path(spec).is_file():
        side = Path(spec).with_name("manifest.json")
        sidecar = None
        if side.is_file():
            try:
                sidecar = json.loads(side.read_text("utf-8"))
            except ValueError:
                sidecar = None
        g = gallery_from_npz(Path(spec), spec, sidecar)
    else:
        raise UserError(f"--gallery {spec}: no such bundle folder or .npz file (or give s3://bucket/prefix)")
    if len(g) == 0:
        raise UserError(f"--gallery {spec}: it holds no labelled items; label some clusters first")
    return g
