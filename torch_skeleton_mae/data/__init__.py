r"""Conversions between sequence tensors and PyG frame batches."""
from .frame_batch import (absent_persons, as_sequence, block_diagonal,
                          check_sequence, from_frame_batch, to_frame_batch)

__all__ = [
    'to_frame_batch',
    'from_frame_batch',
    'absent_persons',
    'as_sequence',
    'check_sequence',
    'block_diagonal',
]
