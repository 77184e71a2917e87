r"""Per-sample transforms on :obj:`(M, T, V, C)` skeleton tensors, composable
like PyG's transforms and pyskl's pipeline."""
from typing import Callable, Optional, Sequence, Tuple

import torch
from torch import Tensor

from torch_skeleton_mae.graph import get_skeleton
from torch_skeleton_mae.transforms import batch  # noqa: F401 (T.batch)


class Compose:
    r"""Applies transforms in order, per sample or per batch; further
    arguments (a batch transform's generator) go to each.

    Example:
        >>> import torch
        >>> from torch_skeleton_mae import transforms as T
        >>> from torch_skeleton_mae.transforms import batch as B
        >>> layout = 'ntu-rgb+d'
        >>> t = T.Compose([T.CenterSequence(layout), T.ToMotion(layout)])
        >>> t(torch.randn(2, 8, 25, 3)).shape
        torch.Size([2, 8, 25, 3])
        >>> augment = T.Compose([B.RandomRotation(10),
        ...                      B.GaussianNoise(0.01, 3)])
        >>> augment(torch.randn(4, 2, 8, 25, 3),
        ...         torch.Generator().manual_seed(0)).shape
        torch.Size([4, 2, 8, 25, 3])
    """
    def __init__(self, transforms: Sequence[Callable[..., Tensor]]):
        self.transforms = list(transforms)

    def __call__(self, x: Tensor, *args) -> Tensor:
        for transform in self.transforms:
            x = transform(x, *args)
        return x

    def __repr__(self) -> str:
        inner = ', '.join(repr(t) for t in self.transforms)
        return f'{self.__class__.__name__}([{inner}])'


def _check(x: Tensor, name: str) -> None:
    if x.dim() != 4:
        raise ValueError(f"{name} expects a sample of shape (M, T, V, C), "
                         f"got {tuple(x.shape)}")


def valid_frames(x: Tensor) -> Tensor:
    r"""Marks frames where any joint of any person is non-zero, :obj:`(T,)`
    for :obj:`x` of shape :obj:`(M, T, V, C)`."""
    return (x != 0).any(dim=-1).any(dim=-1).any(dim=0)


def frame_span(x: Tensor) -> Tuple[int, int]:
    r"""The first non-empty frame of :obj:`x` :obj:`(M, T, V, C)` and the
    length of the span up to its last non-empty frame (the whole sequence
    when every frame is empty)."""
    valid = valid_frames(x).nonzero()
    if valid.numel() == 0:
        return 0, x.size(1)
    return int(valid[0]), int(valid[-1]) - int(valid[0]) + 1


class CenterSequence:
    r"""Moves the origin to the center joint of the first person in the first
    non-empty frame (pyskl's :obj:`PreNormalize3D` / :obj:`PreNormalize2D`
    centering); zero (absent) joints stay zero. Only the first
    :obj:`num_coords` channels move (a 2D confidence score does not).

    Args:
        skeleton (Skeleton or str): Gives the center joint.
        num_coords (int, optional): Coordinate channels. (default: the
            layout's :obj:`coords`)
    """
    def __init__(self, skeleton, num_coords: Optional[int] = None):
        self.skeleton = get_skeleton(skeleton)
        self.num_coords = num_coords or self.skeleton.coords

    def __call__(self, x: Tensor) -> Tensor:
        _check(x, 'CenterSequence')
        valid = valid_frames(x).nonzero()
        if valid.numel() == 0:
            return x
        c = self.num_coords
        origin = x[0, valid[0, 0], self.skeleton.center, :c]
        out = x.clone()
        out[..., :c] -= origin
        return out * (x != 0).any(dim=-1, keepdim=True)

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}('{self.skeleton.name}', "
                f"num_coords={self.num_coords})")


