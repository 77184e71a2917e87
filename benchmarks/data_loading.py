r"""Samples/s of the data pipeline with the standard transforms (centering,
uniform sampling of T frames, random in training) and a DataLoader with 2
workers: the synthetic dataset and memory-mapped NTU RGB+D (after the
one-time parse of generated .skeleton files); the median over fresh
loaders. Compare with the training step's sequences/s from
``pretrain_step.py``.

    python benchmarks/data_loading.py
    python benchmarks/data_loading.py --smoke
"""
import argparse
import statistics
import tempfile
import time
from pathlib import Path

from torch.utils.data import DataLoader

from common import machine, report
from ntu_parse_rate import write_files
from torch_skeleton_mae import transforms as T
from torch_skeleton_mae.datasets import NTURGBD, SyntheticSkeletons


def rate(dataset, batch_size: int, workers: int, batches: int,
         repeats: int) -> float:
    r"""Median over :obj:`repeats` fresh loaders of the samples/s over
    :obj:`batches` batches after the workers start."""
    rates = []
    for _ in range(repeats):
        loader = DataLoader(dataset, batch_size, shuffle=True,
                            num_workers=workers, drop_last=True)
        it = iter(loader)
        next(it)  # worker start-up is not counted
        start, count = time.perf_counter(), 0
        for _ in range(batches):
            count += next(it)[0].size(0)
        rates.append(count / (time.perf_counter() - start))
    return statistics.median(rates)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--frames', type=int, default=64)
    parser.add_argument('--batch-size', type=int, default=64)
    parser.add_argument('--batches', type=int, default=10)
    parser.add_argument('--workers', type=int, default=2)
    parser.add_argument('--repeats', type=int, default=5)
    parser.add_argument('--files', type=int, default=800)
    parser.add_argument('--json', default=None)
    parser.add_argument('--smoke', action='store_true')
    args = parser.parse_args(argv)
    if args.smoke:
        args.frames, args.batch_size, args.batches, args.files = 8, 4, 2, 16
        args.repeats = 1
    print(f'data loading, {args.workers} workers, batch {args.batch_size}, '
          f'T={args.frames}, median of {args.repeats}; {machine()}')
    rows = []
    needed = args.batch_size * (args.batches + 2)
    for layout in ('ntu-rgb+d', 'coco'):
        data = SyntheticSkeletons(needed, layout, args.frames)
        data.transform = T.CenterSequence(layout)
        rows.append(dict(dataset=f'synthetic {layout}',
                         samples_per_s=rate(data, args.batch_size,
                                            args.workers, args.batches,
                                            args.repeats)))
    with tempfile.TemporaryDirectory() as tmp:
        root = write_files(Path(tmp) / 'raw', args.files, 100)
        data = NTURGBD(root, 'xsub', split=None, cache_dir=Path(tmp) / 'c',
                       num_workers=args.workers)
        data.transform = T.Compose([
            T.CenterSequence('ntu-rgb+d'),
            T.UniformSampleFrames(args.frames, train=True)])
        batches = min(args.batches, len(data) // args.batch_size - 2)
        rows.append(dict(dataset='NTU RGB+D (memory-mapped)',
                         samples_per_s=rate(data, args.batch_size,
                                            args.workers, batches,
                                            args.repeats)))
    return report(rows, args)


if __name__ == '__main__':
    main()
