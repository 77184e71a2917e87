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

    python experiments/learning_evidence.py --seeds 0 1 2 3 4 \
        --out runs/evidence

The docs' tables ran with one thread per process (results hold for one
machine and thread count); ``--jobs`` runs one process per core:

    OMP_NUM_THREADS=1 python experiments/learning_evidence.py --jobs 2 \
        --seeds 0 1 2 3 4 --out runs/evidence

Fine-tuning follows the semi-supervised quick recipe; the docs' earlier
tables pin the earlier one with ``--finetune-epochs 60
--finetune-milestones 45 55``.
"""
import dataclasses
import json
import multiprocessing
import statistics
from concurrent.futures import (
    FIRST_COMPLETED,
    Future,
    ProcessPoolExecutor,
    wait,
)
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

import torch

from torch_skeleton_mae.engine import (
    QUICK,
    RunOptions,
    finetune,
    load_data,
    pretrain,
)
from torch_skeleton_mae.engine.checkpoint import seed_everything
from torch_skeleton_mae.engine.training import SYNTHETIC_SAMPLES
from torch_skeleton_mae.engine.cli import command_line
from torch_skeleton_mae.engine.flags import ArgumentParser
from torch_skeleton_mae.nn import STRL, SkeletonMAE
from torch_skeleton_mae.utils import machine


@dataclass(frozen=True)
class Config:
    r"""One configuration: the settings it gives SkeletonMAE (:obj:`mae`),
    both models (:obj:`shared`: the embedding's), STRL (:obj:`strl`), the
    data (:obj:`data`) and both recipes (:obj:`recipe`). A configuration's
    scratch baseline is the STRL of its :obj:`shared`, :obj:`strl`,
    :obj:`data` and :obj:`recipe` settings."""
    mae: Dict[str, Any] = field(default_factory=dict)
    shared: Dict[str, Any] = field(default_factory=dict)
    strl: Dict[str, Any] = field(default_factory=dict)
    data: Dict[str, Any] = field(default_factory=dict)
    recipe: Dict[str, Any] = field(default_factory=dict)

    def scratch(self) -> Dict[str, Any]:
        r"""What the scratch baseline depends on, in a fixed order."""
        return {**self.data, **self.shared, **self.recipe, **self.strl}


#: The configurations by name. (The docs' tables also hold rows of options
#: that these measurements led us to remove: a centred target, the literal
#: target without stop-gradient, an affine or per-joint embedding, random
#: regions, person-interaction pooling.)
CONFIGS = {
    'paper preset': Config(),
    '+ input target': Config(dict(target='input')),
    '+ score channel': Config(data=dict(score=True)),
}


@dataclass(frozen=True)
class Setup:
    r"""What every run shares: the synthetic data's size, the two recipes
    (the quick preset's, the semi-supervised one for fine-tuning) and the
    run options."""
    samples: int
    semi: float
    pretrain: Any
    finetune: Any
    workers: int

    def options(self, seed: int, evaluate: bool) -> RunOptions:
        # Fine-tuning evaluates once, at the end: only the final top-1
        # counts.
        return RunOptions(seed=seed, workers=self.workers,
                          eval_every=100000 if evaluate else 5)


#: One run: a function that builds the call (the program, :func:`pretrain`
#: or :func:`finetune`, and its arguments) when the run it needs (its key,
#: or :obj:`None`) has finished.
Run = Tuple[Callable[[], Tuple[Callable, tuple]], Optional[tuple]]


def pretraining(setup: Setup, config: Config, seed: int,
                out: Path) -> Callable[[], Tuple[Callable, tuple]]:
    r"""The call of one pre-training (built when the run starts)."""
    def build():
        recipe = dataclasses.replace(setup.pretrain, **config.recipe)
        seed_everything(seed)
        data = load_data(frames=recipe.frames, samples=setup.samples,
                         **config.data)
        model = SkeletonMAE(data.layout, data.channels, **config.mae,
                            **config.shared)
        return pretrain, (model, data, recipe, out, setup.options(seed, False))
    return build


def fine_tuning(setup: Setup, config: Config, seed: int, out: Path,
                checkpoint: Optional[Path] = None
                ) -> Callable[[], Tuple[Callable, tuple]]:
    r"""The call of one fine-tuning at :obj:`setup.semi` of the labels: of
    the pre-training :obj:`checkpoint`, or from scratch."""
    def build():
        recipe = dataclasses.replace(setup.finetune, **config.recipe)
        seed_everything(seed)
        data = load_data(frames=recipe.frames, samples=setup.samples,
                         semi=setup.semi, **config.data)
        settings = dict(config.strl)
        if checkpoint is None:
            model = STRL(data.layout, data.channels, data.num_classes,
                         **config.shared, **settings)
        else:
            model = STRL.from_pretrained(checkpoint, data.num_classes,
                                         **settings)
        return finetune, (model, data, recipe, out,
                          setup.options(seed, True))
    return build


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


def scratch_key(seed: int, config: Config) -> tuple:
    r"""The key of the scratch run that pairs with a configuration's
    :obj:`seed`: the seed and what the scratch STRL depends on."""
    return ('scratch', seed) + tuple(
        f'{k}={v}' for k, v in config.scratch().items())


def plan(configs: List[str], seeds: List[int], out: Path, setup: Setup,
         noise: bool) -> Dict[tuple, Run]:
    r"""Every run of the evidence, by key, in the order one process runs
    them: for each configuration and seed a pre-training and the
    fine-tuning from its checkpoint, the scratch fine-tuning of each seed and
    STRL (shared by the configurations that agree), and, with :obj:`noise`,
    the paper preset's checkpoint of the first seed fine-tuned with every
    seed and its first fine-tuning repeated."""
    runs: Dict[tuple, Run] = {}
    for name in configs:
        config = CONFIGS[name]
        for seed in seeds:
            checkpoint = checkpoint_of(out, name, seed)
            runs['pretrain', name, seed] = (pretraining(
                setup, config, seed, checkpoint.parent), None)
            runs['finetune', name, seed] = (fine_tuning(
                setup, config, seed, checkpoint.parent.parent / 'finetune',
                checkpoint), ('pretrain', name, seed))
            key = scratch_key(seed, config)
            runs.setdefault(key, (fine_tuning(
                setup, config, seed, out / 'scratch' / folder(
                    '_'.join(map(str, key[1:])))), None))
    if noise:
        preset = CONFIGS['paper preset']
        checkpoint = checkpoint_of(out, 'paper preset', seeds[0])
        needs = ('pretrain', 'paper preset', seeds[0])
        for seed in seeds:
            runs['noise', seed] = (fine_tuning(
                setup, preset, seed, out / 'noise' / f'finetune_seed{seed}',
                checkpoint), needs)
        runs['noise', 'repeat'] = (fine_tuning(
            setup, preset, seeds[0], out / 'noise' / 'repeat', checkpoint),
            needs)
    return runs


def outcome(result: Any) -> Dict[str, Any]:
    r"""What the evidence keeps of a run: its history and, for a
    fine-tuning, its final evaluation."""
    report = getattr(result, 'report', None)
    return dict(history=result.history,
                **(report.summary() if report is not None else {}))


def _call(program: Callable, arguments: tuple) -> Dict[str, Any]:
    return outcome(program(*arguments))


def execute(runs: Dict[tuple, Run], jobs: int,
            progress: Callable[[Dict[tuple, Any]], None]) -> Dict[tuple, Any]:
    r"""Runs every run of :obj:`runs` after the run it needs, in this
    process (:obj:`jobs=1`, in order) or in :obj:`jobs` spawned processes
    with this process's intra-op thread count (each run is built and seeded
    here and seeds its training itself, so the results are the same). Calls
    :obj:`progress` with the results so far after every run; the first
    error stops the rest and is raised."""
    results: Dict[tuple, Any] = {}
    waiting = dict(runs)
    if jobs == 1:
        for key, (build, _) in waiting.items():
            results[key] = _call(*build())
            progress(results)
        return results
    # The package's programs, the model and the data travel to the pool.
    context = multiprocessing.get_context('spawn')
    with ProcessPoolExecutor(jobs, mp_context=context,
                             initializer=torch.set_num_threads,
                             initargs=(torch.get_num_threads(), )) as pool:
        running: Dict[Future, tuple] = {}
        try:
            while waiting or running:
                for key, (build, needs) in list(waiting.items()):
                    if needs is None or needs in results:
                        program, arguments = build()
                        running[pool.submit(program, *arguments)] = key
                        del waiting[key]
                finished, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in finished:
                    results[running.pop(future)] = outcome(future.result())
                progress(results)
        except BaseException:
            pool.shutdown(cancel_futures=True)
            raise
    return results


def config_summary(name: str, seeds: List[int],
                   results: Dict[tuple, Any]) -> Optional[Dict]:
    r"""A configuration's runs, their summaries and its wins over scratch,
    or :obj:`None` while any of its runs is still missing."""
    config = CONFIGS[name]
    keys = [k for seed in seeds for k in (
        ('pretrain', name, seed), ('finetune', name, seed),
        scratch_key(seed, config))]
    if any(k not in results for k in keys):
        return None
    rows = []
    for seed in seeds:
        last = results['pretrain', name, seed]['history'][-1]
        rows.append(dict(seed=seed, pretrain_loss=last['loss'],
                         target_spread=last['target_spread'],
                         pretrained=results['finetune', name, seed]['top1'],
                         scratch=results[scratch_key(seed, config)]['top1']))
    gains = [r['pretrained'] - r['scratch'] for r in rows]
    return dict(settings=json.loads(json.dumps(dataclasses.asdict(config))),
                runs=rows,
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
    add = parser.add_argument
    add('--seeds', type=int, nargs='+', default=[0, 1, 2])
    add('--semi', type=float, default=0.1,
        help='fraction of labels for fine-tuning')
    add('--configs', nargs='+', default=list(CONFIGS), choices=list(CONFIGS),
        metavar='CONFIG', help=f'default: all of {list(CONFIGS)}')
    add('--out', type=Path, default=Path('runs/evidence'))
    add('--workers', type=int, default=0,
        help='loader workers (0: read in this process, the fastest for '
        'these small synthetic batches)')
    add('--jobs', type=int, default=1,
        help='runs at a time, each in its own process (the same results as '
        'one at a time); with OMP_NUM_THREADS=1, one per core')
    add('--samples', type=int, default=SYNTHETIC_SAMPLES,
        help='synthetic sequences')
    for name in ('epochs', 'frames', 'batch_size'):
        add(f"--{name.replace('_', '-')}", type=int, default=None,
            help="both recipes' (default: the quick preset's)")
    add('--finetune-epochs', type=int, default=None, metavar='N',
        help="fine-tuning epochs (default: the semi-supervised recipe's)")
    add('--finetune-milestones', type=int, nargs='+', default=None,
        metavar='EPOCH', help='fine-tuning epochs that divide the rate by 10')
    add('--no-noise', action='store_true',
        help='skip the fine-tuning noise measurement')
    add('--tables', type=Path, default=None, metavar='EVIDENCE_JSON',
        help='only write the tables of an evidence.json again, beside it '
        '(after a change of their format)')
    args = parser.parse_args(argv)
    if args.jobs < 1:
        parser.error(f'--jobs must be positive, got {args.jobs}')
    if args.tables is not None:
        return rewrite_tables(parser, args.tables, tables)
    both = {name: getattr(args, name) for name in ('epochs', 'frames',
                                                   'batch_size')
            if getattr(args, name) is not None}
    tune = dict(both, **{k: v for k, v in (
        ('epochs', args.finetune_epochs),
        ('milestones', args.finetune_milestones and tuple(
            args.finetune_milestones))) if v is not None})
    setup = Setup(samples=args.samples, semi=args.semi, workers=args.workers,
                  pretrain=dataclasses.replace(QUICK.pretrain, **both),
                  finetune=dataclasses.replace(QUICK.semi, **tune))
    evidence = json.loads(json.dumps(dict(  # as the file will hold it
        seeds=args.seeds, semi=args.semi, samples=args.samples,
        pretrain_recipe=dataclasses.asdict(setup.pretrain),
        finetune_recipe=dataclasses.asdict(setup.finetune),
        machine=machine(), configs={})))
    args.out.mkdir(parents=True, exist_ok=True)
    noise = not args.no_noise and 'paper preset' in args.configs
    runs = plan(args.configs, args.seeds, args.out, setup, noise)

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
