r"""What pre-training on the pooled corpus buys on NW-UCLA (cross-view) or,
with ``--dataset penn-action`` and a 2D pool (``build_pool_2d.py``), on Penn
Action.

For each pool size (``--sizes``: ``nw-ucla``, NW-UCLA's training views
alone; a number, that many windows drawn from the whole pool; ``all``):

* SkeletonMAE pre-trained on it (the paper's objective and masking,
  NW-UCLA's pre-training recipe) for the same number of sequences seen
  (``--budget``: the epochs are the budget over the pool's size), then
  linear probes of its encoder and of a random one on NW-UCLA, and its
  masked-joint error on NW-UCLA's test split beside trivial predictors;
* STRL fine-tuned from it on 10% (``pretrained_10``) or all
  (``pretrained``) of NW-UCLA's training labels, per seed, with NW-UCLA's
  preset, paired with STRL from scratch (``scratch_10`` / ``scratch``: the
  same seed, data, recipe and architecture);

each with the minutes it took. Runs write ``OUT/<size>/pretrain``,
``OUT/<size>/seed<k>/<part>`` and ``OUT/scratch/seed<k>/<part>``; a run
whose ``result.json`` exists is skipped, and the summary
(``OUT/pool_evidence.json``, ``.rst``, the scaling plot) is rebuilt from
every finished run, so several invocations share one summary::

    OMP_NUM_THREADS=1 python experiments/pool_evidence.py \
        --pool ~/.cache/torch_skeleton_mae/pool --data-root ../shared/data \
        --sizes all --seeds 0 1 --parts pretrained_10 --out runs/pool
"""
import argparse
import dataclasses
import json
import math
from pathlib import Path
from typing import Any, Dict, List, Optional

import numpy as np
import torch

from torch_skeleton_mae.datasets.pool import MotionPool
from torch_skeleton_mae.engine import (
    RunOptions,
    finetune,
    load_data,
    preset_for,
    pretrain,
)
from torch_skeleton_mae.engine.checkpoint import (
    save_checkpoint,
    seed_everything,
)
from torch_skeleton_mae.nn import STRL, SkeletonMAE
from torch_skeleton_mae.utils import machine

from strl_real import timed_run  # this folder's; run as a script

#: The fine-tuning runs: their fraction of the labels (None: all).
PARTS = {'pretrained_10': 0.1, 'scratch_10': 0.1, 'pretrained': None,
         'scratch': None}
#: Sequences seen in every pre-training (10 epochs of the whole pool).
BUDGET = 320_000
#: The seed of each pre-training and of its pool's draw.
PRETRAIN_SEED = 0
#: Each dataset's folder below --data-root and how the README names it.
DATASETS = {'nw-ucla': ('nw_ucla/all_sqe', 'NW-UCLA'),
            'penn-action': ('penn_action/labels', 'Penn Action')}


def pool_of(root: Path, size: str) -> MotionPool:
    r"""The windows of the pool of :obj:`size` (see the module's
    docstring)."""
    if size == 'all':
        return MotionPool(root)
    if size == 'nw-ucla':
        return MotionPool(root, sources=['nw-ucla'])
    return MotionPool(root, limit=int(size), seed=PRETRAIN_SEED)


