r"""Random augmentation of whole batches :obj:`(N, M, T, V, C)` on their
device, vectorized over the batch (one draw per sequence) and drawn from a
:class:`torch.Generator` that the :class:`~torch_skeleton_mae.engine.Trainer`
seeds from (seed, rank, epoch, step), so that a resumed run draws the same
numbers. :class:`~torch_skeleton_mae.transforms.Compose` chains them."""
import math
from typing import Optional

import torch
from torch import Tensor

from torch_skeleton_mae.utils import ScratchBuffer


def _check(x: Tensor, name: str) -> None:
    if x.dim() != 5:
        raise ValueError(f"{name} expects a batch (N, M, T, V, C), got "
                         f"{tuple(x.shape)}")


def _uniform(shape, generator: Optional[torch.Generator],
             like: Tensor) -> Tensor:
    # Uniform in [-1, 1), drawn on the batch's device.
    return torch.rand(shape, generator=generator, device=like.device,
                      dtype=like.dtype) * 2 - 1


def transform_coords(x: Tensor, matrix: Tensor) -> Tensor:
    r"""Applies one matrix per sequence, :obj:`(N, c, c)`, to the first
    :obj:`c` channels of :obj:`x` :obj:`(N, M, T, V, C)` (a linear map:
    absent, all-zero joints stay zero); the channels after the coordinates
    are left as they are."""
    c = matrix.size(-1)
    out = x.clone()
    out[..., :c] = torch.einsum('nij,nmtvj->nmtvi', matrix.to(x.dtype),
                                x[..., :c])
    return out


def present_joints(x: Tensor) -> Tensor:
    r"""Marks joints with any non-zero channel: :obj:`(N, M, T, V, 1)` for
    :obj:`x` of shape :obj:`(N, M, T, V, C)` (zero padding is absent)."""
    # Measured faster on the CPU than (x != 0).any(-1).
    return x.abs().amax(dim=-1, keepdim=True) > 0


class GaussianNoise:
    r"""Adds Gaussian noise of std :obj:`std` (in the data's units) to the
    coordinate channels of every present joint: the paper's "pixel noise to
    the joint during training" (Sec. 4.1; its size is not given). Absent
    joints stay zero and channels after the coordinates (a score) are left
    alone.

    Args:
        std (float): Standard deviation; :obj:`0` leaves the batch as is.
        num_coords (int): Coordinate channels (a layout's :obj:`coords`).
        inplace (bool, optional): Add the noise to the batch itself and
            return it, saving a batch-sized allocation (for batches the
            pipeline owns). (default: :obj:`False`)

    Shapes:
        - **input:** :math:`(N, M, T, V, C)`
        - **output:** :math:`(N, M, T, V, C)`

    Example:
        >>> import torch
        >>> from torch_skeleton_mae.transforms.batch import GaussianNoise
        >>> x = torch.ones(4, 2, 8, 17, 3)
        >>> y = GaussianNoise(0.1, num_coords=2)(x)
        >>> bool((y[..., 2] == 1).all()), bool((y[..., :2] != 1).any())
        (True, True)
    """
    def __init__(self, std: float, num_coords: int, inplace: bool = False):
        if not std >= 0:
            raise ValueError(f"The noise std must be >= 0, got {std}")
        self.std = std
        self.num_coords = num_coords
        self.inplace = inplace
        # The draws' buffer, one per thread: a fresh large tensor costs as
        # much in page faults as the draws.
        self._draws = ScratchBuffer()

    def __call__(self, x: Tensor,
                 generator: Optional[torch.Generator] = None) -> Tensor:
        _check(x, 'GaussianNoise')
        if self.std == 0:
            return x
        c = self.num_coords
        like = x[..., :c]
        noise = self._draws.get(
            (like.shape, like.dtype, like.device),
            lambda: torch.empty_like(like,
                                     memory_format=torch.contiguous_format))
        noise.normal_(generator=generator)
        if self.inplace:
            x[..., :c].addcmul_(noise, present_joints(x), value=self.std)
            return x
        noisy = torch.addcmul(x[..., :c], noise, present_joints(x),
                              value=self.std)
        return noisy if c == x.size(-1) else torch.cat([noisy, x[..., c:]],
                                                       -1)

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(std={self.std:g}, '
                f'num_coords={self.num_coords}'
                f"{', inplace=True' if self.inplace else ''})")


