r"""Does SkeletonMAE pre-training help on real motion?

On NW-UCLA (Kinect v1 3D, cross-view) and Penn Action (2D, its own split),
with the recipe for small real sets, for every configuration and seed:
pre-training on the training split, then

* linear probes of the pre-trained and of a random encoder (paired);
* the masked-joint error on the test split beside trivial predictors (each
  masked joint at its mean position, the mirrored limb, the nearest
  unmasked joint): a pre-training that cannot beat them learned nothing;
* STRL fine-tuned on 10% of the training labels and (``--full-seeds``) on
  all of them, from the pre-trained encoder and, paired with it, from
  scratch (the same seed, data and architecture);

and the fine-tuning noise: the paper preset's checkpoint of the first seed
fine-tuned on 10% of the labels with every seed. Further flags go to every
run (*e.g.* ``--epochs``). The configurations are
the paper's preset, the preset whose decoder sees the masked joints'
encodings (``--no-remask``: with re-masking, a masked joint whose neighbours
are all masked, such as the wrist of a masked arm, gets a constant
reconstruction), and the preset pre-trained on synthetic motion in the same
layout beside the training split (``--synthetic-seeds``).

Writes ``OUT/real_evidence.json`` (every run, after each one) and
``OUT/real_evidence.rst`` (the tables the docs include)::

    OMP_NUM_THREADS=1 python examples/real_evidence.py --jobs 2 \
        --data-root ../shared/data --seeds 0 1 2 3 4 --out runs/real
"""
import csv
import json
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional

sys.path.insert(0, str(Path(__file__).parent))  # also when imported
from learning_evidence import (  # noqa: E402
    Run,
    execute,
    folder,
    label,
    pct,
    rewrite_tables,
    spread,
    summary,
)
from torch_skeleton_mae.engine.protocols import (  # noqa: E402
    ArgumentParser,
    command_line,
    finetune_command,
    pretrain_command,
)
from torch_skeleton_mae.engine.reconstruction import (  # noqa: E402
    BASELINES,
)
from torch_skeleton_mae.utils import machine  # noqa: E402

#: Each dataset's folder below --data-root and its benchmark.
DATASETS = {'nw-ucla': ('nw_ucla/all_sqe', 'xview'),
            'penn-action': ('penn_action/labels', 'none')}
PRESET, NO_REMASK, SYNTHETIC = ('paper preset', '+ no re-masking',
                                '+ synthetic motion')
#: The configurations: the preset, the preset whose decoder sees the
#: masked joints' encodings, and the preset pre-trained beside
#: --synthetic-sequences synthetic sequences.
CONFIGS = (PRESET, NO_REMASK, SYNTHETIC)
#: The fine-tuning protocols: label fraction (None: all labels).
PROTOCOLS = {'10% labels': 0.1, 'all labels': None}


#: The parts of the evidence, in the order they run, each with its seeds.
PARTS = ('preset', 'noise', 'full', 'no_remask', 'synthetic')


