import functools
import inspect
from typing import Callable, Optional, Union

import torch
import torch_geometric.nn
from torch import Tensor
from torch.nn import Module, ModuleList, PReLU
from torch_geometric.nn import DenseGATConv, DenseGCNConv, DenseGINConv
from torch_geometric.nn.inits import reset
from torch_geometric.nn.norm import BatchNorm
from torch_geometric.typing import OptTensor

from torch_skeleton_mae.data.frame_batch import block_diagonal
from torch_skeleton_mae.nn.conv import dense_gin

#: The encoder layers of the paper's Table 4c by name, PyG's dense GIN (the
#: paper's), GCN and GAT layers on the skeleton's adjacency.
CONVS = {'gin': dense_gin, 'gcn': DenseGCNConv, 'gat': DenseGATConv}

#: A layer by name (a key of :data:`CONVS` or a conv class that
#: :mod:`torch_geometric.nn` exports), or a class :obj:`(in, out) -> Module`.
ConvSpec = Union[str, Callable[..., Module]]


def conv_class(conv: ConvSpec) -> Callable[..., Module]:
    r"""The layer :obj:`conv` names (looked up, never imported); a class is
    returned as is.

    Raises:
        ValueError: for a name that is neither.
    """
    if not isinstance(conv, str):
        return conv
    found = CONVS.get(conv) or getattr(torch_geometric.nn, conv, None)
    if not (isinstance(found, type) and issubclass(found, Module)) and (
            found is not dense_gin):
        raise ValueError(f"Unknown graph convolution '{conv}'; expected one "
                         f"of {sorted(CONVS)} or a conv class that "
                         f"torch_geometric.nn exports")
    return found


def conv_name(conv: ConvSpec) -> Optional[str]:
    r"""What a config stores for :obj:`conv`: its name, a PyG class's own
    name, or :obj:`None` for a class of one's own (a config cannot rebuild
    it)."""
    if isinstance(conv, str):
        return conv
    name = next((k for k, v in CONVS.items() if v is conv),
                getattr(conv, '__name__', ''))
    found = CONVS.get(name) or getattr(torch_geometric.nn, name, None)
    return name if found is conv else None


@functools.lru_cache(maxsize=None)  # read once per class, not every step
def is_dense(cls: type) -> bool:
    r"""Whether layer class :obj:`cls` takes a dense adjacency, as PyG's
    dense layers do (:obj:`forward(x, adj, ...)`)."""
    return 'adj' in inspect.signature(cls.forward).parameters


def dense_adjacency(edge_index: Tensor, edge_weight: OptTensor,
                    num_nodes: int, dtype: torch.dtype) -> Tensor:
    r"""The :obj:`[target, source]` adjacency of :obj:`edge_index`,
    :obj:`(V, V)`, or :obj:`(*, V, V)` for edge weights :obj:`(*, E)`; built
    with a scatter, so that nothing waits on the device."""
    V = num_nodes
    if edge_weight is None:
        edge_weight = torch.ones(edge_index.size(1), dtype=dtype,
                                 device=edge_index.device)
    adj = edge_weight.to(dtype).new_zeros(*edge_weight.shape[:-1], V * V)
    adj = adj.index_add(-1, edge_index[1] * V + edge_index[0],
                        edge_weight.to(dtype))
    return adj.view(*adj.shape[:-1], V, V)


