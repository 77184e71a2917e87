r"""The reader contract: every dataset of this package holds its sequences,
preprocessed once, as one array of frames and reads items and whole batches
by slicing it."""
from typing import Callable, List, Optional, Sequence, Tuple

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset

from torch_skeleton_mae.graph import get_skeleton
from torch_skeleton_mae.transforms import (CenterSequence, PreNormalize3D,
                                           frame_span, uniform_frame_indices)
from torch_skeleton_mae.utils import ScratchBuffer


#: The most frames the readers of action datasets accept in one sequence,
#: checked before its joints are allocated (well above any such dataset's
#: longest: NTU 300 frames, Penn Action 663, NW-UCLA a few hundred).
MAX_FRAMES = 10_000
#: The errors that reading a hostile or broken file can raise. Every
#: reader catches them per file, so that such a file costs only itself.
READ_ERRORS = (ValueError, OSError, MemoryError, RecursionError,
               OverflowError, IndexError, KeyError, TypeError, EOFError)


def why_skipped(path, error: BaseException) -> str:
    r"""The reason recorded for a file skipped on :obj:`error` (one of
    :data:`READ_ERRORS`): a reader's own message names the file already,
    anything else gets the file and the error's type."""
    if isinstance(error, (ValueError, OSError)) and str(path) in str(error):
        return str(error)
    return f'{path}: {type(error).__name__}: {error}'


def normalizer(skeleton) -> Callable[[Tensor], Tensor]:
    r"""The standard deterministic preprocessing of a layout's sequences:
    :class:`~torch_skeleton_mae.transforms.PreNormalize3D` (centering and
    view alignment) for layouts with view axes, the 3D NTU ones, and
    :class:`~torch_skeleton_mae.transforms.CenterSequence` otherwise."""
    skeleton = get_skeleton(skeleton)
    return (PreNormalize3D(skeleton) if skeleton.view_axes
            else CenterSequence(skeleton))


def sequence_frames(x: Tensor, trim: bool = True) -> np.ndarray:
    r"""The frames :obj:`(L, M, V, C)` (float32) of a sequence :obj:`x`
    :obj:`(M, T, V, C)` as :class:`SkeletonSequences` stores them: its span
    of non-empty frames (:func:`~torch_skeleton_mae.transforms.frame_span`)
    with :obj:`trim`, else all :obj:`T`."""
    start, length = frame_span(x) if trim else (0, x.size(1))
    chunk = x[:, start:start + length].permute(1, 0, 2, 3)
    return np.ascontiguousarray(chunk.numpy(), np.float32)


class FrameStore:
    r"""Collects sequences :obj:`(M, T, V, C)` into the arrays of a
    :class:`SkeletonSequences` (see :func:`sequence_frames`).

    Args:
        trim (bool, optional): Keep each sequence's span of non-empty frames
            only. (default: :obj:`True`)
    """
    def __init__(self, trim: bool = True):
        self.trim = trim
        self.chunks: List[np.ndarray] = []

    def add(self, x: Tensor) -> None:
        r"""Adds a sequence :obj:`(M, T, V, C)`."""
        self.chunks.append(sequence_frames(x, self.trim))

    def arrays(self) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        r""":obj:`(frames, offsets, lengths)` of the sequences added."""
        lengths = np.array([len(c) for c in self.chunks], dtype=np.int64)
        offsets = np.cumsum(lengths) - lengths
        frames = (np.concatenate(self.chunks) if self.chunks else
                  np.zeros((0, 1, 1, 1), np.float32))
        return frames, offsets, lengths


def _batch_tensor(shape: Sequence[int], dtype: torch.dtype) -> Tensor:
    # In a DataLoader worker, the batch is written straight into shared
    # memory, as default_collate does: sending it then copies nothing.
    if torch.utils.data.get_worker_info() is None:
        return torch.empty(shape, dtype=dtype)
    numel = int(np.prod(shape))
    storage = torch.UntypedStorage._new_shared(numel * dtype.itemsize)
    return torch.empty(0, dtype=dtype).set_(storage).view(shape)


