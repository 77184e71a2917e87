r"""STRL on real skeletons beside its floors, with and without pre-training.

For each dataset (NW-UCLA cross-view, Penn Action) and seed, with the
dataset's preset (``preset_for``: recipes and STRL settings):

* the floor: a linear classifier on the raw joints
  (:func:`~torch_skeleton_mae.engine.raw_joint_floor`);
* SkeletonMAE pre-training on the training split (no labels);
* STRL fine-tuned on all training labels from that pre-training and, paired
  with it (same seed, data and architecture), from scratch;

each with the minutes it took. Every run writes its folder under ``OUT``;
the summary (``OUT/strl_real.json``, ``OUT/strl_real.rst`` and the README's
sentence) is rebuilt from every finished run found there, so several
invocations (one per seed, in parallel) share one summary, and ``--seeds``
with no seed only rebuilds it::

    OMP_NUM_THREADS=1 python examples/strl_real.py \
        --data-root ../shared/data --seeds 0 --out runs/strl_real
"""
import argparse
import dataclasses
import json
import time
from pathlib import Path
from typing import Any, Dict, List

import numpy as np

from torch_skeleton_mae.engine import (
    RunOptions,
    finetune,
    load_data,
    preset_for,
    pretrain,
    raw_joint_floor,
)
from torch_skeleton_mae.nn import STRL, SkeletonMAE
from torch_skeleton_mae.utils import machine

#: Each dataset's folder below --data-root and the field's best published
#: top-1 on the same protocol and input (joints only), with its source.
DATASETS = {
    'nw-ucla': ('nw_ucla/all_sqe',
                'CTR-GCN 94.6 joint stream, 96.5 four streams (Chen et al., '
                'ICCV 2021)'),
    'penn-action': ('penn_action/labels',
                    'HDM-BG 93.4 (Zhao et al., CVPR 2019); with pre-training '
                    'on other data, UNIK 97.9 (Yang et al., BMVC 2021)'),
}
#: How the README names each dataset.
NAMES = {'nw-ucla': 'NW-UCLA (cross-view)', 'penn-action': 'Penn Action'}
#: The runs of one dataset and seed, in order.
PARTS = ('floor', 'pretrain', 'pretrained', 'scratch')


def run_seed(dataset: str, root: Path, seed: int, out: Path,
             epochs: Dict[str, int]) -> None:
    r"""The four runs of :obj:`dataset` with :obj:`seed`; a run whose
    ``result.json`` exists is skipped."""
    preset = preset_for(dataset)
    recipes = {name: dataclasses.replace(getattr(preset, name),
                                         **({'epochs': epochs[name]}
                                            if name in epochs else {}))
               for name in ('pretrain', 'finetune', 'linear')}
    options = RunOptions(seed=seed, workers=0)
    base = out / dataset / f'seed{seed}'

    def timed(part: str, work) -> None:
        folder = base / part
        if (folder / 'result.json').exists():
            return
        start = time.time()
        top1 = work(folder)
        result = dict(top1=top1, minutes=(time.time() - start) / 60)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / 'result.json').write_text(json.dumps(result, indent=1))

    def data_of(recipe):
        return load_data(root, dataset=dataset, frames=recipe.frames)

    timed('floor', lambda folder: raw_joint_floor(
        data_of(recipes['linear']), recipes['linear'], folder,
        options).top1)
    pre = data_of(recipes['pretrain'])
    mae = SkeletonMAE(pre.layout, pre.channels)
    timed('pretrain', lambda folder: pretrain(
        mae, pre, recipes['pretrain'], folder, options).history[-1]['loss'])
    data = data_of(recipes['finetune'])

    def pretrained(folder):
        checkpoint = base / 'pretrain' / 'last.pt'
        model = STRL.from_pretrained(checkpoint, data.num_classes,
                                     **preset.strl)
        return finetune(model, data, recipes['finetune'], folder,
                        options).report.top1

    def scratch(folder):
        model = STRL(data.layout, data.channels, data.num_classes,
                     **preset.strl)
        return finetune(model, data, recipes['finetune'], folder,
                        options).report.top1

    timed('pretrained', pretrained)
    timed('scratch', scratch)


def summarize(out: Path) -> Dict[str, Any]:
    r"""Every finished run under :obj:`out`, by dataset, seed and part,
    with the means and the paired gain of pre-training."""
    datasets: Dict[str, Any] = {}
    for name in DATASETS:
        seeds = {}
        for folder in sorted((out / name).glob('seed*')):
            runs = {part: json.loads((folder / part / 'result.json')
                                     .read_text())
                    for part in PARTS
                    if (folder / part / 'result.json').exists()}
            if runs:
                seeds[folder.name] = runs
        if seeds:
            datasets[name] = dict(field=DATASETS[name][1], seeds=seeds,
                                  mean=_means(seeds))
    return dict(machine=machine(), datasets=datasets)


