"""Errors of the detection worker. They cross process boundaries: exceptions pickle with their `__dict__`,
so `field` and the details that the graph puts into `extensions` survive (tests check it)."""

from __future__ import annotations

from domain.core.errors import BadUserInput, Unavailable


class ModelLoadError(BadUserInput):
    """The chosen model file exists but Ultralytics cannot load it (corrupt, wrong format, wrong task)."""


class DetectionInputError(BadUserInput):
    """A camera or frame that the episode file does not have."""


class DetectorUnavailable(Unavailable):
    """Ultralytics or PyTorch is not installed on this server."""