class SkeletonSequences(Dataset):
    r"""Base of every reader: sequences stored once, already preprocessed,
    as frames :obj:`(F, M, V, C)` (in memory or memory-mapped), each
    sequence a run of :obj:`lengths[i]` frames from :obj:`offsets[i]`.
    Reading an item or a batch is slicing, plus the frame sampling that
    :meth:`sample_frames` chooses.

    Subclasses call :meth:`store` and set :obj:`skeleton`,
    :obj:`num_classes` and :obj:`meta` (one dict per item with its
    :obj:`label`).

    Attributes:
        skeleton (Skeleton): The layout.
        num_classes (int): Classes.
        meta (list): Per-item metadata; :obj:`meta[i]["label"]` is item
            :obj:`i`'s label.
        transform (callable): Optional per-sample transform of each
            :obj:`(M, T, V, C)` item (slow: applied one sample at a time).

    Shapes:
        - **item:** :obj:`(x, label)`, :obj:`x` of shape
          :obj:`(M, T, V, C)`: :obj:`T = num_frames` once
          :meth:`sample_frames` is set, else the sequence's own length
        - **batch** (:meth:`read_batch`): :obj:`(N, M, T, V, C)` and labels
          :obj:`(N,)`
    """
    #: Std of the training noise in the data's units (see
    #: :class:`~torch_skeleton_mae.transforms.batch.GaussianNoise`).
    pixel_noise = 0.0
    transform: Optional[Callable[[Tensor], Tensor]] = None
    num_frames: Optional[int] = None
    train = False

    def store(self, frames: np.ndarray, offsets: np.ndarray,
              lengths: np.ndarray, labels: np.ndarray) -> None:
        r"""Sets the stored frames :obj:`(F, M, V, C)`, each item's first
        frame and length :obj:`(N,)`, and labels :obj:`(N,)`."""
        if not (len(offsets) == len(lengths) == len(labels)):
            raise ValueError(f"{len(offsets)} offsets, {len(lengths)} lengths "
                             f"and {len(labels)} labels differ")
        if len(lengths) and lengths.min() < 1:
            raise ValueError('every stored sequence needs a frame')
        if len(lengths) and (offsets.min() < 0
                             or (offsets + lengths).max() > len(frames)):
            raise ValueError(f"the sequences' frames run outside the "
                             f"{len(frames)} stored frames")
        self.frames = frames
        self._gathered = ScratchBuffer()
        self.offsets = torch.as_tensor(np.asarray(offsets, np.int64))
        self.lengths = torch.as_tensor(np.asarray(lengths, np.int64))
        self.labels = torch.as_tensor(np.asarray(labels, np.int64))

    def sample_frames(self, num_frames: Optional[int],
                      train: bool = False) -> 'SkeletonSequences':
        r"""Makes every item :obj:`num_frames` frames sampled uniformly over
        its sequence (random in training, segment middles otherwise; see
        :func:`~torch_skeleton_mae.transforms.uniform_frame_indices`);
        :obj:`None` gives each sequence as stored. Returns :obj:`self`."""
        if num_frames is not None and num_frames < 1:
            raise ValueError(f"'num_frames' must be >= 1, got {num_frames}")
        self.num_frames = num_frames
        self.train = train
        return self

    def __len__(self) -> int:
        return len(self.lengths)

    def read_batch(self, indices: Sequence[int],
                   generator: Optional[torch.Generator] = None
                   ) -> Tuple[Tensor, Tensor]:
        r"""Items :obj:`indices` as one batch, read with one vectorized
        gather; random frame offsets come from :obj:`generator` (the global
        generator if :obj:`None`). Without :meth:`sample_frames`, shorter
        sequences are zero-padded to the longest.

        Returns:
            :obj:`x` :obj:`(N, M, T, V, C)` and the labels :obj:`(N,)`.
        """
        index = torch.as_tensor(indices, dtype=torch.long)
        lengths = self.lengths[index]
        if self.num_frames is not None:
            frame = uniform_frame_indices(lengths, self.num_frames,
                                          self.train, generator)
        else:
            frame = torch.arange(int(lengths.max()))
            frame = frame.expand(len(index), -1)
        present = frame < lengths[:, None]
        rows = self.offsets[index][:, None] + frame * present
        x = torch.from_numpy(self._gather(rows.numpy()))
        if not present.all():  # zero padding
            x = x * present[..., None, None, None]
        x = x.permute(0, 2, 1, 3, 4)
        x = _batch_tensor(x.shape, x.dtype).copy_(x)
        if self.transform is not None:
            x = torch.stack([self.transform(item) for item in x])
        return x, self.labels[index]

    def _gather(self, rows: np.ndarray) -> np.ndarray:
        # Frames :obj:`rows` into this thread's buffer, kept for the next
        # batch of the same shape (read_batch copies out of it). :meth:`store`
        # checked that every row is in range, so no clipping happens.
        shape = rows.shape + self.frames.shape[1:]
        out = self._gathered.get(shape, lambda: np.empty(shape,
                                                         self.frames.dtype))
        return np.take(self.frames, rows, axis=0, out=out, mode='clip')

    def __getitem__(self, idx: int) -> Tuple[Tensor, int]:
        x, y = self.read_batch([idx])
        return x[0], int(y[0])

    def __getitems__(self, indices: List[int]) -> List[Tuple[Tensor, int]]:
        # What a plain DataLoader's fetcher calls: one vectorized read.
        x, y = self.read_batch(indices)
        return list(zip(x, y.tolist()))


def concat_sequences(*datasets: SkeletonSequences) -> SkeletonSequences:
    r"""The sequences of several datasets of one layout and one
    :obj:`(M, V, C)` frame shape as one dataset (*e.g.* a real training
    split and synthetic motion, to pre-train on both), with the first
    one's frame sampling, training noise and transform; labels and
    :obj:`meta` are kept as they are, :obj:`num_classes` is the largest.

    Shapes:
        - **item:** :obj:`(x, label)`, :obj:`x` of shape :obj:`(M, T, V, C)`
    """
    first = datasets[0]
    for data in datasets[1:]:
        if (data.skeleton, data.frames.shape[1:]) != (
                first.skeleton, first.frames.shape[1:]):
            raise ValueError(
                f"concat_sequences: frames of layout '{data.skeleton.name}' "
                f"and shape {data.frames.shape[1:]} differ from the first "
                f"dataset's '{first.skeleton.name}' and "
                f"{first.frames.shape[1:]} (M, V, C)")
    out = SkeletonSequences()
    sizes = np.cumsum([0] + [len(d.frames) for d in datasets[:-1]])
    out.store(np.concatenate([np.asarray(d.frames) for d in datasets]),
              np.concatenate([d.offsets.numpy() + size
                              for d, size in zip(datasets, sizes)]),
              np.concatenate([d.lengths.numpy() for d in datasets]),
              np.concatenate([d.labels.numpy() for d in datasets]))
    out.skeleton = first.skeleton
    out.num_classes = max(d.num_classes for d in datasets)
    out.meta = [m for d in datasets for m in d.meta]
    out.pixel_noise = first.pixel_noise
    out.transform = first.transform
    return out.sample_frames(first.num_frames, first.train)
