"""The build's stages, one module each: ``ingest``, ``detect``, ``embed``, ``layout``, ``cluster``,
``atlas``, ``originals``.

Each module has a ``run`` driver taking the :class:`~pixplot.plan.BuildPlan`, the build cache and the
executor it needs, plus the previous stages' results, and returns its own result. The per-item
batch functions they map over the executor are in :mod:`pixplot.work`. A stage never imports
another stage, the pipeline or the CLI; :mod:`pixplot.pipeline` sequences them.
"""
