r"""How the small-set STRL was chosen, on NW-UCLA's training split alone.

The test protocol is cross-view (train on views 1 and 2, test on view 3),
so the choice is made the same way inside the training split: train on
view 1, evaluate on view 2; the test view is never read. Each
configuration is an STRL setting (or the reference below) fine-tuned from
scratch with one recipe (40 epochs, 52 frames, batch 16, SGD lr 0.05, seed
0, one thread); then the chosen setting with longer schedules
(``pooled_60``, ``pooled_80``: the epochs and milestones scaled;
``pooled_x5``: CTR-GCN's length, 65 epochs of five passes over the
training set with 5 of them warming up, as 325 epochs and 25), with
augmentation (``pooled_aug``; ``pooled_aug120``: over twice the epochs, as
augmented training fits view 1 less; ``pooled_aug_dropout``: with dropout
before the classifier's last layer; ``pooled_yaw60``: rotating up to 60
degrees about the vertical axis alone, the axis the views differ by;
``pooled_aug60``: up to 60 degrees about every axis), what else limits
STRL at 60 epochs (``deep``: six layers, each width twice; ``deep10``: ten
layers, four, three and three at 64, 128 and 256 channels as in CTR-GCN,
time strided at the first and the fifth; ``wide``: 1.5 times the widths;
``no_smoothing``: no label smoothing; ``ema``:
``pooled_60`` evaluated with an exponential moving average of its weights,
:data:`EMA_DECAY` per step, beside the last weights of the same run;
``minmax``: every sequence scaled axis by axis to [-1, 1], as CTR-GCN's
NW-UCLA feeder does, :class:`MinMaxSTRL`; ``minmax_rot60``: and rotated in
training up to 60 degrees about the two axes CTR-GCN turns, the vertical
and the left-right one) and,
on 10% of view 1's labels, with semi-supervised recipes (``semi*``; augmented
``semi_aug``, over twice the epochs ``semi_aug160``, at the full-label rate
``semi_aug_lr``). Every run writes its log and report under ``OUT/NAME``
and its summary to ``OUT/NAME.json``::

    OMP_NUM_THREADS=1 python experiments/strl_selection.py \
        --data ../shared/data/nw_ucla/all_sqe --configs paper pooled

``tcn`` is no STRL: five plain temporal convolutions over all joints'
coordinates at once, the reference that showed how far STRL was from
fitting the data.

``--split holdout`` scores the same configurations the way the test
protocol trains, on both training views: trained on 80% of the training
split, evaluated on the other 20% (per class, ``load_data(holdout=0.2)``);
its summaries are ``NAME.holdout.json`` (``NAME.holdout.seedK.json``) and
its table ``strl_selection_holdout.rst``. ``--split test`` trains a
configuration chosen there the way the test protocol does and scores it on
the test view, to confirm the choice (``NAME.test.json``).
``--pretrain-epochs N`` first pre-trains SkeletonMAE (the small sets'
pre-training recipe over ``N`` epochs) on the same training sequences,
without their labels, and fine-tunes STRL from it (``NAME.preN...``).
"""
import argparse
import copy
import dataclasses
import json
import time
from pathlib import Path

import torch
from torch import Tensor
from torch.nn import (BatchNorm1d, Conv1d, Linear, Module, ReLU,
                      Sequential)
from torch.optim.optimizer import register_optimizer_step_post_hook
from torch.utils.data import Subset

from torch_skeleton_mae.engine import (SMALL, FinetuneRecipe, RunOptions,
                                       finetune, load_data, pretrain)
from torch_skeleton_mae.datasets.subsets import label_fraction_subset
from torch_skeleton_mae.engine.distributed import resolve_device
from torch_skeleton_mae.engine.evaluation import evaluate
from torch_skeleton_mae.engine.loader import make_loader
from torch_skeleton_mae.engine.recipes import EVAL_BATCH_SIZE
from torch_skeleton_mae.graph import get_skeleton
from torch_skeleton_mae.nn import STRL, SkeletonMAE
from torch_skeleton_mae.nn.models.strl import DEEP_SETTINGS, LITERAL_SETTINGS
from torch_skeleton_mae.transforms.batch import present_joints

_WIDE = dict(pool_heads=0)  # STRL's defaults but Eq. 3's sum
_POOLED = {}  # STRL's defaults
RECIPE = FinetuneRecipe(epochs=40, batch_size=16, lr=0.05, weight_decay=5e-4,
                        frames=52, warmup=5, milestones=(30, 37))
#: The semi-supervised recipe before this choice: 80 epochs at the paper's
#: rate scaled to batch 16.
SEMI = FinetuneRecipe(epochs=80, batch_size=16, lr=0.0125, weight_decay=5e-4,
                      frames=52, warmup=5, milestones=(60, 75))


