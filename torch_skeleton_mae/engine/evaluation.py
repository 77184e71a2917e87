r"""Evaluation: top-k accuracy, per-class accuracy, confusion matrices,
feature extraction and the linear probe."""
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence, Tuple

import numpy as np
import torch
from torch import Tensor
from torch.nn import Linear, Module
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from torch_skeleton_mae.engine.logger import show_progress
from torch_skeleton_mae.engine.precision import autocast
from torch_skeleton_mae.utils import atomic_write


@dataclass
class ClassificationReport:
    r"""Accuracy of a classifier on one dataset.

    Attributes:
        top1 (float): Top-1 accuracy in :math:`[0, 1]`.
        top5 (float): Top-5 accuracy (top-:obj:`num_classes` when there are
            fewer than 5 classes).
        loss (float): Mean cross-entropy.
        per_class (Tensor): Accuracy of every class :obj:`(K,)` (NaN for a
            class without samples).
        confusion (Tensor): Counts :obj:`(K, K)`, rows true, columns
            predicted.
    """
    top1: float
    top5: float
    loss: float
    per_class: Tensor
    confusion: Tensor

    @property
    def one_class(self) -> Optional[int]:
        r"""The class predicted for every sample, where the labels hold
        several: a classifier collapsed to a constant; else :obj:`None`."""
        predicted = self.confusion.sum(dim=0).nonzero().view(-1)
        if len(predicted) == 1 and (self.confusion.sum(dim=1) > 0).sum() > 1:
            return int(predicted)
        return None

    def summary(self) -> dict:
        r"""The scalar metrics, for logs."""
        return dict(top1=self.top1, top5=self.top5, loss=self.loss,
                    mean_class_acc=float(np.nanmean(self.per_class.numpy())))


__all__ = [
    'ClassificationReport',
    'classification_report',
    'extract_features',
    'linear_probe',
    'train_linear_classifier',
    'raw_joint_features',
]


def classification_report(logits: Tensor, labels: Tensor,
                          num_classes: int) -> ClassificationReport:
    r"""Scores logits :obj:`(N, K)` against labels :obj:`(N,)`.

    Example:
        >>> import torch
        >>> logits = torch.tensor([[2., 1., 0.], [0., 2., 1.], [0., 2., 1.]])
        >>> report = classification_report(logits, torch.tensor([0, 1, 2]), 3)
        >>> round(report.top1, 3), report.per_class.tolist()
        (0.667, [1.0, 1.0, 0.0])
        >>> report.confusion.tolist()
        [[1, 0, 0], [0, 1, 0], [0, 1, 0]]
    """
    logits, labels = logits.float(), labels.long()
    if labels.numel() and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(f"Labels must lie in [0, {num_classes}), got "
                         f"[{labels.min()}, {labels.max()}]")
    k = min(5, num_classes)
    top = logits.topk(k, dim=1).indices
    top1 = (top[:, 0] == labels).float().mean().item()
    top5 = (top == labels[:, None]).any(dim=1).float().mean().item()
    loss = torch.nn.functional.cross_entropy(logits, labels).item()
    confusion = torch.bincount(labels * num_classes + top[:, 0],
                               minlength=num_classes**2).view(
                                   num_classes, num_classes)
    total = confusion.sum(dim=1)
    per_class = confusion.diagonal() / total.where(total > 0,
                                                   torch.nan).double()
    return ClassificationReport(top1, top5, loss, per_class.float(),
                                confusion)


@torch.no_grad()
def predict(model: Module, loader: DataLoader, device: torch.device,
            precision: Optional[str] = None) -> Tuple[Tensor, Tensor]:
    r"""Logits :obj:`(N, K)` and labels :obj:`(N,)` of a classifier over a
    loader of :obj:`(x, label)` batches."""
    model.eval()
    logits, labels = [], []
    for x, y in tqdm(loader, desc='evaluate', leave=False,
                     disable=not show_progress()):
        with autocast(device, precision):
            logits.append(model(x.to(device, non_blocking=True)).float().cpu())
        labels.append(torch.as_tensor(y))
    return torch.cat(logits), torch.cat(labels)