def plan(datasets: List[str], root: Path, seeds: Dict[str, List[int]],
         out: Path, extra: List[str],
         synthetic: int = 2000) -> Dict[tuple, Run]:
    r"""Every run by key, in the order they are started, seed by seed
    and the datasets side by side, part by part (:data:`PARTS`, each with
    its :obj:`seeds`): the preset's pre-training and 10% fine-tuning (with
    scratch), the noise runs, the preset's fine-tuning on all labels, the
    no-re-masking and the synthetic configurations' pre-training and 10%
    fine-tuning; :obj:`extra` flags go to every run."""
    runs: Dict[tuple, Run] = {}

    def data_flags(dataset: str, seed: int) -> List[str]:
        path, split = DATASETS[dataset]
        return ['--data', str(root / path), '--dataset', dataset,
                '--split', split, '--workers', '0', '--seed',
                str(seed)] + extra

    def pretraining(dataset: str, config: str, seed: int) -> tuple:
        # The key of a configuration's pre-training, and its run.
        key = ('pretrain', dataset, folder(config), seed)
        flags = {PRESET: [], NO_REMASK: ['--no-remask'],
                 SYNTHETIC: ['--synthetic', str(synthetic)]}[config]
        runs.setdefault(key, (
            pretrain_command, data_flags(dataset, seed) + flags + [
                '--out', str(out.joinpath(*key[1:3], f'seed{seed}',
                                          'pretrain'))], None))
        return key

    def tune(dataset: str, protocol: str, seed: int, to: Path,
             source: Optional[tuple] = None) -> Run:
        # Fine-tuning from the pre-training `source` (a key), or scratch.
        fraction = PROTOCOLS[protocol]
        flags = data_flags(dataset, seed) + ['--eval-every', '100000',
                                             '--out', str(to)]
        if fraction is not None:
            flags += ['--semi', str(fraction)]
        if source is None:
            return finetune_command, flags, None
        checkpoint = Path(runs[source][1][-1]) / 'last.pt'
        return (finetune_command,
                flags + ['--pretrained', str(checkpoint)], source)

    def add(dataset: str, config: str, seed: int,
            protocols: List[str]) -> None:
        source = pretraining(dataset, config, seed)
        for protocol in protocols:
            runs[protocol, dataset, folder(config), seed] = tune(
                dataset, protocol, seed, out.joinpath(
                    *source[1:3], f'seed{seed}', folder(protocol)), source)
            runs.setdefault((protocol, dataset, 'scratch', seed), tune(
                dataset, protocol, seed,
                out / dataset / 'scratch' / f'seed{seed}' / folder(protocol)))

    for seed in seeds['preset']:
        for dataset in datasets:
            add(dataset, PRESET, seed, ['10% labels'])
    for seed in seeds['noise']:
        for dataset in datasets:
            runs['noise', dataset, seed] = tune(
                dataset, '10% labels', seed,
                out / dataset / 'noise' / f'seed{seed}',
                pretraining(dataset, PRESET, seeds['preset'][0]))
    for seed in seeds['full']:
        for dataset in datasets:
            add(dataset, PRESET, seed, ['all labels'])
    for part, config in (('no_remask', NO_REMASK), ('synthetic', SYNTHETIC)):
        for seed in seeds[part]:
            for dataset in datasets:
                add(dataset, config, seed, ['10% labels'])
    return runs


def finished(program, argv: List[str]) -> Optional[Dict[str, Any]]:
    r"""The result of a run whose final reports are in its :obj:`--out`
    (an earlier invocation's, stopped later), read back rather than run
    again: each run is deterministic on one machine and thread count. A run
    stopped half-way gets :obj:`--resume` (bit-identical)."""
    out = Path(argv[argv.index('--out') + 1])
    if program is not pretrain_command:
        report = out / 'finetune_eval.json'
        if report.is_file():
            return json.loads(report.read_text())
    elif all((out / f'{name}.json').is_file() for name in (
            'probe', 'probe_random', 'reconstruction')):
        with open(out / 'pretrain.csv') as f:
            history = [{k: float(v) for k, v in row.items()}
                       for row in csv.DictReader(f)]
        return dict(history=history, reconstruction=json.loads(
            (out / 'reconstruction.json').read_text()), **{
                key: json.loads((out / f'{name}.json').read_text())['top1']
                for key, name in (('probe', 'probe'),
                                  ('random_probe', 'probe_random'))})
    if (out / 'last.pt').is_file():
        argv.append('--resume')
    return None


def paired(rows: List[Dict[str, float]], a: str, b: str) -> Dict[str, Any]:
    r"""Summaries of columns :obj:`a` and :obj:`b` of :obj:`rows` and of
    their paired difference :obj:`a - b`."""
    gains = [r[a] - r[b] for r in rows]
    return dict(seeds=[r['seed'] for r in rows],
                **{a: summary([r[a] for r in rows]),
                   b: summary([r[b] for r in rows])},
                gain=summary(gains), wins=sum(g > 0 for g in gains))


def collect(datasets: List[str], results: Dict[tuple, Any]) -> Dict:
    r"""The finished runs as tables: per dataset and configuration the
    probes, the reconstruction, each fine-tuning protocol; the noise."""
    evidence: Dict[str, Any] = {}
    for dataset in datasets:
        tables: Dict[str, Any] = {}
        for config in CONFIGS:
            name = folder(config)
            pre = {k[3]: v for k, v in results.items()
                   if k[:3] == ('pretrain', dataset, name)}
            if not pre:
                continue
            seeds = sorted(pre)
            entry = dict(
                probe=paired([dict(seed=s, pretrained=pre[s]['probe'],
                                   random=pre[s]['random_probe'])
                              for s in seeds], 'pretrained', 'random'),
                reconstruction={k: summary([pre[s]['reconstruction'][k]
                                            for s in seeds])
                                for k in ('model', ) + BASELINES
                                if pre[seeds[0]]['reconstruction'][k]
                                is not None},
                pretrain_loss=summary([pre[s]['history'][-1]['loss']
                                       for s in seeds]))
            for protocol in PROTOCOLS:
                rows = [dict(seed=s, pretrained=results[
                    protocol, dataset, name, s]['top1'], scratch=results[
                        protocol, dataset, 'scratch', s]['top1'])
                    for s in seeds
                    if (protocol, dataset, name, s) in results
                    and (protocol, dataset, 'scratch', s) in results]
                if rows:
                    entry[protocol] = paired(rows, 'pretrained', 'scratch')
            tables[config] = entry
        noise = sorted((k[2], v['top1']) for k, v in results.items()
                       if k[:2] == ('noise', dataset))
        if noise:
            tables['noise'] = dict(seeds=[s for s, _ in noise],
                                   **summary([t for _, t in noise]))
        evidence[dataset] = tables
    return evidence


