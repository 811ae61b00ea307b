"""PyTorch natives: ``torch.nn.init.*`` and the default init of ``nn.Linear``, ``nn.Conv2d``,
``nn.ConvTranspose2d`` and ``nn.Embedding`` (imports torch only, inside :func:`draws`).

``torch.nn.init`` functions are called with ``generator=torch.Generator().manual_seed(seed)``
(the reproducible way to seed them); layers have no generator argument, so they are built after
``torch.manual_seed(seed)``. ``sparse_`` draws its zero positions with ``torch.randperm`` on the
*global* RNG even when a generator is passed (torch/nn/init.py::sparse_): the audit's
determinism check measures that.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

FRAMEWORK = "torch"
IMPORTS = ("torch",)
#: torch.nn.init.normal_ samples complex tensors (Tensor.normal_ supports complex dtypes)
COMPLEX: dict[str, tuple[str, ...]] = {"torch.nn.init.normal_": ("complex64",)}


def draws() -> dict[str, Callable[[tuple[int, ...], int, str], np.ndarray]]:
    import torch
    from torch import nn

    def tdtype(dtype: str) -> Any:
        return getattr(torch, dtype)

    def values(t: Any) -> np.ndarray:
        return t.detach().cpu().resolve_conj().numpy().copy()

    def init_fn(fn: Callable[..., Any], *, generator: bool = True, **kw: Any):
        def draw(shape: tuple[int, ...], seed: int, dtype: str, **over: Any) -> np.ndarray:
            w = torch.empty(shape, dtype=tdtype(dtype))
            extra = {"generator": torch.Generator().manual_seed(int(seed))} if generator else {}
            fn(w, **{**kw, **over}, **extra)
            return values(w)

        return draw

    def layer(build: Callable[[tuple[int, ...], Any], Any], attr: str):
        def draw(shape: tuple[int, ...], seed: int, dtype: str) -> np.ndarray:
            torch.manual_seed(int(seed))
            return values(getattr(build(shape, tdtype(dtype)), attr))

        return draw

    def linear(s, dt):  # (out, in)
        return nn.Linear(s[1], s[0], dtype=dt)

    def conv(s, dt):  # (out, in, *k)
        return nn.Conv2d(s[1], s[0], tuple(s[2:]), dtype=dt)

    def conv_t(s, dt):  # (in, out, *k)
        return nn.ConvTranspose2d(s[0], s[1], tuple(s[2:]), dtype=dt)

    def embedding(s, dt):  # (num_embeddings, embedding_dim)
        return nn.Embedding(s[0], s[1], dtype=dt)

    I = nn.init  # noqa: E741
    return {
        "torch.nn.init.zeros_": init_fn(I.zeros_, generator=False),
        "torch.nn.init.ones_": init_fn(I.ones_, generator=False),
        "torch.nn.init.normal_": init_fn(I.normal_),
        "torch.nn.init.uniform_": init_fn(I.uniform_),
        "torch.nn.init.trunc_normal_": init_fn(I.trunc_normal_),
        "torch.nn.init.xavier_normal_": init_fn(I.xavier_normal_),
        "torch.nn.init.xavier_uniform_": init_fn(I.xavier_uniform_),
        "torch.nn.init.kaiming_normal_": init_fn(I.kaiming_normal_),
        "torch.nn.init.kaiming_uniform_": init_fn(I.kaiming_uniform_),
        "torch.nn.init.orthogonal_": init_fn(I.orthogonal_),
        "torch.nn.init.eye_": init_fn(I.eye_, generator=False),
        "torch.nn.init.dirac_": init_fn(I.dirac_, generator=False),
        "torch.nn.init.sparse_": init_fn(I.sparse_, sparsity=0.1),
        "torch.nn.Linear.weight": layer(linear, "weight"),
        "torch.nn.Linear.bias": layer(linear, "bias"),
        "torch.nn.Conv2d.weight": layer(conv, "weight"),
        "torch.nn.Conv2d.bias": layer(conv, "bias"),
        "torch.nn.ConvTranspose2d.weight": layer(conv_t, "weight"),
        "torch.nn.Embedding.weight": layer(embedding, "weight"),
    }