def _means(seeds: Dict[str, Dict[str, Any]]) -> Dict[str, Any]:
    # Over the seeds whose four runs all finished.
    seeds = {k: runs for k, runs in seeds.items() if len(runs) == len(PARTS)}
    means = {}
    for part in ('floor', 'pretrained', 'scratch'):
        values = [runs[part]['top1'] for runs in seeds.values()
                  if part in runs]
        if values:
            means[part] = dict(top1=float(np.mean(values)),
                               std=float(np.std(values)), n=len(values))
    gains = [runs['pretrained']['top1'] - runs['scratch']['top1']
             for runs in seeds.values()
             if {'pretrained', 'scratch'} <= set(runs)]
    if gains:
        means['gain'] = dict(top1=float(np.mean(gains)),
                             std=float(np.std(gains)), n=len(gains))
    return means


def table(summary: Dict[str, Any]) -> str:
    r"""The summary as a reST list-table: a row per dataset."""
    lines = ['.. list-table::', '   :header-rows: 1', '']
    header = ['data', 'seeds', 'raw-joint linear floor',
              'STRL from scratch', 'STRL pre-trained',
              'gain of pre-training (paired)', 'minutes per fine-tuning',
              'the field, same protocol']
    lines += ['   * - ' + header[0]] + [f'     - {h}' for h in header[1:]]
    for name, result in summary['datasets'].items():
        mean = result['mean']
        minutes = [runs[part]['minutes'] for runs in result['seeds'].values()
                   for part in ('pretrained', 'scratch') if part in runs]
        done = mean.get('gain', {}).get('n', 0)
        if not done:
            continue
        cells = [name, str(done)] + [
            _pct(mean.get(part)) for part in ('floor', 'scratch',
                                              'pretrained', 'gain')] + [
            f'{np.median(minutes):.1f}' if minutes else '',
            result['field']]
        lines += ['   * - ' + cells[0]] + [f'     - {c}' for c in cells[1:]]
    return '\n'.join(lines) + '\n'


def readme_sentence(summary: Dict[str, Any]) -> str:
    r"""The README's sentence on STRL's accuracy, from the summary."""
    parts = []
    for name, result in summary['datasets'].items():
        mean = result['mean']
        if not {'floor', 'pretrained', 'scratch'} <= set(mean):
            continue
        seeds = mean['pretrained']['n']
        parts.append(
            f"on {NAMES[name]} {_pct(mean['pretrained'])}% pre-trained and "
            f"{_pct(mean['scratch'])}% from scratch ({seeds} "
            f"seed{'s' * (seeds > 1)}; a linear classifier on the raw joints: "
            f"{_pct(mean['floor'])}%; the field: {result['field']})")
    return ('Fine-tuned on all labels with the small-set preset, STRL '
            'reaches (top-1 on the test split) ' + '; '.join(parts) + '.')


def _pct(entry: Any) -> str:
    if entry is None:
        return ''
    text = f"{100 * entry['top1']:.1f}"
    return text + (f" +- {100 * entry['std']:.1f}" if entry['n'] > 1 else '')


def main(argv: List[str] = None) -> Dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--data-root', type=Path, required=True,
                        help='the folder holding nw_ucla/ and penn_action/')
    parser.add_argument('--datasets', nargs='+', default=list(DATASETS),
                        choices=list(DATASETS))
    parser.add_argument('--seeds', nargs='*', type=int, default=[0],
                        help='none: only rebuild the summary')
    parser.add_argument('--out', type=Path, default=Path('runs/strl_real'))
    for name in ('pretrain', 'finetune', 'linear'):
        parser.add_argument(f'--{name}-epochs', type=int,
                            help="default: the preset's")
    args = parser.parse_args(argv)
    epochs = {name: getattr(args, f'{name}_epochs')
              for name in ('pretrain', 'finetune', 'linear')
              if getattr(args, f'{name}_epochs') is not None}
    for seed in args.seeds:
        for name in args.datasets:
            run_seed(name, args.data_root / DATASETS[name][0], seed,
                     args.out, epochs)
    summary = summarize(args.out)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / 'strl_real.json').write_text(json.dumps(summary, indent=1))
    (args.out / 'strl_real.rst').write_text(table(summary))
    (args.out / 'strl_real_readme.txt').write_text(
        readme_sentence(summary) + '\n')
    print(table(summary))
    print(readme_sentence(summary))
    return summary


if __name__ == '__main__':
    main()