def on_graphs(module: Module, x: Tensor, edge_index: Tensor,
              edge_weight: OptTensor = None) -> Tensor:
    r"""Runs a graph layer or encoder on :obj:`(*, V, C)` features of graphs
    that share one :obj:`edge_index`: a :class:`GraphEncoder` as it is, a
    dense layer (:func:`is_dense`) on the :obj:`(V, V)` adjacency (per graph
    with edge weights), any other PyG layer on the block-diagonal graph of
    all of them, as a :class:`~torch_geometric.data.Batch` holds them.

    Args:
        module (Module): The layer.
        x (Tensor): :obj:`(*, V, C)`.
        edge_index (Tensor): One graph's edges :obj:`(2, E)`.
        edge_weight (Tensor, optional): :obj:`(E,)` or :obj:`(*, E)`; only
            for a dense layer or a :class:`GraphEncoder` of them.

    Returns:
        :obj:`(*, V, C_out)`.
    """
    if isinstance(module, GraphEncoder):
        return module(x, edge_index, edge_weight)
    lead, (V, C) = x.shape[:-2], x.shape[-2:]
    if isinstance(module, DenseGINConv):
        # DenseGINConv's update as one product with A + (1 + eps) I that
        # broadcasts over (*, V, C) (its forward takes 3D only).
        adj = dense_adjacency(edge_index, edge_weight, V, x.dtype)
        eye = torch.eye(V, dtype=x.dtype, device=x.device)
        return module.nn(torch.matmul(adj + (1 + module.eps) * eye, x))
    if is_dense(type(module)):
        adj = dense_adjacency(edge_index, edge_weight, V, x.dtype)
        if adj.dim() > 2:  # a graph per sample
            adj = adj.expand(*lead, V, V).reshape(-1, V, V)
        out = module(x.reshape(-1, V, C), adj)
    elif edge_weight is not None:
        raise ValueError(f"{type(module).__name__} runs on the edges of a "
                         f"block-diagonal graph, where an edge weight (the "
                         f"masked edges) is not defined; use a dense layer")
    else:
        graphs = x.numel() // (V * C)
        out = module(x.reshape(-1, C), block_diagonal(edge_index, graphs, V))
    return out.view(*lead, V, out.size(-1))


class GraphEncoder(Module):
    r"""SkeletonMAE's encoder :math:`G_E` (Eq. 1): :obj:`num_layers` (the
    paper's :math:`L_D = 3`) graph layers, each followed by batch norm and
    PReLU (Sec. 4.2), stacked as PyG's
    :class:`~torch_geometric.nn.models.BasicGNN` stacks one conv class. The
    paper's layer is GIN (:func:`~torch_skeleton_mae.nn.conv.dense_gin`),
    Table 4c's GCN and GAT are PyG's dense ones; any PyG conv class
    :obj:`(in, out)` stands in (see
    :func:`~torch_skeleton_mae.nn.encoder.on_graphs`).

    Args:
        in_channels (int): Input size.
        hidden_channels (int, optional): Hidden and output size :math:`D_h`.
            (default: :obj:`64`)
        num_layers (int, optional): :math:`L_D`. (default: :obj:`3`)
        conv (str or type, optional): The layer, see
            :func:`~torch_skeleton_mae.nn.encoder.conv_class`.
            (default: :obj:`"gin"`)

    Shapes:
        - **input:** :math:`(*, V, C)`, one graph's :obj:`edge_index`
          :math:`(2, E)`, edge weights :math:`(E)` or :math:`(*, E)`
          *(optional, dense layers)*
        - **output:** :math:`(*, V, D_h)`

    Example:
        >>> import torch
        >>> from torch_geometric.nn import SAGEConv
        >>> from torch_skeleton_mae.graph import get_skeleton
        >>> from torch_skeleton_mae.nn.encoder import GraphEncoder
        >>> edge_index = get_skeleton('coco').edge_index()
        >>> GraphEncoder(2, 64, conv=SAGEConv)(torch.randn(8, 17, 2),
        ...                                    edge_index).shape
        torch.Size([8, 17, 64])
    """
    def __init__(self, in_channels: int, hidden_channels: int = 64,
                 num_layers: int = 3, conv: ConvSpec = 'gin'):
        super().__init__()
        if num_layers < 1:
            raise ValueError(f"'encoder_layers' must be >= 1, got "
                             f"{num_layers}")
        layer = conv_class(conv)
        self.in_channels = in_channels
        self.hidden_channels = hidden_channels
        self.conv = conv_name(conv)
        self.convs = ModuleList([
            layer(in_channels if i == 0 else hidden_channels, hidden_channels)
            for i in range(num_layers)])
        self.norms = ModuleList([BatchNorm(hidden_channels)
                                 for _ in range(num_layers)])
        self.acts = ModuleList([PReLU() for _ in range(num_layers)])

    def reset_parameters(self):
        r"""Resets all learnable parameters of the module."""
        for module in (*self.convs, *self.norms, *self.acts):
            reset(module)  # PyG's: also a conv class of one's own

    def forward(self, x: Tensor, edge_index: Tensor,
                edge_weight: OptTensor = None) -> Tensor:
        for conv, norm, act in zip(self.convs, self.norms, self.acts):
            x = on_graphs(conv, x, edge_index, edge_weight)
            x = act(norm(x.reshape(-1, x.size(-1))).view_as(x))
        return x

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}({self.in_channels}, '
                f'{self.hidden_channels}, num_layers={len(self.convs)}, '
                f'conv={self.conv!r})')
