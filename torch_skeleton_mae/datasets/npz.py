import zipfile
from pathlib import Path
from typing import Dict, Optional, Sequence, Tuple

import numpy as np
import torch

from torch_skeleton_mae.graph import get_skeleton
from .base import FrameStore, SkeletonSequences, normalizer


def read_labels(y: np.ndarray, name: str) -> Tuple[np.ndarray, int]:
    r"""Class indices from one-hot rows or integer labels.

    Args:
        y (np.ndarray): :obj:`(N, K)` one-hot, or :obj:`(N,)` / :obj:`(N, 1)`
            integer labels.
        name (str): What :obj:`y` is, for error messages.

    Returns:
        The labels :obj:`(N,)` and the one-hot width :obj:`K` (:obj:`0` for
        integer labels).

    Raises:
        ValueError: naming the first bad row: a one-hot row that is not
            exactly one 1, a fractional or negative label.
    """
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim == 2:
        ones = (y == 1).sum(axis=1)
        bad = np.flatnonzero((ones != 1) | ((y != 0) & (y != 1)).any(axis=1))
        if bad.size:
            raise ValueError(f"{name}: row {bad[0]} is not one-hot (exactly "
                             f"one 1, zeros elsewhere): {y[bad[0]].tolist()}")
        return y.argmax(axis=1).astype(np.int64), y.shape[1]
    if y.ndim != 1:
        raise ValueError(f"{name}: expected labels (N,), (N, 1) or one-hot "
                         f"(N, K), got shape {y.shape}")
    bad = np.flatnonzero((y < 0) | (y != np.round(y)))
    if bad.size:
        raise ValueError(f"{name}: row {bad[0]} has label {y[bad[0]]}; "
                         f"expected an integer class >= 0")
    return y.astype(np.int64), 0


#: The largest ratio of a member's size to its compressed size that is
#: read: zero padding compresses tenfold or so, a zip bomb a thousandfold.
MAX_COMPRESSION = 200


def read_npz(path, keys: Sequence[str],
             max_compression: float = MAX_COMPRESSION
             ) -> Dict[str, np.ndarray]:
    r"""The arrays :obj:`keys` of the :obj:`.npz` :obj:`path`, each checked
    before it is read: its header's shape and dtype must account for
    exactly the bytes the archive stores, its dtype must hold no Python
    objects, and it may expand at most :obj:`max_compression` times.

    Raises:
        ValueError: naming the file and the key: not an archive, a key
            missing, or a member that fails a check.
    """
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as error:
        raise ValueError(f"{path}: not an .npz archive ({error})") from None
    with archive:
        members = {n[:-4]: n for n in archive.namelist()
                   if n.endswith('.npy')}
        out = {}
        for key in keys:
            if key not in members:
                raise ValueError(f"{path}: key '{key}' is missing; it has "
                                 f"{sorted(members)}")
            info = archive.getinfo(members[key])
            try:
                with archive.open(info) as member:
                    shape, dtype = _npy_header(member)
                    stored = info.file_size - member.tell()
                if dtype.hasobject:
                    raise ValueError(f'dtype {dtype} holds Python objects')
                claimed = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
                if claimed != stored:
                    raise ValueError(f'its header claims shape {shape} of '
                                     f'{dtype} ({claimed} bytes); the archive '
                                     f'stores {stored}')
                if info.file_size > max_compression * max(
                        info.compress_size, 1):
                    raise ValueError(
                        f'{info.compress_size} compressed bytes expand to '
                        f'{info.file_size}, more than {max_compression} '
                        f'times (max_compression)')
                with archive.open(info) as member:
                    out[key] = np.lib.format.read_array(member,
                                                        allow_pickle=False)
            except (ValueError, OSError, EOFError, zipfile.BadZipFile,
                    MemoryError) as error:
                raise ValueError(f"{path}: key '{key}': {error}") from None
    return out


