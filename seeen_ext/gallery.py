"""Recognition galleries: labelled vectors, and the record of how they were made.

From a bundle (its labelled, non-excluded items; a metadata column stands in while nobody has
labelled anything), a gallery ``.npz`` (docs/api.md), or one uploaded to ``s3://bucket/prefix``
(with the upload's manifest.json beside it). Loading knows nothing of images or plugins.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pixplot.bundle import Bundle, open_bundle
from pixplot.errors import UserError
from pixplot.knn import normalise
from seeen_ext.labels import gallery_labels

#: The crop margin of a gallery file that records none (the build's default).
DEFAULT_MARGIN = 0.2


@dataclass
class Gallery:
    """Labelled vectors and how they were made: the one gallery type, whether it comes from a bundle
    (:meth:`from_bundle`, :meth:`from_state`) or a file (:meth:`from_npz`), and what
    ``/api/export?format=gallery``, the upload and `pixplot annotations export` write (:meth:`to_npz`)."""

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

    @classmethod
    def from_state(cls, bundle: Bundle, labels: Mapping[str, str], excluded: Iterable[str] = (),
                   source: str = "annotations") -> Gallery:
        """A bundle's gallery for a given labelling: its labelled items that are not excluded, in
        item order, with the bundle's embedder, detector and crop margin."""
        out = set(excluded)
        idx = [i for i, iid in enumerate(bundle.ids) if iid in labels and iid not in out]
        E = np.asarray(bundle.embeddings, dtype=np.float32)
        dim = E.shape[1] if E.ndim == 2 else 0
        return cls(
            embeddings=normalise(E[idx]) if idx else np.zeros((0, dim), np.float32),
            labels=np.array([labels[bundle.ids[i]] for i in idx], dtype=str),
            ids=np.array([bundle.ids[i] for i in idx], dtype=str),
            embedder=bundle.embedder_id,
            detector=bundle.detector_id,
            crop_margin=bundle.crop_margin,
            source=f"{bundle.root} ({source})",
        )

    @classmethod
    def from_bundle(cls, bundle: Bundle | str | Path, label_column: str | None = None) -> Gallery:
        """A bundle's gallery, labelled as :func:`seeen_ext.labels.gallery_labels` says (a metadata
        column, else the annotations, else a ``category`` column)."""
        if not isinstance(bundle, Bundle):
            bundle = open_bundle(bundle)
        labels, excluded, source = gallery_labels(bundle, label_column)
        return cls.from_state(bundle, labels, excluded, source)

    @classmethod
    def from_npz(cls, data: bytes | str | Path, where: str, sidecar: dict[str, Any] | None = None) -> Gallery:
        """A gallery ``.npz`` (docs/api.md: embeddings, labels, ids, embedder; optionally detector
        and crop_margin). ``sidecar`` is an upload's manifest.json, which may record what the file
        lacks."""
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
        margin = float(arrays["crop_margin"]) if "crop_margin" in arrays else float(
            sidecar.get("crop_margin", DEFAULT_MARGIN))
        E = np.asarray(arrays["embeddings"], dtype=np.float32)
        labels = np.asarray(arrays["labels"]).astype(str)
        ids = np.asarray(arrays["ids"]).astype(str) if "ids" in arrays else np.array([str(i) for i in range(len(E))])
        if E.ndim != 2 or len(E) != len(labels):
            raise UserError(f"--gallery {where}: {len(labels)} labels for embeddings of shape {E.shape}; "
                            "export it again")
        return cls(normalise(E) if len(E) else E, labels, ids, _text(arrays["embedder"]), det, known, margin, where)

    def to_npz(self) -> bytes:
        """``.npz`` with ``embeddings`` (float32 n×d), ``labels``, ``ids`` (unicode), ``embedder``,
        ``detector`` (its id, empty for whole images) and ``crop_margin``: everything `pixplot
        recognize` needs to treat a query exactly as the gallery's items were treated. The zip
        entries carry fixed timestamps, so the same gallery is the same bytes (an upload rerun
        then sees nothing changed); ``np.load`` reads it like any other."""
        arrays = {
            "embeddings": np.asarray(self.embeddings, dtype=np.float32),
            "labels": np.asarray(self.labels, dtype=str),
            "ids": np.asarray(self.ids, dtype=str),
            "embedder": np.array(self.embedder or "", dtype=str),
            "detector": np.array(self.detector or "", dtype=str),
            "crop_margin": np.array(self.crop_margin, dtype=np.float64),
        }
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_STORED) as zf:
            for name, arr in arrays.items():
                info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
                with zf.open(info, "w", force_zip64=True) as f:
                    np.lib.format.write_array(f, np.asanyarray(arr), allow_pickle=False)
        return buf.getvalue()


def _text(arr: Any) -> str:
    return str(np.asarray(arr).item()) if arr is not None else ""


def _s3_get(url: str, endpoint_url: str | None, profile: str | None) -> tuple[bytes, dict[str, Any] | None]:
    """The gallery object and, when present beside it, the upload's manifest.json."""
    from botocore.exceptions import BotoCoreError, ClientError

    from pixplot.sources import s3_client, split_s3

    bucket, key = split_s3(url)
    if not bucket:
        raise UserError(f"--gallery {url}: no bucket; write s3://bucket/prefix (the prefix of an upload)")
    key = key.strip("/")
    if not key.endswith(".npz"):
        key = f"{key}/gallery.npz" if key else "gallery.npz"
    folder = key.rsplit("/", 1)[0] if "/" in key else ""
    try:
        client = s3_client(endpoint_url, profile)
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
        g = Gallery.from_npz(data, spec, sidecar)
    elif Path(spec).is_dir():
        g = Gallery.from_bundle(spec, label_column)
    elif Path(spec).is_file():
        side = Path(spec).with_name("manifest.json")
        sidecar = None
        if side.is_file():
            try:
                sidecar = json.loads(side.read_text("utf-8"))
            except ValueError:
                sidecar = None
        g = Gallery.from_npz(Path(spec), spec, sidecar)
    else:
        raise UserError(f"--gallery {spec}: no such bundle folder or .npz file (or give s3://bucket/prefix)")
    if len(g) == 0:
        raise UserError(f"--gallery {spec}: it holds no labelled items; label some clusters first")
    return g