def evaluate(model: Module, loader: DataLoader, device: torch.device,
             num_classes: int, precision: Optional[str] = None
             ) -> ClassificationReport:
    r"""Runs :func:`predict` and :func:`classification_report`."""
    return classification_report(*predict(model, loader, device, precision),
                                 num_classes)


@torch.no_grad()
def extract_features(model: Module, loader: DataLoader, device: torch.device,
                     per_joint: bool = False,
                     desc: str = 'features') -> Tuple[Tensor, Tensor]:
    r"""Encodes every sequence with :obj:`model.encode` (no masking) and
    pools it over the present joints only (zero padding, absent persons and
    missing frames are left out).

    Args:
        model (Module): Has :obj:`encode` mapping :obj:`(N, M, T, V, C)` to
            :obj:`(N, M, T, V, D)`.
        loader (DataLoader): Yields :obj:`(x, y)`.
        device (torch.device): Where to encode.
        per_joint (bool, optional): Pool over frames and persons only and
            keep the joints apart (default: :obj:`False`: pool over joints
            too).
        desc (str, optional): The progress bar's label.
            (default: :obj:`"features"`)

    Returns:
        Features :obj:`(num_samples, 2 * D)` (or :obj:`(num_samples,
        2 * D * V)` with :obj:`per_joint`): the mean and the max, and labels
        :obj:`(num_samples,)`.
    """
    model.eval()
    dims = (1, 2) if per_joint else (1, 2, 3)
    features, labels = [], []
    for x, y in tqdm(loader, desc=desc, leave=False,
                     disable=not show_progress()):
        x = x.to(device, non_blocking=True)
        h = model.encode(x)  # (N, M, T, V, D)
        present = (x != 0).any(dim=-1, keepdim=True)  # (N, M, T, V, 1)
        count = present.sum(dim=dims)
        mean = (h * present).sum(dim=dims) / count.clamp(min=1)
        top = h.masked_fill(~present, float('-inf')).amax(dim=dims)
        top = top.masked_fill(count == 0, 0.0)
        features.append(torch.cat([mean.flatten(1), top.flatten(1)],
                                  dim=1).cpu())
        labels.append(torch.as_tensor(y))
    return torch.cat(features), torch.cat(labels)


def train_linear_classifier(features: Tensor, labels: Tensor,
                            num_classes: int, epochs: int, lr: float,
                            weight_decay: float = 0.0,
                            seed: int = 0) -> Linear:
    r"""Fits a linear classifier to frozen features (full batch, Adam, on
    standardized features; the standardization is folded into the returned
    layer, so it applies to raw features). The protocol's numbers are
    :class:`~torch_skeleton_mae.engine.LinearRecipe`'s.

    Args:
        features (Tensor): :obj:`(N, F)`.
        labels (Tensor): :obj:`(N,)`.
        num_classes (int): :obj:`K`.
        epochs (int): Full-batch Adam steps.
        lr (float): Adam's learning rate.
        weight_decay (float, optional): Adam's weight decay.
        seed (int, optional): Seeds the initial weights.

    Returns:
        :class:`torch.nn.Linear` mapping :obj:`(*, F)` to :obj:`(*, K)`.
    """
    generator = torch.Generator().manual_seed(seed)
    mean, std = features.mean(0), features.std(0) + 1e-6
    x = (features - mean) / std
    classifier = Linear(x.size(1), num_classes)
    with torch.no_grad():
        classifier.weight.normal_(0, 0.01, generator=generator)
        classifier.bias.zero_()
    optimizer = torch.optim.Adam(classifier.parameters(), lr=lr,
                                 weight_decay=weight_decay)
    for _ in range(epochs):
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(classifier(x), labels).backward()
        optimizer.step()
    with torch.no_grad():  # W((f - mean) / std) + b == (W / std) f + b'
        classifier.bias -= classifier.weight @ (mean / std)
        classifier.weight /= std
    return classifier


