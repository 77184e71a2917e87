r"""Pictures of skeleton sequences, masks and reconstructions, training
curves and feature spaces (needs :obj:`matplotlib`, the :obj:`viz` extra).

Every function draws into a new figure, saves it to :obj:`path` and returns
the path; sequences are :obj:`(M, T, V, C)` tensors (one sample) whose first
two channels are drawn as x (right) and y (up).
"""
import csv
import os
from pathlib import Path
from typing import Optional, Sequence, Union

import numpy as np
import torch
from torch import Tensor

from torch_skeleton_mae.graph import get_skeleton

PathLike = Union[str, os.PathLike]
PERSON_COLORS = ('tab:blue', 'tab:orange', 'tab:green', 'tab:purple')


def _pyplot():
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    return plt


def _limits(xy: np.ndarray, present: np.ndarray):
    pts = xy[present] if present.any() else np.zeros((1, 2))
    lo, hi = pts.min(0), pts.max(0)
    pad = 0.08 * max(float((hi - lo).max()), 1e-3)
    return (lo[0] - pad, hi[0] + pad), (lo[1] - pad, hi[1] + pad)


def _draw_frame(ax, skeleton, xy: np.ndarray, present: np.ndarray,
                color: str, highlight: Optional[np.ndarray] = None,
                style: str = '-', alpha: float = 1.0) -> None:
    r"""Bones and joints of one person in one frame; :obj:`highlight`
    joints (e.g. masked) are drawn as red crosses."""
    for i, j in skeleton.bones:
        if present[i] and present[j]:
            ax.plot(xy[[i, j], 0], xy[[i, j], 1], style, color=color,
                    lw=1.5, alpha=alpha)
    ax.scatter(xy[present, 0], xy[present, 1], s=8, color=color,
               alpha=alpha, zorder=3)
    if highlight is not None and (highlight & present).any():
        keep = highlight & present
        ax.scatter(xy[keep, 0], xy[keep, 1], s=40, marker='x', color='red',
                   zorder=4)


def _sequence(x: Tensor, skeleton):
    x = torch.as_tensor(x).detach().cpu().float()
    if x.dim() != 4 or x.size(2) != skeleton.num_joints:
        raise ValueError(f"Expected one sequence (M, T, "
                         f"{skeleton.num_joints}, C) for layout "
                         f"'{skeleton.name}', got {tuple(x.shape)}")
    return x[..., :2].numpy(), (x != 0).any(dim=-1).numpy()


def plot_sequence(x: Tensor, skeleton, path: PathLike, num_frames: int = 8,
                  title: Optional[str] = None) -> Path:
    r"""A strip of :obj:`num_frames` evenly spaced frames of one sequence
    :obj:`(M, T, V, C)`, every person in its colour."""
    plt = _pyplot()
    skeleton = get_skeleton(skeleton)
    xy, present = _sequence(x, skeleton)
    T = xy.shape[1]
    frames = np.linspace(0, T - 1, min(num_frames, T)).round().astype(int)
    xlim, ylim = _limits(xy.reshape(-1, 2), present.reshape(-1))
    fig, axes = plt.subplots(1, len(frames), figsize=(1.6 * len(frames), 2.6),
                             squeeze=False)
    for ax, t in zip(axes[0], frames):
        for m in range(xy.shape[0]):
            _draw_frame(ax, skeleton, xy[m, t], present[m, t],
                        PERSON_COLORS[m % len(PERSON_COLORS)])
        ax.set(xlim=xlim, ylim=ylim, aspect='equal', title=f't={t}')
        ax.axis('off')
    if title:
        fig.suptitle(title)
    return _save(fig, path)


