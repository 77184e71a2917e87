r"""Random augmentation of whole batches :obj:`(N, C, T, V, M)` on their
device, drawn from a :class:`torch.Generator` that the
:class:`~torch_skeleton_mae.engine.Trainer` seeds from (seed, epoch, step),
so that a resumed run draws the same numbers."""
from typing import Optional

import torch
from torch import Tensor


def present_joints(x: Tensor) -> Tensor:
    r"""Marks joints with any non-zero channel: :obj:`(N, 1, T, V, M)` for
    :obj:`x` of shape :obj:`(N, C, T, V, M)` (zero padding is absent)."""
    return (x != 0).any(dim=1, keepdim=True)


class GaussianNoise:
    r"""Adds Gaussian noise of std :obj:`std` (in the data's units) to the
    coordinate channels of every present joint: the paper's "pixel noise to
    the joint during training" (Sec. 4.1; its size is not given). Absent
    joints stay zero and channels after the coordinates (a score) are left
    alone.

    Args:
        std (float): Standard deviation; :obj:`0` leaves the batch as is.
        num_coords (int): Coordinate channels (a layout's :obj:`coords`).

    Shapes:
        - **input:** :math:`(N, C, T, V, M)`
        - **output:** :math:`(N, C, T, V, M)`

    Example:
        >>> import torch
        >>> from torch_skeleton_mae.transforms.batch import GaussianNoise
        >>> x = torch.ones(4, 3, 8, 17, 2)
        >>> y = GaussianNoise(0.1, num_coords=2)(x)
        >>> bool((y[:, 2] == 1).all()), bool((y[:, :2] != 1).any())
        (True, True)
    """
    def __init__(self, std: float, num_coords: int):
        if not std >= 0:
            raise ValueError(f"The noise std must be >= 0, got {std}")
        self.std = std
        self.num_coords = num_coords

    def __call__(self, x: Tensor,
                 generator: Optional[torch.Generator] = None) -> Tensor:
        if x.dim() != 5:
            raise ValueError(f"GaussianNoise expects a batch (N, C, T, V, M), "
                             f"got {tuple(x.shape)}")
        if self.std == 0:
            return x
        c = self.num_coords
        noise = torch.randn(x[:, :c].shape, generator=generator,
                            device=x.device, dtype=x.dtype)
        out = x.clone()
        out[:, :c] += self.std * noise * present_joints(x)
        return out

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(std={self.std:g}, '
                f'num_coords={self.num_coords})')
