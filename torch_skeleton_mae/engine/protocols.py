r"""The command line of the training protocols: SkeletonMAE pre-training and
fine-tuning (the paper's, Sec. 4.2), and the field's linear evaluation and
semi-supervised fine-tuning (not in the paper). Each command parses its
flags, builds the data, the model and the recipe, and calls the function of
:mod:`~torch_skeleton_mae.engine.training` that Python code calls::

    python -m torch_skeleton_mae pretrain --help

The recipe flags are made from the fields of
:mod:`~torch_skeleton_mae.engine.recipes`; unset, they take the preset of the
data (the paper's with ``--data``, the small sets' for NW-UCLA and Penn
Action, the quick one without ``--data``)."""
import argparse
import contextlib
import dataclasses
import inspect
import math
import os
import sys
import typing
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence

from torch_skeleton_mae.engine.checkpoint import (
    CHECKPOINT_VERSION,
    load_checkpoint,
    seed_everything,
)
from torch_skeleton_mae.datasets.registry import DATASETS
from torch_skeleton_mae.engine.precision import PRECISIONS
from torch_skeleton_mae.engine.recipes import (
    PAPER,
    QUICK,
    FinetuneRecipe,
    LinearRecipe,
    PretrainRecipe,
    RecipeError,
    Recipes,
    preset_for,
)
from torch_skeleton_mae.engine.trainer import TrainingDiverged
from torch_skeleton_mae.engine.training import (
    SYNTHETIC_SAMPLES,
    ProtocolData,
    RunOptions,
    SetupError,
    check_out,
    finetune,
    linear_eval,
    load_data,
    pretrain,
    with_synthetic,
)
from torch_skeleton_mae.nn import STRL, SkeletonMAE
from torch_skeleton_mae.nn.models.skeleton_mae import TARGETS

#: The recipe of each command.
RECIPE_TYPES = dict(pretrain=PretrainRecipe, finetune=FinetuneRecipe,
                    linear=LinearRecipe)


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
    r"""Runs :obj:`program` (*e.g.* :func:`pretrain_command`) as a command:
    a :class:`UsageError` or
    :class:`~torch_skeleton_mae.engine.training.SetupError` becomes one line
    on stderr and exit status 2, a diverged training one line and status 1;
    anything else (a bug) keeps its traceback."""
    name = Path(sys.argv[0]).name
    try:
        program()
    except (UsageError, SetupError) as error:
        print(f'{name}: error: {error}', file=sys.stderr)
        raise SystemExit(2)
    except TrainingDiverged as error:
        print(f'{name}: training diverged: {error}', file=sys.stderr)
        raise SystemExit(1)


def default_of(cls: type, name: str) -> Any:
    r"""The default of :obj:`cls`'s constructor argument :obj:`name`: flags
    of model settings read their defaults from the model."""
    return inspect.signature(cls.__init__).parameters[name].default


def _flag(name: str) -> str:
    return '--' + name.replace('_', '-')


def _add_recipe_flags(parser: argparse.ArgumentParser, protocol: str,
                      recipe_type: type) -> None:
    # One flag per recipe field, its help from the field; the defaults of
    # every preset in the help.
    hints = typing.get_type_hints(recipe_type)
    for field in dataclasses.fields(recipe_type):
        hint = hints[field.name]
        kind = next((t for t in typing.get_args(hint) if t is not type(None)),
                    hint)
        if typing.get_origin(hint) is tuple:
            extra = dict(type=int, nargs='+', metavar='EPOCH')
        else:
            extra = dict(type=kind)
        own = [name for name, info in DATASETS.items()
               if info.preset != 'paper']  # the datasets with a preset
        values = {name: getattr(preset_for(name).of(protocol), field.name)
                  for name in own}
        values.update(paper=getattr(PAPER.of(protocol), field.name),
                      quick=getattr(QUICK.of(protocol), field.name))
        if len(set(map(str, values.values()))) == 1:
            text = ('' if values['paper'] is None else
                    f" (default: {_shown(values['paper'])})")
        else:
            by_value: Dict[str, List[str]] = {}
            for name in own:
                by_value.setdefault(_shown(values[name]), []).append(name)
            text = (f" (default: {_shown(values['paper'])} with --data, the "
                    f"paper's; " + ''.join(
                        f"{value} for {' and '.join(names)}; "
                        for value, names in by_value.items()) +
                    f"{_shown(values['quick'])} without --data)")
        parser.add_argument(_flag(field.name), default=None,
                            help=field.metadata['help'] + text, **extra)


