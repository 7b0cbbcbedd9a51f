"""Faces as items: the ``faces`` detector (MTCNN) and the ``face`` embedder (dlib ResNet).

Both register through the core's entry points (``pixplot.detectors``, ``pixplot.embedders``)
like any third-party plugin; see docs/faces.md for the defaults and how they were chosen.
"""
