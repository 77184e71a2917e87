r"""STRL per input stream and their fusion on NW-UCLA cross-view or Penn
Action (all labels, from scratch, the dataset's preset), beside the
raw-joint floor and the field.

For each seed: the raw-joint floor, one STRL fine-tuned per stream
(:func:`~torch_skeleton_mae.engine.finetune` with
``load_data(stream=...)``) and, once a seed's streams are done, the fusions
of :data:`FUSIONS` with equal weights
(:func:`~torch_skeleton_mae.engine.fuse_runs`; no held-out part is spent on
weights, so every stream trains on the whole training split), each with the
minutes it took. Every run writes its folder under ``OUT/seed<i>/<part>``;
the summary (``OUT/streams.json`` and the table ``OUT/streams.rst``, with
each stream's fit of the training split, its last epoch's top-1) is rebuilt
from every finished run found there, so several invocations (one per
stream, in parallel) share one summary; ``--streams ''`` trains nothing and
only fuses, and ``--seeds`` with no seed only rebuilds the summary::

    OMP_NUM_THREADS=1 python experiments/streams_evidence.py \
        --data-root ../shared/data --seeds 0 --streams joint,bone \
        --out runs/streams

``--held-out`` also trains every stream on four fifths of the training split
(``OUT/seed<i>/held_out/<stream>``), chooses the four-stream fusion's weights
on the fifth held out (``fusion_held_out_runs``: those runs fused, scored on
the test split) and fuses the runs on the whole split with those weights
(``fusion_held_out``), so that no weight is set on the test split.

``--dataset penn-action`` does the same on Penn Action (2D joints, where
bones and motion are as defined as in 3D).
"""
import argparse
import csv
import json
from pathlib import Path
from typing import Any, Dict, List

import numpy as np

from torch_skeleton_mae.datasets.nw_ucla import NWUCLA
from torch_skeleton_mae.datasets.penn_action import PennAction
from torch_skeleton_mae.engine import (
    RunOptions,
    finetune,
    fuse_runs,
    load_data,
    preset_for,
    raw_joint_floor,
)
from torch_skeleton_mae.engine.checkpoint import seed_everything
from torch_skeleton_mae.nn import STRL
from torch_skeleton_mae.transforms import STREAMS
from torch_skeleton_mae.utils import machine

from strl_real import DATASETS as REAL  # this folder's; run as a script
from strl_real import timed_run
from strl_selection import HOLDOUT  # the held-out fifth of the selection

#: Each dataset's folder below --data-root, its protocol, the field's best
#: published numbers on it (``strl_real.py``'s, with the ensembles beyond
#: CTR-GCN on NW-UCLA) and its class names.
DATASETS = {
    'nw-ucla': (REAL['nw-ucla'][0], 'NW-UCLA cross-view',
                REAL['nw-ucla'][1]['all'] + '; InfoGCN 97.0 (Chi et al., '
                'CVPR 2022)', NWUCLA.class_names),
    'penn-action': (REAL['penn-action'][0], 'Penn Action',
                    REAL['penn-action'][1]['all'], PennAction.class_names),
}
#: The fusions of a seed's runs, by folder: all four streams, and the
#: joints with the bones (the field's two-stream models).
FUSIONS = {'fusion': STREAMS, 'fusion_joint_bone': ('joint', 'bone')}
#: The fusions with weights chosen on held-out data (``--held-out``).
HELD_OUT_FUSIONS = ('fusion_held_out_runs', 'fusion_held_out')


def run(dataset: str, root: Path, seed: int, streams: List[str],
        out: Path, held_out: bool = False) -> None:
    r""":obj:`streams` of :obj:`seed` (with the joint stream, the floor;
    with :obj:`held_out`, each also on the training split less the fifth
    ``strl_selection.py`` holds out), then each fusion of :data:`FUSIONS` and
    :data:`HELD_OUT_FUSIONS` whose streams are done; a run with a
    ``result.json`` is skipped."""
    preset = preset_for(dataset)
    options = RunOptions(seed=seed, workers=0)
    base = out / f'seed{seed}'

    def timed(part: str, work) -> None:
        timed_run(base / part, work)

    def data(recipe, stream='joint', holdout=None):
        return load_data(root, dataset=dataset, frames=recipe.frames,
                         stream=stream, holdout=holdout)

    if 'joint' in streams:  # once per seed
        timed('floor', lambda folder: dict(top1=raw_joint_floor(
            data(preset.linear), preset.linear, folder, options).top1))

    def train(folder, stream, holdout=None):
        stream_data = data(preset.finetune, stream, holdout)
        seed_everything(seed)  # the initialization is the seed's
        model = STRL(stream_data.layout, stream_data.channels,
                     stream_data.num_classes)
        return dict(top1=finetune(model, stream_data, preset.finetune,
                                  folder, options).report.top1)

    def done(runs):
        return all((run / 'result.json').exists() for run in runs)

    for stream in streams:
        timed(stream, lambda folder, stream=stream: train(folder, stream))
        if held_out:
            timed(f'held_out/{stream}', lambda folder, stream=stream: train(
                folder, stream, HOLDOUT))
    for name, fused in FUSIONS.items():
        if done([base / s for s in fused]):
            timed(name, lambda folder, fused=fused: fuse_runs(
                [base / s for s in fused], folder, options=options).summary())
    held, whole = ([base / 'held_out' / s for s in STREAMS],
                   [base / s for s in STREAMS])
    if done(held):  # weights chosen on the held-out fifth
        timed('fusion_held_out_runs', lambda folder: fuse_runs(
            held, folder, options=options).summary())
        if done(whole):
            weights = json.loads((base / 'fusion_held_out_runs'
                                  / 'result.json').read_text())['weights']
            timed('fusion_held_out', lambda folder: fuse_runs(
                whole, folder, weights, options).summary())