def run(pool_root: Path, data_root: Path, out: Path, size: str,
        seeds: List[int], parts: List[str], budget: int,
        dataset: str = 'nw-ucla') -> None:
    r"""The pre-training of :obj:`size` (when a part needs it), then
    :obj:`parts` for each seed, on :obj:`dataset`."""
    preset = preset_for(dataset)
    source = data_root / DATASETS[dataset][0]
    base = out / size
    pretrain_dir = base / 'pretrain'
    if any(p.startswith('pretrained') or p == 'probe' for p in parts):
        pool = pool_of(pool_root, size)
        pool.sample_frames(preset.pretrain.frames, train=True)
        recipe = dataclasses.replace(preset.pretrain, epochs=max(
            1, math.ceil(budget / len(pool))))
        data = load_data(source, dataset=dataset, frames=recipe.frames)
        seed_everything(PRETRAIN_SEED)  # the initialization is the seed's
        mae = SkeletonMAE(data.layout, data.channels)
        options = RunOptions(seed=PRETRAIN_SEED, workers=0)

        def pretrained(folder):
            result = pretrain(mae, data, recipe, folder, options,
                              probe=preset.linear, train=pool,
                              extra_state=dict(pool=dict(
                                  size=size, windows=len(pool))))
            return dict(loss=result.history[-1]['loss'],
                        windows=len(pool), epochs=recipe.epochs,
                        probe=result.probe.top1,
                        random_probe=result.random_probe.top1,
                        reconstruction=result.reconstruction)

        timed_run(pretrain_dir, pretrained)
    for seed in seeds:
        for part in parts:
            if part == 'probe':
                continue
            fraction = PARTS[part]
            recipe = preset.finetune if fraction is None else preset.semi
            folder = (base if part.startswith('pretrained') else
                      out / 'scratch') / f'seed{seed}' / part

            def work(folder, part=part, recipe=recipe, fraction=fraction):
                data = load_data(source, dataset=dataset,
                                 frames=recipe.frames, semi=fraction)
                seed_everything(seed)
                model = (STRL.from_pretrained(
                    pretrain_dir / 'last.pt', data.num_classes)
                    if part.startswith('pretrained') else
                    STRL(data.layout, data.channels, data.num_classes))
                return finetune(model, data, recipe, folder, RunOptions(
                    seed=seed, workers=0)).report.top1

            timed_run(folder, work)


def _stats(values: List[float]) -> Dict[str, Any]:
    return dict(mean=float(np.mean(values)), std=float(np.std(values)),
                n=len(values), values=[float(v) for v in values])


def summarize(out: Path) -> Dict[str, Any]:
    r"""Every finished run under :obj:`out`: per pool size its
    pre-training and, per protocol, the pre-trained and scratch top-1 over
    the seeds where both finished, and their paired gains."""
    def result(path: Path) -> Optional[Dict[str, Any]]:
        return json.loads(path.read_text()) if path.exists() else None

    sizes = {}
    for folder in sorted(p for p in out.iterdir()
                         if (p / 'pretrain' / 'result.json').exists()):
        entry = dict(pretrain=result(folder / 'pretrain' / 'result.json'))
        for suffix in ('_10', ''):
            pairs = []
            for seed_dir in sorted(folder.glob('seed*')):
                pre = result(seed_dir / f'pretrained{suffix}' / 'result.json')
                scratch = result(out / 'scratch' / seed_dir.name /
                                 f'scratch{suffix}' / 'result.json')
                if pre and scratch:
                    pairs.append((seed_dir.name, pre, scratch))
            if pairs:
                entry['10%' if suffix else 'all'] = dict(
                    seeds=[s for s, _, _ in pairs],
                    pretrained=_stats([p['top1'] for _, p, _ in pairs]),
                    scratch=_stats([s['top1'] for _, _, s in pairs]),
                    gain=_stats([p['top1'] - s['top1'] for _, p, s in pairs]),
                    minutes=float(np.median([r['minutes'] for _, p, s in pairs
                                             for r in (p, s)])))
        sizes[folder.name] = entry
    dataset = json.loads((out / 'dataset.json').read_text())['dataset'] if (
        out / 'dataset.json').exists() else 'nw-ucla'
    return dict(machine=machine(), dataset=dataset,
                strl_parameters=strl_parameters(), sizes=sizes)


def strl_parameters() -> Dict[str, int]:
    r"""How much of the fine-tuned STRL (NW-UCLA's preset) a pre-training
    initializes: all its parameters, those copied from SkeletonMAE (the
    embedding and every layer's encoder), and those of the first layer's
    encoder, the only one whose input is what the encoder was pre-trained
    on (later layers see STRL's own features)."""
    model = STRL('kinect-v1', 3, 10)

    def count(names):
        return sum(p.numel() for n, p in model.named_parameters()
                   if any(n.startswith(k) for k in names))

    copied = ['embedding.'] + [f'layers.{i}.encoder.'
                               for i in range(len(model.layers))]
    return dict(total=count(['']), pretrained=count(copied),
                first_layer=count(copied[:2]))


def _pct(entry: Optional[Dict[str, Any]]) -> str:
    if not entry:
        return ''
    return f"{100 * entry['mean']:.1f}" + (
        f" +- {100 * entry['std']:.1f}" if entry['n'] > 1 else '')


