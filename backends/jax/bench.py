"""Benchmarks of the JAX adapter against ``jax.nn.initializers`` (same law, both jitted), for
``initspec bench``: :func:`bench_cases` gives one :class:`initspec.backends._bench.BenchCase` per
pair, shape and available device. The portable stream's own case is
:func:`initspec.backends.jax.portable.bench_cases`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import jax
import jax.numpy as jnp

from .._bench import BenchCase
from ._initializer import initializer
from .harness import DEVICES, device_available, jax_device

if TYPE_CHECKING:
    from .._model_bench import ModelBench

__all__ = ["bench_cases", "model_bench"]

BENCH_PAIRS: tuple[tuple[str, dict[str, float], str, tuple[float, ...]], ...] = (
    ("he_truncated_normal", {}, "he_normal", ()),
    ("glorot_uniform", {}, "glorot_uniform", ()),
    ("normal", {"std": 0.02}, "normal", (0.02,)),
    ("uniform", {"low": 0.0, "high": 0.01}, "uniform", (0.01,)),
    ("truncated_normal", {"std": 0.02}, "truncated_normal", (0.02,)),
)
BENCH_SHAPES: tuple[tuple[int, ...], ...] = ((4096, 4096), (3, 3, 256, 256))
BENCH_ORTHOGONAL_SHAPE = (1024, 1024)


def _bench_case(device: str, scheme: str, params: dict[str, float], native: str, native_args: tuple,
                shape: tuple[int, ...]) -> BenchCase:
    """One jitted ours-vs-native pair on ``device``, timed with ``block_until_ready``."""
    key = jax.device_put(jax.random.key(0), jax_device(device))
    ours_init = initializer(scheme, **params)
    native_init = getattr(jax.nn.initializers, native)(*native_args)
    ours = jax.jit(lambda k: ours_init(k, shape, jnp.float32))
    theirs = jax.jit(lambda k: native_init(k, shape, jnp.float32))
    dims = "x".join(str(d) for d in shape)
    return BenchCase(backend="jax", label=f"{scheme} {dims} float32", ours=lambda: ours(key),
                     native=lambda: theirs(key), native_name=f"jax.nn.initializers.{native}",
                     sync=jax.block_until_ready, device=device,
                     ours_peak=lambda: xla_peak_bytes(ours, key), native_peak=lambda: xla_peak_bytes(theirs, key))


def xla_peak_bytes(fn: Any, *args: Any) -> int:
    """The memory one call of the jitted ``fn`` needs beyond its arguments, from XLA's buffer
    assignment (``compiled.memory_analysis()``): output plus temporaries. Deterministic; the
    process RSS hides buffers that XLA's runtime keeps for reuse."""
    stats = fn.lower(*args).compile().memory_analysis()
    return int(stats.output_size_in_bytes + stats.temp_size_in_bytes)


def bench_cases(devices: Sequence[str] | None = None) -> list[BenchCase]:
    """Adapter vs ``jax.nn.initializers`` on each available device of ``devices`` (default:
    all): the :data:`BENCH_PAIRS` at :data:`BENCH_SHAPES` and orthogonal at 1024x1024."""
    cases = []
    for device in DEVICES if devices is None else devices:
        if not device_available(device)[0]:
            continue
        for shape in BENCH_SHAPES:
            cases += [_bench_case(device, s, p, n, a, shape) for s, p, n, a in BENCH_PAIRS]
        cases.append(_bench_case(device, "orthogonal", {}, "orthogonal", (), BENCH_ORTHOGONAL_SHAPE))
    return cases


#: Flax linen's own defaults in spec terms (``spec/native.py``: ``flax/linen/linear.py::default_kernel_init``
#: = LeCun truncated normal for Dense/DenseGeneral/Conv kernels, zero biases, ``default_embed_init`` =
#: variance_scaling(1, fan_in, normal) with fan_in = features; norms ones/zeros and batch statistics
#: zeros/ones are the helpers' defaults too): the initspec column draws the same laws, so its ratio
#: is initspec's own cost
FLAX_DEFAULT_KERNEL = "lecun_truncated_normal"
FLAX_DEFAULT_RULES = {"*.embedding": ("variance_scaling", {"scale": 1.0, "mode": "fan_in", "distribution": "normal",
                                                           "layout": "torch"})}


def model_bench(model: str, quick: bool = False) -> "ModelBench":
    """Whole-model init of a :mod:`initspec.backends.jax.zoo` linen model (``initspec bench
    --models``): Flax's own default (``jax.jit(model.init)(key, *inputs)``: every module's
    initializers, traced through the forward pass) vs :func:`~initspec.backends.jax.init_tree` on
    the ``jax.eval_shape`` tree of the same call, natively (``key=``, Flax's laws) and from the
    portable stream, inside ``jax.jit``: every leaf
    (kernels, biases, norms, embeddings, batch statistics) comes back as an array."""
    import math

    from .._model_bench import ModelBench, Variant
    from . import zoo
    from .harness import versions
    from .tree import init_tree

    net, inputs = zoo.build(model, quick)
    key = jax.random.key(0)
    native_init = jax.jit(net.init)
    abstract = jax.eval_shape(net.init, key, *inputs)

    @jax.jit
    def ours() -> Any:
        return init_tree(abstract, seed=0)

    @jax.jit
    def ours_native(k: Any) -> Any:
        return init_tree(abstract, FLAX_DEFAULT_KERNEL, rules=FLAX_DEFAULT_RULES, key=k)

    params = jax.tree.leaves(abstract["params"])
    return ModelBench(
        framework="jax", model=model, description=f"flax.linen {type(net).__name__}",
        n_params=sum(math.prod(p.shape) for p in params), n_tensors=len(params),
        param_bytes=sum(math.prod(p.shape) * p.dtype.itemsize for p in params),
        versions=versions(),
        variants=(
            Variant("native", "jax.jit(model.init)(key, *inputs)", lambda: native_init(key, *inputs),
                    jax.block_until_ready),
            Variant("initspec", "jax.jit(lambda key: init_tree(jax.eval_shape(model.init, key, *inputs), "
                    "FLAX_DEFAULT_KERNEL, rules=FLAX_DEFAULT_RULES, key=key))(key)",
                    lambda: ours_native(key), jax.block_until_ready),
            Variant("portable", "jax.jit(lambda: init_tree(jax.eval_shape(model.init, key, *inputs), seed=0))",
                    ours, jax.block_until_ready),
        ))
