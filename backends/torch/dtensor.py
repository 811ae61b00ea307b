"""DTensor (FSDP2, tensor parallel) support: the local shard of a ``DTensor`` and the global slice
it holds, so the portable stream fills each rank's shard with exactly its slice of the whole
tensor, with no communication (:func:`initspec.backends.torch.initialize_` with ``stream=``).

``torch.distributed`` is imported only once a DTensor can exist (it is slow to import).
"""

from __future__ import annotations

import sys

import torch
from initspec.errors import InitSpecError

__all__ = ["dtensor_local_slice"]


def dtensor_local_slice(tensor: torch.Tensor) -> tuple[torch.Tensor, tuple[slice, ...]] | None:
    """``(local tensor, its global slice)`` of a ``torch.distributed.tensor.DTensor`` placed by
    ``Shard``/``Replicate``; None for any other tensor.

    The geometry is torch's own (``torch.distributed.tensor._utils.
    compute_local_shape_and_global_offset``, what DTensor uses to place shards). ``Partial``
    placements (values summed across ranks) and strided shards (not one contiguous slice) are
    refused with a clear error rather than filled wrongly.
    """
    if "torch.distributed.tensor" not in sys.modules:  # no DTensor can exist yet
        return None
    from torch.distributed.tensor import DTensor, Replicate, Shard

    if not isinstance(tensor, DTensor):
        return None
    odd = [p for p in tensor.placements if type(p) not in (Shard, Replicate)]
    if odd:
        raise InitSpecError(
            "The portable stream fills DTensors placed by Shard/Replicate only (each rank writes one "
            f"contiguous global slice). Received: placements={tuple(tensor.placements)!r}"
        )
    from torch.distributed.tensor._utils import compute_local_shape_and_global_offset

    shape, offset = compute_local_shape_and_global_offset(tensor.shape, tensor.device_mesh, tensor.placements)
    return tensor.to_local(), tuple(slice(o, o + n) for o, n in zip(offset, shape))
