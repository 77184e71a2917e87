from typing import Callable, Optional, Union

import torch
import torch_geometric.nn
from torch import Tensor
from torch.nn import Linear, Module, ModuleList, Parameter
from torch_geometric.nn import GATConv, GCNConv, MessagePassing
from torch_geometric.nn.resolver import activation_resolver
from torch_geometric.typing import Adj, OptTensor

from torch_skeleton_mae.data.frame_batch import block_diagonal
from torch_skeleton_mae.nn.conv import SkeletonGCNConv, node_norm, per_node


class _LoopsAppended:
    # For a PyG conv that adds self-loops itself: built without, and handed
    # every node's loop appended to a graph that holds none (a skeleton's).
    # PyG's own (add_remaining_self_loops) selects edges by a mask, a shape
    # that depends on the data, which waits on the device in every step.
    def __init__(self, in_channels: int, out_channels: int, **kwargs):
        super().__init__(in_channels, out_channels, add_self_loops=False,
                         **kwargs)

    def forward(self, x: Tensor, edge_index: Tensor, *args, **kwargs):
        loops = torch.arange(x.size(0), device=edge_index.device)
        return super().forward(
            x, torch.cat([edge_index, loops.expand(2, -1)], dim=1), *args,
            **kwargs)


class LoopedGCNConv(_LoopsAppended, GCNConv):
    r"""PyG's :class:`~torch_geometric.nn.conv.GCNConv` with the self-loops
    of a loop-free graph appended without waiting on the device (the same
    result as its own :obj:`add_self_loops=True`; a graph that holds loops
    already would get them twice). Takes :obj:`GCNConv`'s arguments but
    :obj:`add_self_loops`.

    Shapes:
        - **input:** node features :obj:`(N, F_in)`, edge indices
          :obj:`(2, E)` without self-loops
        - **output:** node features :obj:`(N, F_out)`
    """


class LoopedGATConv(_LoopsAppended, GATConv):
    r"""PyG's :class:`~torch_geometric.nn.conv.GATConv` with appended
    self-loops, as :class:`LoopedGCNConv` for
    :class:`~torch_geometric.nn.conv.GCNConv`.

    Shapes:
        - **input:** node features :obj:`(N, F_in)`, edge indices
          :obj:`(2, E)` without self-loops
        - **output:** node features :obj:`(N, F_out)`
    """


#: The encoder backbones of the paper's Table 4c by name (GIN, ours and the
#: paper's choice, and PyG's own GCN and GAT layers).
CONVS = {'gin': SkeletonGCNConv, 'gcn': LoopedGCNConv, 'gat': LoopedGATConv}

ConvSpec = Union[str, Callable[..., Module]]
#: What a model's :obj:`encoder` argument takes: a convolution (by name or
#: factory) for a :class:`GraphEncoder`, or a ready encoder module.
EncoderSpec = Union[ConvSpec, Module]


class JointEmbedding(Module):
    r"""Lifts joint coordinates to :obj:`D` features (the paper's linear map
    of :math:`\mathbf{S} \in \mathbb{R}^{N \times T \times 2}` to
    :math:`\mathbb{R}^{N \times T \times D}`, Sec. 3.1.1) and, optionally,
    adds a learnable embedding per joint so that a masked joint still knows
    which joint it is.

    Args:
        in_channels (int): Coordinates per joint :obj:`C`.
        out_channels (int): Feature size :obj:`D`.
        num_joints (int): Joints :obj:`V`.
        positional (bool, optional): Add the per-joint embedding.
            (default: :obj:`True`)
        bias (bool, optional): An affine map :math:`\mathbf{W} \mathbf{x} +
            \mathbf{b}` instead of the linear :math:`\mathbf{W} \mathbf{x}`.
            (default: :obj:`True`)

    Shapes:
        - **input:** :math:`(*, V, C)`
        - **output:** :math:`(*, V, D)`
    """
    def __init__(self, in_channels: int, out_channels: int, num_joints: int,
                 positional: bool = True, bias: bool = True):
        super().__init__()
        self.lin = Linear(in_channels, out_channels, bias=bias)
        self.position = (Parameter(torch.empty(num_joints, out_channels))
                         if positional else None)
        self.reset_parameters()

    def reset_parameters(self):
        r"""Resets all learnable parameters of the module."""
        self.lin.reset_parameters()
        if self.position is not None:
            torch.nn.init.trunc_normal_(self.position, std=0.02)

    def project(self, x: Tensor) -> Tensor:
        r"""The linear map alone."""
        return self.lin(x)

    def add_position(self, h: Tensor) -> Tensor:
        r"""Adds the per-joint embedding (if any) to projected features."""
        return h if self.position is None else h + self.position

    def invert(self, y: Tensor) -> Tensor:
        r"""Coordinates whose projection points the way :obj:`y` does: the
        :math:`\mathbf{x}` of :math:`\min_{\mathbf{x}, s} \|s \mathbf{y} -
        (\mathbf{W} \mathbf{x} + \mathbf{b})\|` (a cosine-error
        reconstruction of the embedding fixes directions, not lengths), or
        of :math:`\min_{\mathbf{x}} \|\mathbf{y} - \mathbf{W}
        \mathbf{x}\|` without a bias (then only the direction of each
        :math:`\mathbf{x}` is meaningful). Maps :obj:`(*, D)` to
        :obj:`(*, C)`."""
        weight, bias = self.lin.weight, self.lin.bias  # (D, C), (D,)
        D, C = weight.shape
        rows = y.reshape(-1, D).to(weight.dtype)
        if bias is None:
            solution = torch.linalg.lstsq(weight, rows.T).solution  # (C, n)
            return solution.T.reshape(*y.shape[:-1], C)
        system = torch.cat([weight.expand(rows.size(0), D, C),
                            -rows.unsqueeze(-1)], dim=-1)
        rhs = -bias.expand(rows.size(0), D).unsqueeze(-1)
        solution = torch.linalg.lstsq(system, rhs).solution
        return solution[:, :C, 0].view(*y.shape[:-1], C)

    def forward(self, x: Tensor) -> Tensor:
        return self.add_position(self.project(x))


