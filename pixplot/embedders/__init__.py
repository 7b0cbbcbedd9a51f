"""Built-in embedders; each registers through the ``pixplot.embedders`` entry point group."""