def table(summary: Dict[str, Any]) -> str:
    r"""The summary as a reST list-table, a row per pool size and
    protocol."""
    header = ['pool', 'windows', 'pre-training epochs', 'minutes',
              'probe: pooled', 'probe: random', 'masked-joint error: model',
              'error: mirrored limb', 'labels', 'seeds', 'scratch',
              'pre-trained', 'gain (paired)', 'seeds with a gain']
    lines = ['.. list-table::', '   :header-rows: 1', '',
             '   * - ' + header[0]] + [f'     - {h}' for h in header[1:]]
    for size, entry in summary['sizes'].items():
        pre = entry['pretrain']
        errors = pre['reconstruction']
        for protocol in ('10%', 'all'):
            if protocol not in entry:
                continue
            result = entry[protocol]
            gains = result['gain']['values']
            cells = [size, str(pre['windows']), str(pre['epochs']),
                     f"{pre['minutes']:.0f}", f"{100 * pre['probe']:.1f}",
                     f"{100 * pre['random_probe']:.1f}",
                     f"{errors['model']:.3f}",
                     f"{errors['mirrored_limb']:.3f}", protocol,
                     str(result['gain']['n']), _pct(result['scratch']),
                     _pct(result['pretrained']), _pct(result['gain']),
                     f"{sum(g > 0 for g in gains)} of {len(gains)}"]
            lines += ['   * - ' + cells[0]] + [
                f'     - {c}' for c in cells[1:]]
    return '\n'.join(lines) + '\n'


def readme_sentence(summary: Dict[str, Any], size: str = 'all') -> str:
    r"""The README's sentence on the pre-training of :obj:`size`."""
    entry, name = summary['sizes'][size], DATASETS[summary['dataset']][1]
    pre = entry['pretrain']
    seen = (' seen as 2D joints through virtual cameras'
            if summary['dataset'] == 'penn-action' else '')
    text = (f"Pre-trained on the pooled corpus{seen} ({pre['windows']} "
            f"windows), the encoder's linear probe on "
            f"{name} scores {100 * pre['probe']:.1f}% against "
            f"{100 * pre['random_probe']:.1f}% for a random encoder")
    result = entry.get('10%')
    if result:
        gains = result['gain']['values']
        text += (f"; STRL fine-tuned from it on 10% of {name}'s labels "
                 f"reaches {_pct(result['pretrained'])}% against "
                 f"{_pct(result['scratch'])}% from scratch (paired gain "
                 f"{_pct(result['gain'])} points, positive in "
                 f"{sum(g > 0 for g in gains)} of {len(gains)} seeds)")
    return text + '.'


def plot(summary: Dict[str, Any], path: Path) -> bool:
    r"""The 10%-label gain against the pool's windows (log scale), one
    point per seed and the mean; :obj:`False` without matplotlib."""
    try:
        import matplotlib
        matplotlib.use('Agg')
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    points = [(e['pretrain']['windows'], e['10%']['gain'])
              for e in summary['sizes'].values() if '10%' in e]
    if not points:
        return False
    points.sort(key=lambda p: p[0])
    fig, ax = plt.subplots(figsize=(5, 3.2))
    for windows, gain in points:
        ax.scatter([windows] * gain['n'], [100 * v for v in gain['values']],
                   color='tab:blue', alpha=.4, s=14)
    ax.plot([p[0] for p in points], [100 * p[1]['mean'] for p in points],
            'o-', color='tab:blue', label='mean over seeds')
    for windows, gain in points:
        ax.annotate(f"{gain['n']} seed{'s' * (gain['n'] > 1)}",
                    (windows, 100 * gain['mean']), textcoords='offset points',
                    xytext=(6, 6), fontsize=8)
    ax.axhline(0, color='grey', lw=.8)
    ax.set_xscale('log')
    ax.set_xlabel('pre-training windows (log scale)')
    ax.set_ylabel('top-1 gain over scratch (points)')
    ax.set_title(f"{DATASETS[summary['dataset']][1]}, 10% of the labels")
    ax.legend(frameon=False)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return True


