from dataclasses import dataclass
from typing import Optional, Sequence, Union

import torch
from torch import Tensor
from torch.nn import Module, Parameter

from torch_skeleton_mae.graph import get_skeleton

#: The paper's best masking (Table 5b, Fig. 6), regions V3 and V5 (the right
#: arm and the right leg) in every sample.
DEFAULT_MASK = 'parts:right_arm,right_leg'


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


def _device(device, generator) -> torch.device:
    if device is not None:
        return torch.device(device)
    return generator.device if generator is not None else torch.device('cpu')


class MaskingStrategy:
    r"""How :class:`JointEdgeMasker` chooses the joints to mask. A strategy
    is bound to a layout and draws one boolean mask per sample with
    :meth:`sample`; :attr:`spec` is its text form, which
    :func:`~torch_skeleton_mae.nn.masking_strategy` parses back (the models
    store it in their config, the command line takes it as :obj:`--mask`)."""
    def __init__(self, skeleton):
        self.skeleton = get_skeleton(skeleton)

    @property
    def spec(self) -> str:
        r"""The text form, *e.g.* :obj:`"parts:right_arm,right_leg"`."""
        raise NotImplementedError

    def sample(self, shape: Sequence[int],
               generator: Optional[torch.Generator] = None,
               device=None) -> Tensor:
        r"""Draws masks of shape :obj:`(*shape, V)`, :obj:`True` at masked
        joints, on :obj:`device` (default: the generator's, else the CPU).
        """
        raise NotImplementedError

    def _choose(self, shape: Sequence[int], n: int, k: int,
                generator: Optional[torch.Generator], device) -> Tensor:
        # k of n items uniformly without replacement, per sample.
        device = _device(device, generator)
        scores = torch.rand(*shape, n, device=device, generator=generator)
        chosen = scores.argsort(dim=-1)[..., :k]
        mask = torch.zeros_like(scores, dtype=torch.bool)
        return mask.scatter_(-1, chosen, True)

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}('{self.skeleton.name}', "
                f"'{self.spec}')")


class FixedParts(MaskingStrategy):
    r"""Masks the same body regions in every sample: the paper's masking
    (Sec. 3.1.2; the ablations mask region 3, the best setting regions 3 and
    5, Table 5b). Regions are the layout's parts, by index in the paper's
    order (0 head, 1 torso, 2 left arm, 3 right arm, 4 left leg, 5 right
    leg) or by name.

    Args:
        skeleton (Skeleton or str): The layout.
        parts (sequence of int or str): The regions.

    Example:
        >>> from torch_skeleton_mae.nn.masking import FixedParts
        >>> FixedParts('coco', [3, 'right_leg']).sample((2, )).nonzero()[:, 1]
        tensor([ 8, 10, 14, 16,  8, 10, 14, 16])
    """
    def __init__(self, skeleton, parts: Sequence[Union[int, str]]):
        super().__init__(skeleton)
        names = list(self.skeleton.parts)
        self.parts = []
        for part in parts:
            if isinstance(part, str) and part.isdigit():
                part = int(part)
            if isinstance(part, int) and not 0 <= part < len(names):
                raise ValueError(
                    f"Region {part} does not exist: layout "
                    f"'{self.skeleton.name}' has regions 0-{len(names) - 1} "
                    f"({', '.join(names)})")
            if isinstance(part, str) and part not in names:
                raise ValueError(f"Layout '{self.skeleton.name}' has no part "
                                 f"'{part}'; its parts are {names}")
            name = names[part] if isinstance(part, int) else part
            if name not in self.parts:
                self.parts.append(name)
        if not self.parts:
            raise ValueError('FixedParts needs at least one region')
        self.mask = torch.zeros(self.skeleton.num_joints, dtype=torch.bool)
        for name in self.parts:
            self.mask[list(self.skeleton.parts[name])] = True

    @property
    def spec(self) -> str:
        return 'parts:' + ','.join(self.parts)

    def sample(self, shape, generator=None, device=None) -> Tensor:
        mask = self.mask.to(_device(device, generator))
        return mask.expand(*shape, mask.numel()).clone()


class RandomParts(MaskingStrategy):
    r"""Masks :obj:`k` body regions per sample, chosen uniformly (the
    paper's general "randomly select one or more joint sets", Sec. 3.1.2).

    Args:
        skeleton (Skeleton or str): The layout.
        k (int): Regions per sample, in :obj:`[1, num_parts]`.
    """
    def __init__(self, skeleton, k: int):
        super().__init__(skeleton)
        num_parts = len(self.skeleton.parts)
        if not 1 <= k <= num_parts:
            raise ValueError(f"random-parts:{k}: layout "
                             f"'{self.skeleton.name}' has {num_parts} parts; "
                             f"mask between 1 and {num_parts}")
        self.k = k
        self.part_index = self.skeleton.part_index

    @property
    def spec(self) -> str:
        return f'random-parts:{self.k}'

    def sample(self, shape, generator=None, device=None) -> Tensor:
        chosen = self._choose(shape, len(self.skeleton.parts), self.k,
                              generator, device)
        return chosen[..., self.part_index.to(chosen.device)]