def tables(evidence: Dict) -> str:
    r"""The reST tables of :obj:`evidence` (what docs/results.rst
    includes)."""
    lines: List[str] = []
    head = ['.. list-table::', '   :header-rows: 1', '']
    for dataset, tables_ in evidence['datasets'].items():
        configs = {k: v for k, v in tables_.items() if k != 'noise'}
        lines += [f'**{dataset}**', ''] + head + [
            '   * - Configuration', '     - Measure', '     - Pre-trained',
            '     - Baseline', '     - Gain (paired)', '     - Seeds won']
        for config, entry in configs.items():
            for measure, baseline in (('probe', 'random'),
                                      *((p, 'scratch') for p in PROTOCOLS)):
                if measure not in entry:
                    continue
                m = entry[measure]
                what = ('linear probe (random encoder)' if measure == 'probe'
                        else f'STRL, {measure} (scratch)')
                lines += [f'   * - {label(config)}', f'     - {what}',
                          f"     - {spread(m['pretrained'])}",
                          f"     - {spread(m[baseline])}",
                          f"     - {spread(m['gain'])}",
                          f"     - {m['wins']} of {len(m['seeds'])}"]
        lines += [''] + head + ['   * - Configuration',
                                '     - Pre-training loss'] + [
            f"     - {k.replace('_', ' ')}" for k in ('model', ) + BASELINES]
        for config, entry in configs.items():
            rec = entry['reconstruction']
            lines += [f'   * - {label(config)}',
                      f"     - {entry['pretrain_loss']['mean']:.3f}"] + [
                f"     - {rec[k]['mean']:.3f} +- {rec[k]['std']:.3f}"
                if k in rec else '     - n/a' for k in ('model', ) + BASELINES]
        lines.append('')
        per_seed = [
            f"{config}, {measure}: " + ', '.join(
                f"{pct(a)} / {pct(b)}" for a, b in zip(
                    entry[measure]['pretrained']['runs'],
                    entry[measure]['random' if measure == 'probe' else
                                   'scratch']['runs']))
            for config, entry in configs.items()
            for measure in ('probe', *PROTOCOLS) if measure in entry]
        lines += ['Per seed (pre-trained / baseline top-1): ' +
                  '; '.join(per_seed) + '.', '']
        n = tables_.get('noise')
        if n:
            lines += [f"Noise: the paper preset's checkpoint of the first "
                      f"seed fine-tuned on 10% of the labels with seeds "
                      f"{n['seeds']}: {spread(n)} "
                      f"({', '.join(pct(v) for v in n['runs'])}).", '']
    lines += [f"Run on {evidence['machine']}.", '']
    return '\n'.join(lines)


NAMES = {'nw-ucla': 'NW-UCLA', 'penn-action': 'Penn Action'}


def signed(stat: Dict[str, Any]) -> str:
    return f"{100 * stat['mean']:+.1f} +- {100 * stat['std']:.1f}"


