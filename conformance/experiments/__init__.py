"""Seed-claim experiments (issue 5): symmetry breaking, signal propagation, trainability.

The claims that motivate initspec (zero/constant init never breaks symmetry; too-small inits
vanish; too-large inits explode or saturate; Glorot/He keep tanh/ReLU nets in range) are measured
on every backend with the backend's own autodiff (NumPy: hand-written backprop; PyTorch:
autograd; TensorFlow: ``tf.GradientTape``; JAX: ``jax.grad``), with weights drawn by the
backend's initspec adapter through the uniform harness API.

* :func:`run_experiments` - one backend -> the results' ``experiments`` section;
* :func:`merge_experiments` - per-backend sections -> one, with overall claim verdicts;
* :data:`CLAIMS` - each claim with its predicate (sentence + function);
* :class:`ExperimentConfig`, :data:`DEFAULT`, :data:`QUICK` - validated sizes and budgets.

This package imports no framework; ``initspec.conformance.experiments.<backend>`` imports one.
"""

from __future__ import annotations

from .claims import CLAIM_IDS, CLAIMS, ClaimSpec
from .config import DEFAULT, QUICK, ExperimentConfig
from .driver import EXPERIMENTS, load_engine, merge_experiments, run_experiments

__all__ = ["CLAIMS", "CLAIM_IDS", "ClaimSpec", "DEFAULT", "EXPERIMENTS", "ExperimentConfig", "QUICK",
           "load_engine", "merge_experiments", "run_experiments"]
