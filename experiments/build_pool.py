r"""Builds the pooled, unlabeled Kinect v1 pre-training corpus: MSRC-12,
the Bandai-Namco Research Motiondataset, CMU mocap (the iClone exports)
and NW-UCLA's cross-view training split, cut into windows and written to a
cache folder with its manifest (counts per source, the joint maps, skipped
files). Each source is a folder: a checkout of its repository or the bare
git snapshot that the ``fetch`` tool brings (``.../owner+name/repo``)::

    python experiments/build_pool.py --mirrors /work/.mirror \
        --nw-ucla ../shared/data/nw_ucla/all_sqe \
        --out ~/.cache/torch_skeleton_mae/pool

Nothing it reads or writes belongs in the repository.
"""
import argparse
import fnmatch
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, Iterator, Tuple

import numpy as np

from torch_skeleton_mae.datasets import NWUCLA
from torch_skeleton_mae.datasets.mocap import (
    JOINT_MAPS,
    bone_proportions,
    bvh_sequence,
    msrc12_sequence,
)
from torch_skeleton_mae.datasets.pool import PoolBuilder

#: Each source: its repository, the files read (a glob), how a file's text
#: becomes a sequence (given the bone proportions mocap is set to, or
#: None), and its licence.
SOURCES = {
    'msrc12': ('corazza/pose', 'MicrosoftGestureDataset-RC/data/*.csv',
               lambda text, name, _: msrc12_sequence(text, name),
               'Microsoft Research, non-commercial research'),
    'bandai-namco': (
        'BandaiNamcoResearchInc/Bandai-Namco-Research-Motiondataset',
        'dataset/*/data/*.bvh',
        lambda text, name, proportions: bvh_sequence(
            text, name, 'bandai-namco', proportions=proportions),
        'CC BY-NC 4.0'),
    'cmu': ('DragonForgedTheArtist/IClone-CMU-Mocap',
            'All_BVH/subjects/*/*.bvh',
            lambda text, name, proportions: bvh_sequence(
                text, name, 'cc-base', proportions=proportions),
            'CMU Graphics Lab Motion Capture Database: free use'),
}


def repository_files(root: Path, pattern: str
                     ) -> Iterator[Tuple[str, Callable[[], str]]]:
    r"""The files of :obj:`root` (a checkout or a bare git directory)
    matching :obj:`pattern`, each as its path and a reader of its text."""
    if (root / 'HEAD').is_file() and (root / 'objects').is_dir():
        listing = subprocess.run(
            ['git', '-C', str(root), 'ls-tree', '-r', 'HEAD'],
            capture_output=True, text=True, check=True).stdout
        for line in listing.splitlines():
            meta, path = line.split('\t', 1)
            if fnmatch.fnmatch(path, pattern):
                yield path, lambda blob=meta.split()[2]: _blob(root, blob)
    else:
        for path in sorted(root.glob(pattern)):
            yield (str(path.relative_to(root)),
                   lambda path=path: path.read_text(errors='replace'))


def _blob(root: Path, blob: str) -> str:
    # One file of a bare snapshot, which may list files it lacks.
    done = subprocess.run(['git', '-C', str(root), 'cat-file', 'blob', blob],
                          capture_output=True)
    if done.returncode:
        why = done.stderr.decode(errors='replace').strip()[:80]
        raise OSError(f'absent from the snapshot ({why})')
    return done.stdout.decode(errors='replace')


def source_root(mirrors: Path, repo: str) -> Path:
    r"""Where :obj:`repo` lies under :obj:`mirrors`: the ``fetch`` tool's
    ``owner+name/repo`` or a checkout ``owner/name``."""
    for root in (mirrors / repo.replace('/', '+') / 'repo', mirrors / repo):
        if root.is_dir():
            return root
    raise FileNotFoundError(f'{repo}: neither {root.parent.parent} nor '
                            f'{root} under {mirrors}')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--mirrors', type=Path, required=True,
                        help='the folder holding the sources')
    parser.add_argument('--nw-ucla', type=Path,
                        help="NW-UCLA's all_sqe folder (its training views "
                             "join the pool)")
    parser.add_argument('--out', type=Path, required=True)
    parser.add_argument('--window', type=int, default=40,
                        help='frames per window at 30 Hz (default: 40, '
                             "about NW-UCLA's mean clip)")
    parser.add_argument('--stride', type=int, default=None,
                        help='frames between windows (default: WINDOW)')
    parser.add_argument('--sources', nargs='+', default=list(SOURCES),
                        choices=list(SOURCES))
    parser.add_argument('--retarget', action='store_true',
                        help="set the mocap's bones to the proportions of "
                             "NW-UCLA's Kinect joints (needs --nw-ucla)")
    args = parser.parse_args()
    if args.retarget and args.nw_ucla is None:
        parser.error('--retarget takes its proportions from --nw-ucla')
    if args.out.exists():
        sys.exit(f'build_pool: {args.out} exists; remove it or choose '
                 f'another --out')
    start = time.time()
    builder = PoolBuilder('kinect-v1', args.window, args.stride)
    licences, proportions = {}, None
    if args.nw_ucla is not None:
        train = NWUCLA(args.nw_ucla, 'xview', 'train', normalize=False)
        if args.retarget:
            frames = np.asarray(train.frames)[:, 0]  # (F, V, 3)
            proportions = bone_proportions(frames[np.abs(frames).sum(
                axis=(1, 2)) > 0])
    for name in args.sources:
        repo, pattern, read, licence = SOURCES[name]
        root = source_root(args.mirrors, repo)
        licences[name] = dict(repository=repo, files=pattern, licence=licence)
        for path, text in repository_files(root, pattern):
            builder.add(name, path, lambda text=text, path=path: read(
                text(), path, proportions))
        print(f'{name}: {builder.sources[name]}'[:300], flush=True)
    if args.nw_ucla is not None:
        licences['nw-ucla'] = dict(
            files=f'{args.nw_ucla}: cross-view training views 1 and 2',
            licence='none found (research use)')
        for i, meta in enumerate(train.meta):
            builder.add('nw-ucla', meta['name'],
                        lambda i=i: train.read_batch([i])[0][0], cut=False)
    out = builder.finish(args.out, fps=30, joint_maps=JOINT_MAPS,
                         licences=licences, retargeted_to=None if proportions
                         is None else proportions.tolist(),
                         minutes=(time.time() - start) / 60)
    print(f'{builder.num_windows} windows '
          f'written to {out} in {(time.time() - start) / 60:.1f} min')


if __name__ == '__main__':
    main()
