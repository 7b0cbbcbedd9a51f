"""Shared fixtures for the face tests: one detector and one embedder for the whole session.

The models load once per process (TensorFlow and dlib), so sharing the instances keeps the
suite quick; each test still builds its own images.
"""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@pytest.fixture(scope="session")
def detector():
    from seeen_ext.faces.detector import MTCNNFaceDetector

    return MTCNNFaceDetector()


@pytest.fixture(scope="session")
def embedder():
    from seeen_ext.faces.embedder import DlibFaceEmbedder

    return DlibFaceEmbedder()
