from typing import NamedTuple, Optional, Sequence, Union

import torch
from torch import Tensor
from torch.nn import Module, Parameter

from torch_skeleton_mae.graph import get_skeleton

#: The paper's best masking (Table 5b, Fig. 6), regions V3 and V5 (the right
#: arm and the right leg) in every sample.
DEFAULT_MASK = ('right_arm', 'right_leg')

#: What to mask, body regions (names or indices in the paper's order) or the
#: ratio of joints drawn at random.
MaskSpec = Union[Sequence[Union[int, str]], float]


class MaskedJoints(NamedTuple):
    r"""What :class:`JointEdgeMasker` returns: the features with the masked
    joints' replaced by the mask token :obj:`(*, V, C)`, the joint mask
    :obj:`(*, V)` and the edge mask :obj:`(*, E)` (:obj:`True` at the edges
    incident to a masked joint, aligned with the skeleton's
    :obj:`edge_index`)."""
    x: Tensor
    joint_mask: Tensor
    edge_mask: Tensor


class JointEdgeMasker(Module):
    r"""SkeletonMAE's masking (Yan et al., ICCV 2023, Sec. 3.1.2): the masked
    joints get a learnable :obj:`[MASK]` token as their feature and every
    edge incident to a masked joint is marked.

    What is masked is either body regions, the same in every sample (the
    paper's; its ablations mask region 3, its best setting regions 3 and 5,
    Table 5b), by name or by index in the paper's order (0 head, 1 torso,
    2 left arm, 3 right arm, 4 left leg, 5 right leg), or a ratio of the
    joints drawn uniformly per sample (the baseline of Table 5b).

    Args:
        skeleton (Skeleton or str): The layout.
        channels (int): Feature size :obj:`C` of the mask token.
        mask (sequence or float, optional): Regions, or a ratio in
            :obj:`(0, 1]`. (default: :obj:`("right_arm", "right_leg")`)

    Shapes:
        - **input:** features :math:`(*, V, C)`, joint mask :math:`(*, V)`
          or any shape that broadcasts to it *(optional)*
        - **output:** :class:`~torch_skeleton_mae.nn.masking.MaskedJoints`

    Example:
        >>> import torch
        >>> from torch_skeleton_mae.nn import JointEdgeMasker
        >>> masker = JointEdgeMasker('coco', channels=64)
        >>> out = masker(torch.randn(8, 17, 64))
        >>> out.joint_mask[0].nonzero().view(-1).tolist(), out.edge_mask.shape
        ([8, 10, 14, 16], torch.Size([8, 32]))
    """
    def __init__(self, skeleton, channels: int, mask: MaskSpec = DEFAULT_MASK):
        super().__init__()
        self.skeleton = get_skeleton(skeleton)
        self.channels = channels
        self.mask = self._checked(mask)
        regions = torch.zeros(self.skeleton.num_joints, dtype=torch.bool)
        if not isinstance(self.mask, float):
            for name in self.mask:
                regions[list(self.skeleton.parts[name])] = True
        self.register_buffer('regions', regions, persistent=False)
        self.register_buffer('edge_index', self.skeleton.edge_index(),
                             persistent=False)
        self.mask_token = Parameter(torch.empty(channels))
        self.reset_parameters()

    def _checked(self, mask: MaskSpec) -> Union[float, tuple]:
        # A ratio as a float; regions as a tuple of distinct names.
        V, names = self.skeleton.num_joints, list(self.skeleton.parts)
        if isinstance(mask, (int, float)) and not isinstance(mask, bool):
            if not 0 < mask <= 1 or round(mask * V) == 0:
                raise ValueError(f"A masking ratio must lie in (0, 1] and "
                                 f"mask at least one of the {V} joints, got "
                                 f"{mask}")
            return float(mask)
        regions = []
        for part in mask:
            if isinstance(part, str) and part.isdigit():
                part = int(part)
            if isinstance(part, int) and not 0 <= part < len(names):
                raise ValueError(f"Region {part} does not exist: layout "
                                 f"'{self.skeleton.name}' has regions "
                                 f"0-{len(names) - 1} ({', '.join(names)})")
            name = names[part] if isinstance(part, int) else part
            if name not in names:
                raise ValueError(f"Layout '{self.skeleton.name}' has no part "
                                 f"'{part}'; its parts are {names}")
            if name not in regions:
                regions.append(name)
        if not regions:
            raise ValueError('JointEdgeMasker needs a region or a ratio')
        return tuple(regions)

    def reset_parameters(self):
        r"""Resets the mask token to zeros (GraphMAE's initialization)."""
        torch.nn.init.zeros_(self.mask_token)

    def sample(self, shape: Sequence[int],
               generator: Optional[torch.Generator] = None) -> Tensor:
        r"""Draws joint masks of shape :obj:`(*shape, V)` on this module's
        device (pass a :class:`torch.Generator` there for reproducible
        masks)."""
        V = self.skeleton.num_joints
        if not isinstance(self.mask, float):
            return self.regions.expand(*shape, V).clone()
        scores = torch.rand(*shape, V, device=self.regions.device,
                            generator=generator)
        chosen = scores.argsort(dim=-1)[..., :round(self.mask * V)]
        return torch.zeros_like(scores, dtype=torch.bool).scatter_(
            -1, chosen, True)

    def forward(self, x: Tensor, joint_mask: Optional[Tensor] = None,
                generator: Optional[torch.Generator] = None) -> MaskedJoints:
        V = self.skeleton.num_joints
        if x.dim() < 2 or x.shape[-2:] != (V, self.channels):
            raise ValueError(f"Expected 'x' of shape (*, {V}, "
                             f"{self.channels}) for layout "
                             f"'{self.skeleton.name}', got {tuple(x.shape)}")
        if joint_mask is None:
            joint_mask = self.sample(x.shape[:-2], generator)
        joint_mask = joint_mask.expand(x.shape[:-1])
        row, col = self.edge_index
        return MaskedJoints(
            torch.where(joint_mask.unsqueeze(-1), self.mask_token.to(x.dtype),
                        x), joint_mask, joint_mask[..., row] | joint_mask[
                            ..., col])

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}('{self.skeleton.name}', "
                f"channels={self.channels}, mask={self.mask!r})")
