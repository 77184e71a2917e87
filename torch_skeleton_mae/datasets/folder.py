r"""The readers of datasets kept as one small file per sequence (NW-UCLA's
JSON, Penn Action's MATLAB files): read every file once, skip and count the
bad ones, keep a split."""
from pathlib import Path
from typing import Any, Dict, Optional, Tuple

import numpy as np
from torch import Tensor

from torch_skeleton_mae.graph import get_skeleton
from .base import (READ_ERRORS, FrameStore, SkeletonSequences, normalizer,
                   why_skipped)


class SkeletonFolder(SkeletonSequences):
    r"""Base of the one-file-per-sequence readers: every :obj:`*{suffix}`
    file of :obj:`root` is read once by :meth:`read`, preprocessed
    (:func:`~torch_skeleton_mae.datasets.base.normalizer`) and stored; a file
    that :meth:`read` refuses, or that makes it fail as a hostile file can
    (:data:`~torch_skeleton_mae.datasets.base.READ_ERRORS`: memory,
    recursion, ...), is skipped, named with its reason in :attr:`skipped`
    and in a printed summary, and costs no other file.

    Subclasses set :obj:`suffix`, :obj:`layout` and :obj:`class_names`
    and implement :meth:`read` and :meth:`in_train_split`.

    Args:
        root (str): The folder.
        split (str, optional): :obj:`"train"`, :obj:`"val"` or :obj:`None`
            for all. (default: :obj:`"train"`)
        normalize (bool, optional): Preprocess every sequence once, when it
            is read. (default: :obj:`True`)
        transform (callable, optional): Applied to each :obj:`(M, T, V, C)`.

    Shapes:
        - **item:** :obj:`(x, label)`, :obj:`x` of shape :obj:`(1, T, V, C)`
          (see :class:`~torch_skeleton_mae.datasets.SkeletonSequences`)
    """
    suffix: str
    layout: str
    #: The class of every label, in label order.
    class_names: Tuple[str, ...]

    def __init__(self, root, split: Optional[str] = 'train',
                 normalize: bool = True, transform=None):
        if split not in ('train', 'val', None):
            raise ValueError(f"'split' must be 'train', 'val' or None, got "
                             f"'{split}'")
        self.root = Path(root)
        if not self.root.is_dir():
            raise FileNotFoundError(f"{type(self).__name__}: folder "
                                    f"'{root}' does not exist")
        files = sorted(self.root.glob(f'*{self.suffix}'))
        if not files:
            raise FileNotFoundError(f"{type(self).__name__}: no "
                                    f"{self.suffix} files in '{root}'")
        self.skeleton = get_skeleton(self.layout)
        self.num_classes = len(self.class_names)
        self.normalized = normalize
        self.transform = transform
        #: Files left out, :obj:`{file name: why}`.
        self.skipped: Dict[str, str] = {}
        prepare = normalizer(self.skeleton) if normalize else None
        store, self.meta = FrameStore(), []
        for path in files:
            try:
                x, meta = self.read(path)
            except READ_ERRORS as error:
                self.skipped[path.name] = why_skipped(path, error)
                continue
            if split is None or self.in_train_split(meta) == (
                    split == 'train'):
                store.add(prepare(x) if prepare else x)
                self.meta.append(dict(meta, name=path.stem))
        if self.skipped:
            read = len(files) - len(self.skipped)
            print(f"{type(self).__name__}: read {read} of {len(files)} files "
                  f"in {self.root}; skipped {len(self.skipped)}:" + ''.join(
                      f"\n  {name}: {why}"
                      for name, why in self.skipped.items()))
        if not self.meta:
            raise ValueError(f"{type(self).__name__}: no readable sequence "
                             f"of split '{split}' in '{root}'")
        self.store(*store.arrays(),
                   np.array([m['label'] for m in self.meta], np.int64))

    def read(self, path: Path) -> Tuple[Tensor, Dict[str, Any]]:
        r"""One file as :obj:`x` :obj:`(1, T, V, C)` (float32) and its
        metadata, with a 0-based :obj:`label`.

        Raises:
            ValueError: naming the file and what is wrong with it.
        """
        raise NotImplementedError

    def in_train_split(self, meta: Dict[str, Any]) -> bool:
        r"""Whether the sequence of :obj:`meta` is in the training split."""
        raise NotImplementedError
