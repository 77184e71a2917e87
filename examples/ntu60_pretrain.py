r"""SkeletonMAE pre-training on the Python API, then linear probes of the
pre-trained and of a randomly initialized encoder and, on the built-in set,
STRL fine-tuned from the pre-training beside a linear classifier on the raw
joints (the floor any model must beat). ``OUT/summary.json`` holds the
numbers and the seconds the command took.

Without --data it runs on the built-in synthetic dataset with the quick
recipe and the small-set STRL (a few minutes on a 2-core CPU); with --data
it reads NTU RGB+D 60
(a pyskl pickle such as ``ntu60_hrnet.pkl``, a CTR-GCN .npz or a folder of
raw .skeleton files) with the paper's recipe::

    python examples/ntu60_pretrain.py
    python examples/ntu60_pretrain.py --data ntu60_hrnet.pkl --split xsub
    torchrun --nproc_per_node=4 examples/ntu60_pretrain.py --data ...

This script keeps the paper's model; every setting of the ablations is a
flag of ``python -m torch_skeleton_mae pretrain --help``.
"""
import dataclasses
import json
import os
import time
from pathlib import Path

from torch_skeleton_mae.engine import (
    RunOptions,
    finetune,
    load_data,
    preset_for,
    pretrain,
    raw_joint_floor,
)
from torch_skeleton_mae.engine.checkpoint import seed_everything
from torch_skeleton_mae.engine.training import SYNTHETIC_SAMPLES
from torch_skeleton_mae.engine.cli import command_line, user_input
from torch_skeleton_mae.engine.flags import ArgumentParser
from torch_skeleton_mae.nn import STRL, SkeletonMAE


def main():
    start = time.time()
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
    add('--no-finetune', action='store_true',
        help='skip the fine-tuning of STRL (run on the built-in set only)')
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
    options = RunOptions(device=args.device, seed=args.seed,
                         workers=args.workers, resume=args.resume)
    result = pretrain(model, data, recipe, args.out, options,
                      probe=None if args.no_probe else recipes.linear)
    summary = {}
    if result.probe is not None:
        summary.update(probe=result.probe.top1,
                       random_probe=result.random_probe.top1,
                       reconstruction=result.reconstruction)
    if args.data is None and not args.no_finetune:
        # STRL fine-tuned from this pre-training, beside the raw-joint
        # floor.
        def data_of(frames):
            return load_data(frames=frames, samples=args.samples)
        tuned = data_of(recipes.finetune.frames)
        strl = STRL.from_pretrained(result.checkpoint, tuned.num_classes)
        report = finetune(strl, tuned, recipes.finetune,
                          args.out / 'finetune', options).report
        if report is not None:  # the main process
            summary['strl'] = report.top1
            summary['floor'] = raw_joint_floor(
                data_of(recipes.linear.frames), recipes.linear,
                args.out / 'floor', options).top1
            print(f"STRL fine-tuned from this pre-training: top-1 "
                  f"{100 * summary['strl']:.1f}%; a linear classifier on the "
                  f"raw joints: {100 * summary['floor']:.1f}% "
                  f"({tuned.num_classes} actions, chance "
                  f"{100 / tuned.num_classes:.1f}%)")
    if os.environ.get('RANK', '0') == '0':
        summary['seconds'] = time.time() - start
        (args.out / 'summary.json').write_text(json.dumps(summary,
                                                          indent=1))


if __name__ == '__main__':
    command_line(main)
