r"""STRL on real skeletons beside its floors, with and without pre-training.

For each dataset (NW-UCLA cross-view, Penn Action) and seed, with the
dataset's preset (``preset_for``: recipes and STRL settings):

* the floor: a linear classifier on the raw joints
  (:func:`~torch_skeleton_mae.engine.raw_joint_floor`);
* SkeletonMAE pre-training on the training split (no labels), then linear
  probes of its encoder and of a random one (paired), and its masked-joint
  error on the test split beside trivial predictors;
* STRL fine-tuned on all training labels from that pre-training and, paired
  with it (same seed, data and architecture), from scratch;
* the same three on 10% of the training labels (the semi-supervised
  protocol: the floor and both fine-tunings see only those labels);

each with the minutes it took. Every run writes its folder under ``OUT``;
the summary (``OUT/strl_real.json``, the tables ``OUT/strl_real.rst`` and
``OUT/strl_real_probe.rst`` and the README's sentence) is rebuilt from
every finished run found there, so several invocations (one per seed, in
parallel) share one summary, and ``--seeds`` with no seed only rebuilds
it (``--parts`` splits one seed's runs between two processes)::

    OMP_NUM_THREADS=1 python experiments/strl_real.py \
        --data-root ../shared/data --seeds 0 --out runs/strl_real
"""
import argparse
import dataclasses
import json
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Sequence

import numpy as np

from torch_skeleton_mae.engine import (
    RunOptions,
    finetune,
    load_data,
    preset_for,
    pretrain,
    raw_joint_floor,
)
from torch_skeleton_mae.engine.checkpoint import seed_everything
from torch_skeleton_mae.engine.reconstruction import BASELINES
from torch_skeleton_mae.nn import STRL, SkeletonMAE
from torch_skeleton_mae.utils import machine

#: Each dataset's folder below --data-root and, per protocol (:data:`LABELS`),
#: the field's best published top-1 on it with the same input (joints
#: only), with its source.
DATASETS = {
    'nw-ucla': ('nw_ucla/all_sqe', {
        'all': 'CTR-GCN 94.6 joint stream, 96.5 four streams (Chen et al., '
               'ICCV 2021)',
        '10%': 'MS²L 60.5 pre-trained, 58.6 from scratch (Lin et al., ACM '
               'MM 2020)'}),
    'penn-action': ('penn_action/labels', {
        'all': 'HDM-BG 93.4 (Zhao et al., CVPR 2019); with pre-training on '
               'other data, UNIK 97.9 (Yang et al., BMVC 2021)',
        '10%': 'none published that we know of'}),
}
#: How the README names each dataset.
NAMES = {'nw-ucla': 'NW-UCLA (cross-view)', 'penn-action': 'Penn Action'}
#: The protocols: the fraction of the training labels (None: all) and the
#: suffix of their runs' folders.
LABELS = {'all': (None, ''), '10%': (0.1, '_10')}
#: The runs of one protocol, in order (their folders: the name and the
#: protocol's suffix); the pre-training comes first and serves both.
PARTS = ('floor', 'pretrained', 'scratch')
#: The preset's recipes the runs use.
RECIPES = ('pretrain', 'finetune', 'semi', 'linear')


def timed_run(folder: Path, work: Callable[[Path], Any]) -> None:
    r"""Runs :obj:`work` on :obj:`folder` unless its ``result.json`` exists,
    then writes that file: what :obj:`work` returned (a top-1, or a dict of
    numbers) and the minutes it took."""
    if (folder / 'result.json').exists():
        return
    start = time.time()
    result = work(folder)
    result = dict(result if isinstance(result, dict) else dict(top1=result),
                  minutes=(time.time() - start) / 60)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / 'result.json').write_text(json.dumps(result, indent=1))


