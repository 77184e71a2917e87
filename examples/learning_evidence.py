r"""Does pre-training help, and which of our deviations from the paper matter?

On the built-in synthetic dataset (COCO-17 2D layout, quick settings), for
every configuration and seed: SkeletonMAE pre-training, then STRL fine-tuning
on 10% of the labels from the pre-trained encoder and, paired with it, from
scratch (the same seed, data and architecture). The configurations are the
paper's preset, our earlier defaults, and the preset with one deviation
switched on at a time. A second part measures the noise: one pre-trained
checkpoint fine-tuned with several seeds, and one run repeated.

Writes ``OUT/evidence.json`` (every run) and ``OUT/evidence.rst`` (the
tables the docs include), and prints the tables.

    python examples/learning_evidence.py --seeds 0 1 2 3 4 --out runs/evidence
"""
import json
import statistics
from pathlib import Path
from typing import Dict, List

from torch_skeleton_mae.engine.protocols import (
    ArgumentParser,
    command_line,
    finetune,
    pretrain,
)
from torch_skeleton_mae.utils import machine

#: The paper preset's flags: its defaults, and the target's gradient named,
#: so that every row keeps its meaning if that default changes.
PRESET = ['--no-literal-target']
#: The flags of each configuration.
CONFIGS = {
    'paper preset': PRESET,
    'earlier defaults': ['--target', 'input', '--score', '--joint-embedding',
                         '--embedding-bias', '--mask', 'random-parts:3',
                         '--noise', '0', '--person-interaction'],
    '+ input target': PRESET + ['--target', 'input'],
    '+ literal target (no stop-gradient)': ['--literal-target'],
    '+ affine embedding (bias)': PRESET + ['--embedding-bias'],
    '+ score channel': PRESET + ['--score'],
    '+ joint embedding': PRESET + ['--joint-embedding'],
    '+ 3 random regions': PRESET + ['--mask', 'random-parts:3'],
}
#: Which program takes each flag (and whether it takes a value): fine-tuning
#: gets the flags that change the data or the STRL architecture, so that a
#: configuration's scratch baseline is the same model as its fine-tuned one.
ROUTES = {'--target': ('pretrain', 1), '--literal-target': ('pretrain', 0),
          '--no-literal-target': ('pretrain', 0),
          '--mask': ('pretrain', 1), '--score': ('both', 0),
          '--joint-embedding': ('both', 0), '--embedding-bias': ('both', 0),
          '--noise': ('both', 1), '--person-interaction': ('finetune', 0)}


def route(flags: List[str], program: str) -> List[str]:
    r"""The part of a configuration's :obj:`flags` that :obj:`program`
    (:obj:`"pretrain"` or :obj:`"finetune"`) takes."""
    out, i = [], 0
    while i < len(flags):
        target, values = ROUTES[flags[i]]
        if target in (program, 'both'):
            out += flags[i:i + 1 + values]
        i += 1 + values
    return out


def summary(values: List[float]) -> Dict[str, float]:
    return dict(mean=statistics.mean(values),
                std=statistics.stdev(values) if len(values) > 1 else 0.0,
                runs=values)


def folder(name: str) -> str:
    return ''.join(c if c.isalnum() else '_' for c in name).strip('_')


def run_config(name: str, flags: List[str], seeds: List[int], out: Path,
               common: List[str], tune: List[str],
               scratch: Dict[tuple, float]) -> Dict:
    rows = []
    tune = tune + route(flags, 'finetune')
    for seed in seeds:
        run = out / folder(name) / f'seed{seed}'
        seeded = common + ['--seed', str(seed)]
        result = pretrain(seeded + route(flags, 'pretrain') + [
            '--no-probe', '--out', str(run / 'pretrain')])
        last = result['history'][-1]
        tuned = finetune(seeded + tune + [
            '--pretrained', str(run / 'pretrain' / 'last.pt'), '--out',
            str(run / 'finetune')])
        key = (seed, ) + tuple(route(flags, 'finetune'))
        if key not in scratch:
            scratch[key] = finetune(seeded + tune + [
                '--out', str(out / 'scratch' / folder('_'.join(map(str, key))))
            ])['top1']
        rows.append(dict(seed=seed, pretrain_loss=last['loss'],
                         target_spread=last['target_spread'],
                         pretrained=tuned['top1'], scratch=scratch[key]))
    gains = [r['pretrained'] - r['scratch'] for r in rows]
    return dict(flags=flags, runs=rows,
                pretrained=summary([r['pretrained'] for r in rows]),
                scratch=summary([r['scratch'] for r in rows]),
                gain=summary(gains), wins=sum(g > 0 for g in gains),
                target_spread=summary([r['target_spread'] for r in rows]),
                pretrain_loss=summary([r['pretrain_loss'] for r in rows]))