def _shown(value: Any) -> str:
    if isinstance(value, tuple):
        return ' '.join(map(str, value))
    return f'{value:g}' if isinstance(value, float) else str(value)


def build_parser(protocol: str) -> argparse.ArgumentParser:
    r"""The command-line flags of :obj:`protocol` (:obj:`"pretrain"`,
    :obj:`"linear"` or :obj:`"finetune"`): the data's, the recipe's (made
    from :data:`RECIPE_TYPES`), the model's and the run's."""
    parser = ArgumentParser(
        description=f'SkeletonMAE {protocol}. Without --data: the built-in '
        f'synthetic dataset, quick settings. With --data: the paper\'s '
        f'recipe.' + (' With --semi, the preset\'s semi-supervised recipe '
                      '(docs/protocols.rst).' if protocol == 'finetune'
                      else ''))
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
    add('--holdout', type=float, default=None, metavar='FRACTION',
        help='evaluate on this fraction of the training split, held out per '
        'class, instead of the test split: for choosing a recipe without '
        'looking at the test split')
    add('--samples', type=int, default=None,
        help=f'synthetic sequences without --data (default: '
        f'{SYNTHETIC_SAMPLES})')
    _add_recipe_flags(parser, protocol, RECIPE_TYPES[protocol])
    add('--workers', type=int, default=RunOptions.workers,
        help='loader workers: threads of this process where the data reads '
        'whole batches (every reader of this package), else processes')
    add('--worker-processes', action='store_true',
        help="run the workers as a DataLoader's processes even where "
        "threads would do (the same batches either way)")
    add('--device', default=None, help='default: cuda if available')
    add('--precision', default=RunOptions.precision, choices=PRECISIONS,
        help='autocast: auto = bf16/fp16 on CUDA, fp32 on the CPU')
    add('--seed', type=int, default=RunOptions.seed)
    add('--out', type=Path, default=Path(f'runs/{protocol}'),
        help='folder of logs, checkpoints and figures')
    if protocol != 'linear':
        add('--resume', action='store_true',
            help='continue from OUT/last.pt')
        add('--eval-every', type=int, default=RunOptions.eval_every,
            help='evaluate every this many epochs (and after the last)')
        add('--compile', action='store_true',
            help='train through torch.compile')
        add('--encoder', default=default_of(SkeletonMAE, 'encoder'),
            help="encoder convolution: gin (the paper's), gcn, gat (Table "
            "4c) or the import path of a conv class torch_geometric.nn "
            "exports; with --pretrained, the checkpoint's")
        add('--encoder-layers', type=int,
            default=default_of(SkeletonMAE, 'encoder_layers'),
            help="GIN layers L_D of the encoder (Table 4a; default: "
            f"{default_of(SkeletonMAE, 'encoder_layers')})")
        add('--joint-embedding', action='store_true',
            help='learnable per-joint embeddings (not in the paper)')
        add('--embedding-bias', action='store_true',
            help="an affine joint embedding instead of the paper's linear "
            "one")
    if protocol == 'pretrain':
        add('--mask', default=default_of(SkeletonMAE, 'mask'),
            help="what to mask: 'parts:I,J' (regions by index or name; "
            "default: the paper's best, right arm + right leg = V3, V5), "
            "'random-parts:K' or 'random-joints:RATIO'")
        add('--target', default=default_of(SkeletonMAE, 'target'),
            choices=TARGETS,
            help="reconstruct the embedded joints (Eq. 2) or the input "
            "coordinates")
        add('--literal-target', action=argparse.BooleanOptionalAction,
            default=not default_of(SkeletonMAE, 'stop_target_grad'),
            help='let the gradient flow into the embedding target (Eq. 2 '
            'read literally; it can collapse)')
        add('--remask', action=argparse.BooleanOptionalAction,
            default=default_of(SkeletonMAE, 'remask'),
            help="zero the masked joints' encodings before the decoder, as "
            "GraphMAE does (the paper is silent); --no-remask decodes them")
        add('--center-target', action=argparse.BooleanOptionalAction,
            default=default_of(SkeletonMAE, 'center_target'),
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
            help='SkeletonMAE checkpoint (from the pre-training command)')
    if protocol == 'linear':
        add('--random-init', action='store_true',
            help='probe a randomly initialized encoder (the baseline)')
    if protocol != 'pretrain':
        add('--semi', type=float, default=None,
            help='fraction of training labels, e.g. 0.01 or 0.1, chosen '
            'deterministically per class')
    if protocol == 'finetune':
        add('--dropout', type=float, default=default_of(STRL, 'dropout'))
        add('--freeze-encoder', action='store_true',
            help='keep the pre-trained encoders fixed')
        add('--strl-layers', type=int, default=default_of(STRL, 'strl_layers'),
            help=f"STRL layers M (Table 5a; default: "
            f"{default_of(STRL, 'strl_layers')})")
        add('--person-interaction', action='store_true',
            help="pool the spatial modelling over both persons of a frame "
            "instead of each person's joints (Eq. 3)")
    return parser