def register_conv(name: str, factory: Callable[..., Module]) -> None:
    r"""Makes :obj:`factory` (*e.g.* a conv class of one's own) the
    convolution that :obj:`encoder=name` and any checkpoint naming
    :obj:`name` build. The only way a name reaches code: a checkpoint's
    config is never imported from.

    Raises:
        ValueError: if :obj:`name` is registered already for another
            factory.
    """
    if not callable(factory):
        raise TypeError(f"register_conv: '{name}' needs a callable "
                        f"(in_channels, out_channels) -> Module, got "
                        f"{type(factory).__name__}")
    known = CONVS.get(name)
    if known is not None and known is not factory:
        raise ValueError(f"register_conv: '{name}' is registered already "
                         f"for {known!r}")
    CONVS[name] = factory


def conv_name(conv: ConvSpec) -> str:
    r"""A name for :obj:`conv` that
    :func:`~torch_skeleton_mae.nn.encoder.make_conv` turns back into the same
    layer: its key in :data:`CONVS`, else its import path (*e.g.*
    :obj:`"torch_geometric.nn.conv.sage_conv.SAGEConv"`), under which a class
    is registered (:func:`~torch_skeleton_mae.nn.register_conv`) if PyG does
    not export it."""
    if isinstance(conv, str):
        return conv
    for name, factory in CONVS.items():
        if conv is factory:
            return name
    name = f'{conv.__module__}.{conv.__qualname__}'
    if _pyg_conv(name) is not conv:
        register_conv(name, conv)
    return name


def _pyg_conv(name: str) -> Optional[type]:
    # A conv class that torch_geometric.nn exports, by its import path,
    # found among what is imported already (nothing is imported).
    cls = getattr(torch_geometric.nn, name.rpartition('.')[2], None)
    if (isinstance(cls, type) and issubclass(cls, MessagePassing)
            and f'{cls.__module__}.{cls.__qualname__}' == name):
        return cls
    return None


