from typing import NamedTuple, Union

import torch
from torch import Tensor
from torch.nn import Linear, Module
from torch_geometric.data import Batch
from torch_geometric.nn.inits import reset

from torch_skeleton_mae.data import as_sequence
from torch_skeleton_mae.graph import get_skeleton
from torch_skeleton_mae.nn.decoder import MAEDecoder
from torch_skeleton_mae.nn.encoder import ConvSpec, GraphEncoder, on_graphs
from torch_skeleton_mae.nn.loss import SkeletonMAELoss
from torch_skeleton_mae.nn.masking import (DEFAULT_MASK, JointEdgeMasker,
                                           MaskSpec)
from torch_skeleton_mae.utils import ConfiguredModel, constructor_config

TARGETS = ('embedding', 'input')


class SkeletonMAEOutput(NamedTuple):
    r"""What a :class:`SkeletonMAE` returns: the loss (a scalar), the
    reconstruction and its target :obj:`(N, M, T, V, C_t)` (:obj:`C_t`:
    :obj:`D` or :obj:`C`), the masked joints and those the loss counted
    (masked and not zero padding), both :obj:`(N, M, T, V)`."""
    loss: Tensor
    reconstruction: Tensor
    target: Tensor
    joint_mask: Tensor
    loss_mask: Tensor


