from typing import Optional

from torch import Tensor
from torch.nn import BatchNorm1d, Identity, LayerNorm, Module
from torch_geometric.nn.dense.linear import Linear
from torch_geometric.nn.resolver import activation_resolver

NORMS = ('batch', 'layer', None)


def make_norm(norm: Optional[str], channels: int) -> Module:
    r"""A normalization layer over the last dimension: :obj:`"batch"`,
    :obj:`"layer"` or :obj:`None` (identity)."""
    if norm == 'batch':
        return BatchNorm1d(channels)
    if norm == 'layer':
        return LayerNorm(channels)
    if norm is None:
        return Identity()
    raise ValueError(f"Unknown norm '{norm}'; expected one of {NORMS}")


def apply_norm(norm: Module, x: Tensor) -> Tensor:
    r"""Applies :obj:`norm` to :obj:`x` of shape :obj:`(..., C)`, folding the
    leading dimensions so that batch norm sees every node once."""
    if isinstance(norm, BatchNorm1d) and x.dim() != 2:
        return norm(x.reshape(-1, x.size(-1))).view_as(x)
    return norm(x)


class NodeMLP(Module):
    r"""A two-layer MLP applied to every node, the update function of
    :class:`~torch_skeleton_mae.nn.SkeletonGCNConv`: :math:`\mathbf{W}_2 \,
    \sigma(\mathrm{norm}( \mathbf{W}_1 \mathbf{x}))`, or a single linear map
    with :obj:`num_layers=1`.

    Args:
        in_channels (int): Input size, or :obj:`-1` to infer it from the
            first input (PyG's lazy :class:`~torch_geometric.nn.dense.Linear`).
        hidden_channels (int): Hidden size.
        out_channels (int): Output size.
        num_layers (int, optional): :obj:`1` or :obj:`2`. (default: :obj:`2`)
        act (str, optional): Activation name. (default: :obj:`"prelu"`)
        norm (str, optional): :obj:`"batch"`, :obj:`"layer"` or
            :obj:`None`. (default: :obj:`"batch"`)

    Shapes:
        - **input:** :obj:`(..., in_channels)`
        - **output:** :obj:`(..., out_channels)`
    """
    def __init__(self, in_channels: int, hidden_channels: int,
                 out_channels: int, num_layers: int = 2, act: str = 'prelu',
                 norm: Optional[str] = 'batch'):
        super().__init__()
        if num_layers not in (1, 2):
            raise ValueError(f"NodeMLP supports num_layers 1 or 2, got "
                             f"{num_layers}")
        self.hidden_channels = hidden_channels
        self.out_channels = out_channels
        self.num_layers = num_layers
        self.act_name = act
        self.norm_name = norm
        self.lin1 = Linear(in_channels,
                           hidden_channels if num_layers == 2 else
                           out_channels)
        self.lin2 = None
        self.norm = self.act = None
        if num_layers == 2:
            self.norm = make_norm(norm, hidden_channels)
            self.act = activation_resolver(act)
            self.lin2 = Linear(hidden_channels, out_channels)
        self.reset_parameters()

    def reset_parameters(self):
        r"""Resets all learnable parameters of the module."""
        for module in self.modules():
            if module is not self and hasattr(module, 'reset_parameters'):
                module.reset_parameters()

    def forward(self, x: Tensor) -> Tensor:
        x = self.lin1(x)
        if self.lin2 is None:
            return x
        return self.lin2(self.act(apply_norm(self.norm, x)))

    def __repr__(self) -> str:
        if self.num_layers == 1:
            return (f'{self.__class__.__name__}({self.in_channels}, '
                    f'{self.out_channels}, num_layers=1)')
        return (f'{self.__class__.__name__}({self.in_channels}, '
                f'{self.hidden_channels}, {self.out_channels}, '
                f'act={self.act_name!r}, norm={self.norm_name!r})')

    @property
    def in_channels(self) -> int:
        r"""The input size (:obj:`-1` until a lazy MLP sees its input)."""
        return self.lin1.in_channels


def freeze_(module: Module) -> Module:
    r"""Stops gradients to every parameter of :obj:`module`, in place."""
    for p in module.parameters():
        p.requires_grad_(False)
    return module


__all__ = ['NodeMLP', 'make_norm', 'apply_norm', 'freeze_']
