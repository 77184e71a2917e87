from dataclasses import dataclass, field
from typing import Dict, Mapping, Optional, Sequence, Tuple

import torch
from torch import Tensor
from torch_geometric.utils import to_undirected

from torch_skeleton_mae.graph.layouts import BUILTIN_LAYOUTS


@dataclass(frozen=True)
class Skeleton:
    r"""A skeleton layout: joints are nodes, bones are undirected edges.

    Construction validates the layout: joints in range, no self-loop or
    duplicate bone, a connected graph, and body parts that cover every joint
    exactly once. A broken rule raises :class:`ValueError` naming it.

    Args:
        name (str): The layout's name, *e.g.* :obj:`"coco"`.
        joint_names (Sequence[str]): One name per joint, :obj:`V` in all.
        bones (Sequence[Tuple[int, int]]): Undirected 0-based joint pairs.
        center (int): The joint hop distances are measured from.
        parts (Mapping[str, Sequence[int]]): Ordered body parts (the regions
            :class:`~torch_skeleton_mae.nn.JointEdgeMasker` masks).
        coords (int, optional): Coordinate channels of the layout's data, 3
            (xyz) or 2 (xy; channels after them, such as a confidence score,
            are not coordinates). (default: :obj:`3`)
        view_axes (tuple, optional): Joint pairs :obj:`((bottom, top),
            (from, to))` whose bones
            :class:`~torch_skeleton_mae.transforms.PreNormalize3D` turns onto
            +z and +x, for 3D layouts. (default: :obj:`None`)

    Example:
        >>> from torch_skeleton_mae.graph import get_skeleton
        >>> coco = get_skeleton('coco')
        >>> coco.num_joints, coco.edge_index().shape
        (17, torch.Size([2, 32]))
        >>> list(coco.parts)
        ['head', 'torso', 'left_arm', 'right_arm', 'left_leg', 'right_leg']
    """
    name: str
    joint_names: Tuple[str, ...]
    bones: Tuple[Tuple[int, int], ...]
    center: int
    parts: Dict[str, Tuple[int, ...]] = field(compare=False)
    coords: int = 3
    view_axes: Optional[Tuple[Tuple[int, int], Tuple[int, int]]] = None

    def __post_init__(self):
        # Normalize containers so that a layout is immutable data.
        object.__setattr__(self, 'joint_names', tuple(self.joint_names))
        object.__setattr__(self, 'bones',
                           tuple((int(i), int(j)) for i, j in self.bones))
        object.__setattr__(
            self, 'parts',
            {str(k): tuple(int(j) for j in v)
             for k, v in dict(self.parts).items()})
        if self.view_axes is not None:
            object.__setattr__(self, 'view_axes', tuple(
                (int(a), int(b)) for a, b in self.view_axes))
        _validate(self)

    def __hash__(self) -> int:
        return hash((self.name, self.joint_names, self.bones, self.center))

    @property
    def num_joints(self) -> int:
        r"""The number of joints :obj:`V`."""
        return len(self.joint_names)

    @property
    def part_index(self) -> Tensor:
        r"""The body part of every joint, a :obj:`LongTensor` of shape
        :obj:`(V,)` indexing into :obj:`list(self.parts)`."""
        out = torch.empty(self.num_joints, dtype=torch.long, device='cpu')
        for k, joints in enumerate(self.parts.values()):
            out[list(joints)] = k
        return out

    def edge_index(self, self_loops: bool = False) -> Tensor:
        r"""The bones as an undirected, sorted PyG :obj:`edge_index` of shape
        :obj:`(2, 2 * num_bones)` (plus :obj:`V` self-loops if asked);
        :obj:`edge_index[0]` holds sources, :obj:`edge_index[1]` targets."""
        edge_index = torch.tensor(self.bones, dtype=torch.long,
                                  device='cpu').t()
        if self_loops:
            loop = torch.arange(self.num_joints, device='cpu').repeat(2, 1)
            edge_index = torch.cat([edge_index, loop], dim=1)
        return to_undirected(edge_index, num_nodes=self.num_joints)

    def hop_distance(self) -> Tensor:
        r"""Hop distance of every joint to :obj:`center`, shape :obj:`(V,)`."""
        adj = torch.eye(self.num_joints, dtype=torch.bool, device='cpu')
        row, col = self.edge_index()
        adj[row, col] = True
        reach = torch.zeros(self.num_joints, dtype=torch.bool, device='cpu')
        reach[self.center] = True
        dist = torch.zeros(self.num_joints, dtype=torch.long, device='cpu')
        hop = 0
        while not bool(reach.all()):  # connectivity is validated
            hop += 1
            new = (adj[reach].any(dim=0)) & ~reach
            dist[new] = hop
            reach |= new
        return dist

    def adjacency(self, self_loops: bool = True) -> Tensor:
        r"""The dense 0/1 adjacency of the bones, shape :obj:`(V, V)`,
        indexed :obj:`[target, source]` so that :obj:`A @ x` sums messages
        (symmetric: the bones are undirected)."""
        edge_index = self.edge_index(self_loops=self_loops)
        adj = torch.zeros(self.num_joints, self.num_joints, device='cpu')
        adj[edge_index[1], edge_index[0]] = 1.0
        return adj