def make_conv(conv: ConvSpec, in_channels: int, out_channels: int,
              act: str = 'prelu', norm: Optional[str] = 'batch',
              cached: bool = False) -> Module:
    r"""Builds one graph convolution :obj:`in_channels -> out_channels`.

    Args:
        conv (str or callable): :obj:`"gin"`
            (:class:`~torch_skeleton_mae.nn.SkeletonGCNConv` with its MLP's
            :obj:`act` and :obj:`norm`), :obj:`"gcn"` (PyG's
            :class:`~torch_geometric.nn.conv.GCNConv`), :obj:`"gat"` (PyG's
            :class:`~torch_geometric.nn.conv.GATConv`, one head), any callable
            :obj:`(in_channels, out_channels) -> MessagePassing` such as a PyG
            conv class, the import path of a conv class that
            :mod:`torch_geometric.nn` exports, or a name given to
            :func:`~torch_skeleton_mae.nn.register_conv`. Nothing is imported
            by name.
        in_channels (int): Input size.
        out_channels (int): Output size.
        act (str, optional): For :obj:`"gin"`. (default: :obj:`"prelu"`)
        norm (str, optional): For :obj:`"gin"`. (default: :obj:`"batch"`)
        cached (bool, optional): For :obj:`"gin"`: one fixed graph.
            (default: :obj:`False`)
    """
    if conv == 'gin':
        return SkeletonGCNConv(in_channels, out_channels, act=act, norm=norm,
                               cached=cached)
    factory = conv
    if isinstance(conv, str):
        factory = CONVS.get(conv) or _pyg_conv(conv)
        if factory is None:
            raise ValueError(f"Unknown graph convolution '{conv}'; expected "
                             f"one of {sorted(CONVS)}, a conv class that "
                             f"torch_geometric.nn exports, or a name given "
                             f"to register_conv (a name is never imported)")
    if not callable(factory):
        raise TypeError(f"'conv' must be a name or a callable "
                        f"(in_channels, out_channels) -> Module, got "
                        f"{type(conv).__name__}")
    return factory(in_channels, out_channels)


def apply_conv(conv: Module, x: Tensor, edge_index: Tensor,
               edge_weight: OptTensor = None) -> Tensor:
    r"""Runs any PyG convolution on features of many graphs that share one
    topology.

    :class:`~torch_skeleton_mae.nn.SkeletonGCNConv` (and any layer whose class
    sets :obj:`supports_static_graph = True`) takes the :obj:`(*, V, C)` tensor
    as it is (static-graph mode). Any other layer sees one block-diagonal graph
    of all :obj:`B = prod(*)` graphs, :obj:`(B * V, C)` nodes, the way a PyG
    :class:`~torch_geometric.data.Batch` holds them; edge weights must then
    be 0/1 and select the edges the layer sees.

    Args:
        conv (Module): Called as :obj:`conv(x, edge_index)` (plus
            :obj:`edge_weight` in static-graph mode).
        x (Tensor): :obj:`(*, V, C)`, or flat :obj:`(num_nodes, C)`.
        edge_index (Tensor): One graph's edges, :obj:`(2, E)`.
        edge_weight (Tensor, optional): :obj:`(E,)` or :obj:`(*, E)`.

    Returns:
        :obj:`(*, V, C_out)` (or :obj:`(num_nodes, C_out)`).
    """
    if getattr(conv, 'supports_static_graph', False):
        return conv(x, edge_index, edge_weight)
    lead, (V, C) = x.shape[:-2], x.shape[-2:]
    flat, edges, keep = x, edge_index, edge_weight
    if x.dim() > 2:
        graphs = x.numel() // (V * C)
        flat = x.reshape(graphs * V, C)
        edges = block_diagonal(edge_index, graphs, V)
        if edge_weight is not None:
            keep = edge_weight.expand(*lead, edge_index.size(1)).reshape(-1)
    if keep is not None:
        if keep.dtype != torch.bool:
            if not bool(((keep == 0) | (keep == 1)).all()):
                raise ValueError(f"{type(conv).__name__} takes edges, not "
                                 f"edge weights: 'edge_weight' must be 0/1 "
                                 f"here")
            keep = keep.bool()
        # A dropped edge ends at one extra node whose output is discarded:
        # every other node sees the graph without it, and no shape depends
        # on the data.
        sink = flat.size(0)
        flat = torch.cat([flat, flat.new_zeros(1, C)])
        end = 1 if getattr(conv, 'flow', 'source_to_target') == (
            'source_to_target') else 0
        edges = edges.clone()
        edges[end] = torch.where(keep, edges[end], sink)
    out = conv(flat, edges)
    if keep is not None:
        out = out[:-1]
    return out if x.dim() == 2 else out.view(*lead, V, out.size(-1))


