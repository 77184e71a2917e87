import os
from dataclasses import dataclass
from typing import Any, Dict, Optional, Union

import torch
from torch import Tensor
from torch.nn import Module
from torch_geometric.data import Batch

from torch_skeleton_mae.data import as_sequence
from torch_skeleton_mae.graph import get_skeleton
from torch_skeleton_mae.nn.decoder import MAEDecoder
from torch_skeleton_mae.nn.encoder import (
    EncoderSpec,
    JointEmbedding,
    apply_conv,
    encoder_name,
    make_encoder,
)
from torch_skeleton_mae.nn.loss import SkeletonMAELoss
from torch_skeleton_mae.nn.masking import (
    DEFAULT_MASK,
    JointEdgeMasker,
    MaskingStrategy,
)
from torch_skeleton_mae.utils import (
    changed_settings,
    check_on_meta,
    constructor_config,
    checked_config,
    load_checked,
    read_checkpoint,
)


TARGETS = ('embedding', 'input')
# The settings every repr shows; the others appear when not the default.
_SHOWN = ('skeleton', 'in_channels', 'hidden_channels', 'encoder_layers',
          'encoder', 'mask', 'target')


@dataclass
class SkeletonMAEOutput:
    r"""What a :class:`SkeletonMAE` returns, in sequence layout.

    Attributes:
        loss (Tensor): The training objective, a scalar.
        joint_loss (Tensor): The cosine-error term.
        edge_loss (Tensor): The edge term (zero unless enabled).
        reconstruction (Tensor): Decoded joints :obj:`(N, C_t, T, V, M)`,
            :obj:`C_t` the target's size (:obj:`D` for the embedding
            target, :obj:`C` for the input target).
        target (Tensor): What was reconstructed, :obj:`(N, C_t, T, V, M)`.
        joint_mask (Tensor): Masked joints, boolean :obj:`(N, T, V, M)`.
        loss_mask (Tensor): The joints the loss counted: masked and present
            (not zero padding), boolean :obj:`(N, T, V, M)`.
        target_spread (Tensor): :math:`1 - \|\bar{\mathbf{u}}\|^2` for the
            mean :math:`\bar{\mathbf{u}}` of the unit-length targets over
            the counted joints (no gradient): near :obj:`0` when every
            target points one way (a collapsed, trivially predictable
            target), near :obj:`1` for targets spread over all directions.
    """
    loss: Tensor
    joint_loss: Tensor
    edge_loss: Tensor
    reconstruction: Tensor
    target: Tensor
    joint_mask: Tensor
    loss_mask: Tensor
    target_spread: Tensor


def direction_spread(x: Tensor, mask: Tensor) -> Tensor:
    r""":math:`1 - \|\bar{\mathbf{u}}\|^2`, :math:`\bar{\mathbf{u}}` the mean
    of the unit vectors :obj:`x / ||x||` over :obj:`mask`, without gradient.

    Args:
        x (Tensor): :obj:`(*, C)`.
        mask (Tensor): Boolean :obj:`(*)`.

    Returns:
        A scalar in :obj:`[0, 1]`.
    """
    with torch.no_grad():
        unit = torch.nn.functional.normalize(x.float(), dim=-1)
        weight = mask.unsqueeze(-1).to(unit.dtype)
        mean = (unit * weight).sum(dim=tuple(range(x.dim() - 1)))
        mean = mean / weight.sum().clamp(min=1)
        return 1 - mean.square().sum()


