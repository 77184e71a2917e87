r"""How far apart the pool's sources are: for each source, the median length
of every bone relative to the spine (hip centre to shoulder centre), and
how well a linear classifier tells the Kinect recordings (MSRC-12,
NW-UCLA) from the mocap (Bandai-Namco, CMU) on held-out windows, from the
raw joints of one frame and from the whole window. Writes
``OUT/pool_domain_gap.json`` and its table, ``.rst``::

    python experiments/pool_domain_gap.py \
        --pool ~/.cache/torch_skeleton_mae/pool --out runs/pool
"""
import argparse
import json
from pathlib import Path

import numpy as np
import torch

from torch_skeleton_mae.datasets.pool import MotionPool
from torch_skeleton_mae.engine.evaluation import linear_probe

KINECT = ('msrc12', 'nw-ucla')


def bone_ratios(pool: MotionPool, windows: np.ndarray) -> dict:
    r"""Per bone, the median over :obj:`windows`' first frames of its
    length over the spine's."""
    skeleton = pool.skeleton
    names = skeleton.joint_names
    frames = np.asarray(pool.frames[pool.offsets[windows].numpy()])[:, 0]
    spine = np.linalg.norm(frames[:, names.index('shoulder_center')]
                           - frames[:, names.index('hip_center')], axis=-1)
    return {f'{names[a]}-{names[b]}': float(np.median(np.linalg.norm(
        frames[:, a] - frames[:, b], axis=-1) / np.maximum(spine, 1e-6)))
        for a, b in skeleton.bones}


def separability(pool: MotionPool, windows: np.ndarray, frames: int,
                 seed: int = 0) -> float:
    r"""Held-out top-1 of a linear classifier telling Kinect from mocap
    windows on their raw joints, :obj:`frames` frames sampled per window
    (half the windows fit, half score)."""
    pool.sample_frames(frames, train=False)
    x, source = pool.read_batch(windows)
    kinect = torch.tensor([pool.source_names[s] in KINECT
                           for s in source.tolist()]).long()
    features = x.flatten(1)
    order = torch.randperm(len(windows),
                           generator=torch.Generator().manual_seed(seed))
    fit, score = order[::2], order[1::2]
    report = linear_probe((features[fit], kinect[fit]),
                          (features[score], kinect[score]), 2, epochs=300,
                          lr=1e-2)
    return report.top1


def table(result: dict) -> str:
    r"""The result as a reST list-table: a row per bone, a column per
    source, then the classifier's held-out top-1."""
    ratios = result['bone_over_spine']
    sources = list(ratios)
    lines = ['.. list-table::', '   :header-rows: 1', '',
             '   * - bone length / spine'] + [f'     - {s}' for s in sources]
    for bone in ratios[sources[0]]:
        lines += [f'   * - {bone}'] + [
            f'     - {ratios[s][bone]:.2f}' for s in sources]
    tells = ', '.join(f'{100 * top1:.1f}% from {frames}'
                      for frames, top1 in
                      result['kinect_vs_mocap_top1'].items())
    lines += ['', f"A linear classifier on the raw joints tells Kinect "
              f"windows (MSRC-12, NW-UCLA) from mocap windows (Bandai-Namco, "
              f"CMU) on held-out windows: {tells} "
              f"({result['windows_per_source']} windows per source)."]
    return '\n'.join(lines) + '\n'


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--pool', type=Path, required=True)
    parser.add_argument('--out', type=Path, required=True)
    parser.add_argument('--per-source', type=int, default=1000,
                        help='windows drawn from each source')
    args = parser.parse_args()
    pool = MotionPool(args.pool)
    rng = np.random.default_rng(0)
    drawn, ratios = [], {}
    for k, name in enumerate(pool.source_names):
        mine = np.flatnonzero(pool.labels.numpy() == k)
        mine = rng.choice(mine, min(args.per_source, len(mine)),
                          replace=False)
        ratios[name] = bone_ratios(pool, mine)
        drawn.append(mine)
    drawn = np.concatenate(drawn)
    result = dict(
        bone_over_spine=ratios,
        kinect_vs_mocap_top1={
            f"{t} frame{'s' * (t > 1)}": separability(pool, drawn, t)
            for t in (1, 16)},
        windows_per_source=args.per_source)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / 'pool_domain_gap.json').write_text(
        json.dumps(result, indent=1))
    (args.out / 'pool_domain_gap.rst').write_text(table(result))
    print(table(result))


if __name__ == '__main__':
    main()