class RandomJoints(MaskingStrategy):
    r"""Masks :obj:`round(ratio * V)` joints per sample, chosen uniformly:
    the baseline of the paper's Table 5b (30-90% of the joints).

    Args:
        skeleton (Skeleton or str): The layout.
        ratio (float): In :obj:`(0, 1]`.
    """
    def __init__(self, skeleton, ratio: float):
        super().__init__(skeleton)
        count = round(ratio * self.skeleton.num_joints)
        if not 0 < ratio <= 1 or count == 0:
            raise ValueError(f"random-joints:{ratio}: the ratio must lie in "
                             f"(0, 1] and mask at least one of the "
                             f"{self.skeleton.num_joints} joints")
        self.ratio = ratio
        self.count = count

    @property
    def spec(self) -> str:
        return f'random-joints:{self.ratio:g}'

    def sample(self, shape, generator=None, device=None) -> Tensor:
        return self._choose(shape, self.skeleton.num_joints, self.count,
                            generator, device)


def masking_strategy(mask: Union[str, MaskingStrategy],
                     skeleton) -> MaskingStrategy:
    r"""Parses :obj:`mask` for :obj:`skeleton`: :obj:`"parts:3,5"` or
    :obj:`"parts:right_arm,right_leg"`
    (:class:`~torch_skeleton_mae.nn.masking.FixedParts`),
    :obj:`"random-parts:K"`
    (:class:`~torch_skeleton_mae.nn.masking.RandomParts`) or
    :obj:`"random-joints:RATIO"`
    (:class:`~torch_skeleton_mae.nn.masking.RandomJoints`). A strategy is
    returned as is, after checking its layout.

    Example:
        >>> from torch_skeleton_mae.nn import masking_strategy
        >>> masking_strategy('parts:3,5', 'coco').spec
        'parts:right_arm,right_leg'
    """
    skeleton = get_skeleton(skeleton)
    if isinstance(mask, MaskingStrategy):
        if mask.skeleton.num_joints != skeleton.num_joints:
            raise ValueError(f"The masking strategy is for layout "
                             f"'{mask.skeleton.name}', not '{skeleton.name}'")
        return mask
    kind, _, value = str(mask).partition(':')
    try:
        number = float(value)
    except ValueError:
        number = None
    if kind == 'parts' and value:
        return FixedParts(skeleton, value.split(','))
    if kind == 'random-parts' and number is not None and number.is_integer():
        return RandomParts(skeleton, int(number))
    if kind == 'random-joints' and number is not None:
        return RandomJoints(skeleton, number)
    raise ValueError(f"Unknown masking '{mask}'; expected 'parts:I,J' "
                     f"(region indices or names), 'random-parts:K' or "
                     f"'random-joints:RATIO'")


class JointEdgeMasker(Module):
    r"""Masks skeleton joints and their edges, SkeletonMAE's masking
    (Yan et al., ICCV 2023, Sec. 3.1.2): the joints chosen by a
    :class:`~torch_skeleton_mae.nn.masking.MaskingStrategy` get a learnable
    :obj:`[MASK]` token as their feature, and every edge incident to a masked
    joint is marked.

    Args:
        skeleton (Skeleton or str): The layout.
        channels (int): Feature size :obj:`C` of the mask token.
        mask (str or MaskingStrategy, optional): See
            :func:`~torch_skeleton_mae.nn.masking_strategy`. (default: the
            paper's best, :obj:`"parts:right_arm,right_leg"`, regions V3 and
            V5)

    Shapes:
        - **input:** features :math:`(*, V, C)`, joint mask :math:`(*, V)`
          or any shape that broadcasts to it *(optional)*
        - **output:** :class:`~torch_skeleton_mae.nn.masking.MaskedJoints`

    Example:
        >>> import torch
        >>> from torch_skeleton_mae.nn import JointEdgeMasker
        >>> masker = JointEdgeMasker('coco', channels=64)
        >>> out = masker(torch.randn(8, 17, 64))
        >>> out.joint_mask.shape, out.edge_mask.shape
        (torch.Size([8, 17]), torch.Size([8, 32]))
    """
    def __init__(self, skeleton, channels: int,
                 mask: Union[str, MaskingStrategy] = DEFAULT_MASK):
        super().__init__()
        self.skeleton = get_skeleton(skeleton)
        self.strategy = masking_strategy(mask, self.skeleton)
        self.channels = channels
        self.mask_token = Parameter(torch.empty(channels))
        self.register_buffer('edge_index', self.skeleton.edge_index(),
                             persistent=False)
        self.reset_parameters()

    def reset_parameters(self):
        r"""Resets the mask token to zeros (GraphMAE's initialization)."""
        torch.nn.init.zeros_(self.mask_token)

    def sample(self, batch_shape: Sequence[int],
               generator: Optional[torch.Generator] = None) -> Tensor:
        r"""Draws a joint mask of shape :obj:`(*batch_shape, V)`, one draw per
        sample, on this module's device. Pass a :class:`torch.Generator` on
        that device for reproducible masks."""
        return self.strategy.sample(batch_shape, generator,
                                    self.mask_token.device)

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
        return (f"{self.__class__.__name__}('{self.skeleton.name}', "
                f"channels={self.channels}, mask='{self.strategy.spec}')")
