from typing import Optional

import torch
from torch import Tensor
from torch_geometric.nn.conv import MessagePassing
from torch_geometric.typing import Adj, OptTensor
from torch_geometric.utils import is_sparse, spmm

from torch_skeleton_mae.nn.mlp import NodeMLP


class SkeletonGCNConv(MessagePassing):
    r"""The graph isomorphism convolution SkeletonMAE's encoder and decoder
    are built from (Yan et al., ICCV 2023, Sec. 3.1; Xu et al., ICLR 2019):

    .. math::
        \mathbf{x}^{\prime}_i = h_{\mathbf{\Theta}} \left( (1 + \epsilon)
        \cdot \mathbf{x}_i + \sum_{j \in \mathcal{N}(i)} w_{j,i} \,
        \mathbf{x}_j \right)

    where :math:`h_{\mathbf{\Theta}}` is a :class:`NodeMLP` and
    :math:`w_{j,i}` an optional edge weight (:obj:`1` by default; a 0/1
    weight masks edges). No self-loops are added: the root term is
    :math:`(1 + \epsilon) \mathbf{x}_i`, so an adjacency given as
    :obj:`edge_index`, :class:`torch_sparse.SparseTensor` or
    :obj:`torch.sparse` tensor gives the same result.

    Node features may be a flat :obj:`(num_nodes, C)` matrix, as in any PyG
    :class:`~torch_geometric.data.Batch`, or a :obj:`(..., V, C)` tensor of
    many graphs that share one :obj:`V`-node topology (PyG's static-graph
    mode), which is how the SkeletonMAE models call it. In static-graph mode
    with an :obj:`edge_index` of at most :obj:`dense_max_nodes` nodes, the
    layer aggregates with one batched :obj:`(V, V)` product instead of
    gathering and scattering every edge (same numbers, far faster for
    skeletons); :obj:`dense_max_nodes=0` always uses message passing.

    Args:
        in_channels (int): Size of each input sample.
        out_channels (int): Size of each output sample.
        hidden_channels (int, optional): Hidden size of the MLP.
            (default: :obj:`out_channels`)
        eps (float, optional): Initial :math:`\epsilon`. (default: :obj:`0.`)
        train_eps (bool, optional): Learn :math:`\epsilon`.
            (default: :obj:`False`)
        mlp_layers (int, optional): Layers of :math:`h_{\mathbf{\Theta}}`,
            :obj:`1` or :obj:`2`. (default: :obj:`2`)
        act (str, optional): MLP activation. (default: :obj:`"prelu"`)
        norm (str, optional): MLP normalization, :obj:`"batch"`,
            :obj:`"layer"` or :obj:`None`. (default: :obj:`"batch"`)
        dense_max_nodes (int, optional): Largest :obj:`V` of the dense
            static-graph path. (default: :obj:`256`)
        **kwargs (optional): Arguments of
            :class:`torch_geometric.nn.conv.MessagePassing`.

    Shapes:
        - **input:**
          node features :math:`(|\mathcal{V}|, F_{in})` or
          :math:`(*, V, F_{in})`,
          edge indices :math:`(2, |\mathcal{E}|)` or a sparse adjacency
          :math:`(|\mathcal{V}|, |\mathcal{V}|)` (target-major, as in PyG),
          edge weights :math:`(|\mathcal{E}|)` or :math:`(*, |\mathcal{E}|)`
          *(optional)*
        - **output:** node features :math:`(|\mathcal{V}|, F_{out})` or
          :math:`(*, V, F_{out})`

    Example:
        >>> import torch
        >>> from torch_skeleton_mae.graph import get_skeleton
        >>> from torch_skeleton_mae.nn import SkeletonGCNConv
        >>> conv = SkeletonGCNConv(3, 64)
        >>> x = torch.randn(8, 64, 25, 3)  # (N, T, V, C)
        >>> conv(x, get_skeleton('ntu-rgb+d').edge_index()).shape
        torch.Size([8, 64, 25, 64])
    """
    def __init__(self, in_channels: int, out_channels: int,
                 hidden_channels: Optional[int] = None, eps: float = 0.,
                 train_eps: bool = False, mlp_layers: int = 2,
                 act: str = 'prelu', norm: Optional[str] = 'batch',
                 dense_max_nodes: int = 256, **kwargs):
        kwargs.setdefault('aggr', 'add')
        super().__init__(**kwargs)
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.initial_eps = eps
        self.dense_max_nodes = dense_max_nodes
        self.nn = NodeMLP(in_channels, hidden_channels or out_channels,
                          out_channels, num_layers=mlp_layers, act=act,
                          norm=norm)
        if train_eps:
            self.eps = torch.nn.Parameter(torch.empty(1))
        else:
            self.register_buffer('eps', torch.empty(1))
        self.reset_parameters()

    def reset_parameters(self):
        super().reset_parameters()
        self.nn.reset_parameters()
        self.eps.data.fill_(self.initial_eps)

    def forward(self, x: Tensor, edge_index: Adj,
                edge_weight: OptTensor = None) -> Tensor:
        return self.nn(self.aggregate_neighbors(x, edge_index, edge_weight))

    def aggregate_neighbors(self, x: Tensor, edge_index: Adj,
                            edge_weight: OptTensor = None) -> Tensor:
        r"""The MLP's input :math:`(1 + \epsilon) \mathbf{x}_i +
        \sum_j w_{j,i} \mathbf{x}_j`, of the shape of :obj:`x`."""
        if edge_weight is not None and is_sparse(edge_index):
            raise ValueError("'edge_weight' goes with an 'edge_index'; a "
                             "sparse adjacency carries its weights as values")
        if edge_weight is not None and edge_weight.dtype == torch.bool:
            edge_weight = edge_weight.to(x.dtype)
        if (x.dim() > 2 and not is_sparse(edge_index)
                and x.size(-2) <= self.dense_max_nodes):
            adj = self.dense_adjacency(edge_index, edge_weight, x.size(-2))
            return torch.matmul(adj.expand(*x.shape[:-1], x.size(-2)), x)
        out = self.propagate(edge_index, x=x, edge_weight=edge_weight)
        return out + (1 + self.eps) * x

    def dense_adjacency(self, edge_index: Tensor, edge_weight: OptTensor,
                        num_nodes: int) -> Tensor:
        r"""The aggregation as a matrix :math:`\mathbf{A} + (1 + \epsilon)
        \mathbf{I}` indexed :obj:`[target, source]`, of shape :obj:`(V, V)`,
        or :obj:`(*, V, V)` for edge weights of shape :obj:`(*, E)`."""
        src, dst = edge_index if self.flow == 'source_to_target' else (
            edge_index.flip(0))
        if edge_weight is None:
            edge_weight = torch.ones(edge_index.size(1), device=src.device,
                                     dtype=self.eps.dtype)
        V = num_nodes
        adj = edge_weight.new_zeros(*edge_weight.shape[:-1], V * V)
        adj = adj.index_add(-1, dst * V + src, edge_weight)
        eye = torch.eye(V, dtype=adj.dtype, device=adj.device)
        return adj.view(*adj.shape[:-1], V, V) + (1 + self.eps) * eye

    def message(self, x_j: Tensor, edge_weight: OptTensor) -> Tensor:
        if edge_weight is None:
            return x_j
        return x_j * edge_weight.unsqueeze(-1)

    def message_and_aggregate(self, adj_t: Adj, x: Tensor) -> Tensor:
        if x.dim() == 2:
            return spmm(adj_t, x, reduce=self.aggr)
        # Static-graph mode: one (V, V) product over all graphs at once.
        flat = x.movedim(-2, 0)
        out = spmm(adj_t, flat.reshape(flat.size(0), -1), reduce=self.aggr)
        return out.view(flat.shape).movedim(0, -2)

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}({self.in_channels}, '
                f'{self.out_channels}, eps={float(self.eps.detach()):g}, '
                f'train_eps={isinstance(self.eps, torch.nn.Parameter)})')
