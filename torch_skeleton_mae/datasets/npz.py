from pathlib import Path
from typing import Tuple

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset

from torch_skeleton_mae.graph import get_skeleton


class NpzSkeletonDataset(Dataset):
    r"""The CTR-GCN / MAMP NTU :obj:`.npz`: keys :obj:`x_train`,
    :obj:`y_train`, :obj:`x_test`, :obj:`y_test`; :obj:`x` of shape
    :obj:`(N, T, 150)` (2 bodies x 25 joints x xyz, zero-padded in time),
    :obj:`y` one-hot :obj:`(N, num_classes)` (class indices also work).

    Args:
        path (str): The file.
        split (str, optional): :obj:`"train"` or :obj:`"test"` (also
            :obj:`"val"`). (default: :obj:`"train"`)
        layout (str, optional): (default: :obj:`"ntu-rgb+d"`)
        transform (callable, optional): Applied to each :obj:`(C, T, V, M)`.

    Shapes:
        - **item:** :obj:`(x, label)`, :obj:`x` of shape :obj:`(3, T, 25, 2)`
    """
    #: No training noise: the paper's pixel noise is for 2D poses.
    pixel_noise = 0.0

    def __init__(self, path, split: str = 'train', layout: str = 'ntu-rgb+d',
                 transform=None):
        self.path = Path(path)
        part = {'train': 'train', 'test': 'test', 'val': 'test'}.get(split)
        if part is None:
            raise ValueError(f"'split' must be 'train', 'test' or 'val', got "
                             f"'{split}'")
        self.skeleton = get_skeleton(layout)
        V = self.skeleton.num_joints
        with np.load(self.path) as data:
            for key in (f'x_{part}', f'y_{part}'):
                if key not in data:
                    raise ValueError(f"{self.path}: key '{key}' is missing; "
                                     f"it has {sorted(data.files)}")
            x, y = data[f'x_{part}'], data[f'y_{part}']
        if x.ndim != 3 or x.shape[2] != 2 * V * 3:
            raise ValueError(f"{self.path}: 'x_{part}' has shape {x.shape}; "
                             f"expected (N, T, {2 * V * 3}) = 2 bodies x {V} "
                             f"joints x xyz")
        if len(y) != len(x):
            raise ValueError(f"{self.path}: {len(x)} sequences but {len(y)} "
                             f"labels in 'y_{part}'")
        labels = y.argmax(axis=1) if y.ndim == 2 else y.astype(np.int64)
        self.num_classes = y.shape[1] if y.ndim == 2 else int(labels.max()) + 1
        if y.ndim == 1 and (labels < 0).any():
            raise ValueError(f"{self.path}: negative label in 'y_{part}'")
        if not np.isfinite(x).all():
            bad = int(np.argwhere(~np.isfinite(x))[0, 0])
            raise ValueError(f"{self.path}: sequence {bad} of 'x_{part}' "
                             f"holds NaN or inf")
        N, T, _ = x.shape
        self.data = x.reshape(N, T, 2, V, 3).transpose(0, 4, 1, 3, 2)
        self.labels = labels
        self.transform = transform
        self.meta = [dict(index=i, label=int(c)) for i, c in enumerate(labels)]

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, idx: int) -> Tuple[Tensor, int]:
        x = torch.from_numpy(np.ascontiguousarray(self.data[idx],
                                                  dtype=np.float32))
        if self.transform is not None:
            x = self.transform(x)
        return x, int(self.labels[idx])
