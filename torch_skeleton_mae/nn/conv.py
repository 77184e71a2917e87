from typing import Optional, Union

import torch
from torch import Tensor
from torch.nn import Identity, Module
from torch_geometric.nn.conv import MessagePassing
from torch_geometric.nn.inits import reset
from torch_geometric.nn.models import MLP
from torch_geometric.nn.resolver import normalization_resolver
from torch_geometric.typing import Adj, OptPairTensor, OptTensor, Size
from torch_geometric.utils import is_sparse, spmm

from torch_skeleton_mae.data.frame_batch import is_compiling


# PyG's layer norm normalizes each graph by default; ours, each node.
_PER_NODE = {'layer': dict(mode='node'), 'layer_norm': dict(mode='node')}


def node_mlp(in_channels: int, hidden_channels: int, out_channels: int,
             num_layers: int = 2, act: str = 'prelu',
             norm: Optional[str] = 'batch') -> MLP:
    r"""PyG's :class:`~torch_geometric.nn.models.MLP` as the update function
    of :class:`SkeletonGCNConv`: :math:`\mathbf{W}_2 \, \sigma(\mathrm{norm}(
    \mathbf{W}_1 \mathbf{x}))`, or one linear map with :obj:`num_layers=1`;
    PyG resolves :obj:`act` and :obj:`norm` (:obj:`"batch"`, :obj:`"layer"`
    per node, or :obj:`None`).

    Shapes:
        - **input:** :obj:`(num_nodes, in_channels)`
        - **output:** :obj:`(num_nodes, out_channels)`
    """
    if num_layers not in (1, 2):
        raise ValueError(f"SkeletonGCNConv's MLP has 1 or 2 layers "
                         f"('mlp_layers'), got {num_layers}")
    channels = [in_channels] + [hidden_channels] * (num_layers - 1)
    return MLP(channels + [out_channels], act=act, norm=norm,
               norm_kwargs=_PER_NODE.get(norm))


def node_norm(norm: Optional[str], channels: int) -> Module:
    r"""PyG's normalization layer :obj:`norm` (*e.g.* :obj:`"batch"` or
    :obj:`"layer"`, per node) of :obj:`channels` features, or the identity
    for :obj:`None`.

    Shapes:
        - **input:** :obj:`(num_nodes, channels)`
        - **output:** :obj:`(num_nodes, channels)`
    """
    if norm is None:
        return Identity()
    return normalization_resolver(norm, channels, **_PER_NODE.get(norm, {}))


def per_node(module: Module, x: Tensor) -> Tensor:
    r"""Applies :obj:`module` to the rows of :obj:`x` :obj:`(*, C)` as one
    :obj:`(num_nodes, C)` matrix (so that batch norm sees every node once),
    giving :obj:`(*, C_out)`."""
    return module(x.reshape(-1, x.size(-1))).view(*x.shape[:-1], -1)