def run_seed(dataset: str, root: Path, seed: int, out: Path,
             epochs: Dict[str, int], labels: List[str],
             parts: Sequence[str] = PARTS) -> None:
    r"""The runs of :obj:`dataset` with :obj:`seed`: the pre-training, then
    :obj:`parts` (of :data:`PARTS`) for each protocol in :obj:`labels`; a run
    whose ``result.json`` exists is skipped."""
    preset = preset_for(dataset)
    recipes = {name: dataclasses.replace(getattr(preset, name),
                                         **({'epochs': epochs[name]}
                                            if name in epochs else {}))
               for name in RECIPES}
    options = RunOptions(seed=seed, workers=0)
    base = out / dataset / f'seed{seed}'

    def timed(part: str, work) -> None:
        timed_run(base / part, work)

    pre = load_data(root, dataset=dataset, frames=recipes['pretrain'].frames)
    seed_everything(seed)  # each model's initialization is the seed's
    mae = SkeletonMAE(pre.layout, pre.channels)
    timed('pretrain', lambda folder: pretrain(
        mae, pre, recipes['pretrain'], folder, options).history[-1]['loss'])

    def probe(folder):
        # The finished pre-training resumed: no epoch left, then its probes
        # (pre-trained and random encoder) and reconstruction (written
        # beside it).
        scored = pretrain(mae, pre, recipes['pretrain'], base / 'pretrain',
                          dataclasses.replace(options, resume=True),
                          probe=recipes['linear'])
        return dict(top1=scored.probe.top1,
                    random_top1=scored.random_probe.top1,
                    reconstruction=scored.reconstruction)

    timed('probe', probe)
    for protocol in labels:
        fraction, suffix = LABELS[protocol]
        recipe = recipes['finetune' if fraction is None else 'semi']

        def data_of(recipe):
            return load_data(root, dataset=dataset, frames=recipe.frames,
                             semi=fraction)

        def floor(folder):
            return raw_joint_floor(data_of(recipes['linear']),
                                   recipes['linear'], folder, options).top1

        def pretrained(folder):
            data = data_of(recipe)
            seed_everything(seed)
            model = STRL.from_pretrained(base / 'pretrain' / 'last.pt',
                                         data.num_classes)
            return finetune(model, data, recipe, folder, options).report.top1

        def scratch(folder):
            data = data_of(recipe)
            seed_everything(seed)
            model = STRL(data.layout, data.channels, data.num_classes)
            return finetune(model, data, recipe, folder, options).report.top1

        for part, work in zip(PARTS, (floor, pretrained, scratch)):
            if part in parts:
                timed(part + suffix, work)


def summarize(out: Path) -> Dict[str, Any]:
    r"""Every finished run under :obj:`out`, by dataset, seed and run
    folder, with each protocol's means and paired gain of pre-training."""
    datasets: Dict[str, Any] = {}
    for name, (_, field) in DATASETS.items():
        seeds = {}
        for folder in sorted((out / name).glob('seed*')):
            runs = {part.parent.name: json.loads(part.read_text())
                    for part in sorted(folder.glob('*/result.json'))}
            if runs:
                seeds[folder.name] = runs
        if seeds:
            datasets[name] = dict(field=field, seeds=seeds, mean={
                protocol: _means(seeds, suffix)
                for protocol, (_, suffix) in LABELS.items()},
                probe=_probe_means(seeds))
    return dict(machine=machine(), datasets=datasets)


def _means(seeds: Dict[str, Dict[str, Any]], suffix: str) -> Dict[str, Any]:
    # One protocol's, over the seeds whose fine-tunings both finished.
    pairs = [runs for runs in seeds.values()
             if {'pretrained' + suffix, 'scratch' + suffix} <= set(runs)]
    means = {}
    for part in PARTS:
        values = [runs[part + suffix]['top1'] for runs in pairs
                  if part + suffix in runs]
        if values:
            means[part] = _stats(values)
    if pairs:
        means['gain'] = _stats([runs['pretrained' + suffix]['top1'] -
                                runs['scratch' + suffix]['top1']
                                for runs in pairs])
    return means


def _probe_means(seeds: Dict[str, Dict[str, Any]]) -> Dict[str, Any]:
    # The probes' top-1 and paired gain, and each predictor's masked-joint
    # error, over the seeds with a probe.
    probes = [runs['probe'] for runs in seeds.values() if 'probe' in runs]
    if not probes:
        return {}
    means = dict(pretrained=_stats([p['top1'] for p in probes]),
                 random=_stats([p['random_top1'] for p in probes]),
                 gain=_stats([p['top1'] - p['random_top1'] for p in probes]))
    means['reconstruction'] = {
        name: _stats([p['reconstruction'][name] for p in probes])
        for name in ('model',) + BASELINES
        if all(p['reconstruction'][name] is not None for p in probes)}
    return means


def _stats(values: List[float]) -> Dict[str, Any]:
    return dict(top1=float(np.mean(values)), std=float(np.std(values)),
                n=len(values))


