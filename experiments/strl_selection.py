r"""How the small-set STRL was chosen, on NW-UCLA's training split alone.

The test protocol is cross-view (train on views 1 and 2, test on view 3),
so the choice is made the same way inside the training split: train on
view 1, evaluate on view 2; the test view is never read. Each
configuration is an STRL setting (or the reference below) fine-tuned from
scratch with one recipe (40 epochs, 52 frames, batch 16, SGD lr 0.05, seed
0, one thread); every run writes its log and report under ``OUT/NAME`` and
its summary to ``OUT/NAME.json``::

    OMP_NUM_THREADS=1 python experiments/strl_selection.py \
        --data ../shared/data/nw_ucla/all_sqe --configs paper pooled

``tcn`` is no STRL: five plain temporal convolutions over all joints'
coordinates at once, the reference that showed how far STRL was from
fitting the data.
"""
import argparse
import copy
import json
import time
from pathlib import Path

import torch
from torch.nn import (BatchNorm1d, Conv1d, Linear, Module, ReLU,
                      Sequential)
from torch.utils.data import Subset

from torch_skeleton_mae.engine import (FinetuneRecipe, RunOptions, finetune,
                                       load_data)
from torch_skeleton_mae.graph import get_skeleton
from torch_skeleton_mae.nn import STRL

_WIDE = dict(channels=(64, 128, 256), strides=(2, 2, 1), temporal_kernel=5,
             batch_norm=True)
#: The configurations, by name: STRL settings (``tcn``: the reference).
CONFIGS = {
    'paper': {},
    'wide_bn': _WIDE,
    'pooled': dict(_WIDE, pool_heads=4),
    'tcn': None,
}
RECIPE = FinetuneRecipe(epochs=40, batch_size=16, lr=0.05, weight_decay=5e-4,
                        frames=52, warmup=5, milestones=(30, 37))


class TemporalConvNet(Module):
    r"""The reference: per person, five temporal convolutions (kernel 5,
    strides 1, 2, 1, 2, 1) over the :obj:`V * C` coordinates of a frame
    as channels, after a batch norm of them; mean over frames and persons;
    a linear classifier.

    Shapes:
        - **input:** :math:`(N, C, T, V, M)`
        - **output:** :math:`(N, \text{num\_classes})`
    """
    def __init__(self, skeleton, in_channels: int, num_classes: int,
                 width: int = 128):
        super().__init__()
        self.skeleton = get_skeleton(skeleton)
        self.in_channels, self.num_classes = in_channels, num_classes
        self.config = dict(reference='tcn', width=width)
        channels = self.skeleton.num_joints * in_channels
        layers, size = [BatchNorm1d(channels)], channels
        for stride in (1, 2, 1, 2, 1):
            layers += [Conv1d(size, width, 5, stride, 2),
                       BatchNorm1d(width), ReLU()]
            size = width
        self.net = Sequential(*layers)
        self.classifier = Linear(width, num_classes)

    def forward(self, x):
        N, C, T, V, M = x.shape
        x = x.permute(0, 4, 3, 1, 2).reshape(N * M, V * C, T)
        return self.classifier(self.net(x).mean(-1).view(N, M, -1).mean(1))


def cross_view_data(root: Path):
    r"""NW-UCLA's training split as view 1 (training) and view 2
    (evaluation, frames at segment middles)."""
    data = load_data(root, dataset='nw-ucla', frames=RECIPE.frames)
    train = data.train
    evaluated = copy.copy(train).sample_frames(train.num_frames, False)
    views = [meta['view'] for meta in train.meta]
    data.train = Subset(train, [i for i, v in enumerate(views) if v == 1])
    data.val = Subset(evaluated, [i for i, v in enumerate(views) if v == 2])
    return data


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--data', type=Path, required=True,
                        help="NW-UCLA's all_sqe folder")
    parser.add_argument('--configs', nargs='+', choices=list(CONFIGS),
                        default=list(CONFIGS))
    parser.add_argument('--out', type=Path,
                        default=Path('runs/strl_selection'))
    args = parser.parse_args()
    data = cross_view_data(args.data)
    for name in args.configs:
        settings = CONFIGS[name]
        torch.manual_seed(0)
        model = (TemporalConvNet(data.layout, data.channels,
                                 data.num_classes) if settings is None else
                 STRL(data.layout, data.channels, data.num_classes,
                      **settings))
        start = time.time()
        result = finetune(model, data, RECIPE, args.out / name,
                          RunOptions(seed=0, workers=0, eval_every=5))
        summary = dict(
            settings=settings,
            view2_top1=result.report.top1,
            train_top1=result.history[-1]['train_top1'],
            parameters=sum(p.numel() for p in model.parameters()),
            minutes=(time.time() - start) / 60)
        (args.out / f'{name}.json').write_text(json.dumps(summary, indent=1))
        print(name, json.dumps(summary))
    (args.out / 'strl_selection.rst').write_text(table(args.out))


def table(out: Path) -> str:
    r"""Every configuration with a summary in :obj:`out`, in the order of
    :data:`CONFIGS`, as a reST list-table."""
    lines = ['.. list-table::', '   :header-rows: 1', '',
             '   * - configuration', '     - settings',
             '     - view 2 top-1 (held out)', '     - view 1 top-1 (training,'
             ' last epoch)', '     - parameters', '     - minutes']
    for name in CONFIGS:
        path = out / f'{name}.json'
        if not path.exists():
            continue
        row = json.loads(path.read_text())
        settings = ('the reference (not STRL)' if row['settings'] is None
                    else ', '.join(f'{k}={v}' for k, v in
                                   row['settings'].items())
                    or "STRL's defaults")
        cells = [f'``{name}``', settings, f"{100 * row['view2_top1']:.1f}",
                 f"{100 * row['train_top1']:.1f}", f"{row['parameters']:,}",
                 f"{row['minutes']:.1f}"]
        lines += [f'   * - {cells[0]}'] + [f'     - {c}' for c in cells[1:]]
    return '\n'.join(lines) + '\n'


if __name__ == '__main__':
    main()
