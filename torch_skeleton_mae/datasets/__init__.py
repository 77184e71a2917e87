r"""Skeleton-action datasets: raw NTU RGB+D, pyskl pickles, CTR-GCN npz,
NW-UCLA, Penn Action, folders of your own and a built-in synthetic set.
Every item is :obj:`(x, label)` with :obj:`x` of shape :obj:`(M, T, V, C)`;
per-sample metadata is in :obj:`dataset.meta`. The benchmarks' classes,
splits and presets: :mod:`~torch_skeleton_mae.datasets.registry`."""
from pathlib import Path
from typing import Optional

from .base import SkeletonSequences
from .ntu import NTURGBD
from .folder import SkeletonFolder
from .npz import NpzSkeletonDataset
from .nw_ucla import NWUCLA
from .penn_action import PennAction
from .pyskl import PysklDataset
from .registry import DatasetInfo, register_dataset
from .synthetic import SyntheticSkeletons


def load_dataset(path, benchmark: str, part: str, num_frames: int,
                 layout: Optional[str] = None,
                 num_classes: Optional[int] = None, score: bool = False):
    r"""Opens a pyskl pickle (:obj:`.pkl`, split :obj:`"{benchmark}_train"`
    / :obj:`"{benchmark}_val"`, or :obj:`"train"` / :obj:`"val"` for FineGym
    and Diving48 when :obj:`benchmark` is :obj:`"none"`), a CTR-GCN
    :obj:`.npz`, or a folder of NW-UCLA :obj:`.json`, Penn Action
    :obj:`.mat` or raw NTU :obj:`.skeleton` files, preprocessed
    once (:func:`~torch_skeleton_mae.datasets.base.normalizer`: centering,
    and view alignment for the 3D layouts), with items of
    :obj:`num_frames` frames sampled uniformly (random in training).

    Args:
        path (str or PathLike): The file or folder.
        benchmark (str): :obj:`"xsub"`, :obj:`"xview"`, :obj:`"xset"`,
            :obj:`"xsub120"` (raw NTU-120 folders) or :obj:`"none"` (Penn
            Action, FineGym, Diving48).
        part (str): :obj:`"train"` or :obj:`"val"`.
        num_frames (int): Frames :obj:`T` per sample.
        layout (str, optional): Overrides the reader's default layout.
        num_classes (int, optional): Classes of a pyskl pickle (default:
            its largest label + 1).
        score (bool, optional): Append a 2D pickle's confidence score as a
            channel. (default: :obj:`False`)

    Returns:
        A :class:`~torch_skeleton_mae.datasets.SkeletonSequences`.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"load_dataset: '{path}' does not exist")

    if path.suffix == '.pkl':
        split = part if benchmark == 'none' else f'{benchmark}_{part}'
        data = PysklDataset(path, split, layout=layout,
                            num_classes=num_classes, score=score)
    elif path.suffix == '.npz':
        data = NpzSkeletonDataset(path, part, layout=layout or 'ntu-rgb+d',
                                  num_classes=num_classes)
    elif path.is_dir() and next(path.glob('*.json'), None):
        data = NWUCLA(path, benchmark, part)
    elif path.is_dir() and next(path.glob('*.mat'), None):
        if benchmark != 'none':
            raise ValueError(f"{path}: Penn Action has one split, benchmark "
                             f"'none', got '{benchmark}'")
        data = PennAction(path, part, score=score)
    elif path.is_dir():
        data = NTURGBD(path, benchmark, part)
    else:
        raise ValueError(f"load_dataset: '{path}': expected a pyskl .pkl, a "
                         f".npz or a folder of .json (NW-UCLA), .mat (Penn "
                         f"Action) or .skeleton (NTU) files")
    return data.sample_frames(num_frames, train=part == 'train')


__all__ = [
    'SkeletonSequences',
    'SyntheticSkeletons',
    'NTURGBD',
    'PysklDataset',
    'NpzSkeletonDataset',
    'NWUCLA',
    'PennAction',
    'SkeletonFolder',
    'load_dataset',
    'register_dataset',
    'DatasetInfo',
]
