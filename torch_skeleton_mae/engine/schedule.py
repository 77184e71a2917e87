r"""Learning-rate schedules."""
from typing import Sequence

from torch.optim.lr_scheduler import LambdaLR


def warmup_multistep(optimizer, warmup_epochs: int,
                     milestones: Sequence[int],
                     gamma: float = 0.1) -> LambdaLR:
    r"""The fine-tuning schedule of the paper (and of CTR-GCN): a linear
    warm-up over :obj:`warmup_epochs`, then the rate divided by
    :obj:`1 / gamma` at every milestone. Step it once per epoch.

    Example:
        >>> import torch
        >>> opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
        >>> schedule = warmup_multistep(opt, 2, milestones=(4, ))
        >>> rates = []
        >>> for _ in range(5):
        ...     rates.append(round(opt.param_groups[0]['lr'], 4))
        ...     opt.step(); schedule.step()
        >>> rates
        [0.05, 0.1, 0.1, 0.1, 0.01]
    """
    milestones = sorted(milestones)

    def factor(epoch: int) -> float:
        if epoch < warmup_epochs:
            return (epoch + 1) / warmup_epochs
        return gamma**sum(epoch >= m for m in milestones)

    return LambdaLR(optimizer, factor)
