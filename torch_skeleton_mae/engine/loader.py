r"""Data loading for the :class:`~torch_skeleton_mae.engine.Trainer`: whole
batches read by one vectorized call, every batch's randomness a function of
(seed, rank, epoch, step) alone, so that persistent workers, worker threads
and exact resume go together."""
import itertools
import random
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from typing import (Callable, Iterator, List, NamedTuple, Optional, Sequence,
                    Tuple)

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import (DataLoader, Dataset, DistributedSampler, Sampler,
                              SequentialSampler, Subset, default_collate)

from torch_skeleton_mae.datasets import SkeletonSequences
from torch_skeleton_mae.engine.distributed import DistributedContext


def derived_seed(*keys: int) -> int:
    r"""A 63-bit seed that depends on :obj:`keys` alone (NumPy's
    :class:`~numpy.random.SeedSequence`): nearby keys give unrelated
    streams."""
    state = np.random.SeedSequence(list(keys)).generate_state(2, np.uint64)
    return int(state[0] >> np.uint64(1))


class BatchKey(NamedTuple):
    r"""What a worker needs to build one batch: the items and the seed of
    the batch's random draws."""
    indices: List[int]
    seed: int


class EpochBatchSampler(Sampler):
    r"""Groups the indices of :obj:`sampler` into :class:`BatchKey` s whose
    seed is :func:`derived_seed` of (:obj:`seed`, :obj:`rank`, epoch,
    step). :meth:`set_epoch` passes the epoch on to :obj:`sampler`.

    Args:
        sampler (Sampler): Item order (*e.g.* a
            :class:`~torch.utils.data.DistributedSampler`).
        batch_size (int): Items per batch.
        drop_last (bool): Drop the last incomplete batch.
        seed (int, optional): (default: :obj:`0`)
        rank (int, optional): This process's rank. (default: :obj:`0`)
    """
    #: Tells the batch seeds apart from the Trainer's augmentation seeds.
    stream = 1

    def __init__(self, sampler: Sampler, batch_size: int, drop_last: bool,
                 seed: int = 0, rank: int = 0):
        if batch_size < 1:
            raise ValueError(f"'batch_size' must be >= 1, got {batch_size}")
        self.sampler = sampler
        self.batch_size = batch_size
        self.drop_last = drop_last
        self.seed = seed
        self.rank = rank
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        r"""Sets the epoch of the next pass (its order and seeds)."""
        self.epoch = epoch
        if hasattr(self.sampler, 'set_epoch'):
            self.sampler.set_epoch(epoch)

    def __iter__(self) -> Iterator[BatchKey]:
        indices = list(self.sampler)
        for step in range(len(self)):
            batch = indices[step * self.batch_size:
                            (step + 1) * self.batch_size]
            yield BatchKey(batch, derived_seed(
                self.seed, self.rank, self.epoch, step, self.stream))

    def __len__(self) -> int:
        n = len(self.sampler)
        return (n // self.batch_size if self.drop_last else
                -(-n // self.batch_size))


def _base(dataset: Dataset, indices: Sequence[int]) -> Tuple[Dataset, list]:
    # Follows Subset indices down to the dataset that holds the items.
    while isinstance(dataset, Subset):
        indices = [dataset.indices[i] for i in indices]
        dataset = dataset.dataset
    return dataset, list(indices)


class BatchReader(Dataset):
    r"""Reads a whole batch per :class:`BatchKey`: through the dataset's
    :obj:`read_batch(indices, generator)` when it has one (every
    :class:`~torch_skeleton_mae.datasets.SkeletonSequences`; also below
    :class:`~torch.utils.data.Subset` s), else item by item with the global
    random generators (of :mod:`torch`, :mod:`numpy` and :mod:`random`) seeded
    from the key, and restored after.

    Args:
        dataset (Dataset): Items :obj:`(x, label)`.
        transform (callable, optional): :obj:`(x, generator) -> x`, a batch
            transform (:mod:`torch_skeleton_mae.transforms.batch`) applied
            after the read, drawing from the batch's generator.
            (default: :obj:`None`)

    Shapes:
        - **output:** :obj:`(x, y)`, :obj:`x` of shape
          :obj:`(N, M, T, V, C)`, :obj:`y` :obj:`(N,)`
    """
    def __init__(self, dataset: Dataset,
                 transform: Optional[Callable] = None):
        self.dataset = dataset
        self.transform = transform

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, key: BatchKey) -> Tuple[Tensor, Tensor]:
        generator = torch.Generator().manual_seed(key.seed)
        x, y = self.read(key, generator)
        if self.transform is not None:
            x = self.transform(x, generator)
        return x, y

    def read(self, key: BatchKey,
             generator: torch.Generator) -> Tuple[Tensor, Tensor]:
        r"""The batch of :obj:`key`, before :obj:`transform`."""
        dataset, indices = _base(self.dataset, key.indices)
        if hasattr(dataset, 'read_batch'):
            return dataset.read_batch(indices, generator)
        state = np.random.get_state(), random.getstate()
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(key.seed)
            np.random.seed(key.seed % 2**32)
            random.seed(key.seed)
            batch = default_collate([self.dataset[i] for i in key.indices])
        np.random.set_state(state[0])
        random.setstate(state[1])
        return batch


def reads_whole_batches(dataset: Dataset) -> bool:
    r"""Whether :obj:`dataset` (or the dataset below its
    :class:`~torch.utils.data.Subset` s) reads a batch by one
    :obj:`read_batch` call whose draws all come from the batch's generator:
    a :class:`~torch_skeleton_mae.datasets.SkeletonSequences` without a
    per-sample :obj:`transform`. Worker threads then read exactly the
    batches that worker processes or the main process read."""
    base, _ = _base(dataset, [])
    return (isinstance(base, SkeletonSequences)
            and getattr(base, 'transform', None) is None)


def _one_thread() -> None:
    # As PyTorch's pin-memory thread does: under OpenMP this limits only
    # the calling thread, so a loader thread does not take the cores the
    # main thread's kernels use.
    torch.set_num_threads(1)


class ThreadedBatchLoader:
    r"""Reads the batches of :obj:`sampler` (:class:`BatchKey` s) through
    :obj:`reader` in :obj:`num_workers` threads of this process, up to
    :obj:`prefetch_factor` batches per thread ahead, and yields them in
    order: what :func:`make_loader` builds for datasets that read whole
    batches (:func:`reads_whole_batches`). No batch crosses a process
    boundary, so none is written into shared memory and mapped again (on a
    2-core CPU that cost more than reading it; see
    ``benchmarks/end_to_end.py``). The batches equal those of worker
    processes, since each is a function of its key alone. The threads live
    for one pass: breaking off a pass cancels the batches not yet started
    and waits for the running ones.

    Args:
        reader (BatchReader): Reads one batch per key.
        sampler (EpochBatchSampler): The keys of an epoch.
        num_workers (int): Threads, :obj:`>= 1`.
        pin_memory (bool, optional): Copy each batch into page-locked
            memory in its thread (for non-blocking copies to CUDA).
            (default: :obj:`False`)
        prefetch_factor (int, optional): Batches read ahead per thread.
            (default: :obj:`2`)

    Shapes:
        - **output:** :obj:`(x, y)`, :obj:`x` of shape
          :obj:`(N, M, T, V, C)`, :obj:`y` :obj:`(N,)`
    """
    def __init__(self, reader: BatchReader, sampler: EpochBatchSampler,
                 num_workers: int, pin_memory: bool = False,
                 prefetch_factor: int = 2):
        if num_workers < 1 or prefetch_factor < 1:
            raise ValueError(f"'num_workers' and 'prefetch_factor' must be "
                             f">= 1, got {num_workers} and {prefetch_factor}")
        self.dataset = reader
        self.sampler = sampler
        self.num_workers = num_workers
        self.pin_memory = pin_memory
        self.prefetch_factor = prefetch_factor

    def __len__(self) -> int:
        return len(self.sampler)

    def _read(self, key: BatchKey) -> Tuple[Tensor, Tensor]:
        x, y = self.dataset[key]
        if self.pin_memory:
            x, y = x.pin_memory(), y.pin_memory()
        return x, y

    def __iter__(self) -> Iterator[Tuple[Tensor, Tensor]]:
        keys = iter(self.sampler)
        torch.get_num_threads()  # fixes this thread's count before ours run
        with ThreadPoolExecutor(self.num_workers, 'batch-reader',
                                initializer=_one_thread) as pool:
            ahead = deque(pool.submit(self._read, key) for key in
                          itertools.islice(keys, self.num_workers *
                                           self.prefetch_factor))
            try:
                while ahead:
                    batch = ahead.popleft().result()
                    ahead.extend(pool.submit(self._read, key)
                                 for key in itertools.islice(keys, 1))
                    yield batch
            finally:
                for future in ahead:
                    future.cancel()

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}({len(self)} batches, '
                f'num_workers={self.num_workers})')


