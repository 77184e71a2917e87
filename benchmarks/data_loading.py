r"""Samples/s of the training input pipeline as the Trainer runs it
(:func:`~torch_skeleton_mae.engine.loader.make_loader`: whole batches read
by one vectorized call, in worker threads for this data) on the synthetic
set as the protocols build it and on memory-mapped NTU RGB+D with random frame
windows (after the one-time parse of generated .skeleton files;
``build_s`` is the time to build each dataset). Every batch counts: for
fresh loaders, the latency of the first batch (worker start-up included),
the rate over the whole epoch and the steady rate after the first batch;
the median over fresh loaders.
Compare with the training step's sequences/s from ``pretrain_step.py``.

    python benchmarks/data_loading.py
    python benchmarks/data_loading.py --smoke
"""
import argparse
import statistics
import tempfile
import time
from pathlib import Path

import torch

from common import machine, report
from ntu_parse_rate import write_files
from torch_skeleton_mae.datasets import NTURGBD, SyntheticSkeletons
from torch_skeleton_mae.engine.loader import make_loader


def epoch_rates(dataset, batch_size: int, workers: int,
                repeats: int) -> dict:
    r"""Medians over :obj:`repeats` fresh loaders of one epoch each: the
    first batch's latency, samples/s over the epoch and after the first
    batch."""
    first, whole, steady = [], [], []
    for repeat in range(repeats):
        loader = make_loader(dataset, batch_size, torch.device('cpu'),
                             num_workers=workers, seed=repeat)
        start = time.perf_counter()
        count = 0
        for step, (x, _) in enumerate(loader):
            count += x.size(0)
            if step == 0:
                after_first, first_count = time.perf_counter(), count
        end = time.perf_counter()
        first.append(1e3 * (after_first - start))
        whole.append(count / (end - start))
        steady.append((count - first_count) / max(end - after_first, 1e-9))
    return dict(first_batch_ms=statistics.median(first),
                epoch_samples_per_s=statistics.median(whole),
                steady_samples_per_s=statistics.median(steady))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--frames', type=int, default=64)
    parser.add_argument('--batch-size', type=int, default=256)
    parser.add_argument('--batches', type=int, default=20,
                        help='batches of an epoch')
    parser.add_argument('--workers', type=int, default=2)
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--json', default=None)
    parser.add_argument('--smoke', action='store_true')
    args = parser.parse_args(argv)
    if args.smoke:
        args.frames, args.batch_size, args.batches = 8, 4, 2
        args.repeats = 1
    print(f'data loading, {args.workers} workers, batch {args.batch_size}, '
          f'T={args.frames}, {args.batches} batches an epoch, median of '
          f'{args.repeats}; {machine()}')
    rows = []
    needed = args.batch_size * args.batches
    for layout in ('ntu-rgb+d', 'coco'):
        start = time.perf_counter()
        data = SyntheticSkeletons(needed, layout, args.frames, center=True)
        built = time.perf_counter() - start
        rows.append(dict(dataset=f'synthetic {layout}', build_s=built,
                         **epoch_rates(data, args.batch_size, args.workers,
                                       args.repeats)))
    with tempfile.TemporaryDirectory() as tmp:
        # Files named for xsub training performers only: the epoch is
        # exactly `batches` batches.
        root = write_files(Path(tmp) / 'raw', needed, 100,
                           performers=(1, 2, 4, 5, 8))
        start = time.perf_counter()
        data = NTURGBD(root, 'xsub', 'train', cache_dir=Path(tmp) / 'c',
                       num_workers=args.workers)
        data.sample_frames(args.frames, train=True)
        built = time.perf_counter() - start
        rows.append(dict(dataset='NTU RGB+D (memory-mapped)', build_s=built,
                         **epoch_rates(data, args.batch_size, args.workers,
                                       args.repeats)))
    return report(rows, args, 'data_loading.py', argv)


if __name__ == '__main__':
    main()