class RandomLinearMap:
    r"""Base of the augmentations that move each sequence's coordinates by
    its own random matrix (:func:`transform_coords`): subclasses draw the
    matrices in :meth:`matrix`."""
    def matrix(self, n: int, generator: Optional[torch.Generator] = None,
               device=None) -> Tensor:
        r"""Draws :obj:`n` matrices :obj:`(n, c, c)` on :obj:`device`."""
        raise NotImplementedError

    def __call__(self, x: Tensor,
                 generator: Optional[torch.Generator] = None) -> Tensor:
        _check(x, self.__class__.__name__)
        return transform_coords(x, self.matrix(x.size(0), generator,
                                               x.device))


class RandomRotation(RandomLinearMap):
    r"""Rotates each sequence's 3D joints by its own random angles about the
    x, y and z axes (applied in that order), each uniform in
    :obj:`[-max_degrees, max_degrees]`.

    Args:
        max_degrees (float or sequence): Per axis, or one for all.
            (default: :obj:`15.`)

    Shapes:
        - **input:** :math:`(N, M, T, V, C)`, :math:`C \geq 3`
        - **output:** :math:`(N, M, T, V, C)`
    """
    def __init__(self, max_degrees=15.0):
        if isinstance(max_degrees, (int, float)):
            max_degrees = (max_degrees, ) * 3
        self.max_degrees = tuple(float(d) for d in max_degrees)

    def matrix(self, n: int, generator: Optional[torch.Generator] = None,
               device=None) -> Tensor:
        r"""Draws :obj:`n` rotation matrices :obj:`(n, 3, 3)`."""
        like = torch.empty(0, device=device)
        angles = _uniform((n, 3), generator, like) * like.new_tensor(
            self.max_degrees) * math.pi / 180
        rotation = torch.eye(3, device=device).expand(n, 3, 3)
        for axis in range(3):
            i, j = [k for k in range(3) if k != axis]
            cos, sin = angles[:, axis].cos(), angles[:, axis].sin()
            r = torch.eye(3, device=device).repeat(n, 1, 1)
            r[:, i, i], r[:, i, j], r[:, j, i], r[:, j, j] = (cos, -sin, sin,
                                                              cos)
            rotation = r @ rotation
        return rotation

    def __call__(self, x: Tensor,
                 generator: Optional[torch.Generator] = None) -> Tensor:
        if x.dim() == 5 and x.size(-1) < 3:
            raise ValueError(f"RandomRotation needs 3D joints (C >= 3), got "
                             f"C = {x.size(-1)}")
        return super().__call__(x, generator)

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(max_degrees={self.max_degrees})'


class RandomScale(RandomLinearMap):
    r"""Scales each sequence's coordinate channels by factors uniform in
    :obj:`[1 - amount, 1 + amount]`, one per sequence and channel.

    Args:
        amount (float, optional): (default: :obj:`0.1`)
        num_coords (int, optional): Channels to scale. (default: :obj:`3`)

    Shapes:
        - **input:** :math:`(N, M, T, V, C)`
        - **output:** :math:`(N, M, T, V, C)`
    """
    def __init__(self, amount: float = 0.1, num_coords: int = 3):
        self.amount = amount
        self.num_coords = num_coords

    def matrix(self, n: int, generator: Optional[torch.Generator] = None,
               device=None) -> Tensor:
        r"""Draws :obj:`n` diagonal scalings :obj:`(n, c, c)`."""
        like = torch.empty(0, device=device)
        return torch.diag_embed(1 + self.amount * _uniform(
            (n, self.num_coords), generator, like))

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(amount={self.amount}, '
                f'num_coords={self.num_coords})')


class RandomShear(RandomLinearMap):
    r"""Shears each sequence's coordinates with its own matrix, the identity
    plus off-diagonal entries uniform in :obj:`[-amount, amount]`.

    Args:
        amount (float, optional): (default: :obj:`0.5`)
        num_coords (int, optional): Coordinate channels. (default: :obj:`3`)

    Shapes:
        - **input:** :math:`(N, M, T, V, C)`
        - **output:** :math:`(N, M, T, V, C)`
    """
    def __init__(self, amount: float = 0.5, num_coords: int = 3):
        self.amount = amount
        self.num_coords = num_coords

    def matrix(self, n: int, generator: Optional[torch.Generator] = None,
               device=None) -> Tensor:
        r"""Draws :obj:`n` shear matrices :obj:`(n, c, c)`."""
        c = self.num_coords
        eye = torch.eye(c, device=device)
        off = self.amount * _uniform((n, c, c), generator, eye)
        return eye + off * (1 - eye)

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(amount={self.amount}, '
                f'num_coords={self.num_coords})')
