r"""Mixed precision that switches on by device."""
import contextlib
from typing import Optional

import torch

PRECISIONS = ('auto', 'fp32', 'bf16', 'fp16')


def autocast_dtype(device: torch.device,
                   precision: Optional[str] = 'auto') -> Optional[torch.dtype]:
    r"""The autocast dtype for :obj:`precision` on :obj:`device`, or
    :obj:`None` for full precision.

    :obj:`"auto"` is bf16 on CUDA devices that support it, fp16 on other
    CUDA devices, and full precision on the CPU (where autocast rarely
    pays); :obj:`"bf16"` and :obj:`"fp16"` force a dtype on any device.
    """
    if precision not in PRECISIONS + (None, ):
        raise ValueError(f"'precision' must be one of {PRECISIONS}, got "
                         f"'{precision}'")
    if precision in (None, 'fp32'):
        return None
    if precision == 'auto':
        if device.type != 'cuda':
            return None
        return (torch.bfloat16
                if torch.cuda.is_bf16_supported() else torch.float16)
    return torch.bfloat16 if precision == 'bf16' else torch.float16


def autocast(device: torch.device, precision: Optional[str] = 'auto'):
    r"""An autocast context for :func:`autocast_dtype` (a no-op context in
    full precision)."""
    dtype = autocast_dtype(device, precision)
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=dtype)


def grad_scaler(device: torch.device,
                precision: Optional[str] = 'auto') -> torch.amp.GradScaler:
    r"""A gradient scaler, enabled only for fp16 (bf16 needs none)."""
    enabled = autocast_dtype(device, precision) == torch.float16
    return torch.amp.GradScaler(device.type, enabled=enabled)
