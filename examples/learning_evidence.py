r"""Does pre-training help? On the synthetic dataset, for several seeds:
linear-probe top-1 of the pre-trained encoder vs a randomly initialized one,
and fine-tuning on 10% of the labels from the pre-trained encoder vs from
scratch. Prints a table of means and standard deviations.

    python examples/learning_evidence.py --seeds 0 1 2 --out runs/evidence
"""
import argparse
import json
import statistics
from pathlib import Path

from torch_skeleton_mae.engine.protocols import finetune, pretrain


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    parser.add_argument('--semi', type=float, default=0.1)
    parser.add_argument('--out', type=Path, default=Path('runs/evidence'))
    parser.add_argument('--workers', type=int, default=2)
    args, extra = parser.parse_known_args(argv)
    common = ['--workers', str(args.workers)] + extra
    scores = {k: [] for k in ('probe_pretrained', 'probe_random',
                              'semi_pretrained', 'semi_scratch')}
    for seed in args.seeds:
        run = args.out / f'seed{seed}'
        result = pretrain(common + ['--seed', str(seed), '--out',
                                    str(run / 'pretrain')])
        scores['probe_pretrained'].append(result['probe'])
        scores['probe_random'].append(result['random_probe'])
        for name, pretrained in (('semi_pretrained', ['--pretrained', str(
                run / 'pretrain' / 'last.pt')]), ('semi_scratch', [])):
            result = finetune(common + pretrained + [
                '--semi', str(args.semi), '--seed', str(seed), '--out',
                str(run / name)])
            scores[name].append(result['top1'])
    table = {k: dict(mean=statistics.mean(v),
                     std=statistics.stdev(v) if len(v) > 1 else 0.0,
                     runs=v) for k, v in scores.items()}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / 'evidence.json').write_text(json.dumps(table, indent=1))
    print(f'{"":18s} top-1 over seeds {args.seeds}')
    for k, v in table.items():
        print(f"{k:18s} {100 * v['mean']:5.1f} +- {100 * v['std']:4.1f}  "
              f"({', '.join(f'{100 * r:.1f}' for r in v['runs'])})")
    return table


if __name__ == '__main__':
    main()