def _npy_header(member) -> Tuple[Tuple[int, ...], np.dtype]:
    # The shape and dtype of an .npy stream, read from its header alone.
    version = np.lib.format.read_magic(member)
    read = (np.lib.format.read_array_header_1_0 if version == (1, 0)
            else np.lib.format.read_array_header_2_0)
    shape, _, dtype = read(member)
    return shape, dtype


class NpzSkeletonDataset(SkeletonSequences):
    r"""The CTR-GCN / MAMP NTU :obj:`.npz`: keys :obj:`x_train`,
    :obj:`y_train`, :obj:`x_test`, :obj:`y_test`; :obj:`x` of shape
    :obj:`(N, T, 150)` (2 bodies x 25 joints x xyz, zero-padded in time),
    :obj:`y` one-hot :obj:`(N, num_classes)` with exactly one 1 per row, or
    integer class indices :obj:`(N,)` or :obj:`(N, 1)`; anything else is
    refused, naming the row.

    Args:
        path (str): The file.
        split (str, optional): :obj:`"train"` or :obj:`"test"` (also
            :obj:`"val"`). (default: :obj:`"train"`)
        layout (str, optional): (default: :obj:`"ntu-rgb+d"`)
        num_classes (int, optional): Classes; labels must lie below it.
            (default: the one-hot width, else the largest label + 1)
        normalize (bool, optional): Center and align every sequence
            (:class:`~torch_skeleton_mae.transforms.PreNormalize3D` for the
            NTU layouts) once, when the file is read. (default: :obj:`True`)
        transform (callable, optional): Applied to each :obj:`(M, T, V, C)`.

    Shapes:
        - **item:** :obj:`(x, label)`, :obj:`x` of shape :obj:`(3, T, 25, 2)`
          (see :class:`~torch_skeleton_mae.datasets.SkeletonSequences`)
    """
    def __init__(self, path, split: str = 'train', layout: str = 'ntu-rgb+d',
                 num_classes: Optional[int] = None, normalize: bool = True,
                 transform=None):
        self.path = Path(path)
        part = {'train': 'train', 'test': 'test', 'val': 'test'}.get(split)
        if part is None:
            raise ValueError(f"'split' must be 'train', 'test' or 'val', got "
                             f"'{split}'")
        self.skeleton = get_skeleton(layout)
        V = self.skeleton.num_joints
        data = read_npz(self.path, (f'x_{part}', f'y_{part}'))
        x, y = data[f'x_{part}'], data[f'y_{part}']
        if x.ndim != 3 or x.shape[2] != 2 * V * 3:
            raise ValueError(f"{self.path}: 'x_{part}' has shape {x.shape}; "
                             f"expected (N, T, {2 * V * 3}) = 2 bodies x {V} "
                             f"joints x xyz")
        if len(y) != len(x):
            raise ValueError(f"{self.path}: {len(x)} sequences but {len(y)} "
                             f"labels in 'y_{part}'")
        labels, width = read_labels(y, f"{self.path}: 'y_{part}'")
        self.num_classes = num_classes or width or int(labels.max()) + 1
        if labels.size and labels.max() >= self.num_classes:
            row = int(np.argmax(labels >= self.num_classes))
            raise ValueError(f"{self.path}: row {row} of 'y_{part}' has label "
                             f"{labels[row]}, beyond {self.num_classes} "
                             f"classes")
        if not np.isfinite(x).all():
            bad = int(np.argwhere(~np.isfinite(x))[0, 0])
            raise ValueError(f"{self.path}: sequence {bad} of 'x_{part}' "
                             f"holds NaN or inf")
        N, T, _ = x.shape
        if N == 0:
            raise ValueError(f"{self.path}: 'x_{part}' holds no sequence")
        x = torch.from_numpy(x.reshape(N, T, 2, V, 3)).transpose(1, 2)
        prepare = normalizer(self.skeleton) if normalize else None
        store = FrameStore()
        for sequence in x:
            sequence = sequence.float()
            store.add(prepare(sequence) if prepare else sequence)
        self.store(*store.arrays(), labels)
        self.transform = transform
        self.meta = [dict(index=i, label=int(c)) for i, c in enumerate(labels)]