def ship(pretrain_dir: Path, pool_root: Path, path: Path) -> None:
    r"""Writes the pre-trained SkeletonMAE of :obj:`pretrain_dir` to
    :obj:`path` with its weights and config alone (no optimizer state), and
    the record of its pool, recipe and results."""
    mae = SkeletonMAE.from_checkpoint(pretrain_dir / 'last.pt')
    run = torch.load(pretrain_dir / 'last.pt', weights_only=True)['run']
    manifest = MotionPool(pool_root).manifest
    pool = dict(windows=manifest['windows'], frames=manifest['frames'],
                window=manifest['window'], fps=manifest['fps'],
                sources={name: {k: v for k, v in counts.items()
                                if k != 'skipped'}
                         for name, counts in manifest['sources'].items()},
                licences=manifest['licences'])
    result = json.loads((pretrain_dir / 'result.json').read_text())
    save_checkpoint(path, mae, run=run, pool=pool, result=result,
                    machine=machine())


def card(path: Path) -> str:
    r"""The sources of the shipped checkpoint :obj:`path` as a reST
    list-table: a row per source with its counts and licence, then the
    pre-training's recipe and minutes."""
    state = torch.load(path, weights_only=True)
    pool, run, result = state['pool'], state['run'], state['result']
    header = ['source', 'files read', 'sequences', 'frames (30 Hz)',
              'windows', 'licence']
    lines = ['.. list-table::', '   :header-rows: 1', '',
             '   * - ' + header[0]] + [f'     - {h}' for h in header[1:]]
    for name, counts in pool['sources'].items():
        cells = [name, str(counts['files']), str(counts['sequences']),
                 str(counts['frames']), str(counts['windows']),
                 pool['licences'][name]['licence']]
        lines += ['   * - ' + cells[0]] + [f'     - {c}' for c in cells[1:]]
    recipe = ', '.join(f'{k}={v}' for k, v in run['recipe'].items())
    lines += ['', f"{pool['windows']} windows of up to {pool['window']} "
              f"frames at {pool['fps']} Hz; pre-trained with {recipe} in "
              f"{result['minutes']:.0f} minutes on one thread of "
              f"{state['machine']}."]
    return '\n'.join(lines) + '\n'


def main(argv: List[str] = None) -> Dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--pool', type=Path, required=True,
                        help="experiments/build_pool.py's folder")
    parser.add_argument('--data-root', type=Path, required=True,
                        help='the folder holding nw_ucla/ and penn_action/')
    parser.add_argument('--dataset', default='nw-ucla', choices=DATASETS,
                        help='where the pre-training is measured')
    parser.add_argument('--sizes', nargs='*', default=['all'],
                        help="pool sizes: 'nw-ucla', a number of windows, "
                             "'all'")
    parser.add_argument('--seeds', nargs='*', type=int, default=[0])
    parser.add_argument('--parts', nargs='+', default=['probe'],
                        choices=['probe'] + list(PARTS))
    parser.add_argument('--budget', type=int, default=BUDGET,
                        help='sequences seen by each pre-training')
    parser.add_argument('--out', type=Path, default=Path('runs/pool'))
    parser.add_argument('--ship', type=Path,
                        help="write the whole pool's pre-trained SkeletonMAE "
                             "here (torch_skeleton_mae/weights/"
                             "kinect-v1-pool.pt)")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    marker = args.out / 'dataset.json'
    if marker.exists() and json.loads(marker.read_text())['dataset'] != (
            args.dataset):
        parser.error(f'--out {args.out} holds runs on another dataset '
                     f'({marker.read_text()})')
    marker.write_text(json.dumps(dict(dataset=args.dataset)))
    for size in args.sizes:
        run(args.pool, args.data_root, args.out, size, args.seeds,
            args.parts, args.budget, args.dataset)
    summary = summarize(args.out)
    (args.out / 'pool_evidence.json').write_text(json.dumps(summary,
                                                            indent=1))
    (args.out / 'pool_evidence.rst').write_text(table(summary))
    plot(summary, args.out / 'pool_scaling.png')
    if 'all' in summary['sizes']:
        (args.out / 'pool_readme.txt').write_text(
            readme_sentence(summary) + '\n')
    if args.ship is not None:
        ship(args.out / 'all' / 'pretrain', args.pool, args.ship)
        (args.out / 'pool_card.rst').write_text(card(args.ship))
    print(table(summary))
    return summary


if __name__ == '__main__':
    main()
