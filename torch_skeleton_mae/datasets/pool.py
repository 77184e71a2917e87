r"""An unlabeled pre-training corpus pooled from several sources: built once
into a cache folder (:class:`PoolBuilder`), then read memory-mapped
(:class:`MotionPool`)."""
import json
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Dict, Optional, Sequence

import numpy as np
import torch
from torch import Tensor

from torch_skeleton_mae.graph import get_skeleton
from .base import READ_ERRORS, FrameStore, SkeletonSequences, normalizer


class PoolBuilder:
    r"""Collects sequences of one layout from several sources, cuts each
    into windows of :obj:`window` frames every :obj:`stride` frames (the
    last one ending with the sequence; shorter sequences stay whole),
    normalizes every window once
    (:func:`~torch_skeleton_mae.datasets.base.normalizer`) and writes them
    with :meth:`finish` to a folder that :class:`MotionPool` reads.

    A sequence that cannot be read is skipped and named, with its reason,
    in the manifest; it costs no other.

    Args:
        layout (str): The layout of every sequence.
        window (int, optional): Frames per window. (default: :obj:`40`)
        stride (int, optional): Frames between window starts. (default:
            :obj:`window`)
        min_frames (int, optional): Drop sequences shorter than this
            (counted). (default: :obj:`8`)

    Shapes:
        - **input:** each sequence that :meth:`add` reads,
          :obj:`(1, T, V, C)`
    """
    def __init__(self, layout: str, window: int = 40,
                 stride: Optional[int] = None, min_frames: int = 8):
        if window < 1 or (stride is not None and stride < 1):
            raise ValueError(f"PoolBuilder: 'window' and 'stride' must be >= "
                             f"1, got {window} and {stride}")
        self.skeleton = get_skeleton(layout)
        self.window, self.stride = window, stride or window
        self.min_frames = min_frames
        self.prepare = normalizer(self.skeleton)
        self.store, self.source_ids = FrameStore(trim=False), []
        self.sources: Dict[str, Dict[str, Any]] = {}

    @property
    def num_windows(self) -> int:
        r"""The windows stored so far."""
        return len(self.source_ids)

    def add(self, source: str, name: str, read: Callable[[], Tensor],
            cut: bool = True) -> bool:
        r"""Reads one sequence (:obj:`read()`, :obj:`(1, T, V, C)`) of
        :obj:`source` and stores its windows (the whole sequence unless
        :obj:`cut`). Returns whether it was kept."""
        stats = self.sources.setdefault(source, dict(
            files=0, sequences=0, windows=0, frames=0, seconds=0.0,
            too_short=0, skipped={}))
        stats['files'] += 1
        start = time.time()
        try:
            x = read()
            V = self.skeleton.num_joints
            if x.dim() != 4 or x.size(0) != 1 or x.size(2) != V:
                raise ValueError(f'shape {tuple(x.shape)}; expected '
                                 f'(1, T, {V}, C)')
            if not torch.isfinite(x).all():
                raise ValueError('joints that are not finite')
        except READ_ERRORS as error:
            stats['skipped'][name] = f'{type(error).__name__}: {error}'
            return False
        finally:
            stats['seconds'] += time.time() - start
        T = x.size(1)
        if T < self.min_frames:
            stats['too_short'] += 1
            return False
        starts = [0]
        if cut and T > self.window:
            starts = list(range(0, T - self.window + 1, self.stride))
            if starts[-1] != T - self.window:
                starts.append(T - self.window)
        length = self.window if cut and T > self.window else T
        source_id = list(self.sources).index(source)
        for s in starts:
            self.store.add(self.prepare(x[:, s:s + length]))
            self.source_ids.append(source_id)
        stats['sequences'] += 1
        stats['windows'] += len(starts)
        stats['frames'] += T
        return True

    def finish(self, out, **manifest: Any) -> Path:
        r"""Writes the pool to the folder :obj:`out` (made whole in a
        temporary folder beside it, then renamed: an existing :obj:`out` is
        refused) with a :obj:`manifest.json` of its layout, windows, each
        source's counts and skipped files, and :obj:`manifest`'s entries.

        Raises:
            FileExistsError: if :obj:`out` exists.
            ValueError: if no window was stored.
        """
        out = Path(out)
        if out.exists():
            raise FileExistsError(f'PoolBuilder: {out} exists; remove it or '
                                  f'choose another folder')
        if not self.num_windows:
            raise ValueError('PoolBuilder: no sequence was read')
        frames, offsets, lengths = self.store.arrays()
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f'.{out.name}.', dir=out.parent))
        try:
            np.save(tmp / 'frames.npy', frames)
            np.save(tmp / 'windows.npy', np.stack([offsets, lengths], 1))
            np.save(tmp / 'sources.npy', np.array(self.source_ids, np.int64))
            info = dict(
                layout=self.skeleton.name, window=self.window,
                stride=self.stride, min_frames=self.min_frames,
                windows=self.num_windows, frames=len(frames),
                sources=self.sources, **manifest)
            (tmp / 'manifest.json').write_text(json.dumps(info, indent=1))
            os.rename(tmp, out)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return out


class MotionPool(SkeletonSequences):
    r"""A pool written by :class:`PoolBuilder`: its windows, memory-mapped,
    each item's label the index of its source (pre-training reads no
    label).

    Args:
        root (str): The pool's folder.
        sources (sequence of str, optional): Keep these sources only.
        limit (int, optional): Keep this many windows, drawn at random
            (without replacement) with :obj:`seed`: the pool-size axis of a
            scaling curve.
        seed (int, optional): (default: :obj:`0`)

    Attributes:
        manifest (dict): The pool's :obj:`manifest.json`.
        source_names (list of str): The sources, in label order.

    Shapes:
        - **item:** :obj:`(x, source)`, :obj:`x` of shape
          :obj:`(1, T, V, C)`
    """
    def __init__(self, root, sources: Optional[Sequence[str]] = None,
                 limit: Optional[int] = None, seed: int = 0):
        root = Path(root)
        try:
            self.manifest = json.loads((root / 'manifest.json').read_text())
            frames = np.load(root / 'frames.npy', mmap_mode='r')
            windows = np.load(root / 'windows.npy')
            labels = np.load(root / 'sources.npy')
        except (OSError, ValueError) as error:
            raise ValueError(f'MotionPool: {root} is not a pool written by '
                             f'PoolBuilder ({error})') from None
        self.source_names = list(self.manifest['sources'])
        keep = np.arange(len(windows))
        if sources is not None:
            unknown = set(sources) - set(self.source_names)
            if unknown:
                raise ValueError(f'MotionPool: no source {sorted(unknown)} in '
                                 f'{root}; it has {self.source_names}')
            ids = [self.source_names.index(s) for s in sources]
            keep = keep[np.isin(labels, ids)]
        if limit is not None:
            if not 1 <= limit <= len(keep):
                raise ValueError(f"MotionPool: 'limit' must lie in [1, "
                                 f"{len(keep)}], got {limit}")
            keep = np.sort(np.random.default_rng(seed).choice(
                keep, limit, replace=False))
        self.skeleton = get_skeleton(self.manifest['layout'])
        if frames.shape[1:3] != (1, self.skeleton.num_joints):
            raise ValueError(f'MotionPool: {root} holds frames of shape '
                             f'{frames.shape[1:]}, not (1, V, C): it was '
                             f'written by an earlier version; build it again')
        self.num_classes = len(self.source_names)
        self.meta = [dict(label=int(labels[i]),
                          source=self.source_names[labels[i]])
                     for i in keep]
        self.store(frames, windows[keep, 0], windows[keep, 1], labels[keep])