def stretched(recipe: FinetuneRecipe, epochs: int) -> FinetuneRecipe:
    r""":obj:`recipe` over :obj:`epochs` epochs, its milestones at the same
    fractions of the schedule."""
    return dataclasses.replace(recipe, epochs=epochs, milestones=tuple(
        round(m * epochs / recipe.epochs) for m in recipe.milestones))


#: The configurations, by name: the STRL settings (``None``: the ``tcn``
#: reference), the recipe, and the fraction of view 1's labels trained on.
CONFIGS = {
    'paper': (LITERAL_SETTINGS, RECIPE, 1.0),
    'wide_bn': (_WIDE, RECIPE, 1.0),
    'pooled': (_POOLED, RECIPE, 1.0),
    'tcn': (None, RECIPE, 1.0),
    'pooled_60': (_POOLED, stretched(RECIPE, 60), 1.0),
    'pooled_80': (_POOLED, stretched(RECIPE, 80), 1.0),
    'pooled_x5': (_POOLED, dataclasses.replace(stretched(RECIPE, 325),
                                               warmup=25), 1.0),
    'pooled_aug': (_POOLED, dataclasses.replace(
        stretched(RECIPE, 60), rotate=30., scale=0.2), 1.0),
    'pooled_aug120': (_POOLED, dataclasses.replace(
        stretched(RECIPE, 120), rotate=30., scale=0.2), 1.0),
    'pooled_aug_dropout': (dict(_POOLED, dropout=0.5), dataclasses.replace(
        stretched(RECIPE, 60), rotate=30., scale=0.2), 1.0),
    'pooled_yaw60': (_POOLED, dataclasses.replace(
        stretched(RECIPE, 60), rotate=60., rotate_axes='z', scale=0.2), 1.0),
    'pooled_aug60': (_POOLED, dataclasses.replace(
        stretched(RECIPE, 60), rotate=60., scale=0.2), 1.0),
    'deep': (DEEP_SETTINGS, stretched(RECIPE, 60), 1.0),
    'deep10': (dict(channels=(64,) * 4 + (128,) * 3 + (256,) * 3,
                    strides=(2, 1, 1, 1, 2, 1, 1, 1, 1, 1)),
               stretched(RECIPE, 60), 1.0),
    'wide': (dict(channels=(96, 192, 384)), stretched(RECIPE, 60), 1.0),
    'no_smoothing': (_POOLED, dataclasses.replace(
        stretched(RECIPE, 60), label_smoothing=0.0), 1.0),
    'ema': (_POOLED, stretched(RECIPE, 60), 1.0),
    'minmax': (_POOLED, stretched(RECIPE, 60), 1.0),
    'minmax_rot60': (_POOLED, dataclasses.replace(
        stretched(RECIPE, 60), rotate=60., rotate_axes='xz'), 1.0),
    'semi': (_POOLED, SEMI, 0.1),
    'semi_lr': (_POOLED, dataclasses.replace(SEMI, lr=RECIPE.lr), 0.1),
    'semi_aug': (_POOLED, dataclasses.replace(SEMI, rotate=30., scale=0.2),
                 0.1),
    'semi_aug160': (_POOLED, dataclasses.replace(
        stretched(SEMI, 160), rotate=30., scale=0.2), 0.1),
    'semi_aug_lr': (_POOLED, dataclasses.replace(
        SEMI, lr=RECIPE.lr, rotate=30., scale=0.2), 0.1),
}

#: The per-step decay of ``ema``'s average of the weights (a horizon of
#: about 500 steps, 10 epochs of batch 16).
EMA_DECAY = 0.998


def track_average(model: Module, decay: float = EMA_DECAY) -> Module:
    r"""A copy of :obj:`model` that every optimizer step of this process
    moves towards :obj:`model`'s weights and floating-point buffers (batch
    norm's statistics) by :obj:`1 - decay`; counters are copied."""
    average = copy.deepcopy(model).requires_grad_(False)

    @torch.no_grad()
    def update(*_):
        for mine, theirs in zip(
                [*average.parameters(), *average.buffers()],
                [*model.parameters(), *model.buffers()]):
            if mine.is_floating_point():
                mine.lerp_(theirs, 1 - decay)
            else:
                mine.copy_(theirs)

    register_optimizer_step_post_hook(update)
    return average


def scales_input(name: str) -> bool:
    r"""Whether configuration :obj:`name` trains :class:`MinMaxSTRL`."""
    return name.startswith('minmax')


