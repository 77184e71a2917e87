r"""The training protocols as command-line programs: SkeletonMAE
pre-training and fine-tuning (the paper's, Sec. 4.2), and the field's
linear evaluation and semi-supervised fine-tuning (not in the paper). The
scripts in ``examples/`` are thin front ends over :func:`pretrain`,
:func:`linear_eval` and :func:`finetune`."""
import argparse
import contextlib
import copy
import functools
import json
import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from torch.nn import Module
from torch.utils.data import DataLoader, Dataset, Subset

from torch_skeleton_mae.datasets import (
    ACTIONS,
    SyntheticSkeletons,
    concat_sequences,
    dataset_labels,
    label_fraction_indices,
    label_fraction_subset,
    load_dataset,
)
from torch_skeleton_mae.engine.checkpoint import (
    CHECKPOINT_VERSION,
    load_checkpoint,
    load_weights,
    seed_everything,
)
from torch_skeleton_mae.engine.distributed import (
    DistributedContext,
    cleanup_distributed,
    init_distributed,
)
from torch_skeleton_mae.engine.evaluation import (
    ClassificationReport,
    evaluate,
    extract_features,
    linear_probe,
    save_confusion_matrix,
)
from torch_skeleton_mae.engine.precision import PRECISIONS
from torch_skeleton_mae.graph import get_skeleton
from torch_skeleton_mae.engine.schedule import warmup_multistep
from torch_skeleton_mae.engine.trainer import (
    ClassificationObjective,
    MAEObjective,
    Trainer,
    TrainingDiverged,
)
from torch_skeleton_mae.engine.loader import (
    make_loader,
    place_batch_transform,
)
from torch_skeleton_mae.nn import DEFAULT_MASK, STRL, SkeletonMAE
from torch_skeleton_mae.nn.models.skeleton_mae import TARGETS
from torch_skeleton_mae.engine.reconstruction import (
    BASELINES,
    joint_means,
    reconstruction_baselines,
)
from torch_skeleton_mae.transforms.batch import Compose as BatchCompose
from torch_skeleton_mae.transforms.batch import (
    GaussianNoise,
    RandomRotation,
    RandomScale,
)

#: The benchmarks, their classes and their benchmark names.
DATASETS = {
    'ntu60': dict(num_classes=60, benchmarks=('xsub', 'xview')),
    'ntu120': dict(num_classes=120, benchmarks=('xsub', 'xset')),
    'finegym': dict(num_classes=99, benchmarks=('none', )),
    'diving48': dict(num_classes=48, benchmarks=('none', )),
    'nw-ucla': dict(num_classes=10, benchmarks=('xview', 'xsub')),
    'penn-action': dict(num_classes=15, benchmarks=('none', )),
}

#: The paper's recipes (Sec. 4.2), used with --data. Linear evaluation is
#: not specified by the paper; ours fits a linear layer to frozen features.
PAPER = {
    'pretrain': dict(epochs=50, batch_size=1024, lr=1.5e-4, weight_decay=0.0,
                     frames=64),
    'finetune': dict(epochs=110, batch_size=128, lr=0.1, weight_decay=5e-4,
                     frames=64, warmup=5, milestones=[90, 100]),
    'linear': dict(batch_size=256, lr=1e-2, weight_decay=1e-4, frames=64,
                   epochs=300),
}

#: Quick settings on the built-in synthetic set, minutes on a 2-core CPU.
QUICK = {
    'pretrain': dict(epochs=5, batch_size=64, lr=1e-3, weight_decay=0.0,
                     frames=32, samples=2000),
    'finetune': dict(epochs=10, batch_size=32, lr=0.05, weight_decay=5e-4,
                     frames=16, warmup=1, milestones=[7, 9], samples=2000),
    'linear': dict(batch_size=256, lr=1e-2, weight_decay=1e-4, frames=32,
                   epochs=300, samples=2000),
}

#: The defaults with --data on the small real datasets NW-UCLA and Penn
#: Action (1,000 to 1,300 training sequences), where the paper's batch of
#: 1024 would be one step an epoch. Batches, rates and warm-up follow the
#: quick settings, scaled to the sets' sizes; how they were chosen:
#: docs/protocols.rst.
SMALL = {
    'pretrain': dict(epochs=20, batch_size=64, lr=1e-3, weight_decay=0.0,
                     frames=16),
    'finetune': dict(epochs=15, batch_size=32, lr=0.025, weight_decay=5e-4,
                     frames=16, warmup=1, milestones=[10, 13]),
    'linear': dict(batch_size=256, lr=1e-2, weight_decay=1e-4, frames=16,
                   epochs=300),
}
#: Their semi-supervised fine-tuning (about 100 labelled sequences).
SMALL_SEMI = dict(epochs=80, batch_size=16, lr=0.1 * 16 / 128, warmup=5,
                  milestones=[60, 75])
