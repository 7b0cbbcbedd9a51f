"""CLIP plumbing on a small randomly initialised model saved locally (no download): shapes,
batching, cache ids, text and image in one space. Semantics need real weights (docs/embedders.md)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from pixplot.embedders.clip import CLIPEmbedder
from pixplot.errors import UserError
from pixplot.plugins import ItemImage, create
from tests.conftest import synthetic_photo


def _byte_chars() -> list[str]:
    """The 256 printable stand-ins for bytes that CLIP's byte-level BPE vocabulary is written in."""
    keep = list(range(33, 127)) + list(range(161, 173)) + list(range(174, 256))
    chars, extra = keep[:], 0
    for b in range(256):
        if b not in keep:
            chars.append(256 + extra)
            extra += 1
    return [chr(c) for c in chars]


@pytest.fixture(scope="module")
def tiny_clip(tmp_path_factory) -> Path:
    """A CLIP with 2-layer, 32-wide towers and a byte-level vocabulary, as a hub-style folder."""
    import torch
    from transformers import CLIPConfig, CLIPModel, CLIPTokenizer

    folder = tmp_path_factory.mktemp("tiny-clip")
    chars = _byte_chars()
    vocab = {c: i for i, c in enumerate(chars)}
    vocab.update({c + "</w>": 256 + i for i, c in enumerate(chars)})
    vocab.update({"<|startoftext|>": 512, "<|endoftext|>": 513})
    (folder / "vocab.json").write_text(json.dumps(vocab))
    (folder / "merges.txt").write_text("#version: 0.2\n")
    CLIPTokenizer.from_pretrained(folder).save_pretrained(folder)  # reads vocab.json and merges.txt
    tower = {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 2}
    cfg = CLIPConfig(text_config={**tower, "vocab_size": 514, "max_position_embeddings": 16, "bos_token_id": 512,
                                  "eos_token_id": 513, "pad_token_id": 513},
                     vision_config={**tower, "image_size": 32, "patch_size": 8}, projection_dim=24)
    torch.manual_seed(0)
    CLIPModel(cfg).save_pretrained(folder)
    return folder


def test_images_embed_in_batches_to_the_projection_width(tiny_clip):
    e = create("embedder", "clip", weights=str(tiny_clip), batch_size=2)
    assert isinstance(e, CLIPEmbedder)
    batch = [ItemImage(synthetic_photo(k % 3, k)) for k in range(5)]
    X = e.embed(batch)
    assert X.shape == (5, 24) and X.dtype == np.float32 and np.isfinite(X).all()
    assert np.allclose(CLIPEmbedder(weights=str(tiny_clip), batch_size=5).embed(batch), X, atol=1e-4)
    assert not np.allclose(X[0], X[1])


def test_text_lands_in_the_same_space_as_images(tiny_clip):
    e = CLIPEmbedder(weights=str(tiny_clip))
    T = e.embed_text(["a red cat", "a cup of coffee", "a red cat"])
    assert T.shape == (3, 24) and np.allclose(np.linalg.norm(T, axis=1), 1, atol=1e-5)
    assert np.allclose(T[0], T[2], atol=1e-5) and not np.allclose(T[0], T[1])
    X = e.embed([ItemImage(Image.new("RGB", (40, 30), (200, 30, 30)))])
    sims = (X / np.linalg.norm(X)) @ T.T  # the find helper ranks images by exactly this
    assert sims.shape == (1, 3) and np.all(np.abs(sims) <= 1 + 1e-5)


def test_the_id_records_model_tag_and_weight_digest_not_the_path(tiny_clip, tmp_path):
    e = CLIPEmbedder(weights=str(tiny_clip), device="cpu", batch_size=3)
    assert e.id.startswith('clip@1{"clip_model": "ViT-B-32", "clip_pretrained": "openai"}[weights=')
    assert str(tiny_clip) not in e.id
    assert e.id == CLIPEmbedder(weights=str(tiny_clip / "config.json")).id  # a file inside the folder
    hub = CLIPEmbedder(clip_model="ViT-L-14", clip_pretrained="openai")
    assert hub.id.endswith("[weights=openai/clip-vit-large-patch14]")


def test_an_unknown_model_or_tag_says_how_to_see_the_choices():
    with pytest.raises(UserError, match=r"unknown pair; choose one of ViT-B-32/openai, .* docs/embedders\.md") as err:
        CLIPEmbedder(clip_model="ViT-Z-99").embed([ItemImage(Image.new("RGB", (8, 8)))])
    assert "\n" not in str(err.value)


def test_a_folder_without_a_model_is_refused_naming_it(tmp_path):
    with pytest.raises(UserError, match=f"--weights {tmp_path}: not a CLIP model folder"):
        CLIPEmbedder(weights=str(tmp_path)).embed([ItemImage(Image.new("RGB", (8, 8)))])


def test_text_search_through_the_find_helper_ranks_images_by_embed_text(tiny_clip):
    from pixplot.knn import VectorIndex
    from seeen_ext.find import text_neighbours

    e = CLIPEmbedder(weights=str(tiny_clip))
    images = [Image.new("RGB", (40, 40), c) for c in ((220, 20, 20), (20, 20, 220), (20, 200, 20), (240, 240, 240))]
    E = e.embed([ItemImage(im) for im in images])
    E /= np.linalg.norm(E, axis=1, keepdims=True)
    hits = text_neighbours(e, VectorIndex(E), "a red square", k=4)
    expected = np.argsort(-(E @ e.embed_text(["a red square"])[0]))
    assert [h.row for h in hits] == expected.tolist()
