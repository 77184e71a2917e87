from typing import Optional

from torch import Tensor
from torch.nn import Linear, Module

from torch_skeleton_mae.nn.encoder import ConvSpec, conv_class, on_graphs


class MAEDecoder(Module):
    r"""SkeletonMAE's light decoder :math:`G_D` (Sec. 3.1.2): a linear map of
    the encoder output, re-masking (the masked joints' features are zeroed,
    as in GraphMAE, so that they must be inferred from their neighbors), and
    one graph layer (GIN in the paper; its MLP keeps the hidden width
    :math:`D_h`) that reconstructs the target joint features.

    Args:
        in_channels (int): Encoder output size :math:`D_h`.
        out_channels (int): Size of the reconstructed features.
        remask (bool, optional): Zero the masked joints before decoding.
            (default: :obj:`True`)
        conv (str, type or Module, optional): The layer, as in
            :class:`~torch_skeleton_mae.nn.encoder.GraphEncoder`, or a ready
            module mapping :obj:`in_channels` to :obj:`out_channels` (run
            through :func:`~torch_skeleton_mae.nn.encoder.on_graphs`).
            (default: :obj:`"gin"`)

    Shapes:
        - **input:** encoder output :math:`(*, V, D_h)`, one graph's
          :obj:`edge_index` :math:`(2, E)`, joint mask :math:`(*, V)`
          *(optional)*
        - **output:** :math:`(*, V, \text{out\_channels})`
    """
    def __init__(self, in_channels: int, out_channels: int,
                 remask: bool = True, conv: ConvSpec = 'gin'):
        super().__init__()
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.remask = remask
        self.proj = Linear(in_channels, in_channels, bias=False)
        if conv == 'gin':
            self.conv = conv_class(conv)(in_channels, out_channels,
                                         hidden_channels=in_channels)
        elif isinstance(conv, Module):
            self.conv = conv
        else:
            self.conv = conv_class(conv)(in_channels, out_channels)

    def reset_parameters(self):
        r"""Resets all learnable parameters of the module."""
        self.proj.reset_parameters()
        self.conv.reset_parameters()

    def forward(self, h: Tensor, edge_index: Tensor,
                joint_mask: Optional[Tensor] = None) -> Tensor:
        h = self.proj(h)
        if self.remask and joint_mask is not None:
            h = h.masked_fill(joint_mask.unsqueeze(-1), 0.0)
        return on_graphs(self.conv, h, edge_index)

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}({self.in_channels}, '
                f'{self.out_channels}, remask={self.remask}, '
                f'conv={self.conv})')