SMALL_DATASETS = ('nw-ucla', 'penn-action')

#: Semi-supervised runs see few sequences, hence smaller batches, more
#: epochs, and the paper's learning rate and warm-up scaled to batch 16.
#: 120 epochs: after 60 (milestones 45, 55) training top-1 was still below
#: 80%, and the fine-tuning seed alone spread test top-1 twice as wide.
QUICK_SEMI = dict(epochs=120, batch_size=16, lr=0.1 * 16 / 128, warmup=5,
                  milestones=[90, 110], samples=2000)


#: Seed of the per-class draw of --holdout (apart from --semi's, seed 0).
HOLDOUT_SEED = 1


class UsageError(ValueError):
    r"""A mistake in a command line or in the files it names (a bad flag,
    a missing or corrupt file, impossible sizes, no GPU): the command-line
    programs print it as one line on stderr and exit with status 2."""


class ArgumentParser(argparse.ArgumentParser):
    r"""An :class:`argparse.ArgumentParser` whose errors raise
    :class:`UsageError` (one line, no usage dump)."""
    def error(self, message: str):
        raise UsageError(message)


@contextlib.contextmanager
def user_input():
    r"""Turns the errors that bad input raises (:class:`ValueError`, missing
    files) into :class:`UsageError` inside the block."""
    try:
        yield
    except UsageError:
        raise
    except (ValueError, FileNotFoundError, NotADirectoryError,
            IsADirectoryError) as error:
        raise UsageError(str(error)) from error


def command_line(program: Callable[[], Any]) -> None:
    r"""Runs :obj:`program` (:func:`pretrain`, :func:`linear_eval` or
    :func:`finetune`) as a command: a :class:`UsageError` becomes one line
    on stderr and exit status 2, a diverged training one line and status 1;
    anything else (a bug) keeps its traceback."""
    name = Path(sys.argv[0]).name
    try:
        program()
    except UsageError as error:
        print(f'{name}: error: {error}', file=sys.stderr)
        raise SystemExit(2)
    except TrainingDiverged as error:
        print(f'{name}: training diverged: {error}', file=sys.stderr)
        raise SystemExit(1)