def table(summary: Dict[str, Any]) -> str:
    r"""The summary as a reST list-table: a row per dataset and protocol."""
    lines = ['.. list-table::', '   :header-rows: 1', '']
    header = ['data', 'labels', 'seeds', 'raw-joint linear floor',
              'STRL from scratch', 'STRL pre-trained',
              'gain of pre-training (paired)', 'minutes per fine-tuning',
              'the field, same protocol']
    lines += ['   * - ' + header[0]] + [f'     - {h}' for h in header[1:]]
    for name, result in summary['datasets'].items():
        for protocol, (_, suffix) in LABELS.items():
            mean = result['mean'][protocol]
            if 'gain' not in mean:
                continue
            minutes = [runs[part + suffix]['minutes']
                       for runs in result['seeds'].values()
                       for part in ('pretrained', 'scratch')
                       if part + suffix in runs]
            cells = [name, protocol, str(mean['gain']['n'])] + [
                _pct(mean.get(part)) for part in ('floor', 'scratch',
                                                  'pretrained', 'gain')] + [
                f'{np.median(minutes):.1f}', result['field'][protocol]]
            lines += ['   * - ' + cells[0]] + [
                f'     - {c}' for c in cells[1:]]
    return '\n'.join(lines) + '\n'


def probe_table(summary: Dict[str, Any]) -> str:
    r"""The pre-trainings' linear probes (against a random encoder, paired)
    and masked-joint errors (against the trivial predictors: lower is
    better) as a reST list-table, a row per dataset."""
    lines = ['.. list-table::', '   :header-rows: 1', '']
    header = ['data', 'seeds', 'probe: pre-trained', 'probe: random encoder',
              'probe: gain (paired)', 'masked-joint error: model'] + [
              'error: ' + name.replace('_', ' ') for name in BASELINES]
    lines += ['   * - ' + header[0]] + [f'     - {h}' for h in header[1:]]
    for name, result in summary['datasets'].items():
        probe = result['probe']
        if not probe:
            continue
        errors = probe['reconstruction']
        cells = [name, str(probe['gain']['n'])] + [
            _pct(probe[k]) for k in ('pretrained', 'random', 'gain')] + [
            f"{errors[k]['top1']:.3f}" if k in errors else 'n/a'
            for k in ('model',) + BASELINES]
        lines += ['   * - ' + cells[0]] + [f'     - {c}' for c in cells[1:]]
    return '\n'.join(lines) + '\n'


def readme_sentence(summary: Dict[str, Any]) -> str:
    r"""The README's sentences on STRL's accuracy, a sentence per protocol
    (all labels, 10%), from the summary."""
    sentences = []
    for protocol, opening in (
            ('all', 'Fine-tuned on all labels with its preset, STRL reaches '
                    '(top-1 on the test split)'),
            ('10%', 'On 10% of the labels')):
        parts = []
        for name, result in summary['datasets'].items():
            mean = result['mean'][protocol]
            if not {'floor', 'pretrained', 'scratch'} <= set(mean):
                continue
            seeds = mean['pretrained']['n']
            parts.append(
                f"on {NAMES[name]} {_pct(mean['pretrained'])}% pre-trained "
                f"and {_pct(mean['scratch'])}% from scratch ({seeds} "
                f"seed{'s' * (seeds > 1)}; a linear classifier on the raw "
                f"joints: {_pct(mean['floor'])}%; the field: "
                f"{result['field'][protocol]})")
        if parts:
            sentences.append(f"{opening} {'; '.join(parts)}.")
    return ' '.join(sentences)


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
    parser.add_argument('--labels', nargs='+', default=list(LABELS),
                        choices=list(LABELS),
                        help='the protocols to run (default: both)')
    parser.add_argument('--parts', nargs='+', default=list(PARTS),
                        choices=list(PARTS),
                        help='the runs of each protocol (default: all; two '
                             'processes may split them)')
    parser.add_argument('--out', type=Path, default=Path('runs/strl_real'))
    for name in RECIPES:
        parser.add_argument(f'--{name}-epochs', type=int,
                            help="default: the preset's")
    args = parser.parse_args(argv)
    epochs = {name: getattr(args, f'{name}_epochs')
              for name in RECIPES
              if getattr(args, f'{name}_epochs') is not None}
    for seed in args.seeds:
        for name in args.datasets:
            run_seed(name, args.data_root / DATASETS[name][0], seed,
                     args.out, epochs, args.labels, args.parts)
    summary = summarize(args.out)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / 'strl_real.json').write_text(json.dumps(summary, indent=1))
    (args.out / 'strl_real.rst').write_text(table(summary))
    (args.out / 'strl_real_probe.rst').write_text(probe_table(summary))
    (args.out / 'strl_real_readme.txt').write_text(
        readme_sentence(summary) + '\n')
    print(table(summary))
    print(readme_sentence(summary))
    return summary


if __name__ == '__main__':
    main()