def _validate(skeleton: Skeleton) -> None:
    name, V = skeleton.name, skeleton.num_joints
    if V == 0:
        raise ValueError(f"Skeleton '{name}': needs at least one joint")
    if not 0 <= skeleton.center < V:
        raise ValueError(f"Skeleton '{name}': center {skeleton.center} is "
                         f"out of range [0, {V})")
    seen = set()
    for i, j in skeleton.bones:
        if not (0 <= i < V and 0 <= j < V):
            raise ValueError(f"Skeleton '{name}': bone ({i}, {j}) has a "
                             f"joint out of range [0, {V})")
        if i == j:
            raise ValueError(f"Skeleton '{name}': bone ({i}, {j}) is a "
                             f"self-loop")
        if (i, j) in seen or (j, i) in seen:
            raise ValueError(f"Skeleton '{name}': bone ({i}, {j}) is listed "
                             f"twice")
        seen.add((i, j))
    # Connectivity by union-find.
    root = list(range(V))

    def find(k):
        while root[k] != k:
            root[k] = root[root[k]]
            k = root[k]
        return k

    for i, j in skeleton.bones:
        root[find(i)] = find(j)
    if len({find(k) for k in range(V)}) > 1:
        raise ValueError(f"Skeleton '{name}': the bones do not connect all "
                         f"{V} joints")
    covered = [j for joints in skeleton.parts.values() for j in joints]
    bad = [j for j in covered if not 0 <= j < V]
    if bad:
        raise ValueError(f"Skeleton '{name}': parts name joints {bad} out of "
                         f"range [0, {V})")
    twice = sorted({j for j in covered if covered.count(j) > 1})
    if twice:
        raise ValueError(f"Skeleton '{name}': joints {twice} are in more "
                         f"than one part")
    missing = sorted(set(range(V)) - set(covered))
    if missing:
        raise ValueError(f"Skeleton '{name}': joints {missing} are in no "
                         f"part; every joint must be in exactly one")
    if any(len(joints) == 0 for joints in skeleton.parts.values()):
        raise ValueError(f"Skeleton '{name}': a body part is empty")
    if skeleton.coords not in (2, 3):
        raise ValueError(f"Skeleton '{name}': 'coords' must be 2 or 3, got "
                         f"{skeleton.coords}")
    if skeleton.view_axes is not None and (
            skeleton.coords != 3 or len(skeleton.view_axes) != 2 or any(
                not 0 <= j < V for pair in skeleton.view_axes
                for j in pair)):
        raise ValueError(f"Skeleton '{name}': 'view_axes' must be two joint "
                         f"pairs in range [0, {V}) of a 3D layout, got "
                         f"{skeleton.view_axes}")


_REGISTRY: Dict[str, Skeleton] = {
    name: Skeleton(name=name, **table)
    for name, table in BUILTIN_LAYOUTS.items()
}


def get_skeleton(name) -> Skeleton:
    r"""Returns the registered layout :obj:`name` (:obj:`"ntu-rgb+d"`,
    :obj:`"nturgb+d"`, :obj:`"coco"`, :obj:`"openpose"` or one added by
    :func:`register_skeleton`). A :class:`Skeleton` is returned as is."""
    if isinstance(name, Skeleton):
        return name
    if name not in _REGISTRY:
        raise ValueError(f"Unknown skeleton layout '{name}'; known layouts "
                         f"are {sorted(_REGISTRY)}")
    return _REGISTRY[name]


def register_skeleton(name: str, joint_names: Sequence[str],
                      bones: Sequence[Tuple[int, int]], center: int,
                      parts: Mapping[str, Sequence[int]], coords: int = 3,
                      view_axes=None, overwrite: bool = False) -> Skeleton:
    r"""Validates a user layout (a hand, an animal) and registers it so that
    :func:`get_skeleton` and every dataset and model accept its name.

    Example:
        >>> from torch_skeleton_mae.graph import register_skeleton
        >>> tail = register_skeleton(
        ...     'tail', joint_names=['a', 'b', 'c'], bones=[(0, 1), (1, 2)],
        ...     center=0, parts={'base': [0], 'tip': [1, 2]}, overwrite=True)
        >>> tail.hop_distance().tolist()
        [0, 1, 2]
    """
    if name in _REGISTRY and not overwrite:
        raise ValueError(f"Skeleton layout '{name}' is already registered; "
                         f"pass overwrite=True to replace it")
    skeleton = Skeleton(name=name, joint_names=joint_names, bones=bones,
                        center=center, parts=parts, coords=coords,
                        view_axes=view_axes)
    _REGISTRY[name] = skeleton
    return skeleton


def known_skeletons() -> Tuple[str, ...]:
    r"""The names :func:`get_skeleton` accepts."""
    return tuple(sorted(_REGISTRY))