def build_parser(protocol: str) -> argparse.ArgumentParser:
    r"""The command-line flags of :obj:`protocol` (:obj:`"pretrain"`,
    :obj:`"linear"` or :obj:`"finetune"`). Unset numeric flags take the
    paper's values with :obj:`--data` and quick values without."""
    parser = ArgumentParser(
        description=f'SkeletonMAE {protocol}. Without --data: the built-in '
        f'synthetic dataset, quick settings. With --data: the paper\'s '
        f'recipe.')
    add = parser.add_argument
    add('--dataset', default='ntu60', choices=sorted(DATASETS),
        help='benchmark of --data: its classes and split names')
    add('--data', type=Path, default=None,
        help='pyskl .pkl, CTR-GCN .npz, or a folder of NW-UCLA .json, '
        'Penn Action .mat or raw NTU .skeleton files; the synthetic dataset '
        'if unset')
    add('--split', default=None,
        help='benchmark: xsub or xview (ntu60), xsub or xset (ntu120), '
        'xview or xsub (nw-ucla); FineGym, Diving48 and Penn Action have '
        'one split')
    add('--layout', default=None,
        help="skeleton layout (default: the reader's; 'coco' for synthetic "
        "data, the paper's 2D COCO-17)")
    add('--score', action='store_true',
        help='append the 2D confidence score as an input channel (the '
        'paper uses (x, y) only)')
    paper, quick = PAPER[protocol], QUICK[protocol]

    def default(key):
        return (f"default: {paper[key]:g} with --data (the paper's; "
                f"{SMALL[protocol][key]:g} for {' and '.join(SMALL_DATASETS)}"
                f"), {quick[key]:g} without")

    add('--holdout', type=float, default=None, metavar='FRACTION',
        help='evaluate on this fraction of the training split, held out per '
        'class, instead of the test split: for choosing a recipe without '
        'looking at the test split')
    add('--samples', type=int, default=None,
        help=f"synthetic sequences without --data (default: "
        f"{quick['samples']})")
    add('--frames', type=int, default=None,
        help=f'frames T per sample ({default("frames")})')
    add('--epochs', type=int, default=None, help=default('epochs'))
    add('--batch-size', type=int, default=None, help=default('batch_size'))
    add('--lr', type=float, default=None, help=default('lr'))
    add('--weight-decay', type=float, default=None,
        help=default('weight_decay'))
    add('--workers', type=int, default=2,
        help='loader workers: threads of this process where the data reads '
        'whole batches (every reader of this package), else processes')
    add('--worker-processes', action='store_true',
        help="run the workers as a DataLoader's processes even where "
        "threads would do (the same batches either way)")
    add('--device', default=None, help='default: cuda if available')
    add('--precision', default='auto', choices=PRECISIONS,
        help='autocast: auto = bf16/fp16 on CUDA, fp32 on the CPU')
    add('--seed', type=int, default=0)
    add('--out', type=Path, default=Path(f'runs/{protocol}'),
        help='folder of logs, checkpoints and figures')
    if protocol != 'linear':
        add('--resume', action='store_true',
            help='continue from OUT/last.pt')
        add('--eval-every', type=int, default=5,
            help='evaluate every this many epochs (and after the last)')
        add('--compile', action='store_true',
            help='train through torch.compile')
        add('--noise', type=float, default=None,
            help="std of the training 'pixel noise' (Sec. 4.1) in the "
            "data's units (default: the reader's: 1 px for 2D pickles, "
            "1 cm for the synthetic set, 0 for 3D data)")
        add('--rotate', type=float, default=0.0, metavar='DEGREES',
            help='augmentation: rotate each 3D training sequence by random '
            'angles up to this about every axis (default: 0, none)')
        add('--scale', type=float, default=0.0, metavar='AMOUNT',
            help='augmentation: scale each training sequence\'s coordinates '
            'by random factors in [1 - AMOUNT, 1 + AMOUNT] (default: 0)')
        add('--encoder', default='gin',
            help="encoder convolution: gin (the paper's), gcn, gat (Table "
            "4c) or a PyG conv class's import path; with --pretrained, the "
            "checkpoint's")
        add('--encoder-layers', type=int, default=3,
            help="GIN layers L_D of the encoder (Table 4a; default: 3)")
        add('--joint-embedding', action='store_true',
            help='learnable per-joint embeddings (not in the paper)')
        add('--embedding-bias', action='store_true',
            help="an affine joint embedding instead of the paper's linear "
            "one")
    if protocol == 'pretrain':
        add('--mask', default=DEFAULT_MASK,
            help="what to mask: 'parts:I,J' (regions by index or name; "
            "default: the paper's best, right arm + right leg = V3, V5), "
            "'random-parts:K' or 'random-joints:RATIO'")
        add('--target', default='embedding', choices=TARGETS,
            help="reconstruct the embedded joints (Eq. 2) or the input "
            "coordinates")
        add('--literal-target', action=argparse.BooleanOptionalAction,
            default=False,
            help='let the gradient flow into the embedding target (Eq. 2 '
            'read literally; it can collapse)')
        add('--remask', action=argparse.BooleanOptionalAction, default=True,
            help="zero the masked joints' encodings before the decoder, as "
            "GraphMAE does (the paper is silent); --no-remask decodes them")
        add('--center-target', action=argparse.BooleanOptionalAction,
            default=False,
            help="reconstruct each joint's offset from its mean position "
            "rather than its position (not in the paper)")
        add('--probe', action=argparse.BooleanOptionalAction, default=True,
            help='at the end, linear probes of the pre-trained and of a '
            'random encoder, and the reconstruction beside trivial '
            'predictors')
        add('--synthetic', type=int, default=0, metavar='N',
            help='pre-train on N synthetic sequences in the data\'s layout '
            'beside its training split (default: 0)')
    else:
        add('--pretrained', type=Path, default=None,
            help='SkeletonMAE checkpoint (from the pre-training script)')
    if protocol == 'linear':
        add('--random-init', action='store_true',
            help='probe a randomly initialized encoder (the baseline)')
    if protocol != 'pretrain':
        add('--semi', type=float, default=None,
            help='fraction of training labels, e.g. 0.01 or 0.1, chosen '
            'deterministically per class')
    if protocol == 'finetune':
        add('--momentum', type=float, default=0.9)
        add('--warmup', type=int, default=None, help='warm-up epochs')
        add('--milestones', type=int, nargs='+', default=None,
            help='epochs after which the rate is divided by 10')
        add('--label-smoothing', type=float, default=0.1)
        add('--dropout', type=float, default=0.0)
        add('--freeze-encoder', action='store_true',
            help='keep the pre-trained encoders fixed')
        add('--strl-layers', type=int, default=3,
            help='STRL layers M (Table 5a; default: 3)')
        add('--person-interaction', action='store_true',
            help="pool the spatial modelling over both persons of a frame "
            "instead of each person's joints (Eq. 3)")
    return parser