def readme_sentence(evidence: Dict) -> str:
    r"""What the paper preset did on each dataset, in one sentence: the
    README quotes it (a test checks that it still matches the files)."""
    parts = []
    for dataset, tables_ in evidence['datasets'].items():
        entry = tables_[PRESET]
        probe = entry['probe']
        gains = [f"the linear probe gains {signed(probe['gain'])} points "
                 f"over a random encoder ({probe['wins']} of "
                 f"{len(probe['seeds'])} seeds)"]
        gains += [f"STRL fine-tuned on {protocol} "
                  f"{signed(entry[protocol]['gain'])} over scratch "
                  f"({entry[protocol]['wins']} of "
                  f"{len(entry[protocol]['seeds'])})"
                  for protocol in PROTOCOLS if protocol in entry]
        rec = entry['reconstruction']
        names = {k: k.replace('_', ' ') for k in BASELINES if k in rec}
        beaten = [v for k, v in names.items()
                  if rec['model']['mean'] < rec[k]['mean']]
        lost = [v for k, v in names.items()
                if rec['model']['mean'] >= rec[k]['mean']]
        reconstruction = ('the masked-joint reconstruction beats the '
                          + (' and '.join(beaten) or 'no') + ' predictor'
                          + ('s' if len(beaten) > 1 else ''))
        if lost:
            reconstruction += ' but not the ' + ' or '.join(lost)
        parts.append(f"on {NAMES[dataset]} " + ', '.join(gains) + ', and '
                     + reconstruction)
    return ("With the paper's method on real motion (paired gains, mean +- "
            "standard deviation over seeds): " + '; '.join(parts) + '.')


def main(argv=None):
    parser = ArgumentParser(
        description='Pre-trained vs random and scratch encoders on NW-UCLA '
        'and Penn Action, per seed.')
    parser.add_argument('--data-root', type=Path, default=Path('../shared/'
                                                               'data'),
                        help='the folder holding nw_ucla/ and penn_action/')
    parser.add_argument('--datasets', nargs='+', default=list(DATASETS),
                        choices=list(DATASETS))
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2, 3,
                                                                 4],
                        help="the paper preset's seeds, and every part's "
                        "default")
    for part, what in (('noise', "the noise runs' fine-tuning"),
                       ('full', 'the fine-tuning on all labels'),
                       ('no-remask', 'the configuration without '
                        're-masking'),
                       ('synthetic', 'the configuration pre-trained with '
                        'synthetic motion')):
        parser.add_argument(f'--{part}-seeds', type=int, nargs='*',
                            default=None, help=f'seeds of {what}')
    parser.add_argument('--synthetic-sequences', type=int, default=2000,
                        metavar='N', help='synthetic sequences beside the '
                        'training split in the second configuration')
    parser.add_argument('--out', type=Path, default=Path('runs/real'))
    parser.add_argument('--jobs', type=int, default=1,
                        help='runs at a time, each in its own process')
    parser.add_argument('--tables', type=Path, default=None,
                        metavar='EVIDENCE_JSON',
                        help='only write the tables of a real_evidence.json '
                        'again, beside it')
    args, extra = parser.parse_known_args(argv)
    if args.jobs < 1:
        parser.error(f'--jobs must be positive, got {args.jobs}')
    if args.tables is not None:
        return rewrite_tables(parser, args.tables, tables)
    for dataset in args.datasets:
        if not (args.data_root / DATASETS[dataset][0]).is_dir():
            parser.error(f'--data-root {args.data_root}: no '
                         f'{DATASETS[dataset][0]} folder')
    seeds = {part: args.seeds if getattr(args, f'{part}_seeds', None) is None
             else getattr(args, f'{part}_seeds') for part in PARTS}
    seeds['preset'] = args.seeds
    runs = plan(args.datasets, args.data_root, seeds, args.out, extra,
                args.synthetic_sequences)
    evidence = dict(seeds=seeds,
                    synthetic_sequences=args.synthetic_sequences,
                    extra_flags=extra,
                    machine=machine(), datasets={})
    args.out.mkdir(parents=True, exist_ok=True)

    def progress(results: Dict[tuple, Any]) -> None:
        evidence['datasets'] = collect(args.datasets, results)
        evidence['runs'] = {'/'.join(map(str, k)): v.get(
            'top1', v.get('probe')) for k, v in results.items()}
        (args.out / 'real_evidence.json').write_text(
            json.dumps(evidence, indent=1))
        (args.out / 'real_evidence.rst').write_text(tables(evidence))
        if all(PRESET in t for t in evidence['datasets'].values()):
            (args.out / 'real_evidence_readme.txt').write_text(
                readme_sentence(evidence) + '\n')

    done = {key: result for key, (program, argv, _) in runs.items()
            if (result := finished(program, argv)) is not None}
    if done:
        print(f'{len(done)} of {len(runs)} runs finished earlier in '
              f'{args.out}: read back')
    execute(runs, args.jobs, progress, done)
    text = tables(evidence)
    print(text)
    return evidence


if __name__ == '__main__':
    command_line(main)