def summarize(out: Path, dataset: str) -> Dict[str, Any]:
    r"""Every finished run under :obj:`out` by seed, with the mean and
    standard deviation of each over the seeds."""
    seeds = {}
    for folder in sorted(out.glob('seed*')):
        runs = {p.parent.name: json.loads(p.read_text())
                for p in sorted(folder.glob('*/result.json'))}
        if runs:
            seeds[folder.name] = runs
    for seed, runs in seeds.items():  # the fit of the training split
        for stream in set(STREAMS) & set(runs):
            with open(out / seed / stream / 'finetune.csv') as f:
                runs[stream]['train_top1'] = float(
                    list(csv.DictReader(f))[-1]['train_top1'])
            runs[stream]['per_class'] = json.loads(
                (out / seed / stream / 'finetune_eval.json').read_text()
            )['per_class']
    mean = {}
    fusions = tuple(FUSIONS) + HELD_OUT_FUSIONS
    for part in ('floor', ) + STREAMS + fusions:
        values = [runs[part]['fused']['top1'] if part in fusions
                  else runs[part]['top1']
                  for runs in seeds.values() if part in runs]
        minutes = [runs[part]['minutes'] for runs in seeds.values()
                   if part in runs]
        fit = [runs[part]['train_top1'] for runs in seeds.values()
               if 'train_top1' in runs.get(part, {})]
        per_class = [runs[part]['per_class'] for runs in seeds.values()
                     if 'per_class' in runs.get(part, {})]
        if values:
            mean[part] = dict(top1=float(np.mean(values)),
                              std=float(np.std(values)), n=len(values),
                              minutes=float(np.mean(minutes)),
                              train_top1=fit and float(np.mean(fit)),
                              per_class=per_class and np.mean(
                                  per_class, axis=0).tolist())
    _, protocol, field, names = DATASETS[dataset]
    return dict(machine=machine(), protocol=protocol, field=field,
                classes=list(names), seeds=seeds, mean=mean)


def table(summary: Dict[str, Any]) -> str:
    r"""The summary as an RST table."""
    names = dict(floor='linear classifier on the raw joints',
                 joint='STRL, joint stream', bone='STRL, bone stream',
                 motion='STRL, joint motion stream',
                 bone_motion='STRL, bone motion stream',
                 fusion='STRL, four streams fused (equal weights)',
                 fusion_joint_bone='STRL, joint and bone streams fused '
                 '(equal weights)',
                 fusion_held_out_runs='STRL, four streams each trained on '
                 'four fifths of the training split, fused with weights '
                 'chosen on the fifth held out',
                 fusion_held_out='STRL, four streams fused (those weights)')
    rows = [f'   * - {names[part]}\n     - {100 * m["top1"]:.1f} +- '
            f'{100 * m["std"]:.1f}\n     - '
            + (f'{100 * m["train_top1"]:.1f}' if m['train_top1'] else '-')
            + f'\n     - {m["n"]}\n     - {m["minutes"]:.1f}'
            for part, m in summary['mean'].items()]
    return (f'.. list-table:: {summary["protocol"]}, test top-1 (%), all '
            'labels, from scratch\n   :header-rows: 1\n\n'
            '   * - model\n     - top-1\n     - training top-1 (last '
            'epoch)\n     - seeds\n     - minutes per run\n'
            + '\n'.join(rows) +
            f'\n\nThe field: {summary["field"]}. Machine: '
            f'{summary["machine"]}.\n\n' + per_class_table(summary))


def per_class_table(summary: Dict[str, Any]) -> str:
    r"""Each stream's test top-1 per class (mean over its seeds), as an RST
    table."""
    streams = [s for s in STREAMS if summary['mean'].get(s, {}).get(
        'per_class')]
    rows = ''.join(
        f'   * - {name}\n' + ''.join(
            f'     - {100 * summary["mean"][s]["per_class"][i]:.1f}\n'
            for s in streams)
        for i, name in enumerate(summary['classes']))
    return (f'.. list-table:: {summary["protocol"]}, test top-1 (%) per '
            f'class, mean over the seeds\n   :header-rows: 1\n\n'
            '   * - class\n' + ''.join(f'     - {s}\n' for s in streams)
            + rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--data-root', type=Path, default=Path(
        '../shared/data'))
    parser.add_argument('--seeds', type=int, nargs='*', default=[0])
    parser.add_argument('--streams', default=','.join(STREAMS))
    parser.add_argument('--out', type=Path, default=Path('runs/streams'))
    parser.add_argument('--dataset', choices=list(DATASETS),
                        default='nw-ucla')
    parser.add_argument('--held-out', action='store_true')
    args = parser.parse_args()
    for seed in args.seeds:
        run(args.dataset, args.data_root / DATASETS[args.dataset][0], seed,
            [s for s in args.streams.split(',') if s], args.out,
            args.held_out)
    summary = summarize(args.out, args.dataset)
    (args.out / 'streams.json').write_text(json.dumps(summary, indent=1))
    (args.out / 'streams.rst').write_text(table(summary))
    print(table(summary))


if __name__ == '__main__':
    main()