def parse_args(protocol: str,
               argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    r"""Parses and checks :obj:`argv`, filling unset values from
    :data:`PAPER` or :data:`QUICK`; errors name the flag."""
    parser = build_parser(protocol)
    args = parser.parse_args(argv)
    args.protocol = protocol
    synthetic = args.data is None
    small = not synthetic and args.dataset in SMALL_DATASETS
    defaults = dict((QUICK if synthetic else SMALL if small else
                     PAPER)[protocol])
    if protocol == 'finetune' and args.semi and (synthetic or small):
        defaults.update(QUICK_SEMI if synthetic else SMALL_SEMI)
    for key, value in defaults.items():
        if getattr(args, key, None) is None:
            setattr(args, key, value)
    benchmarks = DATASETS[args.dataset]['benchmarks']
    if args.split is None:
        args.split = 'xsub' if synthetic else benchmarks[0]
    if synthetic and args.split not in ('xsub', 'xview'):
        parser.error(f"--split {args.split}: the synthetic dataset has "
                     f"'xsub' and 'xview'")
    if not synthetic and args.split not in benchmarks:
        parser.error(f"--split {args.split}: --dataset {args.dataset} has "
                     f"{list(benchmarks)}")
    if not synthetic and not args.data.exists():
        parser.error(f"--data {args.data}: no such file or folder")
    for flag in ('epochs', 'batch_size', 'frames', 'workers', 'samples',
                 'eval_every', 'encoder_layers', 'strl_layers', 'warmup'):
        value = getattr(args, flag, None)
        least = 0 if flag in ('workers', 'warmup') else 1
        if value is not None and value < least:
            parser.error(f"--{flag.replace('_', '-')} must be "
                         f"{'>= 0' if least == 0 else 'positive'}, got "
                         f"{value}")
    for flag in ('lr', 'weight_decay', 'noise', 'momentum',
                 'label_smoothing', 'dropout'):
        value = getattr(args, flag, None)
        if value is not None and not (math.isfinite(value) and value >= 0
                                      and (value > 0 or flag != 'lr')):
            parser.error(f"--{flag.replace('_', '-')} must be a finite "
                         f"number {'> 0' if flag == 'lr' else '>= 0'}, got "
                         f"{value}")
    milestones = getattr(args, 'milestones', None)
    if milestones is not None and (
            milestones[0] < 1 or any(b <= a for a, b in zip(
                milestones, milestones[1:]))):
        parser.error(f'--milestones must be increasing epochs >= 1, got '
                     f'{milestones}')
    if getattr(args, 'semi', None) is not None and not 0 < args.semi <= 1:
        parser.error(f'--semi must lie in (0, 1], got {args.semi}')
    if args.holdout is not None and not 0 < args.holdout < 1:
        parser.error(f'--holdout must lie in (0, 1), got {args.holdout}')
    for flag in ('rotate', 'scale', 'synthetic'):
        value = getattr(args, flag, 0)
        if not (math.isfinite(value) and value >= 0):
            parser.error(f'--{flag} must be >= 0, got {value}')
    if getattr(args, 'synthetic', 0) and args.data is None:
        parser.error('--synthetic adds synthetic sequences to --data\'s '
                     'training split: it needs --data')
    pretrained = getattr(args, 'pretrained', None)
    if pretrained is not None and not pretrained.is_file():
        parser.error(f'--pretrained {pretrained}: no such checkpoint')
    if (protocol == 'linear' and pretrained is None
            and not args.random_init):
        parser.error('linear evaluation needs --pretrained CHECKPOINT (or '
                     '--random-init for the baseline)')
    if getattr(args, 'freeze_encoder', False) and pretrained is None:
        parser.error('--freeze-encoder keeps pre-trained encoders fixed: it '
                     'needs --pretrained CHECKPOINT')
    blocked = [p for p in (args.out, *args.out.parents)
               if p.exists() and not p.is_dir()]
    if blocked:
        parser.error(f'--out {args.out}: {blocked[0]} is a file; expected a '
                     f'folder')
    return args


#: Flags that may differ when a run resumes (they change where and how fast
#: it runs and how long, not what it computes).
RESUMABLE = ('resume', 'workers', 'worker_processes', 'device', 'out',
             'eval_every', 'epochs', 'compile', 'probe')


def check_run_folder(args: argparse.Namespace) -> None:
    r"""Refuses to start a run in a folder that holds one (unless
    :obj:`--resume`), and to resume a run with flags that change its
    result.

    Raises:
        UsageError: naming the folder, or every differing flag.
    """
    checkpoint = args.out / 'last.pt'
    log = args.out / f'{args.protocol}.csv'
    if not args.resume:
        if checkpoint.exists() or log.exists():
            raise UsageError(
                f'--out {args.out} holds an earlier {args.protocol} run '
                f'({checkpoint.name if checkpoint.exists() else log.name}); '
                f'pass --resume to continue it, or another --out (or delete '
                f'the folder) to start over')
        return
    if not checkpoint.is_file():
        raise UsageError(f'--resume: {checkpoint} does not exist; start the '
                         f'run without --resume')
    with user_input():
        saved = load_checkpoint(checkpoint).get('args') or {}
    now = _plain(args)
    differs = [f"--{key.replace('_', '-')} {now.get(key)!r} (the run has "
               f"{saved.get(key)!r})"
               for key in sorted(set(saved) | set(now))
               if key not in RESUMABLE and saved.get(key) != now.get(key)]
    if differs:
        raise UsageError(
            f'--resume: these flags differ from the run in {args.out}: '
            + '; '.join(differs) + '. Resume with the run\'s flags, or start '
            'a new run in another --out')


@dataclass
class ProtocolData:
    r"""What :func:`load_data` returns: the training set (cut to
    :obj:`args.semi` of its labels when set), the evaluation set, the
    layout, input channels, classes, class names (or :obj:`None`) and the
    reader's training noise (its :obj:`pixel_noise`)."""
    train: Dataset
    val: Dataset
    layout: str
    channels: int
    num_classes: int
    names: Optional[List[str]]
    pixel_noise: float


def load_data(args: argparse.Namespace) -> ProtocolData:
    r"""The data of :obj:`args` (see :func:`parse_args`).

    Raises:
        UsageError: on unreadable data, an empty split, or labels outside
            :obj:`--dataset`'s classes.
    """
    with user_input():
        return _load_data(args)


def _load_data(args: argparse.Namespace) -> ProtocolData:
    if args.data is None:
        layout = args.layout or 'coco'
        # Centering only: the camera yaw is part of the synthetic task
        # (cross-view).
        train, val = (SyntheticSkeletons(args.samples, layout, args.frames,
                                         seed=0, split=part,
                                         benchmark=args.split,
                                         score=args.score, center=True)
                      for part in ('train', 'val'))
        names = list(ACTIONS)
    else:
        benchmark = args.split
        if args.data.is_dir() and args.dataset == 'ntu120':
            benchmark = {'xsub': 'xsub120'}.get(benchmark, benchmark)
        num_classes = DATASETS[args.dataset]['num_classes']
        train, val = (load_dataset(args.data, benchmark, part, args.frames,
                                   layout=args.layout,
                                   num_classes=num_classes, score=args.score)
                      for part in ('train', 'val'))
        names = getattr(train, 'class_names', None)
        for part, data in (('train', train), ('val', val)):
            labels = dataset_labels(data)
            if len(labels) and labels.max() >= num_classes:
                raise UsageError(
                    f'--data {args.data}: the {part} split has label '
                    f'{labels.max()}, beyond the {num_classes} classes of '
                    f'--dataset {args.dataset}')
    for part, data in (('training', train), ('evaluation', val)):
        if len(data) == 0:
            raise UsageError(
                f'the {part} split of '
                f"{args.data or f'{args.samples} synthetic sequences'} "
                f'({args.split}) is empty' + (
                    '; use more --samples' if args.data is None else ''))
    out = ProtocolData(train, val, train.skeleton.name, train[0][0].size(0),
                       train.num_classes, names, train.pixel_noise)
    if args.holdout is not None:
        held = label_fraction_indices(dataset_labels(train), args.holdout,
                                      seed=HOLDOUT_SEED)
        rest = np.setdiff1d(np.arange(len(train)), held)
        evaluated = copy.copy(train).sample_frames(train.num_frames, False)
        out.train, out.val = Subset(train, rest.tolist()), Subset(
            evaluated, held.tolist())
    if getattr(args, 'semi', None) is not None:
        out.train = label_fraction_subset(out.train, args.semi, seed=0)
    return out


def _announce(args: argparse.Namespace, context: DistributedContext,
              data: ProtocolData, device: torch.device) -> None:
    if not context.is_main:
        return
    if args.data is None:
        print(f'No --data given: {args.protocol} on the built-in synthetic '
              f'dataset ({args.samples} sequences of {args.frames} frames, '
              f'{args.epochs} epochs): a few minutes on a CPU. Pass --data '
              f'for NTU RGB+D, FineGym, Diving48, NW-UCLA or Penn Action.')
    print(f'layout={data.layout} C={data.channels} train={len(data.train)} '
          f'val={len(data.val)} classes={data.num_classes} device={device} '
          f'processes={context.world_size}')


def _write_report(report: ClassificationReport, out: Path, stem: str,
                  names: Optional[List[str]]) -> Dict[str, Any]:
    summary = report.summary()
    summary['per_class'] = [None if math.isnan(a) else a
                            for a in report.per_class.tolist()]
    (out / f'{stem}.json').write_text(json.dumps(summary, indent=1))
    path = save_confusion_matrix(report.confusion, out / f'{stem}.png', names,
                                 title=stem.replace('_', ' '))
    if path is not None:
        print(f'confusion matrix: {path}')
    else:
        _no_matplotlib()
    return summary


@functools.lru_cache(maxsize=None)
def _no_matplotlib() -> None:
    print('matplotlib is not installed (pip install matplotlib): the '
          'confusion matrices are written as CSV only')


def _probe(model: Module, loaders, device: torch.device, num_classes: int,
           args: argparse.Namespace, encoder: str) -> ClassificationReport:
    features = [extract_features(model, loader, device,
                                 desc=f'features: {encoder}, {part} set')
                for loader, part in zip(loaders, ('training', 'evaluation'))]
    return linear_probe(*features, num_classes, epochs=args.epochs
                        if args.protocol == 'linear' else 300,
                        lr=args.lr if args.protocol == 'linear' else 1e-2,
                        weight_decay=args.weight_decay
                        if args.protocol == 'linear' else 1e-4,
                        seed=args.seed)


def _workers(args: argparse.Namespace) -> Dict[str, Any]:
    # make_loader's worker arguments from --workers / --worker-processes.
    return dict(num_workers=args.workers,
                worker_threads=False if args.worker_processes else None)


def _eval_loaders(data: ProtocolData, args, device):
    return [make_loader(d, 256, device, train=False, **_workers(args))
            for d in (data.train, data.val)]


def _training_batches(args: argparse.Namespace, data: ProtocolData,
                      device: torch.device, context: DistributedContext,
                      train: Optional[Dataset] = None
                      ) -> Tuple[DataLoader, Optional[Callable]]:
    # The loader of `train` (default: data.train) and the Trainer's
    # batch_transform, which share the augmentation by device
    # (place_batch_transform): --rotate, --scale, then the pixel noise.
    train = data.train if train is None else train
    std = data.pixel_noise if args.noise is None else args.noise
    coords = get_skeleton(data.layout).coords
    if args.rotate and coords != 3:
        raise UsageError(f'--rotate {args.rotate:g} turns 3D joints; layout '
                         f"'{data.layout}' is 2D (use --scale)")
    augment = ([RandomRotation(args.rotate)] if args.rotate else []) + (
        [RandomScale(args.scale, coords)] if args.scale else []) + (
        [GaussianNoise(std, coords, inplace=True)] if std > 0 else [])
    transform = (None if not augment else augment[0] if len(augment) == 1
                 else BatchCompose(augment))
    on_workers, on_device = place_batch_transform(transform, device)
    loader = make_loader(train, args.batch_size, device, True,
                         seed=args.seed, context=context,
                         transform=on_workers, **_workers(args))
    return loader, on_device


def pretrain(argv: Optional[Sequence[str]] = None) -> Dict[str, Any]:
    r"""SkeletonMAE pre-training (Adam), then, with :obj:`--probe`, linear
    probes of the pre-trained encoder and of a randomly initialized one.
    Writes :obj:`OUT/last.pt`, :obj:`OUT/pretrain.csv` and the probes'
    reports. Launch with :obj:`torchrun` for several processes.

    Returns:
        :obj:`probe` and :obj:`random_probe` top-1 (main process, with
        :obj:`--probe`) and the training history.
    """
    args = parse_args('pretrain', argv)
    check_run_folder(args)
    with user_input():
        context, device = init_distributed(args.device)
    try:
        seed_everything(args.seed)
        data = load_data(args)
        _announce(args, context, data, device)
        with user_input():
            model = SkeletonMAE(data.layout, data.channels,
                                num_layers=args.encoder_layers,
                                encoder=args.encoder, mask=args.mask,
                                target=args.target,
                                stop_target_grad=not args.literal_target,
                                center_target=args.center_target,
                                remask=args.remask,
                                joint_embedding=args.joint_embedding,
                                embedding_bias=args.embedding_bias)
        if context.is_main:
            print(f'{model}: {sum(p.numel() for p in model.parameters())} '
                  f'parameters')
        optimizer = torch.optim.Adam(model.parameters(), lr=args.lr,
                                     weight_decay=args.weight_decay)
        loader, noise = _training_batches(args, data, device, context,
                                          _pretraining_set(args, data))
        trainer = Trainer(model, MAEObjective(), optimizer, loader, device,
                          args.out, name='pretrain', precision=args.precision,
                          seed=args.seed, context=context,
                          extra_state=dict(args=_plain(args)),
                          compile=args.compile, batch_transform=noise)
        history = trainer.fit(args.epochs, resume=args.resume)
        result: Dict[str, Any] = dict(history=history)
        if context.is_main and history:
            print(f"pre-training done: loss {history[-1]['loss']:.4f}; "
                  f"checkpoint {trainer.checkpoint_path}")
        if context.is_main and args.probe:
            loaders = _eval_loaders(data, args, device)
            report = _probe(model, loaders, device, data.num_classes, args,
                            'pre-trained encoder')
            with torch.random.fork_rng():
                torch.manual_seed(args.seed)
                baseline = SkeletonMAE(**model.config).to(device)
            random_report = _probe(baseline, loaders, device,
                                   data.num_classes, args, 'random encoder')
            _write_report(report, args.out, 'probe', data.names)
            _write_report(random_report, args.out, 'probe_random',
                          data.names)
            means = joint_means(loaders[0], model.skeleton.num_joints)
            errors = reconstruction_baselines(model, loaders[1], device,
                                              means, seed=args.seed)
            (args.out / 'reconstruction.json').write_text(
                json.dumps(errors, indent=1))
            print(f'linear probe top-1: pre-trained encoder '
                  f'{100 * report.top1:.1f}%, random encoder '
                  f'{100 * random_report.top1:.1f}% (chance '
                  f'{100 / data.num_classes:.1f}%)')
            print('masked-joint error on the evaluation set (Eq. 2, lower '
                  'is better): model ' + ', '.join(
                      f'{errors[k]:.3f}' if k == 'model' else
                      f"{k.replace('_', ' ')} {errors[k]:.3f}"
                      for k in ('model', ) + BASELINES
                      if errors[k] is not None))
            result.update(probe=report.top1, random_probe=random_report.top1,
                          reconstruction=errors)
        return result
    finally:
        cleanup_distributed()


def _pretraining_set(args: argparse.Namespace,
                     data: ProtocolData) -> Dataset:
    r"""The training split, beside :obj:`--synthetic` synthetic
    sequences in its layout, preprocessed as the readers preprocess real
    data, with its persons and channels."""
    if not args.synthetic:
        return data.train
    if isinstance(data.train, Subset):
        raise UsageError('--synthetic adds to the whole training split; it '
                         'does not combine with --holdout')
    with user_input():
        synthetic = SyntheticSkeletons(
            args.synthetic, data.layout, seed=args.seed, normalize=True,
            max_persons=data.train.frames.shape[-1],
            score=data.channels > get_skeleton(data.layout).coords)
        return concat_sequences(data.train, synthetic)


def linear_eval(argv: Optional[Sequence[str]] = None) -> Dict[str, Any]:
    r"""Linear evaluation: the frozen SkeletonMAE encoder of
    :obj:`--pretrained` (or a random one with :obj:`--random-init`) encodes
    every sequence once; a linear classifier is fitted to the pooled
    features of the training set (of its :obj:`--semi` fraction of labels)
    and scored on the evaluation set (top-1, top-5, per-class accuracy,
    confusion matrix in :obj:`OUT`).

    Returns:
        The evaluation summary.
    """
    args = parse_args('linear', argv)
    with user_input():
        context, device = init_distributed(args.device)
    try:
        if not context.is_main:  # one process does the (cheap) work
            return {}
        seed_everything(args.seed)
        data = load_data(args)
        _announce(args, context, data, device)
        if args.random_init:
            model = SkeletonMAE(data.layout, data.channels)
        else:
            checkpoint = _pretrained_checkpoint(args, data)
            model = SkeletonMAE(**checkpoint['config'])
            with user_input():
                load_weights(model, checkpoint, str(args.pretrained))
        model.to(device)
        args.out.mkdir(parents=True, exist_ok=True)
        report = _probe(model, _eval_loaders(data, args, device), device,
                        data.num_classes, args, 'random encoder'
                        if args.random_init else 'pre-trained encoder')
        summary = _write_report(report, args.out, 'linear_eval', data.names)
        print(f'linear evaluation: top-1 {100 * report.top1:.1f}%, top-5 '
              f'{100 * report.top5:.1f}%, mean class accuracy '
              f"{100 * summary['mean_class_acc']:.1f}%")
        return summary
    finally:
        cleanup_distributed()


def finetune(argv: Optional[Sequence[str]] = None) -> Dict[str, Any]:
    r"""Fine-tuning of :class:`~torch_skeleton_mae.nn.STRL` (SGD with
    momentum, warm-up and step decay, label smoothing), from the
    SkeletonMAE checkpoint :obj:`--pretrained` or from scratch; with
    :obj:`--semi FRACTION` on a deterministic per-class subset of the
    training labels. Evaluates every :obj:`--eval-every` epochs and writes
    the final report and confusion matrix to :obj:`OUT`.

    Returns:
        The final evaluation summary (main process) and the history.
    """
    args = parse_args('finetune', argv)
    check_run_folder(args)
    with user_input():
        context, device = init_distributed(args.device)
    try:
        seed_everything(args.seed)
        data = load_data(args)
        _announce(args, context, data, device)
        encoder = dict(hidden_channels=64, encoder=args.encoder,
                       encoder_layers=args.encoder_layers,
                       joint_embedding=args.joint_embedding,
                       embedding_bias=args.embedding_bias)
        checkpoint = None
        if args.pretrained is not None:
            checkpoint = _pretrained_checkpoint(args, data)
            config = checkpoint['config']
            encoder = dict(hidden_channels=config['hidden_channels'],
                           encoder=config['encoder'],
                           encoder_layers=config['num_layers'],
                           joint_embedding=config['joint_embedding'],
                           embedding_bias=config['embedding_bias'])
        model = STRL(data.layout, data.channels, data.num_classes,
                     num_layers=args.strl_layers,
                     person_interaction=args.person_interaction,
                     max_frames=max(300, args.frames), dropout=args.dropout,
                     freeze_encoder=args.freeze_encoder, **encoder)
        if checkpoint is not None:
            with user_input():
                model.load_pretrained(checkpoint)
        elif context.is_main:
            print('No --pretrained checkpoint: training from scratch')
        optimizer = torch.optim.SGD(
            [p for p in model.parameters() if p.requires_grad], lr=args.lr,
            momentum=args.momentum, weight_decay=args.weight_decay)
        scheduler = warmup_multistep(optimizer, args.warmup, args.milestones)
        val_loader = make_loader(data.val, 256, device, train=False,
                                 **_workers(args))

        def validate(module: Module) -> Dict[str, float]:
            report = evaluate(module, val_loader, device, data.num_classes,
                              args.precision)
            return {f'val_{k}': v for k, v in report.summary().items()}

        loader, noise = _training_batches(args, data, device, context)
        trainer = Trainer(model, ClassificationObjective(
            args.label_smoothing), optimizer, loader, device, args.out,
                          name='finetune', scheduler=scheduler,
                          precision=args.precision, evaluate=validate,
                          eval_every=args.eval_every, seed=args.seed,
                          context=context,
                          extra_state=dict(args=_plain(args)),
                          compile=args.compile, batch_transform=noise)
        history = trainer.fit(args.epochs, resume=args.resume)
        result: Dict[str, Any] = dict(history=history)
        if context.is_main:
            report = evaluate(model, val_loader, device, data.num_classes,
                              args.precision)
            result.update(_write_report(report, args.out, 'finetune_eval',
                                        data.names))
            print(f'fine-tuning: top-1 {100 * report.top1:.1f}%, top-5 '
                  f'{100 * report.top5:.1f}% on {len(data.val)} sequences')
        return result
    finally:
        cleanup_distributed()


def _pretrained_checkpoint(args: argparse.Namespace,
                           data: ProtocolData) -> Dict[str, Any]:
    r"""The :obj:`--pretrained` checkpoint, after checking that it was
    pre-trained on the data's layout and channels."""
    with user_input():
        checkpoint = load_checkpoint(args.pretrained)
    if checkpoint.get('version') != CHECKPOINT_VERSION:
        raise UsageError(
            f"--pretrained {args.pretrained} was written by "
            f"torch_skeleton_mae {checkpoint.get('package_version')} "
            f"(checkpoint version {checkpoint.get('version')}); this one "
            f"reads version {CHECKPOINT_VERSION}: pre-train again")
    config = checkpoint.get('config') or {}
    if (config.get('skeleton'), config.get('in_channels')) != (
            data.layout, data.channels):
        raise UsageError(
            f"--pretrained {args.pretrained} was trained on layout "
            f"'{config.get('skeleton')}' with {config.get('in_channels')} "
            f"channels, the data has '{data.layout}' with {data.channels}")
    return checkpoint


def _plain(args: argparse.Namespace) -> Dict[str, Any]:
    r"""The arguments as plain values (checkpoints load with
    :obj:`weights_only=True`)."""
    return {k: (str(v) if isinstance(v, Path) else v)
            for k, v in vars(args).items()}
