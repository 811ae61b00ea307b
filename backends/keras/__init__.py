"""Keras 3, backend-neutral: :mod:`initspec.backends.keras.initializers` is a drop-in for
``keras.initializers`` implemented on initspec's spec, sampling with ``keras.random``/``keras.ops``
so it runs under ``KERAS_BACKEND=tensorflow``, ``jax`` and ``torch``::

    from initspec.backends.keras import initializers
    layer = keras.layers.Dense(8, kernel_initializer=initializers.HeNormal(42))  # seed=42, truncated

This package imports Keras (and NumPy) only, never TensorFlow: TF-only code (the spec-named
classes, stateless TF functions) stays in :mod:`initspec.backends.tensorflow`. Under each Keras
backend, the draws that hold several outputs in Keras run through that framework's
``keras_random`` module (``initspec.backends.<framework>.keras_random``: Keras' values in at most
2x memory; :func:`._sampling.random_module`), imported only then. Whole models:
:func:`init_model` (:mod:`.models`, ``docs/model-init-keras.md``) on every Keras backend.
It is not a conformance backend (not in :mod:`initspec.registry`). See ``docs/drop-in-keras.md``.

Modules: :mod:`.initializers` (the classes, ``get``/``serialize``/``deserialize``,
``compute_fans``); :mod:`._sampling` (plans on ``keras.random``/``keras.ops``, portable stream);
:mod:`._seeds` (Keras seed rules); :mod:`._fans` (Keras fans on the spec's ``"keras"`` layout);
:mod:`.models` (:func:`init_model`), :mod:`._layers` (roles, layouts, gates, the variable walk),
:mod:`._values` (one tensor's new values: native, portable or NumPy reference).
"""

from __future__ import annotations

from . import initializers
from .models import init_model, layout_for_variable

__all__ = ["init_model", "initializers", "layout_for_variable"]
