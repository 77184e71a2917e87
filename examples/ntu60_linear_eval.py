r"""Linear evaluation of a pre-trained SkeletonMAE encoder on the Python API:
the frozen encoder's pooled features, a linear classifier fitted to them;
reports top-1, top-5, per-class accuracy and a confusion matrix::

    python examples/ntu60_linear_eval.py --pretrained runs/pretrain/last.pt
    python examples/ntu60_linear_eval.py --random-init          # baseline
    python examples/ntu60_linear_eval.py --data ntu60_hrnet.pkl \
        --pretrained runs/pretrain/last.pt

More flags: ``python -m torch_skeleton_mae linear --help``.
"""
from pathlib import Path

from torch_skeleton_mae.engine import (RunOptions, linear_eval, load_data,
                                       preset_for)
from torch_skeleton_mae.engine.cli import (ArgumentParser, command_line,
                                           seed_everything, user_input)
from torch_skeleton_mae.nn import SkeletonMAE


def main():
    parser = ArgumentParser(description='linear evaluation')
    add = parser.add_argument
    add('--pretrained', type=Path, help='SkeletonMAE checkpoint')
    add('--random-init', action='store_true',
        help='a randomly initialized encoder instead (the baseline)')
    add('--data', type=Path, help='default: the built-in synthetic set')
    add('--dataset', default='ntu60', help='the classes and splits of --data')
    add('--split', help="default: the dataset's first benchmark")
    add('--device', help='default: cuda if available')
    add('--out', type=Path, default=Path('runs/linear'))
    args = parser.parse_args()
    if (args.pretrained is None) == (not args.random_init):
        parser.error('give --pretrained CHECKPOINT or --random-init')

    recipe = preset_for(args.dataset if args.data else None).linear
    seed_everything(0)
    with user_input():  # bad data or checkpoints: one line, no traceback
        data = load_data(args.data, dataset=args.dataset, split=args.split,
                         frames=recipe.frames)
        if args.random_init:
            model = SkeletonMAE(data.layout, data.channels)
        else:  # the checkpoint holds the model's settings and weights
            model = SkeletonMAE.from_checkpoint(args.pretrained)
    linear_eval(model, data, recipe, args.out, RunOptions(device=args.device))


if __name__ == '__main__':
    command_line(main)
