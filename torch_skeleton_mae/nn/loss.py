from typing import NamedTuple, Optional

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
    total = torch.where(mask, error, 0.0).sum()
    return total / mask.sum().clamp(min=1)


def edge_reconstruction_error(logits: Tensor, adjacency: Tensor,
                              mask: Tensor) -> Tensor:
    r"""Binary cross-entropy between predicted and true adjacency rows of the
    masked joints, self-pairs left out.

    Args:
        logits (Tensor): Pair logits :obj:`(*, V, V)`.
        adjacency (Tensor): The 0/1 skeleton adjacency :obj:`(V, V)`.
        mask (Tensor): Boolean :obj:`(*, V)`, the joints whose edges count.
    """
    V = adjacency.size(-1)
    off_diagonal = ~torch.eye(V, dtype=torch.bool, device=logits.device)
    select = (mask.unsqueeze(-1) & off_diagonal).expand_as(logits)
    target = adjacency.to(logits.dtype).expand_as(logits)
    error = F.binary_cross_entropy_with_logits(logits, target,
                                               reduction='none')
    # A masked mean, as in scaled_cosine_error: 0 when nothing is selected.
    return torch.where(select, error, 0.0).sum() / select.sum().clamp(min=1)


class LossTerms(NamedTuple):
    r"""The total loss and its two terms (scalars)."""
    loss: Tensor
    joint_loss: Tensor
    edge_loss: Tensor


class SkeletonMAELoss(Module):
    r"""SkeletonMAE's objective:
    :func:`~torch_skeleton_mae.nn.loss.scaled_cosine_error` on masked joints
    plus, when :obj:`edge_weight > 0`, :obj:`edge_weight` times
    :func:`~torch_skeleton_mae.nn.loss.edge_reconstruction_error` on the masked
    joints' edges. The paper trains with the first term only (Eq. 2), our
    default.

    Args:
        beta (float, optional): Exponent of the cosine error.
            (default: :obj:`2.`)
        edge_weight (float, optional): Weight of the edge term.
            (default: :obj:`0.`)

    Shapes:
        - **input:** reconstruction and target :math:`(*, V, C)`, mask
          :math:`(*, V)`, edge logits :math:`(*, V, V)` and adjacency
          :math:`(V, V)` *(optional)*
        - **output:** :class:`~torch_skeleton_mae.nn.loss.LossTerms` of scalars
    """
    def __init__(self, beta: float = 2.0, edge_weight: float = 0.0):
        super().__init__()
        if edge_weight < 0:
            raise ValueError(f"'edge_weight' must be >= 0, got {edge_weight}")
        self.beta = beta
        self.edge_weight = edge_weight

    def forward(self, pred: Tensor, target: Tensor, mask: Tensor,
                edge_logits: Optional[Tensor] = None,
                adjacency: Optional[Tensor] = None) -> LossTerms:
        joint_loss = scaled_cosine_error(pred, target, mask, self.beta)
        edge_loss = torch.zeros_like(joint_loss)
        if self.edge_weight > 0:
            if edge_logits is None or adjacency is None:
                raise ValueError("'edge_weight' > 0 needs 'edge_logits' and "
                                 "'adjacency'")
            edge_loss = edge_reconstruction_error(edge_logits, adjacency,
                                                  mask)
        return LossTerms(joint_loss + self.edge_weight * edge_loss,
                         joint_loss, edge_loss)

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(beta={self.beta}, '
                f'edge_weight={self.edge_weight})')