def uniform_frame_indices(lengths: Tensor, num_frames: int,
                          train: bool = True,
                          generator: Optional[torch.Generator] = None
                          ) -> Tensor:
    r"""pyskl's uniform frame sampling, vectorized over sequences: each
    sequence's :obj:`length` frames are cut into :obj:`num_frames` equal
    segments and one frame is taken from each, at a random offset in
    training, at the segment middle otherwise; short sequences repeat
    frames.

    Args:
        lengths (Tensor): Frames of each sequence :obj:`(N,)`, all >= 1.
        num_frames (int): Output length :obj:`T`.
        train (bool, optional): Random offsets. (default: :obj:`True`)
        generator (torch.Generator, optional): Source of the offsets.

    Returns:
        Frame indices :obj:`(N, T)` in :obj:`[0, length)`.

    Example:
        >>> import torch
        >>> from torch_skeleton_mae.transforms import uniform_frame_indices
        >>> uniform_frame_indices(torch.tensor([8, 2]), 4, train=False)
        tensor([[1, 3, 5, 7],
                [0, 0, 1, 1]])
    """
    if num_frames < 1:
        raise ValueError(f"'num_frames' must be >= 1, got {num_frames}")
    lengths = torch.as_tensor(lengths, dtype=torch.long).view(-1, 1)
    segment = lengths.double() / num_frames  # (N, 1)
    start = torch.arange(num_frames, dtype=torch.float64) * segment
    if train:
        offset = torch.rand(lengths.size(0), num_frames,
                            generator=generator).double()
    else:
        offset = torch.full((1, num_frames), 0.5, dtype=torch.float64)
    index = (start + offset * segment).long()
    return torch.minimum(index, lengths - 1)


def _rotation_onto(vector: Tensor, target: Tensor) -> Tensor:
    r"""The rotation matrix :obj:`(3, 3)` that turns :obj:`vector` towards
    :obj:`target` about their common normal (Rodrigues' formula)."""
    v = vector / vector.norm().clamp(min=1e-12)
    axis = torch.linalg.cross(v, target)
    sin, cos = axis.norm(), torch.dot(v, target)
    if sin < 1e-8:  # parallel (or opposite: turn about any normal)
        if cos > 0:
            return torch.eye(3, dtype=vector.dtype)
        normal = torch.linalg.cross(target, torch.tensor(
            [0., 1., 0.] if abs(float(target[1])) < 0.9 else [1., 0., 0.],
            dtype=vector.dtype))
        axis, sin, cos = normal / normal.norm(), torch.tensor(0.), -1.0
    else:
        axis = axis / sin
    k = torch.zeros(3, 3, dtype=vector.dtype)
    k[0, 1], k[0, 2], k[1, 2] = -axis[2], axis[1], -axis[0]
    k = k - k.T
    return torch.eye(3, dtype=vector.dtype) + sin * k + (1 - cos) * (k @ k)


class PreNormalize3D:
    r"""pyskl's :obj:`PreNormalize3D`: centers the sequence on the center
    joint of the first person in the first non-empty frame, then rotates it
    so that, in that frame, the spine points along +z and the shoulders along
    +x (a canonical view; zero joints stay zero).

    Args:
        skeleton (Skeleton or str): The layout.
        zaxis (tuple, optional): Joints :obj:`(bottom, top)` of the bone
            turned onto +z. (default: the layout's :obj:`view_axes`, the
            spine for NTU layouts)
        xaxis (tuple, optional): Joints :obj:`(from, to)` of the bone turned
            onto +x (after the z rotation, about z). (default: the layout's
            :obj:`view_axes`, the shoulders right to left for NTU layouts)
    """
    def __init__(self, skeleton, zaxis: Optional[Sequence[int]] = None,
                 xaxis: Optional[Sequence[int]] = None):
        self.center = CenterSequence(skeleton, 3)
        self.skeleton = self.center.skeleton
        defaults = self.skeleton.view_axes
        if (zaxis is None or xaxis is None) and defaults is None:
            raise ValueError(f"PreNormalize3D has no default axes for layout "
                             f"'{self.skeleton.name}'; pass 'zaxis' and "
                             f"'xaxis' joint pairs")
        self.zaxis = tuple(zaxis or defaults[0])
        self.xaxis = tuple(xaxis or defaults[1])

    def __call__(self, x: Tensor) -> Tensor:
        _check(x, 'PreNormalize3D')
        if x.size(-1) < 3:
            raise ValueError(f"PreNormalize3D needs 3D joints (C >= 3), got "
                             f"C = {x.size(-1)}")
        x = self.center(x)
        valid = valid_frames(x).nonzero()
        if valid.numel() == 0:
            return x
        frame = x[0, valid[0, 0], :, :3].double()  # (V, 3)
        z = torch.tensor([0., 0., 1.], dtype=torch.float64)
        rotation = _rotation_onto(frame[self.zaxis[1]] - frame[self.zaxis[0]],
                                  z)
        frame = frame @ rotation.T
        shoulders = frame[self.xaxis[1]] - frame[self.xaxis[0]]
        shoulders[2] = 0  # turn about z only, keeping the spine on z
        if shoulders.norm() > 1e-8:
            rotation = _rotation_onto(shoulders, torch.tensor(
                [1., 0., 0.], dtype=torch.float64)) @ rotation
        out = x.clone()
        out[..., :3] = x[..., :3] @ rotation.T.to(x.dtype)
        return out * (x != 0).any(dim=-1, keepdim=True)

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}('{self.skeleton.name}', "
                f"zaxis={self.zaxis}, xaxis={self.xaxis})")


