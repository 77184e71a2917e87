from dataclasses import dataclass
from typing import Optional, Sequence

import torch
from torch import Tensor
from torch.nn import Module, Parameter

from torch_skeleton_mae.graph import get_skeleton

STRATEGIES = ('part', 'random')


@dataclass
class MaskedJoints:
    r"""What :class:`JointEdgeMasker` returns.

    Attributes:
        x (Tensor): Features with masked joints replaced by the mask token,
            shape :obj:`(*, V, C)`.
        joint_mask (Tensor): :obj:`True` at masked joints, :obj:`(*, V)`.
        edge_mask (Tensor): :obj:`True` at masked edges (those incident to a
            masked joint), :obj:`(*, E)`, aligned with :obj:`edge_index`.
        edge_index (Tensor): The skeleton's edges, :obj:`(2, E)`.
    """
    x: Tensor
    joint_mask: Tensor
    edge_mask: Tensor
    edge_index: Tensor

    def _flat_edges(self, select: Tensor) -> Tensor:
        V = self.joint_mask.size(-1)
        E = self.edge_index.size(1)
        select = select.reshape(-1, E)
        offset = torch.arange(select.size(0), device=select.device) * V
        edges = self.edge_index.unsqueeze(1) + offset.view(1, -1, 1)
        return edges[:, select]

    def kept_edge_index(self) -> Tensor:
        r"""The unmasked edges numbered as in a flat batch (graph :obj:`g`'s
        joint :obj:`v` is node :obj:`g * V + v`, the order of
        :func:`~torch_skeleton_mae.data.to_frame_batch`), shape
        :obj:`(2, E_kept)`."""
        return self._flat_edges(~self.edge_mask)

    def masked_edge_index(self) -> Tensor:
        r"""The masked edges, numbered as in :meth:`kept_edge_index`."""
        return self._flat_edges(self.edge_mask)


class JointEdgeMasker(Module):
    r"""Masks skeleton joints and their edges, SkeletonMAE's masking
    (Yan et al., ICCV 2023, Sec. 3.1.2).

    With :obj:`strategy="part"` (the paper's), :obj:`num_masked_parts` of the
    skeleton's body parts are chosen uniformly at random per sample and all
    their joints are masked; with :obj:`strategy="random"`,
    :obj:`round(mask_ratio * V)` joints are chosen uniformly (the paper's
    baseline in Table 5b). Masked joints' features become a learnable
    :obj:`[MASK]` token and every edge incident to a masked joint is masked.

    Args:
        skeleton (Skeleton or str): The layout.
        channels (int): Feature size :obj:`C` of the mask token.
        strategy (str, optional): :obj:`"part"` or :obj:`"random"`.
            (default: :obj:`"part"`)
        num_masked_parts (int, optional): Parts masked per sample with
            :obj:`"part"`; the paper's ablation (Table 4c) is best at
            :obj:`3` of the 6. (default: :obj:`3`)
        mask_ratio (float, optional): Fraction of joints masked with
            :obj:`"random"`. (default: :obj:`0.5`)

    Shapes:
        - **input:** features :math:`(*, V, C)`, joint mask :math:`(*, V)`
          or any shape that broadcasts to it *(optional)*
        - **output:** :class:`MaskedJoints`

    Example:
        >>> import torch
        >>> from torch_skeleton_mae.nn import JointEdgeMasker
        >>> masker = JointEdgeMasker('coco', channels=64)
        >>> out = masker(torch.randn(8, 17, 64))
        >>> out.joint_mask.shape, out.edge_mask.shape
        (torch.Size([8, 17]), torch.Size([8, 32]))
    """
    def __init__(self, skeleton, channels: int, strategy: str = 'part',
                 num_masked_parts: int = 3, mask_ratio: float = 0.5):
        super().__init__()
        self.skeleton = get_skeleton(skeleton)
        num_parts = len(self.skeleton.parts)
        if strategy not in STRATEGIES:
            raise ValueError(f"Unknown masking strategy '{strategy}'; "
                             f"expected one of {STRATEGIES}")
        if strategy == 'part' and not 0 <= num_masked_parts <= num_parts:
            raise ValueError(f"'num_masked_parts' must be in [0, {num_parts}]"
                             f" for layout '{self.skeleton.name}', got "
                             f"{num_masked_parts}")
        if strategy == 'random' and not 0.0 <= mask_ratio <= 1.0:
            raise ValueError(f"'mask_ratio' must be in [0, 1], got "
                             f"{mask_ratio}")
        self.channels = channels
        self.strategy = strategy
        self.num_masked_parts = num_masked_parts
        self.mask_ratio = mask_ratio
        self.mask_token = Parameter(torch.empty(channels))
        self.register_buffer('part_index', self.skeleton.part_index,
                             persistent=False)
        self.register_buffer('edge_index', self.skeleton.edge_index(),
                             persistent=False)
        self.reset_parameters()

    def reset_parameters(self):
        r"""Resets the mask token to zeros (GraphMAE's initialization)."""
        torch.nn.init.zeros_(self.mask_token)

    @property
    def num_masked_joints(self) -> int:
        r"""Joints masked per sample with :obj:`strategy="random"`."""
        return round(self.mask_ratio * self.skeleton.num_joints)

    def sample(self, batch_shape: Sequence[int],
               generator: Optional[torch.Generator] = None) -> Tensor:
        r"""Draws a joint mask of shape :obj:`(*batch_shape, V)`, one draw per
        sample, on this module's device. Pass a :class:`torch.Generator` on
        that device for reproducible masks."""
        device = self.mask_token.device
        if self.strategy == 'part':
            num_parts, k = len(self.skeleton.parts), self.num_masked_parts
            index = self.part_index
        else:
            num_parts, k = self.skeleton.num_joints, self.num_masked_joints
            index = None
        scores = torch.rand(*batch_shape, num_parts, device=device,
                            generator=generator)
        chosen = scores.argsort(dim=-1)[..., :k]
        mask = torch.zeros_like(scores, dtype=torch.bool)
        mask.scatter_(-1, chosen, True)
        return mask if index is None else mask[..., index]

    def edge_mask(self, joint_mask: Tensor) -> Tensor:
        r"""Marks the edges incident to a masked joint: :obj:`(*, V)` to
        :obj:`(*, E)`."""
        row, col = self.edge_index
        return joint_mask[..., row] | joint_mask[..., col]

    def forward(self, x: Tensor, joint_mask: Optional[Tensor] = None,
                generator: Optional[torch.Generator] = None) -> MaskedJoints:
        V = self.skeleton.num_joints
        if x.dim() < 2 or x.size(-2) != V or x.size(-1) != self.channels:
            raise ValueError(f"Expected 'x' of shape (*, {V}, "
                             f"{self.channels}) for layout "
                             f"'{self.skeleton.name}', got {tuple(x.shape)}")
        if joint_mask is None:
            joint_mask = self.sample(x.shape[:-2], generator)
        joint_mask = joint_mask.expand(x.shape[:-1])
        masked_x = torch.where(joint_mask.unsqueeze(-1),
                               self.mask_token.to(x.dtype), x)
        return MaskedJoints(masked_x, joint_mask, self.edge_mask(joint_mask),
                            self.edge_index)

    def __repr__(self) -> str:
        amount = (f'num_masked_parts={self.num_masked_parts}'
                  if self.strategy == 'part' else
                  f'mask_ratio={self.mask_ratio}')
        return (f"{self.__class__.__name__}('{self.skeleton.name}', "
                f"channels={self.channels}, strategy='{self.strategy}', "
                f"{amount})")
