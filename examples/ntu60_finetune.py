r"""Fine-tuning of the SSL classifier (STRL holding the pre-trained
SkeletonMAE encoder) end to end, on the Python API: the paper's recipe with
--data (``PAPER.finetune``, docs/protocols.rst), a quick one on the built-in
synthetic set. ``--semi 0.1`` fine-tunes on that fraction of the training
labels (the semi-supervised protocol); without --pretrained the model trains
from scratch::

    python examples/ntu60_finetune.py --pretrained runs/pretrain/last.pt
    python examples/ntu60_finetune.py --pretrained runs/pretrain/last.pt \
        --semi 0.1 --out runs/semi
    torchrun --nproc_per_node=4 examples/ntu60_finetune.py --data ... \
        --pretrained ...

Every other setting is a flag of ``python -m torch_skeleton_mae finetune
--help``.
"""
import dataclasses
from pathlib import Path

from torch_skeleton_mae.engine import (RunOptions, finetune, load_data,
                                       preset_for)
from torch_skeleton_mae.engine.cli import (ArgumentParser, command_line,
                                           seed_everything, user_input)
from torch_skeleton_mae.nn import STRL


def main():
    parser = ArgumentParser(description='STRL fine-tuning')
    add = parser.add_argument
    add('--pretrained', type=Path, help='SkeletonMAE checkpoint (default: '
        'train from scratch)')
    add('--semi', type=float, help='fraction of the training labels')
    add('--data', type=Path, help='default: the built-in synthetic set')
    add('--dataset', default='ntu60', help='the classes and splits of --data')
    add('--split', help="default: the dataset's first benchmark")
    add('--epochs', type=int, help="default: the recipe's")
    add('--device', help='default: cuda if available')
    add('--seed', type=int, default=RunOptions.seed)
    add('--out', type=Path, default=Path('runs/finetune'))
    add('--resume', action='store_true', help='continue the run in --out')
    args = parser.parse_args()

    recipes = preset_for(args.dataset if args.data else None)
    recipe = recipes.of('finetune', semi=args.semi is not None)
    if args.epochs is not None:
        recipe = dataclasses.replace(recipe, epochs=args.epochs)

    seed_everything(args.seed)
    with user_input():  # bad data or checkpoints: one line, no traceback
        data = load_data(args.data, dataset=args.dataset, split=args.split,
                         frames=recipe.frames, semi=args.semi)
        if args.pretrained is None:
            model = STRL(data.layout, data.channels, data.num_classes)
        else:  # its layout, channels and encoder come from the checkpoint
            model = STRL.from_pretrained(args.pretrained, data.num_classes)
    result = finetune(model, data, recipe, args.out,
                      RunOptions(device=args.device, seed=args.seed,
                                 resume=args.resume))
    if result.report is not None:  # the main process
        accuracy = result.report.summary()['mean_class_acc']
        print(f'mean class accuracy {100 * accuracy:.1f}%')


if __name__ == '__main__':
    command_line(main)