class SkeletonGCNConv(MessagePassing):
    r"""The graph isomorphism convolution SkeletonMAE's encoder and decoder
    are built from (Yan et al., ICCV 2023, Sec. 3.1; Xu et al., ICLR 2019):

    .. math::
        \mathbf{x}^{\prime}_i = h_{\mathbf{\Theta}} \left( (1 + \epsilon)
        \cdot \mathbf{x}_i + \bigoplus_{j \in \mathcal{N}(i)} w_{j,i} \,
        \mathbf{x}_j \right)

    where :math:`\bigoplus` is the aggregation (a sum by default),
    :math:`h_{\mathbf{\Theta}}` is PyG's
    :class:`~torch_geometric.nn.models.MLP`
    (:func:`~torch_skeleton_mae.nn.conv.node_mlp`; or any module passed as
    :obj:`nn`, as in PyG's :class:`~torch_geometric.nn.conv.GINConv`, which
    sees the nodes as one :obj:`(num_nodes, C)` matrix) and
    :math:`w_{j,i}` an optional edge weight (:obj:`1` by default; a 0/1 weight
    masks edges). No self-loops are added: the root term is :math:`(1 +
    \epsilon) \mathbf{x}_i`, so an adjacency given as :obj:`edge_index`,
    :class:`torch_sparse.SparseTensor` or :obj:`torch.sparse` tensor gives the
    same result.

    Node features may be a flat :obj:`(num_nodes, C)` matrix, as in any PyG
    :class:`~torch_geometric.data.Batch`, a bipartite pair
    :obj:`(x_src, x_dst)` (:obj:`x_dst` may be :obj:`None`), or a
    :obj:`(..., V, C)` tensor of many graphs that share one :obj:`V`-node
    topology (PyG's static-graph mode), which is how the SkeletonMAE models
    call it. In static-graph mode with an :obj:`edge_index` of at most
    :obj:`dense_max_nodes` nodes and sum aggregation, the layer aggregates
    with one batched :obj:`(V, V)` product instead of gathering and
    scattering every edge (the same numbers, far faster for skeletons); any
    other input takes PyG's message passing.

    Args:
        in_channels (int): Size of each input sample, or :obj:`-1` to infer
            it from the first input (lazy). (default: :obj:`-1`)
        out_channels (int, optional): Size of each output sample; needed
            unless :obj:`nn` is given.
        hidden_channels (int, optional): Hidden size of the MLP.
            (default: :obj:`out_channels`)
        eps (float, optional): Initial :math:`\epsilon`. (default: :obj:`0.`)
        train_eps (bool, optional): Learn :math:`\epsilon`.
            (default: :obj:`False`)
        mlp_layers (int, optional): Layers of the default
            :math:`h_{\mathbf{\Theta}}`, :obj:`1` or :obj:`2`.
            (default: :obj:`2`)
        act (str, optional): MLP activation. (default: :obj:`"prelu"`)
        norm (str, optional): MLP normalization, :obj:`"batch"`,
            :obj:`"layer"` or :obj:`None`. (default: :obj:`"batch"`)
        nn (torch.nn.Module, optional): A ready :math:`h_{\mathbf{\Theta}}`
            mapping :obj:`(num_nodes, in_channels)` to :obj:`(num_nodes,
            out_channels)`,
            instead of the default MLP (then leave the MLP settings unset).
        dense_max_nodes (int, optional): Largest :obj:`V` of the dense
            static-graph path; :obj:`0` always passes messages.
            (default: :obj:`256`)
        cached (bool, optional): As PyG's :obj:`cached` (*e.g.*
            :class:`~torch_geometric.nn.conv.GCNConv`'s): the dense path
            checks :obj:`edge_index` and builds its adjacency on the first
            call and reuses them, for one fixed graph (the models' skeleton),
            so that a step does not wait on the device to check the graph
            again. Otherwise every call checks it.
            (default: :obj:`False`)
        **kwargs (optional): Arguments of
            :class:`torch_geometric.nn.conv.MessagePassing`, *e.g.*
            :obj:`aggr="mean"`.

    Shapes:
        - **input:**
          node features :math:`(|\mathcal{V}|, F_{in})`,
          :math:`((|\mathcal{V_s}|, F_{in}), (|\mathcal{V_t}|, F_{in}))` if
          bipartite, or :math:`(*, V, F_{in})`;
          edge indices :math:`(2, |\mathcal{E}|)` or a sparse adjacency
          :math:`(|\mathcal{V_t}|, |\mathcal{V_s}|)` (target-major, as in
          PyG);
          edge weights :math:`(|\mathcal{E}|)` or :math:`(*, |\mathcal{E}|)`
          *(optional)*
        - **output:** node features :math:`(|\mathcal{V}|, F_{out})` or
          :math:`(|\mathcal{V}_t|, F_{out})` if bipartite, or
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
    #: Takes :obj:`(*, V, C)` features of graphs sharing one topology (see
    #: :func:`~torch_skeleton_mae.nn.encoder.apply_conv`).
    supports_static_graph = True

    def __init__(self, in_channels: int = -1,
                 out_channels: Optional[int] = None,
                 hidden_channels: Optional[int] = None, eps: float = 0.,
                 train_eps: bool = False, mlp_layers: int = 2,
                 act: str = 'prelu', norm: Optional[str] = 'batch',
                 nn: Optional[Module] = None, dense_max_nodes: int = 256,
                 cached: bool = False, **kwargs):
        kwargs.setdefault('aggr', 'add')
        super().__init__(**kwargs)
        if nn is None:
            if out_channels is None:
                raise ValueError("SkeletonGCNConv needs 'out_channels' or a "
                                 "ready 'nn'")
            nn = node_mlp(in_channels, hidden_channels or out_channels,
                          out_channels, num_layers=mlp_layers, act=act,
                          norm=norm)
        elif (hidden_channels, mlp_layers, act, norm) != (None, 2, 'prelu',
                                                          'batch'):
            raise ValueError("SkeletonGCNConv: 'hidden_channels', "
                             "'mlp_layers', 'act' and 'norm' set up the "
                             "default MLP; they cannot apply to a given 'nn'")
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.initial_eps = eps
        self.dense_max_nodes = dense_max_nodes
        self.cached = cached
        self.nn = nn
        # The unit adjacency A of the graph (cached=True), moved with the
        # module and never saved.
        self.register_buffer('_cached_adjacency', None, persistent=False)
        if train_eps:
            self.eps = torch.nn.Parameter(torch.empty(1))
        else:
            self.register_buffer('eps', torch.empty(1))
        self.reset_parameters()

    def reset_parameters(self):
        super().reset_parameters()
        self._cached_adjacency = None
        reset(self.nn)
        act = getattr(self.nn, 'act', None)  # PyG's MLP leaves PReLU's weight
        if hasattr(act, 'reset_parameters'):
            act.reset_parameters()
        self.eps.data.fill_(self.initial_eps)

    def forward(self, x: Union[Tensor, OptPairTensor], edge_index: Adj,
                edge_weight: OptTensor = None, size: Size = None) -> Tensor:
        if isinstance(x, Tensor):
            x = (x, x)
        if edge_weight is not None and is_sparse(edge_index):
            raise ValueError("'edge_weight' goes with an 'edge_index'; a "
                             "sparse adjacency carries its weights as values")
        if edge_weight is not None and edge_weight.dtype == torch.bool:
            edge_weight = edge_weight.to(x[0].dtype)
        if x[1] is not None and x[0].size(-1) != x[1].size(-1):
            raise ValueError(f"SkeletonGCNConv sums source and target "
                             f"features, so they need one size; got "
                             f"{x[0].size(-1)} and {x[1].size(-1)}")
        if self.takes_dense_path(x, edge_index, size):
            adj = self.dense_adjacency(edge_index, edge_weight, x[0].size(-2))
            out = torch.matmul(adj.expand(*x[0].shape[:-1], adj.size(-1)),
                               x[0])
            return per_node(self.nn, out)
        out = self.propagate(edge_index, x=x, edge_weight=edge_weight,
                             size=size)
        if x[1] is not None:
            out = out + (1 + self.eps) * x[1]
        return per_node(self.nn, out)

    def takes_dense_path(self, x: OptPairTensor, edge_index: Adj,
                         size: Size = None) -> bool:
        r"""Whether the forward pass aggregates with one :obj:`(V, V)` matrix:
        static-graph features :obj:`(*, V, C)` (not bipartite), an
        :obj:`edge_index`, sum aggregation, :obj:`V` at most
        :obj:`dense_max_nodes` and :obj:`size` unset or :obj:`(V, V)`."""
        x_src, x_dst = x
        if x_src.dim() < 3 or x_dst is not x_src or is_sparse(edge_index):
            return False
        V = x_src.size(-2)
        return (self.aggr in ('add', 'sum') and V <= self.dense_max_nodes
                and (size is None or tuple(size) == (V, V)))

    def dense_adjacency(self, edge_index: Tensor, edge_weight: OptTensor,
                        num_nodes: int) -> Tensor:
        r"""The aggregation as a matrix :math:`\mathbf{A} + (1 + \epsilon)
        \mathbf{I}` indexed :obj:`[target, source]`, of shape :obj:`(V, V)`,
        or :obj:`(*, V, V)` for edge weights of shape :obj:`(*, E)`.

        With :obj:`cached`, :obj:`edge_index` is checked and
        :math:`\mathbf{A}` of unit weights built on the first call only.

        Raises:
            ValueError: if :obj:`edge_index` names a node outside
                :obj:`[0, num_nodes)` (checked outside
                :func:`torch.compile`).
        """
        V = num_nodes
        eye = torch.eye(V, dtype=self.eps.dtype, device=edge_index.device)
        adj = self._cached_adjacency
        if adj is None:
            if not is_compiling():
                self._check_nodes(edge_index, V)
            if self.cached:
                adj = self._cached_adjacency = self._scatter(edge_index,
                                                             None, V)
        if edge_weight is not None or adj is None:
            adj = self._scatter(edge_index, edge_weight, V)
        return adj + (1 + self.eps) * eye

    def _scatter(self, edge_index: Tensor, edge_weight: OptTensor,
                 V: int) -> Tensor:
        # The (*, V, V) matrix of edge weights (unit without), [target,
        # source].
        if edge_weight is None:
            edge_weight = torch.ones(edge_index.size(1), dtype=self.eps.dtype,
                                     device=edge_index.device)
        src, dst = edge_index if self.flow == 'source_to_target' else (
            edge_index.flip(0))
        adj = edge_weight.new_zeros(*edge_weight.shape[:-1], V * V)
        adj = adj.index_add(-1, dst * V + src, edge_weight)
        return adj.view(*adj.shape[:-1], V, V)

    @staticmethod
    def _check_nodes(edge_index: Tensor, num_nodes: int) -> None:
        if edge_index.numel() > 0:
            low, high = int(edge_index.min()), int(edge_index.max())
            if low < 0 or high >= num_nodes:
                raise ValueError(
                    f"'edge_index' names node {low if low < 0 else high}, "
                    f"outside [0, {num_nodes}) of the {num_nodes}-node "
                    f"graphs in 'x'")

    def message(self, x_j: Tensor, edge_weight: OptTensor) -> Tensor:
        if edge_weight is None:
            return x_j
        return x_j * edge_weight.unsqueeze(-1)

    def message_and_aggregate(self, adj_t: Adj, x: OptPairTensor) -> Tensor:
        src = x[0]
        if src.dim() == 2:
            return spmm(adj_t, src, reduce=self.aggr)
        # Static-graph mode: one sparse product over all graphs at once.
        flat = src.movedim(-2, 0)
        out = spmm(adj_t, flat.reshape(flat.size(0), -1), reduce=self.aggr)
        return out.view(out.size(0), *flat.shape[1:]).movedim(0, -2)

    def __repr__(self) -> str:
        train_eps = isinstance(self.eps, torch.nn.Parameter)
        return (f'{self.__class__.__name__}(nn={self.nn}, '
                f'eps={float(self.eps.detach()):g}, train_eps={train_eps}, '
                f"aggr='{self.aggr}')")
