"""pixplot: turn an image collection into a browsable, annotatable map of clusters."""

__version__ = "0.1.0"
