r"""A small training engine shared by the examples: pre-training epochs,
feature extraction, a linear probe, metrics logs and atomic checkpoints."""
import csv
import os
import random
import time
from pathlib import Path
from typing import Any, Dict, Optional, Tuple, Union

import numpy as np
import torch
from torch import Tensor
from torch.nn import Module
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

import torch_skeleton_mae

CHECKPOINT_VERSION = 1


def seed_everything(seed: int) -> None:
    r"""Seeds Python, NumPy and PyTorch."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def save_checkpoint(path: Union[str, os.PathLike], model: Module,
                    **extra: Any) -> None:
    r"""Writes :obj:`{"model": state_dict, "config": model.config,
    "version", "package_version", **extra}` atomically: to a temporary file
    in the same folder, then renamed over :obj:`path`, so that a killed run
    never leaves a truncated checkpoint."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = dict(model=model.state_dict(), config=getattr(model, 'config',
                                                          None),
                 version=CHECKPOINT_VERSION,
                 package_version=torch_skeleton_mae.__version__, **extra)
    tmp = path.with_name(f'.{path.name}.tmp{os.getpid()}')
    torch.save(state, tmp)
    os.replace(tmp, path)


class CSVLogger:
    r"""Appends one row of metrics per call to a CSV file, writing the header
    from the first row's keys."""
    def __init__(self, path: Union[str, os.PathLike]):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)

    def log(self, **metrics: Any) -> None:
        new = not self.path.exists()
        with open(self.path, 'a', newline='') as f:
            writer = csv.DictWriter(f, fieldnames=list(metrics))
            if new:
                writer.writeheader()
            writer.writerow(metrics)


def pretrain_epoch(model: Module, loader: DataLoader,
                   optimizer: torch.optim.Optimizer,
                   device: torch.device, desc: str = 'pre-train'
                   ) -> Dict[str, float]:
    r"""One epoch of SkeletonMAE pre-training.

    Args:
        model (SkeletonMAE): The model.
        loader (DataLoader): Yields :obj:`(x, label)` with :obj:`x` of shape
            :obj:`(N, C, T, V, M)`; labels are ignored.
        optimizer (Optimizer): Its optimizer.
        device (torch.device): Where to run.

    Returns:
        Mean :obj:`loss` and :obj:`joint_loss`, and :obj:`seq_per_s`.
    """
    model.train()
    totals, count, start = {'loss': 0.0, 'joint_loss': 0.0}, 0, time.time()
    progress = tqdm(loader, desc=desc, leave=False)
    for x, _ in progress:
        x = x.to(device, non_blocking=True)
        out = model(x)
        optimizer.zero_grad(set_to_none=True)
        out.loss.backward()
        optimizer.step()
        n = x.size(0)
        totals['loss'] += out.loss.item() * n
        totals['joint_loss'] += out.joint_loss.item() * n
        count += n
        progress.set_postfix(loss=f'{out.loss.item():.4f}')
    metrics = {k: v / max(count, 1) for k, v in totals.items()}
    metrics['seq_per_s'] = count / max(time.time() - start, 1e-9)
    return metrics


@torch.no_grad()
def extract_features(model: Module, loader: DataLoader,
                     device: torch.device) -> Tuple[Tensor, Tensor]:
    r"""Encodes every sequence without masking and pools it.

    Returns:
        Features :obj:`(num_samples, 2 * D_h)` (mean and max over frames,
        joints and persons) and labels :obj:`(num_samples,)`.
    """
    model.eval()
    features, labels = [], []
    for x, y in tqdm(loader, desc='features', leave=False):
        h = model.encode(x.to(device))
        features.append(torch.cat([h.mean(dim=(2, 3, 4)),
                                   h.amax(dim=(2, 3, 4))], dim=1).cpu())
        labels.append(torch.as_tensor(y))
    return torch.cat(features), torch.cat(labels)


def linear_probe(train: Tuple[Tensor, Tensor], val: Tuple[Tensor, Tensor],
                 num_classes: int, epochs: int = 300, lr: float = 1e-2,
                 weight_decay: float = 1e-4, seed: int = 0) -> float:
    r"""Trains a linear classifier on frozen, standardized features (full
    batch, Adam) and returns its top-1 accuracy on :obj:`val`.

    Args:
        train (tuple): Features :obj:`(N, F)` and labels :obj:`(N,)`.
        val (tuple): The same for evaluation.
        num_classes (int): Classes.
    """
    generator = torch.Generator().manual_seed(seed)
    (x, y), (x_val, y_val) = train, val
    mean, std = x.mean(0), x.std(0) + 1e-6
    x, x_val = (x - mean) / std, (x_val - mean) / std
    classifier = torch.nn.Linear(x.size(1), num_classes)
    with torch.no_grad():
        classifier.weight.normal_(0, 0.01, generator=generator)
        classifier.bias.zero_()
    optimizer = torch.optim.Adam(classifier.parameters(), lr=lr,
                                 weight_decay=weight_decay)
    for _ in range(epochs):
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(classifier(x), y).backward()
        optimizer.step()
    with torch.no_grad():
        return (classifier(x_val).argmax(1) == y_val).float().mean().item()


def resolve_device(name: Optional[str] = None) -> torch.device:
    r"""The requested device, else CUDA when available, else the CPU."""
    if name:
        return torch.device(name)
    return torch.device('cuda' if torch.cuda.is_available() else 'cpu')