def place_batch_transform(transform: Optional[Callable],
                          device: torch.device
                          ) -> Tuple[Optional[Callable], Optional[Callable]]:
    r"""Where a random batch transform runs: :obj:`(for make_loader, for the
    Trainer)`. On a GPU it runs on the device after the copy; on the CPU the
    step keeps the main process busy, so the loader's workers run it."""
    return (transform, None) if device.type == 'cpu' else (None, transform)


def make_loader(dataset: Dataset, batch_size: int, device: torch.device,
                train: bool = True, num_workers: int = 0, seed: int = 0,
                context: DistributedContext = DistributedContext(),
                transform: Optional[Callable] = None,
                worker_threads: Optional[bool] = None):
    r"""A loader of whole batches (:class:`BatchReader`): in training, a
    :class:`~torch.utils.data.DistributedSampler` (one replica in a single
    process) whose order depends only on :obj:`seed` and the epoch, and
    batch randomness from (:obj:`seed`, rank, epoch, step)
    (:class:`EpochBatchSampler`), so that a resumed run reads the same
    batches; pinned memory on CUDA. Its workers are threads of this process
    (:class:`ThreadedBatchLoader`) or the persistent worker processes of a
    :class:`~torch.utils.data.DataLoader`; both give the very same batches.

    Args:
        dataset (Dataset): Items :obj:`(x, label)`.
        batch_size (int): Items per batch.
        device (torch.device): Where the batches go (pins memory on CUDA).
        train (bool, optional): Shuffle, shard over processes and drop an
            incomplete last batch. (default: :obj:`True`)
        num_workers (int, optional): Worker processes. (default: :obj:`0`)
        seed (int, optional): Seed of the order and the batches' draws.
            (default: :obj:`0`)
        context (DistributedContext, optional): This process's rank.
        transform (callable, optional): :obj:`(x, generator) -> x`, a batch
            transform run by the workers, drawing from the batch's seed
            (:class:`BatchReader`). Training on the CPU, this takes it off
            the main process, which the step keeps busy; on a GPU, give it to
            the :class:`~torch_skeleton_mae.engine.Trainer` instead. With
            worker threads it must be safe to call from several threads
            (those of :mod:`torch_skeleton_mae.transforms.batch` are).
            (default: :obj:`None`)
        worker_threads (bool, optional): Run the workers as threads
            (:obj:`True`) or processes (:obj:`False`). :obj:`None` picks
            threads wherever :func:`reads_whole_batches`, processes
            otherwise: other datasets are read item by item from the global
            random generators, which threads would share.
            (default: :obj:`None`)

    Raises:
        ValueError: if :obj:`worker_threads` is :obj:`True` for a dataset
            that does not read whole batches.
    """
    if worker_threads is None:
        worker_threads = reads_whole_batches(dataset)
    elif worker_threads and not reads_whole_batches(dataset):
        raise ValueError(
            f"worker threads read datasets that read whole batches (a "
            f"SkeletonSequences without a per-sample transform); "
            f"{type(_base(dataset, [])[0]).__name__} is read item by item "
            f"from the global random generators, which threads would share: "
            f"use worker processes (worker_threads=False)")
    if train:
        order = DistributedSampler(dataset, context.world_size, context.rank,
                                   shuffle=True, seed=seed)
    else:
        order = SequentialSampler(dataset)
    per_rank = len(dataset) // context.world_size
    batches = EpochBatchSampler(order, batch_size,
                                drop_last=train and per_rank > batch_size,
                                seed=seed, rank=context.rank)
    reader = BatchReader(dataset, transform)
    if worker_threads and num_workers > 0:
        return ThreadedBatchLoader(reader, batches, num_workers,
                                   pin_memory=device.type == 'cuda')
    # Its own generator: starting (or not restarting) workers must not
    # draw from the global one the model's dropout and masks use.
    return DataLoader(reader, batch_size=None,
                      sampler=batches,
                      num_workers=num_workers,
                      pin_memory=device.type == 'cuda',
                      persistent_workers=train and num_workers > 0,
                      generator=torch.Generator().manual_seed(seed))
