from typing import List, Optional, Union

from torch import Tensor
from torch.nn import Module
from torch_geometric.nn import MLP, DenseGINConv, GINConv, MessagePassing
from torch_geometric.typing import Adj, OptPairTensor, OptTensor, Size
from torch_geometric.utils import is_sparse, spmm


class NodeMLP(MLP):
    r"""PyG's :class:`~torch_geometric.nn.models.MLP` over the last dimension
    of :obj:`(*, C)` (its batch norm sees every node as a row) that also
    resets its PReLU, which PyG's leaves.

    Shapes:
        - **input:** :obj:`(*, channel_list[0])`
        - **output:** :obj:`(*, channel_list[-1])`
    """
    def reset_parameters(self):
        super().reset_parameters()
        if hasattr(self.act, 'reset_parameters'):
            self.act.reset_parameters()

    def forward(self, x: Tensor, *args, **kwargs) -> Tensor:
        out = super().forward(x.reshape(-1, x.size(-1)), *args, **kwargs)
        return out.view(*x.shape[:-1], out.size(-1))


def gin_mlp(channels: List[int]) -> NodeMLP:
    r"""The paper's GIN update :math:`h_{\mathbf{\Theta}}`: linear maps of
    :obj:`channels` with batch norm and PReLU between them (Sec. 4.2),
    mapping :obj:`(*, channels[0])` to :obj:`(*, channels[-1])`."""
    return NodeMLP(channels, act='prelu', norm='batch')


def dense_gin(in_channels: int, out_channels: int,
              hidden_channels: Optional[int] = None) -> DenseGINConv:
    r"""The models' GIN layer: PyG's
    :class:`~torch_geometric.nn.dense.DenseGINConv` with a two-layer
    :func:`gin_mlp` (hidden size :obj:`hidden_channels`, default
    :obj:`out_channels`), mapping :obj:`(B, V, in_channels)` and an
    adjacency :obj:`(V, V)` or :obj:`(B, V, V)` to :obj:`(B, V,
    out_channels)`."""
    return DenseGINConv(gin_mlp([in_channels, hidden_channels or out_channels,
                                 out_channels]))


class SkeletonGCNConv(GINConv):
    r"""PyG's :class:`~torch_geometric.nn.conv.GINConv` (Xu et al., ICLR
    2019; SkeletonMAE's layer, Sec. 3.1) with an optional edge weight, for
    graphs given as a node list, as in any PyG
    :class:`~torch_geometric.data.Batch`:

    .. math::
        \mathbf{x}^{\prime}_i = h_{\mathbf{\Theta}} \left( (1 + \epsilon)
        \cdot \mathbf{x}_i + \bigoplus_{j \in \mathcal{N}(i)} w_{j,i} \,
        \mathbf{x}_j \right)

    with :math:`h_{\mathbf{\Theta}}` the paper's MLP
    (:func:`~torch_skeleton_mae.nn.conv.gin_mlp`) unless :obj:`nn` is given,
    :math:`\bigoplus` the aggregation (a sum by default) and :math:`w_{j,i}`
    the edge weight (:obj:`1` without; 0/1 masks edges). The models run it
    densely on their fixed skeleton
    (:func:`~torch_skeleton_mae.nn.conv.dense_gin`).

    Args:
        in_channels (int, optional): Input size, :obj:`-1` to infer it
            (lazy). (default: :obj:`-1`)
        out_channels (int, optional): Output size; needed unless :obj:`nn`
            is given.
        nn (torch.nn.Module, optional): A ready :math:`h_{\mathbf{\Theta}}`.
        eps (float, optional): Initial :math:`\epsilon`. (default: :obj:`0.`)
        train_eps (bool, optional): Learn :math:`\epsilon`.
            (default: :obj:`False`)
        **kwargs (optional): Of
            :class:`~torch_geometric.nn.conv.MessagePassing`, *e.g.*
            :obj:`aggr="mean"`.

    Shapes:
        - **input:** node features :math:`(|\mathcal{V}|, F_{in})` or
          :math:`((|\mathcal{V_s}|, F_{in}), (|\mathcal{V_t}|, F_{in}))` if
          bipartite; edge indices :math:`(2, |\mathcal{E}|)` or a sparse
          adjacency :math:`(|\mathcal{V_t}|, |\mathcal{V_s}|)`, whose values
          are the weights; edge weights :math:`(|\mathcal{E}|)`
          *(optional)*
        - **output:** :math:`(|\mathcal{V}|, F_{out})` or
          :math:`(|\mathcal{V}_t|, F_{out})` if bipartite

    Example:
        >>> import torch
        >>> from torch_skeleton_mae.nn import SkeletonGCNConv
        >>> conv = SkeletonGCNConv(3, 64)
        >>> edge_index = torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]])
        >>> conv(torch.randn(3, 3), edge_index).shape
        torch.Size([3, 64])
    """
    propagate_type = {'x': OptPairTensor, 'edge_weight': OptTensor}
    # PyG compiles a propagate per class; ours, not GINConv's, is the one
    # explain mode falls back to.
    propagate = MessagePassing.propagate

    def __init__(self, in_channels: int = -1,
                 out_channels: Optional[int] = None,
                 nn: Optional[Module] = None, eps: float = 0.,
                 train_eps: bool = False, **kwargs):
        if nn is None:
            if out_channels is None:
                raise ValueError("SkeletonGCNConv needs 'out_channels' or a "
                                 "ready 'nn'")
            nn = gin_mlp([in_channels, out_channels, out_channels])
        super().__init__(nn, eps, train_eps, **kwargs)

    def forward(self, x: Union[Tensor, OptPairTensor], edge_index: Adj,
                edge_weight: OptTensor = None, size: Size = None) -> Tensor:
        if isinstance(x, Tensor):
            x = (x, x)
        if edge_weight is not None and is_sparse(edge_index):
            raise ValueError("'edge_weight' goes with an 'edge_index'; a "
                             "sparse adjacency carries its weights as values")
        if x[1] is not None and x[0].size(-1) != x[1].size(-1):
            raise ValueError(f"SkeletonGCNConv sums source and target "
                             f"features, so they need one size; got "
                             f"{x[0].size(-1)} and {x[1].size(-1)}")
        out = self.propagate(edge_index, x=x, edge_weight=edge_weight,
                             size=size)
        if x[1] is not None:
            out = out + (1 + self.eps) * x[1]
        return self.nn(out)

    def message(self, x_j: Tensor, edge_weight: OptTensor) -> Tensor:
        return x_j if edge_weight is None else (
            x_j * edge_weight.to(x_j.dtype).unsqueeze(-1))

    def message_and_aggregate(self, adj_t: Adj, x: OptPairTensor) -> Tensor:
        # GINConv drops a SparseTensor's values; here they are the weights.
        return spmm(adj_t, x[0], reduce=self.aggr)
