r"""Builds a 2D pre-training pool from a 3D Kinect v1 pool (that of
``build_pool.py``): every window seen through ``--views`` random virtual
cameras (:func:`~torch_skeleton_mae.datasets.mocap.project`), as the 13
joints of Penn Action in its reader's units::

    python experiments/build_pool_2d.py \
        --pool ~/.cache/torch_skeleton_mae/pool \
        --out ~/.cache/torch_skeleton_mae/pool_2d
"""
import argparse
import sys
import time
from pathlib import Path

import torch

from torch_skeleton_mae.datasets.mocap import KINECT_TO_2D, project
from torch_skeleton_mae.datasets.pool import MotionPool, PoolBuilder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--pool', type=Path, required=True,
                        help="build_pool.py's 3D pool")
    parser.add_argument('--out', type=Path, required=True)
    parser.add_argument('--layout', default='penn-action',
                        choices=sorted(KINECT_TO_2D))
    parser.add_argument('--views', type=int, default=1,
                        help='random cameras per window (default: 1)')
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args()
    if args.out.exists():
        sys.exit(f'build_pool_2d: {args.out} exists; remove it or choose '
                 f'another --out')
    start = time.time()
    pool = MotionPool(args.pool)
    builder = PoolBuilder(args.layout, window=pool.manifest['window'],
                          min_frames=1)
    generator = torch.Generator().manual_seed(args.seed)
    for i, meta in enumerate(pool.meta):
        x = pool[i][0]
        for view in range(args.views):
            builder.add(meta['source'], f'{i}/{view}', lambda x=x: project(
                x, args.layout, generator), cut=False)
    out = builder.finish(args.out, fps=pool.manifest['fps'],
                         projected_from=str(args.pool), views=args.views,
                         seed=args.seed, minutes=(time.time() - start) / 60)
    print(f'{builder.num_windows} windows written to {out} in '
          f'{(time.time() - start) / 60:.1f} min')


if __name__ == '__main__':
    main()
