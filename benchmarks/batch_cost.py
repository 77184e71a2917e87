r"""Where a loader worker's time goes: the parts of one training batch of
memory-mapped NTU RGB+D (64 frames sampled at random over 100, pixel noise
on), timed where a worker runs them, interleaved, medians in milliseconds:
in a loader thread (``thread_ms``; the batch in private memory, as training
reads this data) and in a DataLoader worker process (``process_ms``; the
batch written into shared memory to be sent), each single-threaded.
``thread_seq_per_s_per_core`` is what one core doing only that part in a
thread would deliver.

* ``read_batch``: frame sampling, the vectorized gather and the permuted
  copy into the batch's memory (in a process: shared memory, the cost of
  sending the batch to the trainer);
* ``noise draws``: :obj:`normal_` over the batch;
* ``present joints``: the mask of joints the noise may move;
* ``GaussianNoise``: the whole transform (draws, mask and the add);
* ``worker total``: :obj:`read_batch` plus :obj:`GaussianNoise`, what a
  worker does per batch.

    python benchmarks/batch_cost.py
    python benchmarks/batch_cost.py --smoke
"""
import argparse
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import torch
from torch.utils.data import DataLoader, Dataset

from common import machine, median, report, time_interleaved
from ntu_parse_rate import write_files
from torch_skeleton_mae.datasets import load_dataset
from torch_skeleton_mae.transforms.batch import GaussianNoise, present_joints


def part_times(data, batch_size: int, repeats: int) -> dict:
    r"""The median milliseconds of each part of a batch of
    :obj:`batch_size` items of :obj:`data`, timed in the calling thread
    with one intra-op thread (as loader workers run)."""
    torch.set_num_threads(1)
    indices = list(range(batch_size))
    generator = torch.Generator().manual_seed(0)
    batch = data.read_batch(indices, generator)[0]
    draws = torch.empty_like(batch)
    noise = GaussianNoise(0.01, data.skeleton.coords, inplace=True)
    parts = {
        'read_batch': lambda: data.read_batch(indices, generator),
        'noise draws': lambda: draws.normal_(generator=generator),
        'present joints': lambda: present_joints(batch),
        'GaussianNoise': lambda: noise(batch, generator),
    }
    times = time_interleaved(parts, repeats=repeats, warmup=1,
                             device=torch.device('cpu'))
    ms = {name: 1e3 * median(t) for name, t in times.items()}
    ms['worker total'] = ms['read_batch'] + ms['GaussianNoise']
    return ms


class PartTimes(Dataset):
    r"""One item: :func:`part_times`, timed where the item is read (in a
    worker process, behind a DataLoader)."""
    def __init__(self, data, batch_size: int, repeats: int):
        self.args = data, batch_size, repeats

    def __len__(self) -> int:
        return 1

    def __getitem__(self, _) -> dict:
        return part_times(*self.args)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--batch-size', type=int, default=256)
    parser.add_argument('--frames', type=int, default=64)
    parser.add_argument('--repeats', type=int, default=15)
    parser.add_argument('--json', default=None)
    parser.add_argument('--smoke', action='store_true')
    args = parser.parse_args(argv)
    if args.smoke:
        args.batch_size, args.frames, args.repeats = 4, 8, 2
    return args


def main(argv=None):
    args = parse_args(argv)
    print(f'batch cost in a loader worker: NTU RGB+D, batch '
          f'{args.batch_size}, T={args.frames}, median of {args.repeats}; '
          f'{machine()}')
    with tempfile.TemporaryDirectory() as tmp:
        root = write_files(Path(tmp) / 'raw', args.batch_size, 100,
                           performers=(1, 2, 4, 5, 8))
        data = load_dataset(root, 'xsub', 'train', args.frames)
        with ThreadPoolExecutor(1) as thread:
            in_thread = thread.submit(part_times, data, args.batch_size,
                                      args.repeats).result()
        loader = DataLoader(PartTimes(data, args.batch_size, args.repeats),
                            batch_size=None, num_workers=1)
        in_process = next(iter(loader))
    rows = [dict(measured=name, thread_ms=round(value, 2),
                 process_ms=round(in_process[name], 2),
                 thread_seq_per_s_per_core=round(
                     1e3 * args.batch_size / value))
            for name, value in in_thread.items()]
    return report(rows, args, 'batch_cost.py', argv)


if __name__ == '__main__':
    main()
