"""CLIP image embeddings, with the text encoder for text search in the same space.

The model is Hugging Face ``transformers``' ``CLIPModel`` (no torchvision, whose build must match
torch exactly, and no open_clip, which imports it). ``--clip_model`` and ``--clip_pretrained``
name a model the way open_clip does (``ViT-B-32`` + ``openai``); :data:`MODELS` maps each pair
to the model hub repository holding it in transformers' format. The weights download from the
hub on first use (then sit in the hub's cache), or come from ``--weights DIR``: a local copy of
such a repository (``config.json``, the weights, the tokenizer files), used without any network.

Images are resized so that the shorter side is the model's input size, centre-cropped and
normalised with CLIP's mean and deviation; the embedding is the projected image feature,
``embed_text`` the projected text feature: both live in the space CLIP was trained on, so a
caption's vector is near the pictures it describes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from pixplot.embedders.torchutil import file_digest, import_torch, resolve_device
from pixplot.errors import UserError
from pixplot.plugins import Embedder, ItemImage

#: (model, pretrained tag) -> model hub repository in transformers' CLIP format.
MODELS: dict[tuple[str, str], str] = {
    ("ViT-B-32", "openai"): "openai/clip-vit-base-patch32",
    ("ViT-B-16", "openai"): "openai/clip-vit-base-patch16",
    ("ViT-L-14", "openai"): "openai/clip-vit-large-patch14",
    ("ViT-L-14-336", "openai"): "openai/clip-vit-large-patch14-336",
    ("ViT-B-32", "laion2b_s34b_b79k"): "laion/CLIP-ViT-B-32-laion2B-s34B-b79K",
    ("ViT-B-16", "laion2b_s34b_b88k"): "laion/CLIP-ViT-B-16-laion2B-s34B-b88K",
    ("ViT-L-14", "laion2b_s32b_b82k"): "laion/CLIP-ViT-L-14-laion2B-s32B-b82K",
    ("ViT-H-14", "laion2b_s32b_b79k"): "laion/CLIP-ViT-H-14-laion2B-s32B-b79K",
}
MEAN = np.array([0.48145466, 0.4578275, 0.40821073], np.float32).reshape(3, 1, 1)
STD = np.array([0.26862954, 0.26130258, 0.27577711], np.float32).reshape(3, 1, 1)
_MODELS: dict[str, Any] = {}


def choices() -> str:
    return ", ".join(f"{m}/{t}" for m, t in MODELS)


def _transformers(name: str) -> Any:
    try:
        import transformers
    except ImportError as exc:
        raise UserError(f"the {name} embedder needs transformers and PyTorch: "
                        "pip install 'seeen-pixplot[clip]'") from exc
    transformers.logging.set_verbosity_error()
    return transformers


class CLIPEmbedder(Embedder):
    """CLIP (OpenAI or LAION weights) image features; ``embed_text`` for captions and queries."""

    name: ClassVar[str] = "clip"
    version: ClassVar[str] = "1"
    input_size: ClassVar[int] = 336
    in_process: ClassVar[bool] = True  # torch spreads one batch over every core itself
    options: ClassVar[dict[str, dict[str, Any]]] = {
        "clip_model": {"metavar": "NAME", "help": "clip: architecture, e.g. ViT-B-32 (default), ViT-L-14"},
        "clip_pretrained": {"metavar": "TAG", "help": "clip: pretrained weights, e.g. openai (default), "
                                                      "laion2b_s34b_b79k (docs/embedders.md lists the pairs)"},
    }
    id_excludes: ClassVar[tuple[str, ...]] = ("batch_size", "device", "weights")

    def __init__(self, clip_model: str = "ViT-B-32", clip_pretrained: str = "openai", device: str = "auto",
                 weights: str | None = None, batch_size: int = 32):
        self.clip_model = clip_model
        self.clip_pretrained = clip_pretrained
        self.device = device
        self.weights = weights
        self.batch_size = batch_size

    def source(self) -> str:
        """A local directory (``--weights``) or the hub repository for the model and tag."""
        if self.weights:
            p = Path(self.weights)
            if p.is_file():
                p = p.parent  # a file inside a downloaded repository
            if not (p / "config.json").is_file():
                raise UserError(f"--weights {self.weights}: not a CLIP model folder (no config.json); give a "
                                "local copy of a hub repository such as openai/clip-vit-base-patch32")
            return str(p)
        key = (self.clip_model, self.clip_pretrained)
        if key not in MODELS:
            raise UserError(f"--clip_model {self.clip_model} --clip_pretrained {self.clip_pretrained}: unknown "
                            f"pair; choose one of {choices()} (see docs/embedders.md), or --weights DIR")
        return MODELS[key]

    @property
    def id(self) -> str:
        src = self.source()
        if self.weights:
            files = sorted(Path(src).glob("*.safetensors")) or sorted(Path(src).glob("*.bin"))
            src = "+".join(file_digest(f) for f in files) or "none"
        return f"{super().id}[weights={src}]"

    def _model(self) -> tuple[Any, Any, Any, str]:
        torch = import_torch(self.name)
        tf = _transformers(self.name)
        device = resolve_device(torch, self.device)
        key = f"{self.id}@{device}"
        if key not in _MODELS:
            src = self.source()
            local = bool(self.weights)
            try:
                model = tf.CLIPModel.from_pretrained(src, local_files_only=local)
                tok = tf.AutoTokenizer.from_pretrained(src, local_files_only=local)
            except (OSError, ValueError) as exc:
                where = f"--weights {self.weights}" if local else f"the model hub ({src})"
                raise UserError(f"clip: could not load {where} ({type(exc).__name__}: {str(exc)[:120]}); "
                                "pass --weights DIR with a local copy of the model") from exc
            _MODELS[key] = (model.eval().to(device), tok)
        model, tok = _MODELS[key]
        return torch, model, tok, device

    @property
    def dim(self) -> int:
        return int(self._model()[1].config.projection_dim)

    def preprocess(self, images: list[Any], side: int) -> np.ndarray:
        from PIL import Image

        out = np.empty((len(images), 3, side, side), np.float32)
        for i, im in enumerate(images):
            im = im.convert("RGB")
            w, h = im.size
            scale = side / min(w, h)
            nw, nh = max(side, round(w * scale)), max(side, round(h * scale))
            im = im.resize((nw, nh), Image.Resampling.BICUBIC)
            left, top = (nw - side) // 2, (nh - side) // 2
            arr = np.asarray(im.crop((left, top, left + side, top + side)), np.float32).transpose(2, 0, 1) / 255.0
            out[i] = (arr - MEAN) / STD
        return out

    @staticmethod
    def _features(out: Any) -> Any:
        return out if hasattr(out, "shape") else out.pooler_output  # transformers 5 returns an output object

    def embed(self, batch: list[ItemImage]) -> np.ndarray:
        if not batch:
            return np.zeros((0, self.dim), np.float32)
        torch, model, _, device = self._model()
        side = int(model.config.vision_config.image_size)
        outs = []
        with torch.inference_mode():
            for start in range(0, len(batch), self.batch_size):
                x = torch.from_numpy(self.preprocess([it.image for it in batch[start:start + self.batch_size]], side))
                outs.append(self._features(model.get_image_features(pixel_values=x.to(device))).float().cpu().numpy())
        return np.concatenate(outs).astype(np.float32)

    def embed_text(self, texts: list[str]) -> np.ndarray:
        """L2-normalised text features (n, dim), comparable by cosine with the image embeddings."""
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        torch, model, tok, device = self._model()
        n_pos = int(model.config.text_config.max_position_embeddings)
        with torch.inference_mode():
            enc = tok(list(texts), padding=True, truncation=True, max_length=n_pos, return_tensors="pt")
            feats = self._features(model.get_text_features(**{k: v.to(device) for k, v in enc.items()}))
        T = feats.float().cpu().numpy().astype(np.float32)
        return T / np.maximum(np.linalg.norm(T, axis=1, keepdims=True), 1e-12)
