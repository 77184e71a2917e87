from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.nn import Module


def scaled_cosine_error(pred: Tensor, target: Tensor,
                        mask: Optional[Tensor] = None,
                        beta: float = 2.0) -> Tensor:
    r"""The re-weighted (scaled) cosine error of SkeletonMAE (Eq. 2) and
    GraphMAE, averaged over the selected joints:

    .. math::
        \mathcal{L} = \frac{1}{|\bar{\mathcal{V}}|}
        \sum_{i \in \bar{\mathcal{V}}} \left(1 - \frac{\mathbf{x}_i^\top
        \mathbf{z}_i}{\|\mathbf{x}_i\| \|\mathbf{z}_i\|}\right)^{\beta}

    Args:
        pred (Tensor): Reconstruction :obj:`(*, C)`.
        target (Tensor): Original features :obj:`(*, C)`.
        mask (Tensor, optional): Boolean :obj:`(*)` selecting the joints that
            count (the masked ones); all when :obj:`None`.
        beta (float, optional): The exponent :math:`\beta \geq 1`.
            (default: :obj:`2.`)

    Returns:
        A scalar; :obj:`0` (still differentiable) when no joint is selected.
    """
    if beta < 1:
        raise ValueError(f"'beta' must be >= 1, got {beta}")
    error = (1 - F.cosine_similarity(pred, target, dim=-1)).pow(beta)
    # A masked sum over a count rather than error[mask]: no data-dependent
    # shape, so torch.compile keeps the whole step in one graph.
    if mask is None:
        mask = torch.ones_like(error, dtype=torch.bool)
    mask = mask.expand_as(error)
    return torch.where(mask, error, 0.0).sum() / mask.sum().clamp(min=1)


class SkeletonMAELoss(Module):
    r"""SkeletonMAE's objective (Eq. 2) as a module:
    :func:`~torch_skeleton_mae.nn.loss.scaled_cosine_error` on the masked
    joints.

    Args:
        beta (float, optional): Exponent of the cosine error.
            (default: :obj:`2.`)

    Shapes:
        - **input:** reconstruction and target :math:`(*, V, C)`, mask
          :math:`(*, V)`
        - **output:** a scalar
    """
    def __init__(self, beta: float = 2.0):
        super().__init__()
        if beta < 1:
            raise ValueError(f"'beta' must be >= 1, got {beta}")
        self.beta = beta

    def forward(self, pred: Tensor, target: Tensor, mask: Tensor) -> Tensor:
        return scaled_cosine_error(pred, target, mask, self.beta)

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(beta={self.beta})'
