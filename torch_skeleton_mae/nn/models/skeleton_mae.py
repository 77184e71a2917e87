from dataclasses import dataclass
from typing import Optional, Union

import torch
from torch import Tensor
from torch.nn import Module
from torch_geometric.data import Batch

from torch_skeleton_mae.data import as_sequence
from torch_skeleton_mae.graph import get_skeleton
from torch_skeleton_mae.nn.decoder import MAEDecoder
from torch_skeleton_mae.nn.encoder import GINEncoder, JointEmbedding
from torch_skeleton_mae.nn.loss import SkeletonMAELoss
from torch_skeleton_mae.nn.masking import JointEdgeMasker


@dataclass
class SkeletonMAEOutput:
    r"""What :meth:`SkeletonMAE.forward` returns, in sequence layout.

    Attributes:
        loss (Tensor): The training objective, a scalar.
        joint_loss (Tensor): The cosine-error term.
        edge_loss (Tensor): The edge term (zero unless enabled).
        reconstruction (Tensor): Decoded joints :obj:`(N, C, T, V, M)`.
        joint_mask (Tensor): Masked joints, boolean :obj:`(N, T, V, M)`.
        loss_mask (Tensor): The joints the loss counted: masked and present
            (not zero padding), boolean :obj:`(N, T, V, M)`.
    """
    loss: Tensor
    joint_loss: Tensor
    edge_loss: Tensor
    reconstruction: Tensor
    joint_mask: Tensor
    loss_mask: Tensor


