r"""Measures the raw NTU .skeleton parse rate (files/s) of NTURGBD's one-time
preprocessing on generated files in the official layout.

    python benchmarks/ntu_parse_rate.py --files 400 --frames 100 --workers 2
"""
import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from torch_skeleton_mae.datasets import NTURGBD


def write_file(path: Path, frames: int, bodies: int, rng) -> None:
    lines = [str(frames)]
    for _ in range(frames):
        lines.append(str(bodies))
        for b in range(bodies):
            lines.append(f'7205759403793{b} 0 1 1 1 1 0 0.1 0.2 2')
            lines.append('25')
            xyz = rng.standard_normal((25, 3))
            lines += [f'{x:.7f} {y:.7f} {z:.7f} 270.1 190.2 1000.3 500.4 '
                      f'-0.2 0.1 0.9 0.3 2' for x, y, z in xyz]
    path.write_text('\n'.join(lines) + '\n')


def write_files(root: Path, count: int, frames: int,
                performers=range(1, 41)) -> Path:
    r"""Writes :obj:`count` files of 1 or 2 bodies into :obj:`root`, their
    performers taken in turn from :obj:`performers`."""
    root.mkdir(parents=True)
    rng = np.random.default_rng(0)
    performers = list(performers)
    for i in range(count):
        performer = performers[i % len(performers)]
        name = f'S001C001P{performer:03d}R001A{1 + i % 60:03d}'
        write_file(root / f'{name}_{i}.skeleton', frames, 1 + i % 2, rng)
    return root


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--files', type=int, default=400)
    parser.add_argument('--frames', type=int, default=100)
    parser.add_argument('--workers', type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = write_files(Path(tmp) / 'raw', args.files, args.frames)
        start = time.perf_counter()
        NTURGBD.preprocess(root, Path(tmp) / 'cache', 300, args.workers)
        seconds = time.perf_counter() - start
    print(f'parsed {args.files} files of {args.frames} frames in '
          f'{seconds:.1f} s with {args.workers} workers: '
          f'{args.files / seconds:.1f} files/s')


if __name__ == '__main__':
    main()
