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

    python experiments/learning_evidence.py --seeds 0 1 2 3 4 --out runs/evidence

The docs' tables ran with one thread per process (results hold for one
machine and thread count); ``--jobs`` runs one process per core:

    OMP_NUM_THREADS=1 python experiments/learning_evidence.py --jobs 2 \
        --seeds 0 1 2 3 4 --out runs/evidence

Fine-tuning follows the semi-supervised quick recipe; the docs' earlier
tables pin the earlier one with ``--finetune-epochs 60
--finetune-milestones 45 55``.
"""
import json
import multiprocessing
import statistics
from concurrent.futures import (
    FIRST_COMPLETED,
    Future,
    ProcessPoolExecutor,
    wait,
)
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

import torch

from torch_skeleton_mae.engine.protocols import (
    ArgumentParser,
    build_parser,
    command_line,
    finetune_command,
    pretrain_command,
)
from torch_skeleton_mae.utils import machine

#: The paper preset's flags: its defaults, and the target's gradient and
#: centring named, so that every row keeps its meaning if a default changes.
PRESET = ['--no-literal-target', '--no-center-target']
#: The flags of each configuration.
CONFIGS = {
    'paper preset': PRESET,
    '+ centred target': ['--no-literal-target', '--center-target'],
    'earlier defaults': ['--target', 'input', '--score', '--joint-embedding',
                         '--embedding-bias', '--mask', 'random-parts:3',
                         '--noise', '0', '--person-interaction',
                         '--no-center-target'],
    '+ input target': PRESET + ['--target', 'input'],
    '+ literal target (no stop-gradient)': ['--literal-target',
                                            '--no-center-target'],
    '+ affine embedding (bias)': PRESET + ['--embedding-bias'],
    '+ score channel': PRESET + ['--score'],
    '+ joint embedding': PRESET + ['--joint-embedding'],
    '+ 3 random regions': PRESET + ['--mask', 'random-parts:3'],
}
#: One run: the program (:func:`pretrain` or :func:`finetune`), its command
#: line, and the key of the run it needs first (or :obj:`None`).
Run = Tuple[Callable[[List[str]], Dict], List[str], Optional[tuple]]


def route(flags: List[str], program: str) -> List[str]:
    r"""The part of a configuration's :obj:`flags` that :obj:`program`
    (:obj:`"pretrain"` or :obj:`"finetune"`) takes, as its parser says:
    fine-tuning gets the flags that change the data or the STRL
    architecture, so that a configuration's scratch baseline is the same
    model as its fine-tuned one."""
    actions = {name: build_parser(name)._option_string_actions
               for name in ('pretrain', 'finetune')}
    takes, known = actions[program], {**actions['pretrain'],
                                      **actions['finetune']}
    out, i = [], 0
    while i < len(flags):
        values = 0 if known[flags[i]].nargs == 0 else 1
        if flags[i] in takes:
            out += flags[i:i + 1 + values]
        i += 1 + values
    return out


def summary(values: List[float]) -> Dict[str, float]:
    return dict(mean=statistics.mean(values),
                std=statistics.stdev(values) if len(values) > 1 else 0.0,
                runs=values)


def folder(name: str) -> str:
    return ''.join(c if c.isalnum() else '_' for c in name).strip('_')


def checkpoint_of(out: Path, name: str, seed: int) -> Path:
    r"""Where configuration :obj:`name`'s pre-training of :obj:`seed`
    writes its checkpoint."""
    return out / folder(name) / f'seed{seed}' / 'pretrain' / 'last.pt'


def plan(configs: List[str], seeds: List[int], out: Path, common: List[str],
         tune: List[str], noise: bool) -> Dict[tuple, Run]:
    r"""Every run of the evidence, by key, in the order one process runs
    them: for each configuration and seed a pre-training and the
    fine-tuning from its checkpoint, the scratch fine-tuning of each seed and
    STRL architecture (shared by the configurations that agree), and, with
    :obj:`noise`, the paper preset's checkpoint of the first seed fine-tuned
    with every seed and its first fine-tuning repeated."""
    runs: Dict[tuple, Run] = {}
    for name in configs:
        flags = CONFIGS[name]
        config_tune = tune + route(flags, 'finetune')
        for seed in seeds:
            seeded = common + ['--seed', str(seed)]
            checkpoint = checkpoint_of(out, name, seed)
            runs['pretrain', name, seed] = (pretrain_command, seeded + route(
                flags, 'pretrain') + ['--no-probe', '--out',
                                      str(checkpoint.parent)], None)
            runs['finetune', name, seed] = (
                finetune_command, seeded + config_tune + [
                    '--pretrained', str(checkpoint), '--out',
                    str(checkpoint.parent.parent / 'finetune')],
                ('pretrain', name, seed))
            key = scratch_key(seed, flags)
            runs.setdefault(key, (finetune_command, seeded + config_tune + [
                '--out', str(out / 'scratch' / folder('_'.join(
                    map(str, key[1:]))))], None))
    if noise:
        checkpoint = checkpoint_of(out, 'paper preset', seeds[0])

        def noise_run(seed: int, name: str) -> Run:
            return (finetune_command, common + tune + [
                '--seed', str(seed), '--pretrained', str(checkpoint),
                '--out', str(out / 'noise' / name)],
                ('pretrain', 'paper preset', seeds[0]))

        for seed in seeds:
            runs['noise', seed] = noise_run(seed, f'finetune_seed{seed}')
        runs['noise', 'repeat'] = noise_run(seeds[0], 'repeat')
    return runs


def scratch_key(seed: int, flags: List[str]) -> tuple:
    r"""The key of the scratch run that pairs with a configuration's
    :obj:`seed`: the seed and the fine-tuning flags (the architecture)."""
    return ('scratch', seed) + tuple(route(flags, 'finetune'))


def execute(runs: Dict[tuple, Run], jobs: int,
            progress: Callable[[Dict[tuple, Any]], None],
            done: Optional[Dict[tuple, Any]] = None) -> Dict[tuple, Any]:
    r"""Runs every run of :obj:`runs` after the run it needs, in this
    process (:obj:`jobs=1`, in order) or in :obj:`jobs` spawned processes
    with this process's intra-op thread count (each run seeds itself, so
    the results are the same), except those whose results :obj:`done`
    already holds. Calls :obj:`progress` with the results so far after
    every run; the first error stops the rest and is raised."""
    results: Dict[tuple, Any] = dict(done or {})
    waiting = {k: v for k, v in runs.items() if k not in results}
    if jobs == 1:
        for key, (program, argv, _) in waiting.items():
            results[key] = program(argv)
            progress(results)
        return results
    # Only the package's programs travel to the pool (this script need not
    # be importable there); each process computes with this one's threads.
    context = multiprocessing.get_context('spawn')
    with ProcessPoolExecutor(jobs, mp_context=context,
                             initializer=torch.set_num_threads,
                             initargs=(torch.get_num_threads(), )) as pool:
        running: Dict[Future, tuple] = {}
        try:
            while waiting or running:
                for key, (program, argv, needs) in list(waiting.items()):
                    if needs is None or needs in results:
                        running[pool.submit(program, argv)] = key
                        del waiting[key]
                finished, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in finished:
                    results[running.pop(future)] = future.result()
                progress(results)
        except BaseException:
            pool.shutdown(cancel_futures=True)
            raise
    return results


def config_summary(name: str, seeds: List[int],
                   results: Dict[tuple, Any]) -> Optional[Dict]:
    r"""A configuration's runs, their summaries and its wins over scratch,
    or :obj:`None` while any of its runs is still missing."""
    flags = CONFIGS[name]
    keys = [k for seed in seeds for k in (
        ('pretrain', name, seed), ('finetune', name, seed),
        scratch_key(seed, flags))]
    if any(k not in results for k in keys):
        return None
    rows = []
    for seed in seeds:
        last = results['pretrain', name, seed]['history'][-1]
        rows.append(dict(seed=seed, pretrain_loss=last['loss'],
                         target_spread=last['target_spread'],
                         pretrained=results['finetune', name, seed]['top1'],
                         scratch=results[scratch_key(seed, flags)]['top1']))
    gains = [r['pretrained'] - r['scratch'] for r in rows]
    return dict(flags=flags, runs=rows,
                pretrained=summary([r['pretrained'] for r in rows]),
                scratch=summary([r['scratch'] for r in rows]),
                gain=summary(gains), wins=sum(g > 0 for g in gains),
                target_spread=summary([r['target_spread'] for r in rows]),
                pretrain_loss=summary([r['pretrain_loss'] for r in rows]))


def noise_summary(seeds: List[int], results: Dict[tuple, Any]
                  ) -> Optional[Dict]:
    r"""The fine-tuning noise: the paper preset's checkpoint of the first
    seed fine-tuned with every seed, and its first fine-tuning repeated
    (:obj:`None` while any of these runs is missing)."""
    keys = [('noise', seed) for seed in seeds + ['repeat']]
    if any(k not in results for k in keys):
        return None
    tops = [results['noise', seed]['top1'] for seed in seeds]
    return dict(checkpoint_seed=seeds[0], finetune_seeds=summary(tops),
                repeat=[tops[0], results['noise', 'repeat']['top1']])


def pct(x: float) -> str:
    return f'{100 * x:.1f}'


def spread(stat: Dict[str, float]) -> str:
    if len(stat['runs']) == 1:
        return pct(stat['mean'])
    return f"{pct(stat['mean'])} +- {pct(stat['std'])}"


def label(text: str) -> str:
    r""":obj:`text` as a list-table cell: escaped where it starts with
    what reST would read as a bullet (:obj:`"+ centred target"`)."""
    return '\\' + text if text.startswith(('+', '-', '*')) else text


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
            f'   * - {label(name)}',
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


def rewrite_tables(parser: ArgumentParser, path: Path,
                   render: Callable[[Dict], str]) -> None:
    r"""``--tables``: renders the evidence file :obj:`path` again with
    :obj:`render` into the :obj:`.rst` beside it, and prints it."""
    if not path.is_file():
        parser.error(f"--tables: no file '{path}'")
    text = render(json.loads(path.read_text()))
    path.with_suffix('.rst').write_text(text)
    print(text)


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
    parser.add_argument('--jobs', type=int, default=1,
                        help='runs at a time, each in its own process (the '
                        'same results as one at a time); with '
                        'OMP_NUM_THREADS=1, one per core')
    parser.add_argument('--finetune-epochs', type=int, default=None,
                        metavar='N', help='fine-tuning epochs (default: the '
                        'semi-supervised recipe\'s); other extra flags go '
                        'to both programs')
    parser.add_argument('--finetune-milestones', type=int, nargs='+',
                        default=None, metavar='EPOCH',
                        help='fine-tuning epochs that divide the rate by 10')
    parser.add_argument('--no-noise', action='store_true',
                        help='skip the fine-tuning noise measurement')
    parser.add_argument('--tables', type=Path, default=None,
                        metavar='EVIDENCE_JSON',
                        help='only write the tables of an evidence.json '
                        'again, beside it (after a change of their format)')
    args, extra = parser.parse_known_args(argv)
    if args.jobs < 1:
        parser.error(f'--jobs must be positive, got {args.jobs}')
    if args.tables is not None:
        return rewrite_tables(parser, args.tables, tables)
    common = ['--workers', str(args.workers)] + extra
    # Fine-tuning evaluates once, at the end: only the final top-1 counts.
    tune = ['--semi', str(args.semi), '--eval-every', '100000']
    if args.finetune_epochs is not None:
        tune += ['--epochs', str(args.finetune_epochs)]
    if args.finetune_milestones is not None:
        tune += ['--milestones', *map(str, args.finetune_milestones)]
    evidence = dict(seeds=args.seeds, semi=args.semi, extra_flags=extra,
                    finetune_flags=tune, machine=machine(), configs={})
    args.out.mkdir(parents=True, exist_ok=True)
    noise = not args.no_noise and 'paper preset' in args.configs
    runs = plan(args.configs, args.seeds, args.out, common, tune, noise)

    def progress(results: Dict[tuple, Any]) -> None:
        # Kept as the runs finish: a long run that stops loses less.
        done = {name: config_summary(name, args.seeds, results)
                for name in args.configs}
        evidence['configs'] = {k: v for k, v in done.items() if v}
        measured = noise and noise_summary(args.seeds, results)
        if measured:
            evidence['noise'] = measured
        (args.out / 'evidence.json').write_text(json.dumps(evidence, indent=1))

    execute(runs, args.jobs, progress)
    text = tables(evidence)
    (args.out / 'evidence.rst').write_text(text)
    print(text)
    return evidence


if __name__ == '__main__':
    command_line(main)
