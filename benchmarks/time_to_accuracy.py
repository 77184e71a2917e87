r"""Time to accuracy: the minutes STRL needs, trained from scratch with its
defaults and the NW-UCLA preset's recipe (``PRESETS['nw-ucla']``;
``--preset small``: the 40-epoch recipe it had before), to reach a top-1 on
NW-UCLA's cross-view test split. The test split is
scored after every epoch (it measures, it chooses nothing); the minutes
count the training epochs only, from the Trainer's rate of each. The
reference: CTR-GCN's own code (joint stream, its NW-UCLA feeder and
optimizer, 25 epochs) reached 86.4% in 40 minutes on one thread of this
project's 2-core VM (issue 32).

The last line reads ``minutes_to_target=<m or none> best_top1=<b>``::

    OMP_NUM_THREADS=1 python benchmarks/time_to_accuracy.py \
        --data ../shared/data/nw_ucla/all_sqe --json OUT.json
    python benchmarks/time_to_accuracy.py --smoke   # synthetic, 2 epochs
"""
import argparse
import dataclasses
import json
import tempfile
from pathlib import Path

import torch

from common import machine
from torch_skeleton_mae.engine import RunOptions, finetune, load_data
from torch_skeleton_mae.engine.recipes import PRESETS
from torch_skeleton_mae.nn import STRL

#: CTR-GCN's top-1 and minutes on this machine (issue 32).
REFERENCE = dict(top1=0.864, minutes=40.0)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--data', type=Path,
                        help="NW-UCLA's all_sqe folder")
    parser.add_argument('--target', type=float, default=REFERENCE['top1'])
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--preset', default='nw-ucla', choices=list(PRESETS),
                        help="whose fine-tuning recipe trains ('small': the "
                             "40-epoch recipe NW-UCLA's preset had before)")
    parser.add_argument('--json', type=Path)
    parser.add_argument('--smoke', action='store_true',
                        help='the synthetic set, 2 epochs of 4 frames')
    args = parser.parse_args(argv)
    if args.data is None and not args.smoke:
        parser.error('--data is required (or --smoke)')
    preset = PRESETS[args.preset]
    recipe = preset.finetune
    if args.smoke:
        recipe = dataclasses.replace(recipe, epochs=2, frames=4, warmup=1,
                                     milestones=())
        data = load_data(frames=4, samples=60, layout='kinect-v1')
    else:
        data = load_data(args.data, dataset='nw-ucla', frames=recipe.frames)
    model = STRL(data.layout, data.channels, data.num_classes)
    with tempfile.TemporaryDirectory() as out:
        history = finetune(model, data, recipe, out,
                           RunOptions(seed=args.seed, workers=0,
                                      eval_every=1)).history
    minutes, rows, reached = 0.0, [], None
    for epoch, row in enumerate(history, 1):
        minutes += len(data.train) / row['seq_per_s'] / 60
        rows.append(dict(epoch=epoch, minutes=minutes,
                         top1=row['val_top1']))
        if reached is None and row['val_top1'] >= args.target:
            reached = minutes
    best = max(r['top1'] for r in rows)
    print('epoch | training minutes | test top-1')
    for r in rows:
        print(f"{r['epoch']} | {r['minutes']:.1f} | {100 * r['top1']:.1f}")
    result = dict(machine=machine(), threads=torch.get_num_threads(),
                  target=args.target, minutes_to_target=reached,
                  best_top1=best, reference=REFERENCE, epochs=rows,
                  settings=model.config, recipe=dataclasses.asdict(recipe))
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))
    shown = 'none' if reached is None else f'{reached:.1f}'
    print(f'minutes_to_target={shown} best_top1={best:.4f}')
    return result


if __name__ == '__main__':
    main()