class SkeletonMAE(Module):
    r"""SkeletonMAE, the graph-based masked autoencoder of Yan et al.,
    "SkeletonMAE: Graph-based Masked Autoencoder for Skeleton Sequence
    Pre-training" (ICCV 2023).

    Every frame of every person is a graph of the skeleton's joints
    (Sec. 3.1.1). Joints are embedded (:class:`JointEmbedding`), whole body
    parts are masked with a learnable token (:class:`JointEdgeMasker`), a GIN
    encoder (:class:`GINEncoder`) maps the masked graph to hidden features,
    and a one-layer decoder (:class:`MAEDecoder`) reconstructs the input
    joints, trained with the scaled cosine error on the masked joints
    (:class:`SkeletonMAELoss`). Defaults are the paper's; see
    ``docs/fidelity.rst`` for each choice where the paper is silent.

    Args:
        skeleton (Skeleton or str): The layout, *e.g.* :obj:`"coco"`.
        in_channels (int): Channels per joint :obj:`C` (2D + score: 3).
        hidden_channels (int, optional): :math:`D = D_h`. (default: :obj:`64`)
        num_layers (int, optional): Encoder layers :math:`L_D`.
            (default: :obj:`3`)
        masking (str, optional): :obj:`"part"` or :obj:`"random"`.
            (default: :obj:`"part"`)
        num_masked_parts (int, optional): Body parts masked per sequence.
            (default: :obj:`3`)
        mask_ratio (float, optional): Joint ratio for :obj:`"random"`.
            (default: :obj:`0.5`)
        mask_edges (bool, optional): Hide the masked joints' edges from the
            encoder (the paper's Eq. 1 keeps them). (default: :obj:`False`)
        remask (bool, optional): Re-mask before decoding.
            (default: :obj:`True`)
        beta (float, optional): Cosine-error exponent. (default: :obj:`2.`)
        edge_loss_weight (float, optional): Weight of the edge
            reconstruction term; :obj:`0` trains as the paper does.
            (default: :obj:`0.`)
        joint_embedding (bool, optional): Learnable per-joint embeddings of
            the encoder's input and of the decoder's (re-masked) input.
            (default: :obj:`True`)
        act (str, optional): Activation. (default: :obj:`"prelu"`)
        norm (str, optional): Normalization. (default: :obj:`"batch"`)

    Shapes:
        - **input:** :math:`(N, C, T, V, M)` or a frame
          :class:`~torch_geometric.data.Batch`
        - **output:** :class:`SkeletonMAEOutput`

    Example:
        >>> import torch
        >>> from torch_skeleton_mae.nn import SkeletonMAE
        >>> model = SkeletonMAE('coco', in_channels=3)
        >>> out = model(torch.randn(2, 3, 16, 17, 2))
        >>> out.reconstruction.shape
        torch.Size([2, 3, 16, 17, 2])
        >>> model.encode(torch.randn(2, 3, 16, 17, 2)).shape
        torch.Size([2, 64, 16, 17, 2])
    """
    def __init__(self, skeleton, in_channels: int, hidden_channels: int = 64,
                 num_layers: int = 3, masking: str = 'part',
                 num_masked_parts: int = 3, mask_ratio: float = 0.5,
                 mask_edges: bool = False, remask: bool = True,
                 beta: float = 2.0, edge_loss_weight: float = 0.0,
                 joint_embedding: bool = True, act: str = 'prelu',
                 norm: Optional[str] = 'batch'):
        super().__init__()
        self.skeleton = get_skeleton(skeleton)
        self.config = dict(
            skeleton=self.skeleton.name, in_channels=in_channels,
            hidden_channels=hidden_channels, num_layers=num_layers,
            masking=masking, num_masked_parts=num_masked_parts,
            mask_ratio=mask_ratio, mask_edges=mask_edges, remask=remask,
            beta=beta, edge_loss_weight=edge_loss_weight,
            joint_embedding=joint_embedding, act=act, norm=norm)
        V = self.skeleton.num_joints
        self.in_channels = in_channels
        self.mask_edges = mask_edges
        self.embedding = JointEmbedding(in_channels, hidden_channels, V,
                                        positional=joint_embedding)
        self.masker = JointEdgeMasker(self.skeleton, hidden_channels,
                                      strategy=masking,
                                      num_masked_parts=num_masked_parts,
                                      mask_ratio=mask_ratio)
        self.encoder = GINEncoder(hidden_channels, hidden_channels,
                                  num_layers, act=act, norm=norm)
        self.decoder = MAEDecoder(hidden_channels, in_channels, remask=remask,
                                  reconstruct_edges=edge_loss_weight > 0,
                                  num_joints=V if joint_embedding else None,
                                  act=act, norm=norm)
        self.criterion = SkeletonMAELoss(beta, edge_loss_weight)
        self.register_buffer('edge_index', self.skeleton.edge_index(),
                             persistent=False)
        self.register_buffer('adjacency',
                             self.skeleton.adjacency(self_loops=False)[0],
                             persistent=False)

    def reset_parameters(self):
        r"""Resets all learnable parameters of the module."""
        for module in (self.embedding, self.masker, self.encoder,
                       self.decoder):
            module.reset_parameters()

    def encode(self, x: Union[Tensor, Batch]) -> Tensor:
        r"""Encodes unmasked sequences.

        Args:
            x (Tensor or Batch): :obj:`(N, C, T, V, M)` or a frame batch.

        Returns:
            Joint representations :obj:`(N, D_h, T, V, M)`.
        """
        x = as_sequence(x, self.skeleton).permute(0, 4, 2, 3, 1)
        h = self.encoder(self.embedding(x), self.edge_index)
        return h.permute(0, 4, 2, 3, 1)

    def forward(self, x: Union[Tensor, Batch],
                generator: Optional[torch.Generator] = None
                ) -> SkeletonMAEOutput:
        r"""Masks, encodes, decodes and scores a batch.

        Args:
            x (Tensor or Batch): :obj:`(N, C, T, V, M)` or a frame batch.
            generator (torch.Generator, optional): Source of the masks, on
                the model's device.
        """
        x = as_sequence(x, self.skeleton).permute(0, 4, 2, 3, 1)
        N, M, T, V, _ = x.shape
        # One draw per person and sequence: the same parts in every frame.
        joint_mask = self.masker.sample((N, M, 1), generator)
        masked = self.masker(self.embedding.project(x), joint_mask)
        edge_weight = ~masked.edge_mask if self.mask_edges else None
        h = self.encoder(self.embedding.add_position(masked.x),
                         self.edge_index, edge_weight)
        rec = self.decoder(h, self.edge_index, masked.joint_mask)
        # Zero padding (absent persons, missing frames) is not a target.
        loss_mask = masked.joint_mask & (x != 0).any(dim=-1)
        terms = self.criterion(rec.x, x, loss_mask, rec.edge_logits,
                               self.adjacency)
        return SkeletonMAEOutput(
            loss=terms.loss, joint_loss=terms.joint_loss,
            edge_loss=terms.edge_loss,
            reconstruction=rec.x.permute(0, 4, 2, 3, 1),
            joint_mask=masked.joint_mask.permute(0, 2, 3, 1),
            loss_mask=loss_mask.permute(0, 2, 3, 1))

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}('{self.skeleton.name}', "
                f"in_channels={self.in_channels}, "
                f"hidden_channels={self.encoder.hidden_channels}, "
                f"num_layers={self.encoder.num_layers})")
