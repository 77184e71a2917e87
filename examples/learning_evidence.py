r"""Does pre-training help? On the synthetic dataset, for several seeds:
linear-probe top-1 of the pre-trained encoder vs a randomly initialized one
(with all training labels and with 10% of them), and fine-tuning on 10% of
the labels from the pre-trained encoder vs from scratch; beside them, the
linear probe of the input coordinates themselves, pooled per joint (what
any encoder's features have to beat). Prints a table of means and standard
deviations. A seed whose pre-training checkpoint is
already complete in OUT is not pre-trained again.

    python examples/learning_evidence.py --seeds 0 1 2 --out runs/evidence
"""
import argparse
import json
import statistics
from pathlib import Path

import torch

from torch_skeleton_mae.engine import extract_features, linear_probe, make_loader
from torch_skeleton_mae.engine.protocols import (
    finetune,
    linear_eval,
    load_data,
    parse_args,
    pretrain,
)


class InputCoordinates(torch.nn.Module):
    r"""An identity "encoder": probing it probes the input itself."""
    def encode(self, x):
        return x


def input_probe(argv):
    r"""Top-1 of a linear probe of the input coordinates, mean and max over
    frames and persons of every joint (the linear evaluation's data, flags
    and classifier)."""
    args = parse_args('linear', list(argv) + ['--random-init'])
    data = load_data(args)
    cpu = torch.device('cpu')
    features = [
        extract_features(InputCoordinates(), make_loader(
            part, 256, cpu, train=False, num_workers=args.workers), cpu,
                         per_joint=True) for part in (data.train, data.val)
    ]
    return linear_probe(*features, data.num_classes, epochs=args.epochs,
                        lr=args.lr, weight_decay=args.weight_decay,
                        seed=args.seed).top1


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    parser.add_argument('--semi', type=float, default=0.1)
    parser.add_argument('--out', type=Path, default=Path('runs/evidence'))
    parser.add_argument('--workers', type=int, default=0,
                        help='0 avoids starting workers for every short epoch')
    args, extra = parser.parse_known_args(argv)
    common = ['--workers', str(args.workers)] + extra
    scores = {k: [] for k in (
        'probe_pretrained', 'probe_random', 'probe_input',
        'probe_semi_pretrained', 'probe_semi_random', 'probe_semi_input',
        'finetune_semi_pretrained', 'finetune_semi_scratch')}
    for seed in args.seeds:
        run = args.out / f'seed{seed}'
        checkpoint = run / 'pretrain' / 'last.pt'
        resume = ['--resume'] if checkpoint.exists() else []
        result = pretrain(common + resume + ['--seed', str(seed), '--out',
                                             str(run / 'pretrain')])
        scores['probe_pretrained'].append(result['probe'])
        scores['probe_random'].append(result['random_probe'])
        scores['probe_input'].append(input_probe(common + ['--seed',
                                                          str(seed)]))
        semi = ['--semi', str(args.semi), '--seed', str(seed)]
        scores['probe_semi_input'].append(input_probe(common + semi))
        for name, encoder in (('pretrained', ['--pretrained',
                                              str(checkpoint)]),
                              ('random', ['--random-init'])):
            result = linear_eval(common + semi + encoder + [
                '--out', str(run / f'probe_semi_{name}')])
            scores[f'probe_semi_{name}'].append(result['top1'])
        for name, encoder in (('pretrained', ['--pretrained',
                                              str(checkpoint)]),
                              ('scratch', [])):
            result = finetune(common + semi + encoder + [
                '--out', str(run / f'finetune_semi_{name}')])
            scores[f'finetune_semi_{name}'].append(result['top1'])
    table = {k: dict(mean=statistics.mean(v),
                     std=statistics.stdev(v) if len(v) > 1 else 0.0,
                     runs=v) for k, v in scores.items()}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / 'evidence.json').write_text(json.dumps(table, indent=1))
    print(f'{"":25s} top-1 over seeds {args.seeds}')
    for k, v in table.items():
        print(f"{k:25s} {100 * v['mean']:5.1f} +- {100 * v['std']:4.1f}  "
              f"({', '.join(f'{100 * r:.1f}' for r in v['runs'])})")
    return table


if __name__ == '__main__':
    main()