def preset_of(args: argparse.Namespace) -> Recipes:
    r"""The recipes whose numbers fill unset flags
    (:func:`~torch_skeleton_mae.engine.preset_for`):
    :data:`~torch_skeleton_mae.engine.recipes.QUICK` without :obj:`--data`,
    :data:`~torch_skeleton_mae.engine.recipes.SMALL` for NW-UCLA and Penn
    Action, else
    :data:`~torch_skeleton_mae.engine.recipes.PAPER`."""
    return preset_for(None if args.data is None else args.dataset)


def parse_args(protocol: str,
               argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    r"""Parses and checks :obj:`argv`, filling unset recipe flags from
    :func:`preset_of`; errors name the flag."""
    parser = build_parser(protocol)
    args = parser.parse_args(argv)
    args.protocol = protocol
    synthetic = args.data is None
    recipe = preset_of(args).of(protocol, semi=bool(getattr(args, 'semi',
                                                            None)))
    for field in dataclasses.fields(recipe):
        if getattr(args, field.name) is None:
            value = getattr(recipe, field.name)
            setattr(args, field.name,
                    list(value) if isinstance(value, tuple) else value)
    if synthetic and args.samples is None:
        args.samples = SYNTHETIC_SAMPLES
    benchmarks = DATASETS[args.dataset].benchmarks
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
    try:  # the recipe checks its own values
        recipe_of(args)
    except RecipeError as error:
        parser.error(f'{_flag(error.name)} must be {error.requirement}, got '
                     f'{error.value}')
    for flag in ('workers', 'samples', 'eval_every', 'encoder_layers',
                 'strl_layers'):
        value = getattr(args, flag, None)
        least = 0 if flag == 'workers' else 1
        if value is not None and value < least:
            parser.error(f"{_flag(flag)} must be "
                         f"{'>= 0' if least == 0 else 'positive'}, got "
                         f"{value}")
    dropout = getattr(args, 'dropout', None)
    if dropout is not None and not (math.isfinite(dropout) and dropout >= 0):
        parser.error(f'--dropout must be a finite number >= 0, got {dropout}')
    if getattr(args, 'semi', None) is not None and not 0 < args.semi <= 1:
        parser.error(f'--semi must lie in (0, 1], got {args.semi}')
    if args.holdout is not None and not 0 < args.holdout < 1:
        parser.error(f'--holdout must lie in (0, 1), got {args.holdout}')
    synthetic_sequences = getattr(args, 'synthetic', 0)
    if not (math.isfinite(synthetic_sequences) and synthetic_sequences >= 0):
        parser.error(f'--synthetic must be >= 0, got {synthetic_sequences}')
    if getattr(args, 'synthetic', 0) and args.data is None:
        parser.error('--synthetic adds synthetic sequences to --data\'s '
                     'training split: it needs --data')
    if getattr(args, 'synthetic', 0) and args.holdout is not None:
        parser.error('--synthetic adds to the whole training split; it does '
                     'not combine with --holdout')
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


def recipe_of(args: argparse.Namespace) -> Any:
    r"""The recipe that :func:`parse_args` filled :obj:`args` with."""
    recipe_type = RECIPE_TYPES[args.protocol]
    return recipe_type(**{
        f.name: tuple(getattr(args, f.name)) if f.name == 'milestones'
        else getattr(args, f.name) for f in dataclasses.fields(recipe_type)})


def options_of(args: argparse.Namespace) -> RunOptions:
    r"""The :class:`~torch_skeleton_mae.engine.RunOptions` of :obj:`args`."""
    return RunOptions(**{f.name: getattr(args, f.name)
                         for f in dataclasses.fields(RunOptions)
                         if hasattr(args, f.name)})


def data_of(args: argparse.Namespace) -> ProtocolData:
    r"""The data of :obj:`args`, after announcing it.

    Raises:
        UsageError: on unreadable data, an empty split, or labels outside
            :obj:`--dataset`'s classes.
    """
    if args.data is None and _is_main():
        print(f'No --data given: {args.protocol} on the built-in synthetic '
              f'dataset ({args.samples} sequences of {args.frames} frames, '
              f'{args.epochs} epochs): a few minutes on a CPU. Pass --data '
              f'for NTU RGB+D, FineGym, Diving48, NW-UCLA or Penn Action.')
    with user_input():
        return load_data(args.data, dataset=args.dataset, split=args.split,
                         frames=args.frames, layout=args.layout,
                         score=args.score,
                         samples=args.samples or SYNTHETIC_SAMPLES,
                         holdout=args.holdout,
                         semi=getattr(args, 'semi', None))


#: Flags that may differ when a run resumes (they change where and how fast
#: it runs and how long, not what it computes).
RESUMABLE = ('resume', 'workers', 'worker_processes', 'device', 'out',
             'eval_every', 'epochs', 'compile', 'probe')


def check_run_folder(args: argparse.Namespace) -> None:
    r"""Refuses to start a run in a folder that holds one (unless
    :obj:`--resume`), and to resume a run with flags that change its
    result (:func:`~torch_skeleton_mae.engine.training.check_out` on the
    flags).

    Raises:
        UsageError: naming the folder, or every differing flag.
    """
    with user_input():
        check_out(args.out, args.protocol, args.resume, _plain(args),
                  key='args', ignored=RESUMABLE, name=_flag)


def pretrain_command(argv: Optional[Sequence[str]] = None) -> Dict[str, Any]:
    r"""SkeletonMAE pre-training (:func:`~torch_skeleton_mae.engine.pretrain`)
    from command-line flags, then, with :obj:`--probe`, linear probes of the
    pre-trained and of a random encoder. Launch with :obj:`torchrun` for
    several processes.

    Returns:
        :obj:`history`, and with :obj:`--probe` on the main process the
        :obj:`probe` and :obj:`random_probe` top-1 and the
        :obj:`reconstruction` errors.
    """
    args = parse_args('pretrain', argv)
    check_run_folder(args)
    seed_everything(args.seed)
    data = data_of(args)
    with user_input():
        model = SkeletonMAE(
            data.layout, data.channels, encoder_layers=args.encoder_layers,
            encoder=args.encoder, mask=args.mask, target=args.target,
            stop_target_grad=not args.literal_target,
            center_target=args.center_target, remask=args.remask,
            joint_embedding=args.joint_embedding,
            embedding_bias=args.embedding_bias)
        train = (with_synthetic(data, args.synthetic, args.seed)
                 if args.synthetic else None)
    if _is_main():
        print(f'{model}: {sum(p.numel() for p in model.parameters())} '
              f'parameters')
    result = _run(pretrain, model, data, recipe_of(args), args,
                  probe=preset_of(args).linear if args.probe else None,
                  train=train)
    out: Dict[str, Any] = dict(history=result.history)
    if result.probe is not None:
        out.update(probe=result.probe.top1,
                   random_probe=result.random_probe.top1,
                   reconstruction=result.reconstruction)
    return out


def linear_eval_command(argv: Optional[Sequence[str]] = None
                        ) -> Dict[str, Any]:
    r"""Linear evaluation (:func:`~torch_skeleton_mae.engine.linear_eval`)
    of the SkeletonMAE checkpoint :obj:`--pretrained` (or of a random
    encoder with :obj:`--random-init`) from command-line flags.

    Returns:
        The evaluation summary (empty on processes other than the main).
    """
    args = parse_args('linear', argv)
    if not _is_main():  # one process does the (cheap) work
        return {}
    seed_everything(args.seed)
    data = data_of(args)
    if args.random_init:
        model = SkeletonMAE(data.layout, data.channels)
    else:
        checkpoint = _pretrained_checkpoint(args, data)
        with user_input():
            model = SkeletonMAE.from_checkpoint(checkpoint)
    report = linear_eval(model, data, recipe_of(args), args.out,
                         options_of(args), encoder='random encoder'
                         if args.random_init else 'pre-trained encoder')
    return report.summary()


def finetune_command(argv: Optional[Sequence[str]] = None) -> Dict[str, Any]:
    r"""Fine-tuning of :class:`~torch_skeleton_mae.nn.STRL`
    (:func:`~torch_skeleton_mae.engine.finetune`) from command-line flags:
    from the SkeletonMAE checkpoint :obj:`--pretrained` or from scratch;
    with :obj:`--semi FRACTION` on a per-class subset of the training
    labels.

    Returns:
        The history and, on the main process, the final evaluation summary.
    """
    args = parse_args('finetune', argv)
    check_run_folder(args)
    seed_everything(args.seed)
    data = data_of(args)
    settings = dict(preset_of(args).strl, strl_layers=args.strl_layers,
                    person_interaction=args.person_interaction,
                    max_frames=max(default_of(STRL, 'max_frames'),
                                   args.frames),
                    dropout=args.dropout, freeze_encoder=args.freeze_encoder)
    with user_input():
        if args.pretrained is not None:
            model = STRL.from_pretrained(_pretrained_checkpoint(args, data),
                                         data.num_classes, **settings)
        else:
            if _is_main():
                print('No --pretrained checkpoint: training from scratch')
            model = STRL(data.layout, data.channels, data.num_classes,
                         encoder=args.encoder,
                         encoder_layers=args.encoder_layers,
                         joint_embedding=args.joint_embedding,
                         embedding_bias=args.embedding_bias, **settings)
    result = _run(finetune, model, data, recipe_of(args), args)
    out: Dict[str, Any] = dict(history=result.history)
    if result.report is not None:
        out.update(result.report.summary())
    return out


def _run(program: Callable, model, data: ProtocolData, recipe, args,
         **kwargs) -> Any:
    # `program` (pretrain or finetune) with the flags' options; the flags
    # ride along in the checkpoint for check_run_folder.
    return program(model, data, recipe, args.out, options_of(args),
                   extra_state=dict(args=_plain(args)), **kwargs)


def _is_main() -> bool:
    return int(os.environ.get('RANK', 0)) == 0


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


#: The commands by name (:obj:`python -m torch_skeleton_mae NAME`).
COMMANDS = dict(pretrain=pretrain_command, finetune=finetune_command,
                linear=linear_eval_command)
