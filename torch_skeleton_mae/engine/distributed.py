r"""Several processes with PyTorch DDP, launched by :obj:`torchrun`."""
import os
from dataclasses import dataclass
from typing import Any, List, Optional

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class DistributedContext:
    r"""Rank and world size of this process (one process: rank 0 of 1)."""
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        r"""Whether this process logs and writes checkpoints."""
        return self.rank == 0

    def barrier(self) -> None:
        if self.enabled:
            dist.barrier()

    def gather(self, obj: Any) -> List[Any]:
        r"""Every rank's :obj:`obj`, in rank order."""
        if not self.enabled:
            return [obj]
        out = [None] * self.world_size
        dist.all_gather_object(out, obj)
        return out

    def all_sum(self, values: List[float]) -> List[float]:
        r"""Element-wise sums over ranks."""
        if not self.enabled:
            return list(values)
        t = torch.tensor(values, dtype=torch.float64)
        if dist.get_backend() == 'nccl':
            t = t.cuda()
        dist.all_reduce(t)
        return t.tolist()


def resolve_device(name: Optional[str] = None,
                   context: DistributedContext = DistributedContext()
                   ) -> torch.device:
    r"""The requested device, else this process's CUDA device when
    available, else the CPU.

    Raises:
        ValueError: if :obj:`name` is no device, or a CUDA device that this
            machine does not have.
    """
    if name:
        try:
            device = torch.device(name)
        except RuntimeError:
            raise ValueError(f"device '{name}' is not a device; expected e.g. "
                             f"'cpu', 'cuda' or 'cuda:1'") from None
        if device.type == 'cuda' and not torch.cuda.is_available():
            raise ValueError(f"device '{name}': no CUDA device is available "
                             f"here; use 'cpu'")
        if device.type == 'cuda' and (device.index or 0) >= (
                torch.cuda.device_count()):
            raise ValueError(f"device '{name}': this machine has "
                             f"{torch.cuda.device_count()} CUDA device(s)")
        return device
    if torch.cuda.is_available():
        return torch.device('cuda', context.local_rank)
    return torch.device('cpu')


def init_distributed(device: Optional[str] = None):
    r"""Joins the process group :obj:`torchrun` describes (environment
    variables :obj:`RANK`, :obj:`WORLD_SIZE`, :obj:`LOCAL_RANK`), with NCCL on
    CUDA and gloo otherwise; a plain :obj:`python` launch is one process.
    Call :func:`cleanup_distributed` when done: a process that exits still
    in the group can abort in gloo's threads during interpreter shutdown.

    Returns:
        :class:`DistributedContext` and the :class:`torch.device` to use.
    """
    world_size = int(os.environ.get('WORLD_SIZE', 1))
    if world_size == 1:
        return DistributedContext(), resolve_device(device)
    context = DistributedContext(int(os.environ['RANK']), world_size,
                                 int(os.environ.get('LOCAL_RANK', 0)))
    device = resolve_device(device, context)
    if device.type == 'cuda':
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group(
            'nccl' if device.type == 'cuda' else 'gloo')
    return context, device


def cleanup_distributed() -> None:
    r"""Leaves the process group, if any."""
    if dist.is_initialized():
        dist.destroy_process_group()