class MinMaxSTRL(STRL):
    r"""STRL on each sequence scaled, axis by axis, to :math:`[-1, 1]` over
    its present joints (absent ones stay zero), as CTR-GCN's NW-UCLA feeder
    scales every sequence after its random rotation, in training and
    testing."""
    def forward(self, x: Tensor) -> Tensor:
        present = present_joints(x)  # (N, M, T, V, 1)
        dims = (1, 2, 3)
        low = torch.where(present, x, torch.inf).amin(dims, keepdim=True)
        high = torch.where(present, x, -torch.inf).amax(dims, keepdim=True)
        scaled = (x - low) / (high - low).clamp(min=1e-6) * 2 - 1
        return super().forward(torch.where(present, scaled, 0.))


class TemporalConvNet(Module):
    r"""The reference: per person, five temporal convolutions (kernel 5,
    strides 1, 2, 1, 2, 1) over the :obj:`V * C` coordinates of a frame
    as channels, after a batch norm of them; mean over frames and persons;
    a linear classifier.

    Shapes:
        - **input:** :math:`(N, M, T, V, C)`
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
        N, M, T, V, C = x.shape
        x = x.permute(0, 1, 3, 4, 2).reshape(N * M, V * C, T)
        return self.classifier(self.net(x).mean(-1).view(N, M, -1).mean(1))


def cross_view_data(root: Path, labels: float = 1.0):
    r"""NW-UCLA's training split as view 1 (training; :obj:`labels` of it,
    per class) and view 2 (evaluation, frames at segment middles)."""
    data = load_data(root, dataset='nw-ucla', frames=RECIPE.frames)
    train = data.train
    evaluated = copy.copy(train).sample_frames(train.num_frames, False)
    views = [meta['view'] for meta in train.meta]
    data.train = Subset(train, [i for i, v in enumerate(views) if v == 1])
    if labels < 1:
        data.train = label_fraction_subset(data.train, labels)
    data.val = Subset(evaluated, [i for i, v in enumerate(views) if v == 2])
    return data


def holdout_data(root: Path, labels: float = 1.0,
                 frames: int = RECIPE.frames):
    r"""NW-UCLA's training split, both views: 80% per class to train on
    (:obj:`labels` of it, per class), 20% evaluated."""
    data = load_data(root, dataset='nw-ucla', frames=frames,
                     holdout=HOLDOUT)
    if labels < 1:
        data.train = label_fraction_subset(data.train, labels)
    return data


def test_data(root: Path, labels: float = 1.0,
              frames: int = RECIPE.frames):
    r"""NW-UCLA's cross-view protocol itself: the whole training split
    (:obj:`labels` of it, per class) and the test view."""
    data = load_data(root, dataset='nw-ucla', frames=frames)
    if labels < 1:
        data.train = label_fraction_subset(data.train, labels)
    return data


#: The evaluated fraction of ``--split holdout``.
HOLDOUT = 0.2
#: Per split: its data, the summaries' suffix, the key of the evaluated
#: top-1 and its column's title.
SPLITS = {
    'views': (cross_view_data, '', 'view2_top1',
              'view 2 top-1 (held out)'),
    'holdout': (holdout_data, '.holdout', 'holdout_top1',
                f'top-1 on {HOLDOUT:.0%} of the training split (held out)'),
    'test': (test_data, '.test', 'test_top1', 'test top-1 (view 3)'),
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--data', type=Path, required=True,
                        help="NW-UCLA's all_sqe folder")
    parser.add_argument('--configs', nargs='+', choices=list(CONFIGS),
                        default=list(CONFIGS))
    parser.add_argument('--out', type=Path,
                        default=Path('runs/strl_selection'))
    parser.add_argument('--seed', type=int, default=0,
                        help='of the model and the batches (the same for '
                             'every configuration)')
    parser.add_argument('--split', choices=list(SPLITS), default='views',
                        help='train on view 1 and evaluate on view 2, hold '
                             'out 20%% of both views, or the test protocol '
                             '(to confirm a choice; it chooses nothing)')
    parser.add_argument('--pretrain-epochs', type=int, default=0,
                        help='pre-train SkeletonMAE this many epochs on the '
                             'training sequences first (--split holdout)')
    args = parser.parse_args()
    if args.pretrain_epochs and args.split != 'holdout':
        parser.error('--pretrain-epochs goes with --split holdout')
    read, suffix, key, _ = SPLITS[args.split]
    for name in args.configs:
        settings, recipe, labels = CONFIGS[name]
        data = read(args.data, labels)
        torch.manual_seed(args.seed)
        model = (TemporalConvNet(data.layout, data.channels,
                                 data.num_classes) if settings is None else
                 (MinMaxSTRL if scales_input(name) else STRL)(
                     data.layout, data.channels, data.num_classes,
                     **settings))
        start = time.time()
        pre = f'.pre{args.pretrain_epochs}' if args.pretrain_epochs else ''
        run = name + suffix + pre + (f'.seed{args.seed}' if args.seed else '')
        if pre:
            mae = pretrained(args, run)
            model = STRL.from_pretrained(mae, data.num_classes, **settings)
        # The average lives beside the model, on the device it trains on.
        device = resolve_device()
        average = (track_average(model.to(device)) if name == 'ema'
                   else None)
        result = finetune(model, data, recipe, args.out / run,
                          RunOptions(seed=args.seed, workers=0, eval_every=5))
        scores = {key: result.report.top1}
        if average is not None:
            scores = {key: evaluate(average, make_loader(
                data.val, EVAL_BATCH_SIZE, device, train=False), device,
                data.num_classes).top1,
                f'last_weights_{key}': result.report.top1}
        summary = dict(
            settings=settings,
            recipe=dataclasses.asdict(recipe),
            labels=labels,
            **scores,
            train_top1=result.history[-1]['train_top1'],
            parameters=sum(p.numel() for p in model.parameters()),
            minutes=(time.time() - start) / 60)
        (args.out / f'{run}.json').write_text(json.dumps(summary, indent=1))
        print(name, json.dumps(summary))
    (args.out / f"strl_selection{suffix.replace('.', '_')}.rst").write_text(
        table(args.out, args.split))


def pretrained(args, run: str) -> SkeletonMAE:
    r"""SkeletonMAE pre-trained with the small sets' recipe over
    :obj:`args.pretrain_epochs` epochs on the training sequences of
    :obj:`args.split` (all the labels' sequences, without the labels)."""
    recipe = dataclasses.replace(SMALL.pretrain, epochs=args.pretrain_epochs)
    data = holdout_data(args.data, frames=recipe.frames)
    torch.manual_seed(args.seed)
    mae = SkeletonMAE(data.layout, data.channels)
    pretrain(mae, data, recipe, args.out / run / 'pretrain',
             RunOptions(seed=args.seed, workers=0))
    return mae


def table(out: Path, split: str = 'views') -> str:
    r"""Every configuration with a summary of :obj:`split` in :obj:`out`,
    in the order of :data:`CONFIGS`, as a reST list-table; with several
    seeds (``NAME.seedK.json`` beside seed 0's ``NAME.json``), each seed's
    top-1 and their mean."""
    _, suffix, key, title = SPLITS[split]
    lines = ['.. list-table::', '   :header-rows: 1', '',
             '   * - configuration', '     - settings',
             '     - recipe', f'     - {title}',
             '     - training top-1 (last epoch)',
             '     - parameters', '     - minutes']
    for name, (_, recipe, labels) in CONFIGS.items():
        pre = sorted({p.name.split('.')[-2] for p in out.glob(
            f'{name}{suffix}.pre*.json')}, key=lambda v: int(v[3:]))
        for variant in [''] + [f'.{v}' for v in pre]:
            lines += _row(out, name + suffix + variant, key, recipe, labels,
                          f'``{name}``' + (variant and f', pre-trained '
                                           f'{variant[4:]} epochs'))
    return '\n'.join(lines) + '\n'


def _row(out: Path, run: str, key: str, recipe: FinetuneRecipe,
         labels: float, title: str) -> list:
    # The table lines of `run` (its seeds' summaries), if it ran.
    first = out / f'{run}.json'
    if not first.exists():
        return []
    rows = [json.loads(p.read_text()) for p in [first] + sorted(
        out.glob(f'{run}.seed*.json'))]
    row = rows[0]
    changed = {k: v for k, v in dataclasses.asdict(recipe).items()
               if v != getattr(RECIPE, k)}
    recipe = ', '.join([f'{100 * labels:.0f}% of the labels'] * (
        labels < 1) + [f'{k}={v}' for k, v in changed.items()]) or (
        'the common recipe')
    settings = ('the reference (not STRL)' if row['settings'] is None
                else ', '.join(f'{k}={v}' for k, v in row['settings'].items())
                or "STRL's defaults")
    if scales_input(run.split('.')[0]):
        settings += ', each sequence scaled to [-1, 1] per axis'
    last = [r[f'last_weights_{key}'] for r in rows
            if f'last_weights_{key}' in r]
    if last:  # ema: the averaged weights, beside the run's last weights
        title += f' (its last weights: {_seeds(last)})'
    cells = [title, settings, recipe] + [
        _seeds([r[column] for r in rows]) for column in (key, 'train_top1')
    ] + [f"{row['parameters']:,}", f"{row['minutes']:.1f}"]
    return [f'   * - {cells[0]}'] + [f'     - {c}' for c in cells[1:]]


def _seeds(values) -> str:
    # One seed's top-1, or each seed's and their mean.
    text = ' / '.join(f'{100 * v:.1f}' for v in values)
    if len(values) > 1:
        text += f' (mean {100 * sum(values) / len(values):.1f})'
    return text


if __name__ == '__main__':
    main()
