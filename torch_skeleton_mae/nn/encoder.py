from typing import Optional

import torch
from torch import Tensor
from torch.nn import Linear, Module, ModuleList, Parameter
from torch_geometric.nn.resolver import activation_resolver
from torch_geometric.typing import Adj, OptTensor

from torch_skeleton_mae.nn.conv import SkeletonGCNConv
from torch_skeleton_mae.nn.mlp import apply_norm, make_norm


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

    Shapes:
        - **input:** :math:`(*, V, C)`
        - **output:** :math:`(*, V, D)`
    """
    def __init__(self, in_channels: int, out_channels: int, num_joints: int,
                 positional: bool = True):
        super().__init__()
        self.lin = Linear(in_channels, out_channels)
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

    def forward(self, x: Tensor) -> Tensor:
        return self.add_position(self.project(x))


class GINEncoder(Module):
    r"""SkeletonMAE's encoder :math:`G_E`: :obj:`num_layers` (the paper's
    :math:`L_D = 3`) :class:`SkeletonGCNConv` layers, each followed by
    normalization and the activation (PReLU in the paper, Sec. 4.2).

    Args:
        in_channels (int): Input size.
        hidden_channels (int, optional): Hidden and output size :math:`D_h`.
            (default: :obj:`64`)
        num_layers (int, optional): :math:`L_D`. (default: :obj:`3`)
        act (str, optional): Activation. (default: :obj:`"prelu"`)
        norm (str, optional): :obj:`"batch"`, :obj:`"layer"` or :obj:`None`.
            (default: :obj:`"batch"`)
        dropout (float, optional): Dropout after every layer.
            (default: :obj:`0.`)

    Shapes:
        - **input:** node features :math:`(|\mathcal{V}|, C)` or
          :math:`(*, V, C)`, adjacency as in :class:`SkeletonGCNConv`,
          edge weights *(optional)*
        - **output:** :math:`(|\mathcal{V}|, D_h)` or :math:`(*, V, D_h)`
    """
    def __init__(self, in_channels: int, hidden_channels: int = 64,
                 num_layers: int = 3, act: str = 'prelu',
                 norm: Optional[str] = 'batch', dropout: float = 0.0):
        super().__init__()
        if num_layers < 1:
            raise ValueError(f"'num_layers' must be >= 1, got {num_layers}")
        self.in_channels = in_channels
        self.hidden_channels = hidden_channels
        self.dropout = dropout
        self.convs = ModuleList()
        self.norms = ModuleList()
        self.acts = ModuleList()
        for i in range(num_layers):
            self.convs.append(SkeletonGCNConv(
                in_channels if i == 0 else hidden_channels, hidden_channels,
                act=act, norm=norm))
            self.norms.append(make_norm(norm, hidden_channels))
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
            x = act(apply_norm(norm, conv(x, edge_index, edge_weight)))
            x = torch.nn.functional.dropout(x, self.dropout, self.training)
        return x

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}({self.in_channels}, '
                f'{self.hidden_channels}, num_layers={self.num_layers})')