def animate_sequence(x: Tensor, skeleton, path: PathLike, fps: int = 10,
                     title: Optional[str] = None) -> Path:
    r"""An animated GIF of one sequence :obj:`(M, T, V, C)`."""
    plt = _pyplot()
    from matplotlib.animation import FuncAnimation, PillowWriter
    skeleton = get_skeleton(skeleton)
    xy, present = _sequence(x, skeleton)
    xlim, ylim = _limits(xy.reshape(-1, 2), present.reshape(-1))
    fig, ax = plt.subplots(figsize=(3, 3.3))

    def draw(t):
        ax.clear()
        for m in range(xy.shape[0]):
            _draw_frame(ax, skeleton, xy[m, t], present[m, t],
                        PERSON_COLORS[m % len(PERSON_COLORS)])
        ax.set(xlim=xlim, ylim=ylim, aspect='equal')
        ax.set_title(f'{title + ": " if title else ""}frame {t}', fontsize=9)
        ax.axis('off')

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    FuncAnimation(fig, draw, frames=xy.shape[1]).save(
        path, writer=PillowWriter(fps=fps))
    plt.close(fig)
    return path


def reconstructed_joints(model, reconstruction: Tensor) -> Tensor:
    r"""Joint coordinates of a :class:`~torch_skeleton_mae.nn.SkeletonMAE`'s
    reconstruction :obj:`(N, M, T, V, C_t)`, for pictures: the
    reconstruction itself with the input target; with the embedding target
    the least-squares :math:`\mathbf{x}` of :math:`\mathbf{W} \mathbf{x} =
    \mathbf{y}`, whose direction alone is meaningful (the cosine error
    fixes directions, not lengths). Returns :obj:`(N, M, T, V, C)`."""
    if model.target == 'input':
        return reconstruction
    weight = model.embedding.weight.detach().float()  # (D, C)
    y = reconstruction.detach().float()
    x = torch.linalg.lstsq(weight, y.reshape(-1, weight.size(0)).T).solution
    return x.T.reshape(*y.shape[:-1], -1)


def plot_reconstruction(x: Tensor, reconstruction: Tensor, joint_mask: Tensor,
                        skeleton, path: PathLike, num_frames: int = 6,
                        person: int = 0, rescale: bool = True) -> Path:
    r"""Ground truth (grey) and the decoder's reconstruction of the masked
    joints (blue, marked by red crosses; the visible joints stay where they
    are) of one person over :obj:`num_frames` frames.

    Args:
        x (Tensor): The input sequence :obj:`(M, T, V, C)`.
        reconstruction (Tensor): Coordinates :obj:`(M, T, V, C)`, e.g.
            :obj:`reconstructed_joints(model, out.reconstruction)[i]` of a
            :class:`~torch_skeleton_mae.nn.SkeletonMAE`.
        joint_mask (Tensor): Boolean :obj:`(M, T, V)`.
        skeleton (Skeleton or str): The layout.
        path (str or PathLike): The PNG.
        num_frames (int, optional): Frames drawn. (default: :obj:`6`)
        person (int, optional): The person drawn. (default: :obj:`0`)
        rescale (bool, optional): Rescale every reconstructed joint to the
            norm of its ground truth: a cosine error on raw coordinates
            fixes their directions, not their lengths. (default:
            :obj:`True`)
    """
    plt = _pyplot()
    skeleton = get_skeleton(skeleton)
    x = torch.as_tensor(x).detach().cpu().float()
    rec = torch.as_tensor(reconstruction).detach().cpu().float()
    if rec.shape != x.shape:
        raise ValueError(f"plot_reconstruction: the reconstruction has shape "
                         f"{tuple(rec.shape)}, the input {tuple(x.shape)}; "
                         f"pass coordinates (reconstructed_joints)")
    if rescale:
        rec = rec / rec.norm(dim=-1, keepdim=True).clamp(min=1e-6) * x.norm(
            dim=-1, keepdim=True)
    # Only the masked joints are reconstructed (and scored); the others
    # are drawn where they are.
    mask = torch.as_tensor(joint_mask).cpu()
    rec = torch.where(mask[..., None], rec, x)
    truth, present = _sequence(x, skeleton)
    recon, _ = _sequence(rec, skeleton)
    mask = mask.numpy()
    T = truth.shape[1]
    frames = np.linspace(0, T - 1, min(num_frames, T)).round().astype(int)
    both = np.concatenate([truth[person], recon[person]]).reshape(-1, 2)
    xlim, ylim = _limits(both, np.concatenate([present[person]] * 2)
                         .reshape(-1))
    # Large enough to read on a documentation page: rows of three frames.
    cols = min(3, len(frames))
    rows = -(-len(frames) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 3.6 * rows),
                             squeeze=False)
    for ax in axes.flat[len(frames):]:
        ax.axis('off')
    names = [n for n, joints in skeleton.parts.items()
             if mask[person, 0, list(joints)].all()]
    for ax, t in zip(axes.flat, frames):
        _draw_frame(ax, skeleton, truth[person, t], present[person, t],
                    'grey', alpha=0.6)
        _draw_frame(ax, skeleton, recon[person, t], present[person, t],
                    'tab:blue', highlight=mask[person, t], style='--')
        ax.set(xlim=xlim, ylim=ylim, aspect='equal', title=f't={t}')
        ax.axis('off')
    fig.suptitle(f'masked: {", ".join(names) or "none"} '
                 f'(grey: input, blue: reconstruction)', fontsize=12)
    return _save(fig, path)