def linear_probe(train: Tuple[Tensor, Tensor], val: Tuple[Tensor, Tensor],
                 num_classes: int, **kwargs) -> ClassificationReport:
    r"""Fits :func:`train_linear_classifier` (:obj:`**kwargs`: its
    :obj:`epochs`, :obj:`lr`, ...) on :obj:`train` features and labels and
    scores it on :obj:`val`."""
    classifier = train_linear_classifier(*train, num_classes, **kwargs)
    with torch.no_grad():
        return classification_report(classifier(val[0]), val[1],
                                     num_classes)


@torch.no_grad()
def raw_joint_features(loader: DataLoader) -> Tuple[Tensor, Tensor]:
    r"""The joint coordinates themselves as features: every sequence of a
    loader of :obj:`(x, label)` batches, :obj:`x` of shape
    :obj:`(N, M, T, V, C)`, flattened to :obj:`(N, M * T * V * C)`."""
    features, labels = [], []
    for x, y in loader:
        features.append(torch.as_tensor(x).flatten(1).float())
        labels.append(torch.as_tensor(y))
    return torch.cat(features), torch.cat(labels)


def tuned_linear_probe(train: Tuple[Tensor, Tensor],
                       val: Tuple[Tensor, Tensor], num_classes: int,
                       weight_decays: Sequence[float], held: Tensor,
                       **kwargs) -> Tuple[ClassificationReport, float]:
    r"""A :func:`linear_probe` whose weight decay is chosen on a part of the
    training set: each of :obj:`weight_decays` is fitted on the training
    features outside :obj:`held` and scored on those in it; the best
    (the first of equals) is fitted again on all training features and
    scored on :obj:`val`.

    Args:
        train (tuple): Features :obj:`(N, F)` and labels :obj:`(N,)`.
        val (tuple): Features :obj:`(N_val, F)` and labels.
        num_classes (int): :obj:`K`.
        weight_decays (sequence of float): The candidates.
        held (Tensor): Indices into :obj:`train` to choose on.
        **kwargs: :func:`train_linear_classifier`'s :obj:`epochs`,
            :obj:`lr` and :obj:`seed`.

    Returns:
        The report on :obj:`val` and the chosen weight decay.
    """
    held = torch.as_tensor(held, dtype=torch.long)
    rest = torch.ones(len(train[1]), dtype=torch.bool)
    rest[held] = False
    scores = [linear_probe((train[0][rest], train[1][rest]),
                           (train[0][held], train[1][held]), num_classes,
                           weight_decay=decay, **kwargs).top1
              for decay in weight_decays]
    chosen = weight_decays[int(np.argmax(scores))]
    return linear_probe(train, val, num_classes, weight_decay=chosen,
                        **kwargs), chosen


def save_confusion_matrix(confusion: Tensor, path,
                          class_names: Optional[Sequence[str]] = None,
                          title: str = 'Confusion matrix') -> Optional[Path]:
    r"""Writes a confusion matrix :obj:`(K, K)` (rows true) as a PNG with
    row-normalized colours, and its counts as CSV beside it.

    Returns:
        The PNG's path, or :obj:`None` without :obj:`matplotlib` (then only
        the CSV is written).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    counts = confusion.numpy()
    with atomic_write(path.with_suffix('.csv')) as f:
        np.savetxt(f, counts, fmt='%d', delimiter=',')
    try:
        import matplotlib
    except ImportError:
        return None
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    K = counts.shape[0]
    names = list(class_names) if class_names else [str(i) for i in range(K)]
    rates = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    size = min(4 + 0.35 * K, 24)
    fig, ax = plt.subplots(figsize=(size, size))
    ax.imshow(rates, cmap='Blues', vmin=0, vmax=1)
    ax.set_xticks(range(K), names, rotation=90, fontsize=8)
    ax.set_yticks(range(K), names, fontsize=8)
    if K <= 20:
        for i in range(K):
            for j in range(K):
                if counts[i, j]:
                    ax.text(j, i, counts[i, j], ha='center', va='center',
                            fontsize=7,
                            color='white' if rates[i, j] > 0.5 else 'black')
    ax.set_xlabel('predicted')
    ax.set_ylabel('true')
    ax.set_title(title)
    fig.tight_layout()
    with atomic_write(path) as f:
        fig.savefig(f, dpi=120, format='png')
    plt.close(fig)
    return path