class GraphEncoder(Module):
    r"""SkeletonMAE's encoder :math:`G_E` (Eq. 1): :obj:`num_layers` (the
    paper's :math:`L_D = 3`) graph convolutions, each followed by
    normalization and the activation (PReLU in the paper, Sec. 4.2). The
    paper's backbone is GIN (:class:`~torch_skeleton_mae.nn.SkeletonGCNConv`);
    Table 4c also runs GCN and GAT, which :obj:`conv="gcn"` / :obj:`"gat"`
    build from PyG's own layers, and any PyG convolution class stands in the
    same way (see :func:`~torch_skeleton_mae.nn.encoder.make_conv` and
    :func:`~torch_skeleton_mae.nn.encoder.apply_conv`).

    Args:
        in_channels (int): Input size.
        hidden_channels (int, optional): Hidden and output size :math:`D_h`.
            (default: :obj:`64`)
        num_layers (int, optional): :math:`L_D`. (default: :obj:`3`)
        conv (str or callable, optional): The layer, see
            :func:`~torch_skeleton_mae.nn.encoder.make_conv`. (default:
            :obj:`"gin"`)
        act (str, optional): Activation. (default: :obj:`"prelu"`)
        norm (str, optional): :obj:`"batch"`, :obj:`"layer"` or :obj:`None`.
            (default: :obj:`"batch"`)
        dropout (float, optional): Dropout after every layer.
            (default: :obj:`0.`)
        cached (bool, optional): Every call passes the same graph: see
            :class:`~torch_skeleton_mae.nn.SkeletonGCNConv`.
            (default: :obj:`False`)

    Shapes:
        - **input:** node features :math:`(|\mathcal{V}|, C)` or
          :math:`(*, V, C)`, :obj:`edge_index` :math:`(2, E)` (one graph's
          for :math:`(*, V, C)`), edge weights *(optional)*
        - **output:** :math:`(|\mathcal{V}|, D_h)` or :math:`(*, V, D_h)`
    """
    #: Takes :obj:`(*, V, C)` features as they are (see
    #: :func:`~torch_skeleton_mae.nn.encoder.apply_conv`).
    supports_static_graph = True

    def __init__(self, in_channels: int, hidden_channels: int = 64,
                 num_layers: int = 3, conv: ConvSpec = 'gin',
                 act: str = 'prelu', norm: Optional[str] = 'batch',
                 dropout: float = 0.0, cached: bool = False):
        super().__init__()
        if num_layers < 1:
            raise ValueError(f"'num_layers' must be >= 1, got {num_layers}")
        self.in_channels = in_channels
        self.hidden_channels = hidden_channels
        self.conv = conv_name(conv)
        self.dropout = dropout
        self.convs = ModuleList()
        self.norms = ModuleList()
        self.acts = ModuleList()
        for i in range(num_layers):
            self.convs.append(make_conv(
                conv, in_channels if i == 0 else hidden_channels,
                hidden_channels, act=act, norm=norm, cached=cached))
            self.norms.append(node_norm(norm, hidden_channels))
            self.acts.append(activation_resolver(act))

    @property
    def num_layers(self) -> int:
        return len(self.convs)

    def reset_parameters(self):
        r"""Resets all learnable parameters of the module."""
        for conv, norm, act in zip(self.convs, self.norms, self.acts):
            for module in (conv, norm, act):
                if hasattr(module, 'reset_parameters'):
                    module.reset_parameters()

    def forward(self, x: Tensor, edge_index: Adj,
                edge_weight: OptTensor = None) -> Tensor:
        for conv, norm, act in zip(self.convs, self.norms, self.acts):
            x = act(per_node(norm, apply_conv(conv, x, edge_index,
                                              edge_weight)))
            x = torch.nn.functional.dropout(x, self.dropout, self.training)
        return x

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}({self.in_channels}, '
                f'{self.hidden_channels}, num_layers={self.num_layers}, '
                f"conv='{self.conv}')")


def make_encoder(encoder: EncoderSpec, channels: int, num_layers: int,
                 act: str = 'prelu', norm: Optional[str] = 'batch') -> Module:
    r"""A model's encoder: :obj:`encoder` itself if it is a module (*e.g.*
    PyG's :class:`~torch_geometric.nn.models.GIN`, called through
    :func:`apply_conv`), else a :class:`GraphEncoder` of :obj:`num_layers`
    such convolutions of :obj:`channels` features, on the model's one
    skeleton graph (:obj:`cached=True`).

    Shapes:
        - **input:** :math:`(*, V, \text{channels})`, one graph's
          :obj:`edge_index` :math:`(2, E)`
        - **output:** :math:`(*, V, \text{channels})`
    """
    if isinstance(encoder, Module):
        return encoder
    if num_layers < 1:
        raise ValueError(f"'encoder_layers' must be >= 1, got {num_layers}")
    return GraphEncoder(channels, channels, num_layers, conv=encoder, act=act,
                        norm=norm, cached=True)


def encoder_name(encoder: Module) -> Optional[str]:
    r"""What a model's config stores for its encoder: the convolution's name
    of a :class:`GraphEncoder`, :obj:`None` for a module of one's own
    (which a config cannot rebuild)."""
    return encoder.conv if isinstance(encoder, GraphEncoder) else None