class JointToBone:
    r"""The bone stream: every joint's coordinates minus its parent's (the
    neighbor one hop closer to the skeleton's center; the center joint
    becomes zero). Channels after the layout's coordinates (a 2D confidence
    score) become the mean of the joint's and its parent's, as in pyskl.

    Args:
        skeleton (Skeleton or str): The layout.
    """
    def __init__(self, skeleton):
        self.skeleton = get_skeleton(skeleton)
        self.num_coords = self.skeleton.coords
        hop = self.skeleton.hop_distance()
        parent = torch.arange(self.skeleton.num_joints)
        for src, dst in self.skeleton.edge_index().t().tolist():
            if hop[src] == hop[dst] - 1:
                parent[dst] = src
        self.parent = parent

    def __call__(self, x: Tensor) -> Tensor:
        _check(x, 'JointToBone')
        c, parent = self.num_coords, x[:, :, self.parent]
        return torch.cat([x[..., :c] - parent[..., :c],
                          (x[..., c:] + parent[..., c:]) / 2], dim=-1)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}('{self.skeleton.name}')"


class ToMotion:
    r"""The motion stream: the coordinates of frame :obj:`t + 1` minus those
    of frame :obj:`t`, the last frame zero. Channels after the coordinates
    (a 2D confidence score) become the mean of the two frames', as in pyskl.

    Args:
        skeleton (Skeleton or str): The layout (its :obj:`coords`).
    """
    def __init__(self, skeleton):
        self.skeleton = get_skeleton(skeleton)
        self.num_coords = self.skeleton.coords

    def __call__(self, x: Tensor) -> Tensor:
        _check(x, 'ToMotion')
        c = self.num_coords
        out = torch.zeros_like(x)
        out[:, :-1, :, :c] = x[:, 1:, :, :c] - x[:, :-1, :, :c]
        out[:, :-1, :, c:] = (x[:, 1:, :, c:] + x[:, :-1, :, c:]) / 2
        return out

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}('{self.skeleton.name}')"


#: The input streams of the field's multi-stream models (pyskl's j, b, jm,
#: bm; CTR-GCN's four): the joints, the bones, and their motion.
STREAMS = ('joint', 'bone', 'motion', 'bone_motion')


def stream_transform(stream: str, skeleton) -> Optional[Callable]:
    r"""The per-sample transform that turns a sampled sequence of joints
    :obj:`(M, T, V, C)` into :obj:`stream` (one of :data:`STREAMS`):
    :class:`JointToBone`, :class:`ToMotion`, both in that order, or
    :obj:`None` for the joints themselves.

    Raises:
        ValueError: on an unknown stream.
    """
    if stream not in STREAMS:
        raise ValueError(f"'stream' must be one of {list(STREAMS)}, got "
                         f"'{stream}'")
    parts = ([JointToBone(skeleton)] if 'bone' in stream else []) + (
        [ToMotion(skeleton)] if 'motion' in stream else [])
    return Compose(parts) if len(parts) > 1 else (parts or [None])[0]


__all__ = [
    'Compose',
    'CenterSequence',
    'PreNormalize3D',
    'JointToBone',
    'ToMotion',
    'STREAMS',
    'stream_transform',
    'valid_frames',
    'frame_span',
    'uniform_frame_indices',
]
