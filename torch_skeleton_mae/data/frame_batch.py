from typing import Optional, Union

import torch
from torch import Tensor
from torch_geometric.data import Batch

from torch_skeleton_mae.graph import Skeleton, get_skeleton


def is_compiling() -> bool:
    r"""Whether the code runs inside :func:`torch.compile` tracing (where
    data-dependent checks would split the graph)."""
    compiler = getattr(torch, 'compiler', None)  # torch >= 2.3 has the flag
    return bool(getattr(compiler, 'is_compiling', lambda: False)())


def check_sequence(x: Tensor, skeleton: Skeleton, name: str = 'x') -> None:
    r"""Raises a :class:`ValueError` unless :obj:`x` is a sequence batch of
    shape :obj:`(N, M, T, V, C)` with :obj:`V` the joints of
    :obj:`skeleton`."""
    if x.dim() != 5 or x.size(3) != skeleton.num_joints:
        raise ValueError(
            f"Expected '{name}' of shape (N, M, T, V, C) with "
            f"V = {skeleton.num_joints} joints of layout '{skeleton.name}', "
            f"got {tuple(x.shape)}")


def as_sequence(x: Union[Tensor, Batch], skeleton: Skeleton,
                channels: Optional[int] = None) -> Tensor:
    r"""Returns a model input as a checked :obj:`(N, M, T, V, C)` tensor.

    Args:
        x (Tensor or Batch): A sequence batch :obj:`(N, M, T, V, C)` or a
            frame batch made by :func:`to_frame_batch`.
        skeleton (Skeleton): The layout the model was built for.
        channels (int, optional): The channels :obj:`C` it takes.

    Raises:
        ValueError: on a wrong shape or another layout's batch. Values are
            not looked at (that would make a training step wait on the
            device): the readers and :func:`to_frame_batch` refuse NaN and
            inf where data comes in.
    """
    if isinstance(x, Batch):
        layout = getattr(x, 'skeleton', skeleton.name)
        if layout != skeleton.name:
            raise ValueError(f"The frame batch holds layout '{layout}' but "
                             f"the model expects '{skeleton.name}'")
        x = from_frame_batch(x)
    check_sequence(x, skeleton)
    if channels is not None and x.size(-1) != channels:
        raise ValueError(f"The model takes {channels} channels per joint, "
                         f"the batch has {x.size(-1)} (shape "
                         f"{tuple(x.shape)})")
    return x


def _check_finite(x: Tensor, name: str = 'x') -> None:
    r"""Raises a :class:`ValueError` counting the NaN and inf values of
    :obj:`x` if it holds any (one read of the device)."""
    if not bool(torch.isfinite(x).all()):
        raise ValueError(f"'{name}' holds {int((~torch.isfinite(x)).sum())} "
                         f"NaN or inf values; expected finite joint features")


def absent_persons(x: Tensor) -> Tensor:
    r"""Marks persons whose joints are zero in every frame.

    Args:
        x (Tensor): A sequence batch of shape :obj:`(N, M, T, V, C)`.

    Returns:
        A boolean :obj:`Tensor` of shape :obj:`(N, M)`.
    """
    return (x == 0).all(dim=(2, 3, 4))


def block_diagonal(edge_index: Tensor, num_graphs: int,
                   num_nodes: int) -> Tensor:
    r"""The :obj:`edge_index` of :obj:`num_graphs` copies of one
    :obj:`num_nodes`-node graph numbered one after the other, as in a PyG
    :class:`~torch_geometric.data.Batch`: copy :obj:`g`'s node :obj:`v` is
    :obj:`g * num_nodes + v`.

    Args:
        edge_index (Tensor): One graph's edges :obj:`(2, E)`.
        num_graphs (int): Copies :obj:`G`.
        num_nodes (int): Nodes :obj:`V` of one copy.

    Returns:
        :obj:`(2, G * E)`, copy by copy.
    """
    offset = torch.arange(num_graphs, device=edge_index.device) * num_nodes
    return (edge_index.unsqueeze(1) + offset.view(1, -1, 1)).view(2, -1)


