import math
from typing import NamedTuple, Optional, Union

import torch
from torch import Tensor
from torch.nn import Linear, Module, Parameter
from torch_geometric.nn.inits import reset
from torch_geometric.typing import Adj

from torch_skeleton_mae.nn.conv import SkeletonGCNConv
from torch_skeleton_mae.nn.encoder import ConvSpec, apply_conv, make_conv


class Reconstruction(NamedTuple):
    r"""What :class:`MAEDecoder` returns: reconstructed joint features
    :obj:`(*, V, C)` and, with :obj:`reconstruct_edges`, joint-pair logits
    :obj:`(*, V, V)` (else :obj:`None`)."""
    x: Tensor
    edge_logits: Optional[Tensor]


class MAEDecoder(Module):
    r"""SkeletonMAE's light decoder :math:`G_D` (Sec. 3.1.2): a linear map of
    the encoder output, re-masking (the masked joints' features are zeroed,
    as in GraphMAE, so that they must be inferred from their neighbors), and
    one graph convolution (GIN in the paper,
    :class:`~torch_skeleton_mae.nn.SkeletonGCNConv`; any PyG conv through its
    public forward, see :func:`~torch_skeleton_mae.nn.encoder.apply_conv`) that
    reconstructs the target joint features.

    With :obj:`reconstruct_edges=True` it also scores every joint pair,
    :math:`s_{ij} = \mathbf{z}_i^\top \mathbf{z}_j / \sqrt{d}` with
    :math:`\mathbf{z}` a linear map of the reconstructed features, to
    reconstruct the masked joints' edges (our option: the paper's loss uses
    joint features only).

    With :obj:`num_joints` set, a learnable per-joint embedding is added
    after re-masking (as MAE adds position embeddings to its decoder's mask
    tokens): when a whole body part is masked, its inner joints have no
    visible neighbor, and without it they would all decode to the same
    vector.

    Args:
        in_channels (int): Encoder output size :math:`D_h`.
        out_channels (int): Size of the reconstructed features.
        remask (bool, optional): Zero the masked joints before decoding.
            (default: :obj:`True`)
        reconstruct_edges (bool, optional): Also return pair logits.
            (default: :obj:`False`)
        num_joints (int, optional): Joints :obj:`V` of a per-joint
            embedding added after re-masking (input :math:`(*, V, D_h)`);
            :obj:`None` for none. (default: :obj:`None`)
        act (str, optional): Activation of the layer's MLP.
            (default: :obj:`"prelu"`)
        norm (str, optional): Normalization of the layer's MLP.
            (default: :obj:`"batch"`)
        conv (str, callable or Module, optional): The layer: a name or
            class for :func:`~torch_skeleton_mae.nn.encoder.make_conv`, or a
            ready module mapping :obj:`in_channels` to :obj:`out_channels`.
            (default: :obj:`"gin"`)
        cached (bool, optional): Every call passes the same graph: see
            :class:`~torch_skeleton_mae.nn.SkeletonGCNConv`.
            (default: :obj:`False`)

    Shapes:
        - **input:** encoder output :math:`(*, V, D_h)` (or flat
          :math:`(|\mathcal{V}|, D_h)` without edge reconstruction),
          adjacency as in :class:`~torch_skeleton_mae.nn.SkeletonGCNConv`,
          joint mask :math:`(*, V)` *(optional)*
        - **output:** :class:`~torch_skeleton_mae.nn.decoder.Reconstruction`
    """
    def __init__(self, in_channels: int, out_channels: int,
                 remask: bool = True, reconstruct_edges: bool = False,
                 num_joints: Optional[int] = None, act: str = 'prelu',
                 norm: Optional[str] = 'batch',
                 conv: Union[ConvSpec, Module] = 'gin',
                 cached: bool = False):
        super().__init__()
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.remask = remask
        self.proj = Linear(in_channels, in_channels, bias=False)
        self.position = (None if num_joints is None else
                         Parameter(torch.empty(num_joints, in_channels)))
        if conv == 'gin':  # the MLP keeps the hidden width D_h
            conv = SkeletonGCNConv(in_channels, out_channels,
                                   hidden_channels=in_channels, act=act,
                                   norm=norm, cached=cached)
        self.conv = conv if isinstance(conv, Module) else make_conv(
            conv, in_channels, out_channels)
        self.edge_proj = (Linear(out_channels, in_channels)
                          if reconstruct_edges else None)
        self.reset_parameters()

    def reset_parameters(self):
        r"""Resets all learnable parameters of the module."""
        self.proj.reset_parameters()
        if self.position is not None:
            torch.nn.init.trunc_normal_(self.position, std=0.02)
        reset(self.conv)
        if self.edge_proj is not None:
            self.edge_proj.reset_parameters()

    def forward(self, h: Tensor, edge_index: Adj,
                joint_mask: Optional[Tensor] = None) -> Reconstruction:
        if self.position is not None and h.shape[-2:] != self.position.shape:
            raise ValueError(
                f'MAEDecoder: its embedding of {self.position.size(0)} joints '
                f'expects (*, {self.position.size(0)}, '
                f'{self.position.size(1)}), got {tuple(h.shape)}')
        h = self.proj(h)
        if self.remask and joint_mask is not None:
            h = h.masked_fill(joint_mask.unsqueeze(-1), 0.0)
        if self.position is not None:
            h = h + self.position
        y = apply_conv(self.conv, h, edge_index)
        edge_logits = None
        if self.edge_proj is not None:
            z = self.edge_proj(y)
            edge_logits = z @ z.transpose(-1, -2) / math.sqrt(z.size(-1))
        return Reconstruction(y, edge_logits)

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}({self.in_channels}, '
                f'{self.out_channels}, remask={self.remask}, '
                f'reconstruct_edges={self.edge_proj is not None}, '
                f'conv={self.conv})')