def plot_training_curves(csv_paths: Sequence[PathLike], path: PathLike,
                         metrics: Optional[Sequence[str]] = None) -> Path:
    r"""One panel per metric of the CSV logs the engine writes (x axis:
    epoch), one line per log. By default every numeric column except
    :obj:`epoch`, :obj:`lr` and :obj:`seq_per_s`."""
    plt = _pyplot()
    logs = {}
    for p in csv_paths:
        with open(p, newline='') as f:
            logs[Path(p).stem] = list(csv.DictReader(f))
    if metrics is None:
        skip = {'epoch', 'lr', 'seq_per_s'}
        metrics = sorted({k for rows in logs.values() for k in rows[0]
                          if k not in skip})
    fig, axes = plt.subplots(1, len(metrics),
                             figsize=(3.2 * len(metrics), 2.8),
                             squeeze=False)
    for ax, metric in zip(axes[0], metrics):
        for name, rows in logs.items():
            points = [(float(r['epoch']), float(r[metric])) for r in rows
                      if r.get(metric) not in (None, '')]
            if points:
                ax.plot(*zip(*points), marker='o', ms=3, label=name)
        ax.set(xlabel='epoch', title=metric)
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=8)
    return _save(fig, path)


def plot_embedding(features: Tensor, labels: Tensor, path: PathLike,
                   class_names: Optional[Sequence[str]] = None,
                   title: str = 'PCA of encoder features') -> Path:
    r"""A 2D PCA of features :obj:`(N, F)` coloured by labels
    :obj:`(N,)`."""
    plt = _pyplot()
    z = torch.as_tensor(features).float()
    z = (z - z.mean(0)) / z.std(0).clamp(min=1e-6)
    _, _, v = torch.pca_lowrank(z, q=2, center=False)
    xy = (z @ v).numpy()
    labels = torch.as_tensor(labels).numpy()
    fig, ax = plt.subplots(figsize=(5, 4.2))
    cmap = plt.get_cmap('tab10' if labels.max() < 10 else 'tab20')
    for c in np.unique(labels):
        keep = labels == c
        name = class_names[c] if class_names else str(c)
        ax.scatter(xy[keep, 0], xy[keep, 1], s=8, color=cmap(c % cmap.N),
                   label=name)
    ax.legend(fontsize=7, markerscale=2, loc='best')
    ax.set(title=title, xlabel='PC 1', ylabel='PC 2')
    return _save(fig, path)


def _save(fig, path: PathLike) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    _pyplot().close(fig)
    return path