def to_frame_batch(x: Tensor, skeleton, drop_absent: bool = False) -> Batch:
    r"""Turns a sequence batch into a PyG :class:`~torch_geometric.data.Batch`
    whose graphs are one person in one frame.

    Graphs are ordered by sequence, then person, then frame, so that node
    :obj:`((n * M + m) * T + t) * V + v` is joint :obj:`v` of person
    :obj:`m` in frame :obj:`t` of sequence :obj:`n`. Every graph carries
    :obj:`seq`, :obj:`person` and :obj:`frame` (graph-level
    :obj:`LongTensor`); the batch also holds :obj:`sequence_size = (N, T, M)`
    so that :func:`from_frame_batch` inverts it exactly.

    An absent person (all zeros over the whole sequence, the zero padding of
    NTU and pyskl data) is kept by default, which keeps every sequence the
    same size; :obj:`drop_absent=True` leaves its graphs out and
    :func:`from_frame_batch` writes zeros back.

    Args:
        x (Tensor): Joint features of shape :obj:`(N, M, T, V, C)`.
        skeleton (Skeleton or str): The layout, :obj:`V` joints.
        drop_absent (bool, optional): Leave out absent persons.
            (default: :obj:`False`)

    Returns:
        A :class:`~torch_geometric.data.Batch` with :obj:`x` of shape
        :obj:`(G * V, C)`, :obj:`G = N * M * T` graphs (fewer with
        :obj:`drop_absent`).

    Raises:
        ValueError: on a wrong shape, or naming how many NaN and inf values
            :obj:`x` holds.

    Example:
        >>> import torch
        >>> from torch_skeleton_mae.data import to_frame_batch
        >>> batch = to_frame_batch(torch.randn(2, 2, 4, 25, 3), 'ntu-rgb+d')
        >>> batch.num_graphs, tuple(batch.x.shape)
        (16, (400, 3))
    """
    skeleton = get_skeleton(skeleton)
    check_sequence(x, skeleton)
    _check_finite(x)
    N, M, T, V, C = x.shape
    device = x.device
    seq = torch.arange(N, device=device).repeat_interleave(M * T)
    person = torch.arange(M, device=device).repeat_interleave(T).repeat(N)
    frame = torch.arange(T, device=device).repeat(N * M)
    nodes = x
    if drop_absent:
        keep = ~absent_persons(x)  # (N, M)
        nodes = nodes[keep]
        keep = keep.repeat_interleave(T, dim=1).view(-1)
        seq, person, frame = seq[keep], person[keep], frame[keep]
    num_graphs = seq.numel()

    edge_index = skeleton.edge_index().to(device)
    E = edge_index.size(1)
    edge_index = block_diagonal(edge_index, num_graphs, V)

    batch = Batch(
        x=nodes.reshape(num_graphs * V, C),
        edge_index=edge_index,
        seq=seq,
        person=person,
        frame=frame,
        batch=torch.arange(num_graphs, device=device).repeat_interleave(V),
        ptr=torch.arange(num_graphs + 1, device=device) * V,
    )
    # The bookkeeping `Batch.from_data_list` would write, so that indexing,
    # `get_example` and `to_data_list` work as on any PyG batch.
    batch._num_graphs = num_graphs
    graph_slice = torch.arange(num_graphs + 1)
    batch._slice_dict = {
        'x': graph_slice * V,
        'edge_index': graph_slice * E,
        'seq': graph_slice,
        'person': graph_slice,
        'frame': graph_slice,
    }
    zeros = torch.zeros(num_graphs, dtype=torch.long)
    batch._inc_dict = {
        'x': zeros,
        'edge_index': graph_slice[:-1] * V,
        'seq': zeros,
        'person': zeros,
        'frame': zeros,
    }
    batch.sequence_size = (N, T, M)
    batch.skeleton = skeleton.name
    return batch


def from_frame_batch(batch: Batch, x: Optional[Tensor] = None) -> Tensor:
    r"""Inverts :func:`to_frame_batch`.

    Args:
        batch (Batch): A batch made by :func:`to_frame_batch`.
        x (Tensor, optional): Node features of shape :obj:`(G * V, F)` to
            place instead of :obj:`batch.x`, *e.g.* a layer's output.

    Returns:
        A :obj:`Tensor` of shape :obj:`(N, M, T, V, F)`; dropped (absent)
        persons are zeros.
    """
    for key in ('seq', 'person', 'frame', 'sequence_size'):
        if key not in batch:
            raise ValueError(f"Expected a batch made by to_frame_batch, "
                             f"which carries '{key}'; this one does not")
    x = batch.x if x is None else x
    N, T, M = batch.sequence_size
    G = batch.seq.numel()
    if G == 0 or x.size(0) % G != 0:
        raise ValueError(f"Expected node features with a multiple of "
                         f"{G} graphs as rows, got {tuple(x.shape)}")
    V = x.size(0) // G
    out = x.new_zeros(N, M, T, V, x.size(-1))
    out[batch.seq, batch.person, batch.frame] = x.view(G, V, -1)
    return out
