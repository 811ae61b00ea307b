"""Whole Keras models: :func:`init_model` and :func:`layout_for_variable` live in the
backend-neutral :mod:`initspec.backends.keras.models` (any Keras backend); re-exported here so
``initspec.backends.tensorflow.init_model`` keeps working."""

from __future__ import annotations

from initspec.backends.keras.models import init_model, layout_for_variable

__all__ = ["init_model", "layout_for_variable"]