class SkeletonMAE(Module):
    r"""SkeletonMAE, the graph-based masked autoencoder of Yan et al.,
    "SkeletonMAE: Graph-based Masked Autoencoder for Skeleton Sequence
    Pre-training" (ICCV 2023).

    Every frame of every person is a graph of the skeleton's joints
    (Sec. 3.1.1). Joints are embedded linearly (:class:`JointEmbedding`),
    body regions are masked with a learnable token (:class:`JointEdgeMasker`;
    by default the right arm and right leg, the paper's best), an encoder
    of :math:`L_D` GIN layers (:class:`GraphEncoder`) maps the masked graph
    to hidden features, and a one-layer decoder (:class:`MAEDecoder`)
    reconstructs the target, trained with the re-weighted cosine error on
    the masked joints (Eq. 2, :class:`SkeletonMAELoss`). Defaults are the
    paper's where it says; ``docs/fidelity.rst`` gives each choice where it
    is silent.

    Args:
        skeleton (Skeleton or str): The layout, *e.g.* :obj:`"coco"`.
        in_channels (int): Channels per joint :obj:`C` (the paper's
            :math:`(x, y)`: 2).
        hidden_channels (int, optional): :math:`D = D_h`. (default: :obj:`64`)
        encoder_layers (int, optional): Encoder layers :math:`L_D`.
            (default: :obj:`3`)
        encoder (str, callable or Module, optional): The encoder's
            convolution: :obj:`"gin"`, :obj:`"gcn"`, :obj:`"gat"` (Table 4c)
            or any PyG conv class, see
            :func:`~torch_skeleton_mae.nn.encoder.make_conv`; or a ready
            encoder module mapping :obj:`hidden_channels` to
            :obj:`hidden_channels` per joint, as :obj:`GAE(encoder)` takes
            one (*e.g.* PyG's :class:`~torch_geometric.nn.models.GIN`; see
            :func:`~torch_skeleton_mae.nn.encoder.make_encoder`; its config
            then names no encoder, so a checkpoint of it is loaded into a
            model built again with the module). (default: :obj:`"gin"`)
        mask (str or MaskingStrategy, optional): What to mask, see
            :func:`~torch_skeleton_mae.nn.masking_strategy`; one draw per
            person and sequence. (default: :obj:`"parts:right_arm,right_leg"`)
        target (str, optional): :obj:`"embedding"` reconstructs the embedded
            joints (Eq. 2's :math:`\mathbf{X}`, :obj:`D` features a joint);
            :obj:`"input"` the raw coordinates. (default:
            :obj:`"embedding"`)
        stop_target_grad (bool, optional): With the embedding target, no
            gradient flows into the target (without it the embedding can
            collapse to a constant that is trivial to predict; see
            ``docs/fidelity.rst``). (default: :obj:`True`)
        center_target (bool, optional): Reconstruct every joint's offset from
            its mean position instead of its position, so that the cosine
            error scores the pose rather than the body's fixed layout, which
            one constant per joint nearly predicts (not in the paper). As in
            batch normalization, a training batch is centred on its own
            joint means (over the present joints) and evaluation on their
            running average, the buffer :obj:`joint_mean` :obj:`(V, C)`.
            (default: :obj:`False`)
        momentum (float, optional): With :obj:`center_target`, the weight of
            each training batch's joint means in :obj:`joint_mean`.
            (default: :obj:`0.1`)
        mask_edges (bool, optional): Hide the masked joints' edges from the
            encoder (the paper's Eq. 1 keeps them). (default: :obj:`False`)
        remask (bool, optional): Re-mask before decoding.
            (default: :obj:`True`)
        beta (float, optional): Cosine-error exponent. (default: :obj:`2.`)
        edge_loss_weight (float, optional): Weight of the edge
            reconstruction term; :obj:`0` trains as the paper does.
            (default: :obj:`0.`)
        joint_embedding (bool, optional): Learnable per-joint embeddings of
            the encoder's input and of the decoder's (re-masked) input (not
            in the paper). (default: :obj:`False`)
        embedding_bias (bool, optional): An affine joint embedding instead
            of the paper's linear one; its constant bias then dominates the
            embedding target, which a constant prediction nearly solves.
            (default: :obj:`False`)
        act (str, optional): Activation. (default: :obj:`"prelu"`)
        norm (str, optional): Normalization. (default: :obj:`"batch"`)

    Shapes:
        - **input:** :math:`(N, C, T, V, M)` or a frame
          :class:`~torch_geometric.data.Batch`
        - **output:** :class:`SkeletonMAEOutput`

    Example:
        >>> import torch
        >>> from torch_skeleton_mae.nn import SkeletonMAE
        >>> model = SkeletonMAE('coco', in_channels=2)
        >>> out = model(torch.randn(2, 2, 16, 17, 2))
        >>> out.reconstruction.shape  # the embedded joints, D = 64
        torch.Size([2, 64, 16, 17, 2])
        >>> out.joint_mask[0, 0, :, 0].nonzero().view(-1).tolist()
        [8, 10, 14, 16]
        >>> model.encode(torch.randn(2, 2, 16, 17, 2)).shape
        torch.Size([2, 64, 16, 17, 2])
    """
    def __init__(self, skeleton, in_channels: int, hidden_channels: int = 64,
                 encoder_layers: int = 3, encoder: EncoderSpec = 'gin',
                 mask: Union[str, MaskingStrategy] = DEFAULT_MASK,
                 target: str = 'embedding', stop_target_grad: bool = True,
                 center_target: bool = False, momentum: float = 0.1,
                 mask_edges: bool = False, remask: bool = True,
                 beta: float = 2.0, edge_loss_weight: float = 0.0,
                 joint_embedding: bool = False, embedding_bias: bool = False,
                 act: str = 'prelu', norm: Optional[str] = 'batch'):
        super().__init__()
        if target not in TARGETS:
            raise ValueError(f"'target' must be one of {TARGETS}, got "
                             f"'{target}'")
        if not 0 <= momentum <= 1:
            raise ValueError(f"'momentum' must lie in [0, 1], got "
                             f"{momentum}")
        self.skeleton = get_skeleton(skeleton)
        V = self.skeleton.num_joints
        self.in_channels = in_channels
        self.target = target
        self.stop_target_grad = stop_target_grad
        self.center_target = center_target
        self.momentum = momentum
        self.mask_edges = mask_edges
        self.embedding = JointEmbedding(in_channels, hidden_channels, V,
                                        positional=joint_embedding,
                                        bias=embedding_bias)
        self.masker = JointEdgeMasker(self.skeleton, hidden_channels, mask)
        self.encoder = make_encoder(encoder, hidden_channels, encoder_layers,
                                    act=act, norm=norm)
        target_channels = (hidden_channels if target == 'embedding' else
                           in_channels)
        self.decoder = MAEDecoder(hidden_channels, target_channels,
                                  remask=remask,
                                  reconstruct_edges=edge_loss_weight > 0,
                                  num_joints=V if joint_embedding else None,
                                  act=act, norm=norm, cached=True)
        self.criterion = SkeletonMAELoss(beta, edge_loss_weight)
        self.register_buffer('edge_index', self.skeleton.edge_index(),
                             persistent=False)
        self.register_buffer('adjacency',
                             self.skeleton.adjacency(self_loops=False),
                             persistent=False)
        # The running mean of each joint's coordinates (center_target).
        self.register_buffer('joint_mean', torch.zeros(V, in_channels)
                             if center_target else None)
        self.config = constructor_config(
            SkeletonMAE, locals(), skeleton=self.skeleton.name,
            encoder=encoder_name(self.encoder),
            mask=self.masker.strategy.spec)

    def reset_parameters(self):
        r"""Resets all learnable parameters of the module."""
        for module in (self.embedding, self.masker, self.encoder,
                       self.decoder):
            module.reset_parameters()
        if self.joint_mean is not None:
            self.joint_mean.zero_()

    def encode(self, x: Union[Tensor, Batch]) -> Tensor:
        r"""Encodes unmasked sequences.

        Args:
            x (Tensor or Batch): :obj:`(N, C, T, V, M)` or a frame batch.

        Returns:
            Joint representations :obj:`(N, D_h, T, V, M)`.
        """
        x = self._joints(x)
        h = apply_conv(self.encoder, self.embedding(x), self.edge_index)
        return h.permute(0, 4, 2, 3, 1)

    def coordinates(self, reconstruction: Tensor) -> Tensor:
        r"""Joint coordinates of a reconstruction, for pictures: the
        reconstruction itself with the input target, the least-squares
        inverse of the linear embedding (:meth:`JointEmbedding.invert`)
        with the embedding target; plus :obj:`joint_mean` with
        :obj:`center_target`.

        Args:
            reconstruction (Tensor): :obj:`(N, C_t, T, V, M)`, as in
                :class:`SkeletonMAEOutput`.

        Returns:
            :obj:`(N, C, T, V, M)`.
        """
        y = reconstruction.movedim(1, -1)
        if self.target == 'embedding':
            y = self.embedding.invert(y)
        if self.joint_mean is not None:
            y = y + self.joint_mean.unsqueeze(-2)  # (V, 1, C) before M
        return y.movedim(-1, 1)

    def target_of(self, joints: Tensor, center: Optional[Tensor] = None,
                  projected: Optional[Tensor] = None) -> Tensor:
        r"""What the decoder reconstructs of :obj:`joints`: the joints
        (:obj:`target="input"`) or their linear embedding (Eq. 2's
        :math:`\mathbf{X}`), less those of :obj:`center`, the per-joint
        mean :obj:`(V, C)` (:obj:`center_target`; the running mean
        :obj:`joint_mean` when :obj:`None` in evaluation). Also scores
        other predictions of the joints in the model's own terms.

        Args:
            joints (Tensor): :obj:`(N, M, T, V, C)`.
            center (Tensor, optional): :obj:`(V, C)`.
            projected (Tensor, optional): The joints' embedding
                :obj:`(N, M, T, V, D)` when it is at hand.

        Returns:
            :obj:`(N, M, T, V, C_t)`.
        """
        embed = self.embedding.project
        if self.target == 'input':
            target = joints
        else:
            target = embed(joints) if projected is None else projected
        if self.center_target:
            if center is None:
                center = self.joint_mean
            target = target - (center if self.target == 'input' else
                               embed(center))
        return target

    def _centers(self, x: Tensor, present: Tensor) -> Tensor:
        # Each joint's mean (V, C) over the present joints of the batch
        # (training; the running mean follows it) or the running mean.
        if not self.training:
            return self.joint_mean
        weight = present.unsqueeze(-1).to(x.dtype)
        mean = (x * weight).sum(dim=(0, 1, 2)) / weight.sum(
            dim=(0, 1, 2)).clamp(min=1)
        with torch.no_grad():
            self.joint_mean.lerp_(mean.to(self.joint_mean.dtype),
                                  self.momentum)
        return mean

    def _joints(self, x: Union[Tensor, Batch]) -> Tensor:
        # (N, C, T, V, M) or a frame batch -> checked (N, M, T, V, C).
        x = as_sequence(x, self.skeleton)
        if x.size(1) != self.in_channels:
            raise ValueError(f"The model takes {self.in_channels} channels "
                             f"per joint, the batch has {x.size(1)} (shape "
                             f"{tuple(x.shape)})")
        return x.permute(0, 4, 2, 3, 1)

    def forward(self, x: Union[Tensor, Batch],
                generator: Optional[torch.Generator] = None
                ) -> SkeletonMAEOutput:
        r"""Masks, encodes, decodes and scores a batch.

        Args:
            x (Tensor or Batch): :obj:`(N, C, T, V, M)` or a frame batch.
            generator (torch.Generator, optional): Source of the masks, on
                the model's device.
        """
        x = self._joints(x)
        N, M = x.shape[:2]
        # One draw per person and sequence: the same joints in every frame.
        joint_mask = self.masker.sample((N, M, 1), generator)
        projected = self.embedding.project(x)
        masked = self.masker(projected, joint_mask)
        edge_weight = ~masked.edge_mask if self.mask_edges else None
        h = apply_conv(self.encoder, self.embedding.add_position(masked.x),
                       self.edge_index, edge_weight)
        rec = self.decoder(h, self.edge_index, masked.joint_mask)
        # Zero padding (absent persons, missing frames) is not a target.
        present = (x != 0).any(dim=-1)
        loss_mask = masked.joint_mask & present
        target = self.target_of(x, self._centers(x, present)
                                if self.center_target else None, projected)
        if self.target == 'embedding' and self.stop_target_grad:
            target = target.detach()
        terms = self.criterion(rec.x, target, loss_mask, rec.edge_logits,
                               self.adjacency)
        return SkeletonMAEOutput(
            loss=terms.loss, joint_loss=terms.joint_loss,
            edge_loss=terms.edge_loss,
            reconstruction=rec.x.permute(0, 4, 2, 3, 1),
            target=target.permute(0, 4, 2, 3, 1),
            joint_mask=masked.joint_mask.permute(0, 2, 3, 1),
            loss_mask=loss_mask.permute(0, 2, 3, 1),
            target_spread=direction_spread(target, loss_mask))

    @classmethod
    def from_checkpoint(cls, source: Union[Dict[str, Any], str, os.PathLike]
                        ) -> 'SkeletonMAE':
        r"""The SkeletonMAE a checkpoint holds: built from its
        :obj:`"config"` (a convolution by name only, see
        :func:`~torch_skeleton_mae.nn.register_conv`) with its
        :obj:`"model"` weights, every key and shape checked.

        Args:
            source: A dict holding :obj:`"model"` and :obj:`"config"`, or
                the path of one (read with :obj:`weights_only=True`).

        Raises:
            ValueError: if :obj:`source` has no config or its weights do
                not fit.

        Example:
            >>> from torch_skeleton_mae.nn import SkeletonMAE
            >>> mae = SkeletonMAE('coco', 2, encoder_layers=2)
            >>> state = dict(model=mae.state_dict(), config=mae.config)
            >>> SkeletonMAE.from_checkpoint(state).encoder.num_layers
            2
        """
        name = 'the checkpoint'
        if isinstance(source, (str, os.PathLike)):
            name, source = f"'{source}'", read_checkpoint(source)
        config = source.get('config') if isinstance(source, dict) else None
        if config is None or 'model' not in source:
            raise ValueError(f"{name} holds no 'config' and 'model': it is "
                             f"not a SkeletonMAE checkpoint")
        config = checked_config(cls, config, name)
        if config.get('encoder') is None:
            raise ValueError(f"{name} was trained with an encoder module of "
                             f"its own, which its config cannot rebuild: "
                             f"build SkeletonMAE with that module and load "
                             f"its 'model' weights into it")
        check_on_meta(lambda: cls(**config), source['model'], name)
        model = cls(**config)
        load_checked(model, source['model'], name)
        return model

    def _encoder_repr(self) -> str:
        name = self.config['encoder']
        return repr(name) if name else type(self.encoder).__name__

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}('{self.skeleton.name}', "
                f"in_channels={self.in_channels}, "
                f"hidden_channels={self.config['hidden_channels']}, "
                f"encoder_layers={self.config['encoder_layers']}, "
                f"encoder={self._encoder_repr()}, "
                f"mask='{self.masker.strategy.spec}', "
                f"target='{self.target}'"
                f"{changed_settings(SkeletonMAE, self.config, _SHOWN)})")
