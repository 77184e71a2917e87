r"""SkeletonMAE pre-training on the Python API, then linear probes of the
pre-trained and of a randomly initialized encoder.

Without --data it runs on the built-in synthetic dataset with the quick
recipe (about two minutes on a 2-core CPU); with --data it reads NTU RGB+D 60
(a pyskl pickle such as ``ntu60_hrnet.pkl``, a CTR-GCN .npz or a folder of
raw .skeleton files) with the paper's recipe::

    python examples/ntu60_pretrain.py
    python examples/ntu60_pretrain.py --data ntu60_hrnet.pkl --split xsub
    torchrun --nproc_per_node=4 examples/ntu60_pretrain.py --data ...

This script keeps the paper's model; every setting of the ablations is a
flag of ``python -m torch_skeleton_mae pretrain --help``.
"""
import dataclasses
from pathlib import Path

from torch_skeleton_mae.engine import (
    RunOptions,
    load_data,
    preset_for,
    pretrain,
)
from torch_skeleton_mae.engine.checkpoint import seed_everything
from torch_skeleton_mae.engine.training import SYNTHETIC_SAMPLES
from torch_skeleton_mae.engine.protocols import (
    ArgumentParser,
    command_line,
    user_input,
)
from torch_skeleton_mae.nn import SkeletonMAE


def main():
    parser = ArgumentParser(description='SkeletonMAE pre-training')
    add = parser.add_argument
    add('--data', type=Path, help='default: the built-in synthetic set')
    add('--dataset', default='ntu60', help='ntu60, ntu120, finegym, '
        'diving48, nw-ucla or penn-action: classes and splits of --data')
    add('--split', help="default: the dataset's first benchmark")
    add('--epochs', type=int, help="default: the recipe's")
    add('--batch-size', type=int, help="default: the recipe's")
    add('--samples', type=int, default=SYNTHETIC_SAMPLES,
        help='synthetic sequences')
    add('--frames', type=int, help="default: the recipe's")
    add('--workers', type=int, default=RunOptions.workers)
    add('--device', help='default: cuda if available')
    add('--seed', type=int, default=RunOptions.seed)
    add('--out', type=Path, default=Path('runs/pretrain'))
    add('--resume', action='store_true', help='continue the run in --out')
    add('--no-probe', action='store_true', help='skip the linear probes')
    args = parser.parse_args()

    # The paper's recipe with real data, a quick one on the synthetic set.
    recipes = preset_for(args.dataset if args.data else None)
    changes = dict(epochs=args.epochs, batch_size=args.batch_size,
                   frames=args.frames)
    recipe = dataclasses.replace(recipes.pretrain, **{
        k: v for k, v in changes.items() if v is not None})

    seed_everything(args.seed)
    with user_input():  # bad data: one line, no traceback
        data = load_data(args.data, dataset=args.dataset, split=args.split,
                         frames=recipe.frames, samples=args.samples)
    model = SkeletonMAE(data.layout, data.channels)  # the paper's settings
    result = pretrain(model, data, recipe, args.out,
                      RunOptions(device=args.device, seed=args.seed,
                                 workers=args.workers, resume=args.resume),
                      probe=None if args.no_probe else recipes.linear)
    if result.probe is not None:
        gain = result.probe.top1 - result.random_probe.top1
        print(f'the pre-trained encoder beats a random one by '
              f'{100 * gain:+.1f} points of linear-probe top-1')


if __name__ == '__main__':
    command_line(main)
