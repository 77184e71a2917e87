r"""SkeletonMAE pre-training, linear probes of it and of a random encoder
and, on the built-in set, STRL fine-tuned from it beside the raw-joint floor
(``OUT/summary.json``). Without --data: the synthetic set, quick recipe; with
--data (NTU RGB+D 60: a pyskl pickle, CTR-GCN .npz or .skeleton folder; also
under ``torchrun``) the paper's recipe. Every ablation setting is a flag of
``python -m torch_skeleton_mae pretrain``."""
import dataclasses
import json
import os
import time
from pathlib import Path

import torch

from torch_skeleton_mae.engine import (RunOptions, finetune, load_data,
                                       preset_for, pretrain, raw_joint_floor)
from torch_skeleton_mae.engine.cli import (ArgumentParser, command_line,
                                           user_input)
from torch_skeleton_mae.nn import STRL, SkeletonMAE


def main():
    start = time.time()
    parser = ArgumentParser(description='SkeletonMAE pre-training')
    add = parser.add_argument
    add('--data', type=Path, help='default: the built-in synthetic set')
    add('--dataset', default='ntu60', help='the benchmark of --data')
    add('--split', help="default: the dataset's first benchmark")
    add('--device', help='default: cuda if available')
    for name in ('samples', 'epochs', 'batch-size', 'frames', 'workers',
                 'seed'):
        add(f'--{name}', type=int, help="default: load_data's, the recipe's")
    add('--out', type=Path, default=Path('runs/pretrain'))
    add('--resume', action='store_true', help='continue the run in --out')
    add('--no-probe', action='store_true', help='skip the linear probes')
    add('--no-finetune', action='store_true', help='skip STRL (built-in set)')
    args = parser.parse_args()
    given = {k: v for k, v in vars(args).items() if v is not None}

    def pick(*names):  # the flags given, as keyword arguments
        return {k: given[k] for k in names if k in given}

    recipes = preset_for(args.dataset if args.data else None)
    recipe = dataclasses.replace(recipes.pretrain,
                                 **pick('epochs', 'batch_size', 'frames'))
    options = RunOptions(resume=args.resume,
                         **pick('device', 'seed', 'workers'))
    torch.manual_seed(options.seed)

    def data_of(frames):
        with user_input():  # bad data: one line, no traceback
            return load_data(args.data, dataset=args.dataset, frames=frames,
                             split=args.split, **pick('samples'))
    data = data_of(recipe.frames)
    result = pretrain(SkeletonMAE(data.layout, data.channels), data, recipe,
                      args.out, options,  # the paper's model, its recipe
                      probe=None if args.no_probe else recipes.linear)
    summary = {} if result.probe is None else dict(
        probe=result.probe.top1, random_probe=result.random_probe.top1,
        reconstruction=result.reconstruction)
    if args.data is None and not args.no_finetune:
        tuned = data_of(recipes.finetune.frames)
        report = finetune(STRL.from_pretrained(
            result.checkpoint, tuned.num_classes), tuned, recipes.finetune,
            args.out / 'finetune', options).report
        if report is not None:  # the main process
            summary.update(strl=report.top1, floor=raw_joint_floor(
                data_of(recipes.linear.frames), recipes.linear,
                args.out / 'floor', options).top1)
            print(f"STRL fine-tuned from this pre-training: top-1 "
                  f"{100 * report.top1:.1f}%; a linear classifier on the raw "
                  f"joints: {100 * summary['floor']:.1f}%")
    if os.environ.get('RANK', '0') == '0':
        summary['seconds'] = time.time() - start
        (args.out / 'summary.json').write_text(json.dumps(summary, indent=1))


if __name__ == '__main__':
    command_line(main)