def noise(out: Path, common: List[str], tune: List[str], seeds: List[int],
          checkpoint_seed: int) -> Dict:
    r"""The paper preset's checkpoint of :obj:`checkpoint_seed` fine-tuned
    with every seed, and its first fine-tuning repeated."""
    checkpoint = out / folder('paper preset') / f'seed{checkpoint_seed}' / (
        'pretrain/last.pt')
    tops = []
    for seed in seeds:
        tops.append(finetune(common + tune + [
            '--seed', str(seed), '--pretrained', str(checkpoint), '--out',
            str(out / 'noise' / f'finetune_seed{seed}')])['top1'])
    repeat = finetune(common + tune + [
        '--seed', str(seeds[0]), '--pretrained', str(checkpoint), '--out',
        str(out / 'noise' / 'repeat')])['top1']
    return dict(checkpoint_seed=checkpoint_seed,
                finetune_seeds=summary(tops), repeat=[tops[0], repeat])


def pct(x: float) -> str:
    return f'{100 * x:.1f}'


def spread(stat: Dict[str, float]) -> str:
    if len(stat['runs']) == 1:
        return pct(stat['mean'])
    return f"{pct(stat['mean'])} +- {pct(stat['std'])}"


def tables(evidence: Dict) -> str:
    r"""The reST tables of :obj:`evidence` (what docs/results.rst includes)."""
    seeds = evidence['seeds']
    lines = [
        '.. list-table::', '   :header-rows: 1', '',
        '   * - Configuration', '     - Pre-trained', '     - Scratch',
        '     - Gain (paired)', '     - Seeds won',
        '     - Pre-training loss', '     - Target spread']
    for name, c in evidence['configs'].items():
        lines += [
            f'   * - {name}',
            f"     - {spread(c['pretrained'])}",
            f"     - {spread(c['scratch'])}",
            f"     - {spread(c['gain'])}",
            f"     - {c['wins']} of {len(seeds)}",
            f"     - {c['pretrain_loss']['mean']:.3f}",
            f"     - {c['target_spread']['mean']:.2f}",
        ]
    per_seed = [
        f"{name}: " + ', '.join(f"{pct(r['pretrained'])} / {pct(r['scratch'])}"
                                for r in c['runs'])
        for name, c in evidence['configs'].items()]
    lines += ['', f'Per seed {seeds} (pre-trained / scratch top-1): ' +
              '; '.join(per_seed) + '.', '']
    if 'machine' in evidence:  # files of earlier versions lack it
        lines += [f"Run on {evidence['machine']}.", '']
    n = evidence.get('noise')
    if n:
        f = n['finetune_seeds']
        lines += [
            f"Noise: the paper preset's checkpoint of seed "
            f"{n['checkpoint_seed']} fine-tuned with seeds {seeds}: "
            f"{spread(f)} "
            f"({', '.join(pct(v) for v in f['runs'])}); the same "
            f"fine-tuning run twice: {pct(n['repeat'][0])} and "
            f"{pct(n['repeat'][1])}.", '']
    return '\n'.join(lines)


def main(argv=None):
    parser = ArgumentParser(
        description='Pre-trained vs scratch STRL fine-tuning at 10% labels on '
        'the synthetic set, per configuration and seed.')
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    parser.add_argument('--semi', type=float, default=0.1,
                        help='fraction of labels for fine-tuning')
    parser.add_argument('--configs', nargs='+', default=list(CONFIGS),
                        choices=list(CONFIGS), metavar='CONFIG',
                        help=f'default: all of {list(CONFIGS)}')
    parser.add_argument('--out', type=Path, default=Path('runs/evidence'))
    parser.add_argument('--workers', type=int, default=0,
                        help='DataLoader workers (0: read in this process, '
                        'the fastest for these small synthetic batches)')
    parser.add_argument('--no-noise', action='store_true',
                        help='skip the fine-tuning noise measurement')
    parser.add_argument('--tables', type=Path, default=None,
                        metavar='EVIDENCE_JSON',
                        help='only write the tables of an evidence.json '
                        'again, beside it (after a change of their format)')
    args, extra = parser.parse_known_args(argv)
    if args.tables is not None:
        if not args.tables.is_file():
            parser.error(f"--tables: no file '{args.tables}'")
        text = tables(json.loads(args.tables.read_text()))
        args.tables.with_suffix('.rst').write_text(text)
        print(text)
        return None
    common = ['--workers', str(args.workers)] + extra
    # Fine-tuning evaluates once, at the end: only the final top-1 counts.
    tune = ['--semi', str(args.semi), '--eval-every', '100000']
    scratch: Dict[tuple, float] = {}
    evidence = dict(seeds=args.seeds, semi=args.semi, extra_flags=extra,
                    machine=machine(), configs={})
    args.out.mkdir(parents=True, exist_ok=True)
    for name in args.configs:
        evidence['configs'][name] = run_config(
            name, CONFIGS[name], args.seeds, args.out, common, tune, scratch)
        # Kept after every configuration: a long run that stops loses less.
        (args.out / 'evidence.json').write_text(json.dumps(evidence, indent=1))
    if not args.no_noise and 'paper preset' in args.configs:
        evidence['noise'] = noise(args.out, common, tune, args.seeds,
                                  args.seeds[0])
        (args.out / 'evidence.json').write_text(json.dumps(evidence, indent=1))
    text = tables(evidence)
    (args.out / 'evidence.rst').write_text(text)
    print(text)
    return evidence


if __name__ == '__main__':
    command_line(main)