class SkeletonMAE(ConfiguredModel):
    r"""SkeletonMAE, the graph-based masked autoencoder of Yan et al.,
    "SkeletonMAE: Graph-based Masked Autoencoder for Skeleton Sequence
    Pre-training" (ICCV 2023).

    Every frame of every person is a graph of the skeleton's joints
    (Sec. 3.1.1): the joints are embedded linearly, body regions masked
    (:class:`~torch_skeleton_mae.nn.JointEdgeMasker`), encoded by
    :math:`L_D` GIN layers
    (:class:`~torch_skeleton_mae.nn.encoder.GraphEncoder`) and the embedded
    joints reconstructed (:class:`~torch_skeleton_mae.nn.MAEDecoder`) under
    the re-weighted cosine error on the masked joints (Eq. 2,
    :class:`~torch_skeleton_mae.nn.SkeletonMAELoss`). The target's embedding
    gets no gradient from the loss (else it collapses to a constant;
    ``docs/fidelity.rst``).

    Args:
        skeleton (Skeleton or str): The layout, *e.g.* :obj:`"coco"`.
        in_channels (int): Channels per joint :obj:`C` (the paper's
            :math:`(x, y)`: 2).
        hidden_channels (int, optional): :math:`D = D_h`. (default: :obj:`64`)
        encoder_layers (int, optional): Encoder layers :math:`L_D`.
            (default: :obj:`3`)
        encoder (str, type or Module, optional): The encoder's layer,
            :obj:`"gin"`, :obj:`"gcn"`, :obj:`"gat"` (Table 4c) or any PyG
            conv class; or a ready encoder module, :obj:`hidden_channels` per
            joint in and out, as :obj:`GAE(encoder)` takes one (its config
            then names none). (default: :obj:`"gin"`)
        mask (sequence or float, optional): See
            :class:`~torch_skeleton_mae.nn.JointEdgeMasker`; one draw per
            person and sequence. (default: :obj:`("right_arm", "right_leg")`)
        target (str, optional): :obj:`"embedding"` reconstructs the embedded
            joints (Eq. 2's :math:`\mathbf{X}`); :obj:`"input"` the raw
            coordinates. (default: :obj:`"embedding"`)
        mask_edges (bool, optional): Hide the masked joints' edges from the
            encoder (the paper's Eq. 1 keeps them). (default: :obj:`False`)
        remask (bool, optional): Re-mask before decoding.
            (default: :obj:`True`)
        beta (float, optional): Cosine-error exponent. (default: :obj:`2.`)

    Shapes:
        - **input:** :math:`(N, M, T, V, C)` or a frame
          :class:`~torch_geometric.data.Batch`
        - **output:** :class:`SkeletonMAEOutput`

    Example:
        >>> import torch
        >>> from torch_skeleton_mae.nn import SkeletonMAE
        >>> model = SkeletonMAE('coco', in_channels=2)
        >>> out = model(torch.randn(2, 2, 16, 17, 2))  # (N, M, T, V, C)
        >>> out.reconstruction.shape  # the embedded joints, D = 64
        torch.Size([2, 2, 16, 17, 64])
        >>> out.joint_mask[0, 0, 0].nonzero().view(-1).tolist()
        [8, 10, 14, 16]
        >>> model.encode(torch.randn(2, 2, 16, 17, 2)).shape
        torch.Size([2, 2, 16, 17, 64])
    """
    def __init__(self, skeleton, in_channels: int, hidden_channels: int = 64,
                 encoder_layers: int = 3,
                 encoder: Union[ConvSpec, Module] = 'gin',
                 mask: MaskSpec = DEFAULT_MASK, target: str = 'embedding',
                 mask_edges: bool = False, remask: bool = True,
                 beta: float = 2.0):
        super().__init__()
        if target not in TARGETS:
            raise ValueError(f"'target' must be one of {TARGETS}, got "
                             f"'{target}'")
        self.skeleton = get_skeleton(skeleton)
        self.in_channels = in_channels
        self.target = target
        self.mask_edges = mask_edges
        self.embedding = Linear(in_channels, hidden_channels, bias=False)
        self.masker = JointEdgeMasker(self.skeleton, hidden_channels, mask)
        self.encoder = encoder if isinstance(encoder, Module) else (
            GraphEncoder(hidden_channels, hidden_channels, encoder_layers,
                         encoder))
        self.decoder = MAEDecoder(
            hidden_channels,
            hidden_channels if target == 'embedding' else in_channels,
            remask=remask)
        self.criterion = SkeletonMAELoss(beta)
        self.register_buffer('edge_index', self.skeleton.edge_index(),
                             persistent=False)
        self.config = constructor_config(
            SkeletonMAE, locals(), skeleton=self.skeleton.name,
            encoder=self.encoder.conv if isinstance(
                self.encoder, GraphEncoder) else None,
            mask=self.masker.mask)

    def reset_parameters(self):
        r"""Resets all learnable parameters of the module."""
        for module in (self.embedding, self.masker, self.encoder,
                       self.decoder):
            reset(module)  # PyG's: also a module of one's own

    def encode(self, x: Union[Tensor, Batch]) -> Tensor:
        r"""Encodes unmasked sequences :obj:`(N, M, T, V, C)` (or a frame
        batch) to joint representations :obj:`(N, M, T, V, D_h)`."""
        x = as_sequence(x, self.skeleton, self.in_channels)
        return on_graphs(self.encoder, self.embedding(x), self.edge_index)

    def target_of(self, joints: Tensor) -> Tensor:
        r"""What the decoder reconstructs of :obj:`joints` :obj:`(*, C)`:
        themselves (:obj:`target="input"`) or their embedding :obj:`(*, D)`,
        Eq. 2's :math:`\mathbf{X}`."""
        return joints if self.target == 'input' else self.embedding(joints)

    def forward(self, x: Union[Tensor, Batch],
                generator: torch.Generator = None) -> SkeletonMAEOutput:
        r"""Masks, encodes, decodes and scores a batch.

        Args:
            x (Tensor or Batch): :obj:`(N, M, T, V, C)` or a frame batch.
            generator (torch.Generator, optional): Source of random masks,
                on the model's device.
        """
        x = as_sequence(x, self.skeleton, self.in_channels)
        N, M = x.shape[:2]
        # One draw per person and sequence: the same joints in every frame.
        embedded = self.embedding(x)
        masked = self.masker(embedded, self.masker.sample((N, M, 1),
                                                          generator))
        h = on_graphs(self.encoder, masked.x, self.edge_index,
                      ~masked.edge_mask if self.mask_edges else None)
        reconstruction = self.decoder(h, self.edge_index, masked.joint_mask)
        # Zero padding (absent persons, missing frames) is not a target.
        loss_mask = masked.joint_mask & (x != 0).any(dim=-1)
        target = x if self.target == 'input' else embedded.detach()
        return SkeletonMAEOutput(
            self.criterion(reconstruction, target, loss_mask),
            reconstruction, target, masked.joint_mask, loss_mask)
