import pickle
from pathlib import Path
from typing import Optional, Tuple

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset

from torch_skeleton_mae.graph import get_skeleton

_LAYOUT_BY_JOINTS = {17: 'coco', 25: 'nturgb+d', 18: 'openpose'}


class PysklDataset(Dataset):
    r"""A pyskl / mmaction2 skeleton pickle: :obj:`dict(split={name:
    [frame_dir, ...]}, annotations=[...])`, each annotation with
    :obj:`frame_dir`, :obj:`total_frames`, :obj:`label` (0-based) and
    :obj:`keypoint` :obj:`(M, T, V, C)`; 2D files add :obj:`keypoint_score`
    :obj:`(M, T, V)`. This is the format of the paper's data
    (``ntu60_hrnet.pkl``, ``ntu120_hrnet.pkl``, ``gym_hrnet.pkl``,
    ``diving48_hrnet.pkl``), whose input is the :math:`(x, y)` coordinates
    alone (Sec. 3.1.1); :obj:`score=True` appends the score as a channel.

    Args:
        path (str): The pickle.
        split (str, optional): A key of its :obj:`split` dict, *e.g.*
            :obj:`"xsub_train"`; :obj:`None` for every annotation.
        layout (str, optional): Defaults by joint count: 17 :obj:`"coco"`,
            25 :obj:`"nturgb+d"`, 18 :obj:`"openpose"`.
        max_persons (int, optional): :obj:`M` of every item (more are cut,
            fewer zero-padded). (default: :obj:`2`)
        num_classes (int, optional): Defaults to the largest label + 1.
        score (bool, optional): Append :obj:`keypoint_score` as a channel
            (:obj:`C = 3`). (default: :obj:`False`)
        transform (callable, optional): Applied to each :obj:`(C, T, V, M)`.

    Shapes:
        - **item:** :obj:`(x, label)`, :obj:`x` of shape :obj:`(C, T, V, M)`
    """
    def __init__(self, path, split: Optional[str] = None,
                 layout: Optional[str] = None, max_persons: int = 2,
                 num_classes: Optional[int] = None, score: bool = False,
                 transform=None):
        self.path = Path(path)
        with open(self.path, 'rb') as f:
            data = pickle.load(f)
        for key in ('split', 'annotations'):
            if not isinstance(data, dict) or key not in data:
                raise ValueError(f"{self.path}: expected a pyskl pickle, a "
                                 f"dict with 'split' and 'annotations'; "
                                 f"'{key}' is missing")
        annotations = data['annotations']
        if split is not None:
            if split not in data['split']:
                raise ValueError(f"{self.path}: no split '{split}'; it has "
                                 f"{sorted(data['split'])}")
            wanted = set(data['split'][split])
            annotations = [a for a in annotations if a['frame_dir'] in wanted]
        for i, ann in enumerate(annotations):
            for key in ('frame_dir', 'label', 'keypoint'):
                if key not in ann:
                    raise ValueError(f"{self.path}: annotation {i} has no "
                                     f"'{key}'")
        if not annotations:
            raise ValueError(f"{self.path}: split '{split}' is empty")
        V = annotations[0]['keypoint'].shape[2]
        if layout is None and V not in _LAYOUT_BY_JOINTS:
            raise ValueError(f"{self.path}: no default layout for {V} "
                             f"joints; pass 'layout'")
        self.skeleton = get_skeleton(layout or _LAYOUT_BY_JOINTS[V])
        labels = [int(a['label']) for a in annotations]
        self.num_classes = num_classes or max(labels) + 1
        bad = [(a['frame_dir'], y) for a, y in zip(annotations, labels)
               if not 0 <= y < self.num_classes]
        if bad:
            raise ValueError(f"{self.path}: label {bad[0][1]} of "
                             f"'{bad[0][0]}' is out of range "
                             f"[0, {self.num_classes})")
        self.annotations = annotations
        self.max_persons = max_persons
        self.score = score
        self.transform = transform
        self.meta = [dict(name=a['frame_dir'], label=y)
                     for a, y in zip(annotations, labels)]

    @property
    def pixel_noise(self) -> float:
        r"""Std of the training noise in the data's units: 1 pixel for 2D
        poses (the paper's "pixel noise", Sec. 4.1, whose size it does not
        give), none for 3D joints."""
        return 1.0 if self.skeleton.coords == 2 else 0.0

    def __len__(self) -> int:
        return len(self.annotations)

    def __getitem__(self, idx: int) -> Tuple[Tensor, int]:
        ann = self.annotations[idx]
        name = ann['frame_dir']
        keypoint = np.asarray(ann['keypoint'], dtype=np.float32)
        if keypoint.ndim != 4 or keypoint.shape[2] != self.skeleton.num_joints:
            raise ValueError(
                f"{self.path}: '{name}' keypoint has shape "
                f"{keypoint.shape}; expected (M, T, "
                f"{self.skeleton.num_joints}, C) for layout "
                f"'{self.skeleton.name}'")
        if self.score and 'keypoint_score' in ann:
            score = np.asarray(ann['keypoint_score'], np.float32)[..., None]
            keypoint = np.concatenate([keypoint, score], axis=-1)
        if not np.isfinite(keypoint).all():
            raise ValueError(f"{self.path}: '{name}' holds NaN or inf "
                             f"keypoints")
        M, T, V, C = keypoint.shape
        x = np.zeros((self.max_persons, T, V, C), np.float32)
        x[:min(M, self.max_persons)] = keypoint[:self.max_persons]
        x = torch.from_numpy(x).permute(3, 1, 2, 0).contiguous()
        if self.transform is not None:
            x = self.transform(x)
        return x, self.meta[idx]['label']
