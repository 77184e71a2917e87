r"""The training loop shared by every protocol: objectives, data loaders,
mixed precision, DDP, metrics logs and exact resume."""
import math
import time
import warnings
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple, Union

import torch
from torch import Tensor
from torch.nn import Module
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from torch_skeleton_mae.engine.checkpoint import (load_checkpoint, rng_state,
                                                  save_checkpoint,
                                                  seed_everything,
                                                  set_rng_state)
from torch_skeleton_mae.engine.distributed import DistributedContext
from torch_skeleton_mae.engine.loader import derived_seed
from torch_skeleton_mae.engine.logger import MetricsLogger, show_progress
from torch_skeleton_mae.engine.precision import autocast, grad_scaler


class TrainingDiverged(RuntimeError):
    r"""A training step produced a non-finite loss: :meth:`Trainer.fit`
    stops at its next check (every :obj:`check_every` steps and at the end
    of each epoch) and writes no checkpoint of that epoch, so
    :obj:`last.pt` keeps the last good epoch."""


def direction_spread(x: Tensor, mask: Tensor) -> Tensor:
    r""":math:`1 - \|\bar{\mathbf{u}}\|^2`, :math:`\bar{\mathbf{u}}` the mean
    of the unit vectors :obj:`x / ||x||` over :obj:`mask`, without gradient:
    near :obj:`0` when every vector points one way (a collapsed target),
    near :obj:`1` when they spread over all directions.

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
        return 1 - (mean / weight.sum().clamp(min=1)).square().sum()


class MAEObjective:
    r"""SkeletonMAE pre-training: the model's own loss (the cosine
    reconstruction error on the masked joints); logs the spread of the
    targets (:func:`direction_spread`). Labels are ignored."""
    def __call__(self, model: Module, x: Tensor,
                 y: Tensor) -> Tuple[Tensor, Dict[str, Tensor]]:
        out = model(x)
        return out.loss, {'target_spread': direction_spread(
            out.target, out.loss_mask)}


class ClassificationObjective:
    r"""Cross-entropy with label smoothing; logs training top-1.

    Args:
        label_smoothing (float, optional): (default: :obj:`0.`)
    """
    def __init__(self, label_smoothing: float = 0.0):
        self.label_smoothing = label_smoothing

    def __call__(self, model: Module, x: Tensor,
                 y: Tensor) -> Tuple[Tensor, Dict[str, Tensor]]:
        logits = model(x)
        loss = torch.nn.functional.cross_entropy(
            logits.float(), y, label_smoothing=self.label_smoothing)
        return loss, {'train_top1': (logits.argmax(1) == y).float().mean()}


class Trainer:
    r"""Runs epochs of :obj:`objective` over :obj:`loader`, with mixed
    precision by device (see
    :func:`~torch_skeleton_mae.engine.precision.autocast`), DDP when
    :obj:`context` has several processes, a progress bar, metrics logs (loss,
    objective metrics, learning rate, sequences/s and whatever :obj:`evaluate`
    returns) and an atomic checkpoint :obj:`{out}/last.pt` after every epoch
    from which :meth:`fit` resumes exactly.

    Args:
        model (Module): The model (wrapped in DDP here if distributed).
        objective (callable): :obj:`(model, x, y) -> (loss, metrics)`.
        optimizer (Optimizer): Its optimizer.
        loader (DataLoader): Training batches :obj:`(x, y)`, :obj:`x` of
            shape :obj:`(N, M, T, V, C)`: what
            :func:`~torch_skeleton_mae.engine.loader.make_loader` gives (a
            :class:`~torch_skeleton_mae.engine.loader.ThreadedBatchLoader`
            too), or any iterable of them.
        device (torch.device): Where to train.
        out (str or PathLike): Folder of the logs and checkpoints.
        name (str, optional): Stem of the CSV log. (default: :obj:`"train"`)
        scheduler (optional): Stepped once per epoch.
        precision (str, optional): :obj:`"auto"`, :obj:`"fp32"`,
            :obj:`"bf16"` or :obj:`"fp16"`. (default: :obj:`"auto"`)
        evaluate (callable, optional): :obj:`(model) -> dict` of metrics,
            run on the main process after every :obj:`eval_every` epochs and
            after the last.
        eval_every (int, optional): (default: :obj:`1`)
        seed (int, optional): Seeds the generators (offset by the rank).
            (default: :obj:`0`)
        context (DistributedContext, optional): This process's rank.
        extra_state (dict, optional): Saved in every checkpoint (*e.g.* the
            command-line arguments).
        compile (bool, optional): Train through :func:`torch.compile`
            (a pre-training step takes about 40% less time on a CPU, after
            about a minute of compilation). (default: :obj:`False`)
        batch_transform (callable, optional): :obj:`(x, generator) -> x`,
            random augmentation of each training batch on :obj:`device`
            (see :mod:`torch_skeleton_mae.transforms.batch`), drawn from a
            generator seeded by :obj:`(seed, rank, epoch, step)`.
        check_every (int, optional): Read the epoch's mean loss back from
            the device every this many steps (and at the end of each
            epoch): to stop on a non-finite one and to show it. The steps
            between read nothing, so the host never waits on the device
            there. (default: :obj:`16`)
    """
    def __init__(self, model: Module, objective: Callable, optimizer,
                 loader: DataLoader, device: torch.device,
                 out: Union[str, Path], name: str = 'train',
                 scheduler=None, precision: str = 'auto',
                 evaluate: Optional[Callable[[Module], Dict]] = None,
                 eval_every: int = 1, seed: int = 0,
                 context: DistributedContext = DistributedContext(),
                 extra_state: Optional[Dict[str, Any]] = None,
                 compile: bool = False,
                 batch_transform: Optional[Callable] = None,
                 check_every: int = 16):
        if check_every < 1:
            raise ValueError(f"'check_every' must be positive, got "
                             f"{check_every}")
        self.module = model.to(device)
        self.model = model
        if context.enabled:
            self.model = DistributedDataParallel(
                model, device_ids=[device] if device.type == 'cuda' else None)
        if compile:
            self.model = torch.compile(self.model)
        self.objective = objective
        self.optimizer = optimizer
        self.loader = loader
        self.device = device
        self.out = Path(out)
        self.scheduler = scheduler
        self.precision = precision
        self.scaler = grad_scaler(device, precision)
        self.evaluate = evaluate
        self.eval_every = eval_every
        self.seed = seed
        self.context = context
        self.extra_state = extra_state or {}
        self.batch_transform = batch_transform
        self.check_every = check_every
        self.logger = (MetricsLogger(self.out, name)
                       if context.is_main else None)
        self.checkpoint_path = self.out / 'last.pt'

    def fit(self, epochs: int,
            resume: Union[bool, str, Path] = False) -> List[Dict[str, float]]:
        r"""Trains until epoch :obj:`epochs`.

        Args:
            epochs (int): The last epoch (counting from 1).
            resume (bool or str, optional): Continue from :obj:`last.pt` in
                :obj:`out` (:obj:`True`) or from a given checkpoint.

        Returns:
            The metrics of every epoch this call ran.
        """
        start = 1
        seed_everything(self.seed + self.context.rank)
        if resume:
            start = self.load(self.checkpoint_path if resume is True
                              else resume) + 1
        history = []
        for epoch in range(start, epochs + 1):
            metrics = self.train_epoch(epoch, epochs)
            if self.scheduler is not None:
                self.scheduler.step()
            if (self.evaluate is not None and self.context.is_main
                    and (epoch % self.eval_every == 0 or epoch == epochs)):
                metrics.update(self.evaluate(self.module))
            self.save(epoch, metrics)
            history.append(metrics)
            if self.context.is_main:
                print(f'epoch {epoch}/{epochs}: ' + ' '.join(
                    f'{k}={v:.4g}' for k, v in metrics.items()))
        if self.logger is not None:
            self.logger.close()
        return history

    def train_epoch(self, epoch: int, epochs: int) -> Dict[str, float]:
        r"""One pass over :obj:`loader`; returns the mean loss and objective
        metrics over all processes, the learning rate and sequences/s."""
        sampler = getattr(self.loader, 'sampler', None)
        if hasattr(sampler, 'set_epoch'):  # the epoch's order and draws
            sampler.set_epoch(epoch)
        self.model.train()
        lr = self.optimizer.param_groups[0]['lr']
        sums: Dict[str, Tensor] = {}
        count, begin = 0, time.perf_counter()
        progress = tqdm(self.loader, desc=f'epoch {epoch}/{epochs}',
                        leave=False,
                        disable=not (self.context.is_main and show_progress()))
        checked = 0  # steps whose losses were checked
        for step, (x, y) in enumerate(progress):
            loss, extra = self.step(x, y, epoch, step)
            n = x.size(0)
            for key, value in {'loss': loss, **extra}.items():
                value = value.detach().float() * n  # summed on the device
                sums[key] = sums[key] + value if key in sums else value
            count += n
            if (step + 1) % self.check_every == 0:
                self.check_finite(sums['loss'] / count, epoch, checked,
                                  step + 1, progress)
                checked = step + 1
        if count and checked < step + 1:
            self.check_finite(sums['loss'] / count, epoch, checked, step + 1,
                              progress)
        elapsed = time.perf_counter() - begin
        keys = sorted(sums)
        totals = self.context.all_sum([float(sums[k]) for k in keys] +
                                      [count])
        metrics = {k: v / max(totals[-1], 1) for k, v in zip(keys, totals)}
        metrics.update(lr=lr, seq_per_s=totals[-1] / max(elapsed, 1e-9))
        return metrics

    def step(self, x: Tensor, y: Tensor, epoch: int = 1,
             step: int = 0) -> Tuple[Tensor, Dict[str, Tensor]]:
        r"""One training step on a batch: to the device, the augmentation
        of :obj:`(epoch, step)`, the objective, backward and the optimizer
        step. It reads nothing back from the device, so the host queues the
        next step while this one runs; :meth:`train_epoch` checks the losses
        every :obj:`check_every` steps.

        Args:
            x (Tensor): Sequences :obj:`(N, M, T, V, C)`.
            y (Tensor): Labels :obj:`(N,)` (ignored by pre-training).
            epoch (int, optional): Seeds the augmentation, with :obj:`step`.
            step (int, optional): The step's index in its epoch.

        Returns:
            The loss and the objective's metrics, on the device.
        """
        x = x.to(self.device, non_blocking=True)
        y = torch.as_tensor(y).to(self.device, non_blocking=True)
        if self.batch_transform is not None:
            x = self.batch_transform(x, self.step_generator(epoch, step))
        with autocast(self.device, self.precision):
            loss, extra = self.objective(self.model, x, y)
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        self.scaler.step(self.optimizer)
        self.scaler.update()
        return loss, extra

    def check_finite(self, mean_loss: Tensor, epoch: int, first: int,
                     last: int, progress=None) -> None:
        r"""Raises :class:`TrainingDiverged` on every process when any
        process's mean loss over the epoch's steps so far is NaN or
        infinite, which any non-finite step :obj:`first + 1` ...
        :obj:`last` makes it; otherwise shows it on :obj:`progress`. This
        is the one read of the device every :obj:`check_every` steps."""
        value = float(mean_loss)
        bad = not math.isfinite(value)
        if self.context.enabled:
            bad = self.context.all_sum([float(bad)])[0] > 0
        if bad:
            kept = (f'{self.checkpoint_path} keeps epoch {epoch - 1}'
                    if epoch > 1 else 'no checkpoint was written')
            raise TrainingDiverged(
                f'the loss is not finite ({value:g} on this process) '
                f'in epoch {epoch}, steps {first + 1}-{last}: training '
                f'stopped; {kept}. A lower learning rate usually helps')
        if progress is not None:
            progress.set_postfix(loss=f'{value:.4f}')

    def step_generator(self, epoch: int, step: int) -> torch.Generator:
        r"""The generator of one training step's augmentation, on
        :obj:`device`: a function of (seed, rank, epoch, step) alone, so a
        resumed run draws what an uninterrupted one does."""
        return torch.Generator(self.device).manual_seed(
            derived_seed(self.seed, self.context.rank, epoch, step))

    def save(self, epoch: int, metrics: Dict[str, float]) -> None:
        r"""Logs :obj:`metrics` and writes :obj:`last.pt` (main process);
        gathers every process's RNG state into it."""
        rng = self.context.gather(rng_state())
        if self.context.is_main:
            self.logger.log(epoch, **metrics)
            save_checkpoint(
                self.checkpoint_path, self.module, epoch=epoch,
                optimizer=self.optimizer.state_dict(),
                scheduler=(self.scheduler.state_dict()
                           if self.scheduler is not None else None),
                scaler=self.scaler.state_dict(), rng=rng, metrics=metrics,
                world_size=self.context.world_size, **self.extra_state)
        self.context.barrier()

    def load(self, path: Union[str, Path]) -> int:
        r"""Restores weights, optimizer, scheduler, scaler and this process's
        RNG state from :obj:`path`; returns the checkpoint's epoch."""
        state = load_checkpoint(path, self.module)
        if 'optimizer' not in state:
            raise ValueError(f"'{path}' holds weights only (no optimizer "
                             f"state): it cannot be resumed from")
        self.optimizer.load_state_dict(state['optimizer'])
        if self.scheduler is not None and state.get('scheduler'):
            self.scheduler.load_state_dict(state['scheduler'])
        self.scaler.load_state_dict(state['scaler'])
        if state.get('world_size') == self.context.world_size:
            set_rng_state(state['rng'][self.context.rank])
        else:
            warnings.warn(f"'{path}' was written by "
                          f"{state.get('world_size')} process(es), this run "
                          f"has {self.context.world_size}: the random streams "
                          f"are re-seeded, so the run is not bit-exact")
            seed_everything(self.seed + self.context.rank + state['epoch'])
        if self.logger is not None:
            self.logger.csv.truncate('epoch', state['epoch'])
        return state['epoch']
