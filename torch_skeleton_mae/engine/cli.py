r"""The command line of the training protocols: SkeletonMAE pre-training and
fine-tuning (the paper's, Sec. 4.2), and the field's linear evaluation and
semi-supervised fine-tuning (not in the paper)::

    python -m torch_skeleton_mae pretrain --help

Every flag is made from what Python callers pass: the recipe flags from the
fields of :mod:`~torch_skeleton_mae.engine.recipes` (unset, they take the
data's preset), the data flags from
:func:`~torch_skeleton_mae.engine.load_data`, the model flags from the
constructor of :class:`~torch_skeleton_mae.nn.SkeletonMAE` or
:class:`~torch_skeleton_mae.nn.STRL` and the run flags from
:class:`~torch_skeleton_mae.engine.RunOptions`, each with its default and
its help from there. Each command then calls the function of
:mod:`~torch_skeleton_mae.engine.training` that Python code calls."""
import argparse
import contextlib
import dataclasses
import inspect
import math
import os
import re
import sys
import typing
from pathlib import Path
from typing import Any, Callable, Dict, Optional, Sequence

from torch_skeleton_mae.datasets.registry import DATASETS
from torch_skeleton_mae.engine.checkpoint import (
    CHECKPOINT_VERSION,
    load_checkpoint,
    seed_everything,
)
from torch_skeleton_mae.engine.precision import PRECISIONS
from torch_skeleton_mae.engine.recipes import (
    PRESETS,
    FinetuneRecipe,
    LinearRecipe,
    PretrainRecipe,
    RecipeError,
    format_value,
    preset_for,
)
from torch_skeleton_mae.engine.trainer import TrainingDiverged
from torch_skeleton_mae.engine.training import SYNTHETIC_SAMPLES as SAMPLES
from torch_skeleton_mae.engine.training import (
    RunOptions,
    SetupError,
    check_folder,
    check_out,
    finetune,
    linear_eval,
    load_data,
    pretrain,
    with_synthetic,
)
from torch_skeleton_mae.nn import STRL, SkeletonMAE
from torch_skeleton_mae.nn.models.skeleton_mae import TARGETS
from torch_skeleton_mae.transforms import STREAMS

#: The recipe of each command.
RECIPE_TYPES = dict(pretrain=PretrainRecipe, finetune=FinetuneRecipe,
                    linear=LinearRecipe)
_TRAINING = ('device', 'precision', 'seed', 'workers', 'worker_processes')
_ENCODER = ('encoder', 'encoder_layers', 'joint_embedding', 'embedding_bias')
#: The generated flags of each command, by where their values go (the
#: function or class whose arguments they are), and which arguments.
SETTINGS = {
    'pretrain': [(load_data, ('dataset', 'source', 'split', 'layout', 'score',
                              'holdout', 'samples', 'stream')),
                 (SkeletonMAE, _ENCODER + ('mask', 'target',
                                           'stop_target_grad',
                                           'center_target', 'remask')),
                 (RunOptions, _TRAINING + ('eval_every', 'compile',
                                           'resume'))],
    'finetune': [(load_data, ('dataset', 'source', 'split', 'layout', 'score',
                              'holdout', 'samples', 'semi', 'stream')),
                 (STRL, _ENCODER + ('strl_layers', 'person_interaction',
                                    'dropout', 'freeze_encoder')),
                 (RunOptions, _TRAINING + ('eval_every', 'compile',
                                           'resume'))],
    'linear': [(load_data, ('dataset', 'source', 'split', 'layout', 'score',
                            'holdout', 'samples', 'semi', 'stream')),
               (RunOptions, _TRAINING)],
}
# Where a flag is not its argument's name, its choices, default and help.
_FLAG_NAMES = dict(source='--data')
_CHOICES = dict(dataset=sorted(DATASETS), precision=PRECISIONS,
                target=TARGETS, stream=STREAMS)
_DEFAULTS = dict(dataset='ntu60')  # --data is NTU RGB+D unless named
_AT_LEAST = dict(workers=0, seed=0)  # else counts from 1, amounts from 0
_HELP = dict(
    dataset='the benchmark of --data: its classes and split names (default: '
    'ntu60)',
    source='a pyskl .pkl, CTR-GCN .npz, or a folder of NW-UCLA .json, Penn '
    'Action .mat or raw NTU .skeleton files (default: the built-in '
    'synthetic set)',
    encoder="the encoder's convolution: gin (the paper's), gcn, gat (Table "
    "4c), a conv class torch_geometric.nn exports or a name given to "
    "register_conv; with --pretrained, the checkpoint's (default: gin)")
#: Flags renamed in 0.2, still read for one release (with a warning).
RENAMED_FLAGS = {'--literal-target': '--no-stop-target-grad',
                 '--no-literal-target': '--stop-target-grad'}


class UsageError(ValueError):
    r"""A mistake in a command line or in the files it names: the
    command-line programs print it as one line on stderr and exit with
    status 2."""


class ArgumentParser(argparse.ArgumentParser):
    r"""An :class:`argparse.ArgumentParser` whose errors raise
    :class:`UsageError` (one line, no usage dump)."""
    def error(self, message: str):
        raise UsageError(message)


@contextlib.contextmanager
def user_input():
    r"""Turns the errors that bad input raises (:class:`ValueError`, missing
    files) into :class:`UsageError` inside the block; an argument named in
    quotes (:obj:`'frames'`, or as a run record's entry
    :obj:`'recipe.frames'`) that is a flag is named as the flag."""
    try:
        yield
    except UsageError:
        raise
    except (ValueError, FileNotFoundError, NotADirectoryError,
            IsADirectoryError) as error:
        raise UsageError(_in_flags(str(error))) from error


def _in_flags(message: str) -> str:
    # `message` with every quoted name that is a flag's spelled as the flag.
    flags = {name for _, names in sum(SETTINGS.values(), [])
             for name in names} | {'out'} | {
        f.name for t in RECIPE_TYPES.values() for f in dataclasses.fields(t)}
    return re.sub(r"'(?:\w+\.)?(\w+)'", lambda m: _flag(m[1])
                  if m[1] in flags else m[0], message)


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


def _flag(name: str) -> str:
    return _FLAG_NAMES.get(name, '--' + name.replace('_', '-'))


def documented_arguments(owner: Any) -> Dict[str, str]:
    r"""The text of each argument in the ``Args:`` section of
    :obj:`owner`'s docstring, as plain words (a flag's help)."""
    text, name, lines = {}, None, inspect.getdoc(owner).splitlines()
    for line in lines[lines.index('Args:') + 1:]:
        if line and not line.startswith(' '):
            break
        match = re.match(r' {4}(\w+) \([^)]*\): (.*)', line)
        if match:
            name, text[match[1]] = match[1], match[2]
        elif name and line.strip():
            text[name] += ' ' + line.strip()
    plain = {k: re.sub(r':\w+:`(~?)([^`]*)`', lambda m: m[2].rsplit(
        '.', 1)[-1] if m[1] else m[2], v) for k, v in text.items()}
    return {k: re.sub(r'\*(\S[^*]*)\*|``([^`]*)``|\\\w+\{(\w*)\}',
                      r'\1\2\3', v).replace('%', '%%')
            for k, v in plain.items()}


def _checked(kind: type, name: str, least: int) -> Callable[[str], Any]:
    # An argparse type that refuses numbers out of range, naming the flag.
    def convert(text: str) -> Any:
        value = kind(text)
        if not math.isfinite(value) or value < least:
            raise argparse.ArgumentTypeError(
                f"{_flag(name)} must be {'positive' if least else '>= 0'}, "
                f"got {text}")
        return value
    convert.__name__ = kind.__name__  # argparse names it in its errors
    return convert


def _add_settings(parser: argparse.ArgumentParser, owner: Any,
                  names: Sequence[str]) -> None:
    # A flag per argument of `owner`, its type from the annotation, its
    # help (and default) from the docstring; unset, the argument is not
    # passed.
    helps = documented_arguments(owner)
    hints = typing.get_type_hints(owner.__init__ if inspect.isclass(owner)
                                  else owner)
    for name in names:
        kind = next((t for t in typing.get_args(hints[name])
                     if t is not type(None)), hints[name])
        extra: Dict[str, Any] = dict(choices=_CHOICES.get(name))
        if name == 'source':
            extra.update(type=Path, metavar='PATH')
        elif kind is bool:
            extra = dict(action=argparse.BooleanOptionalAction)
        elif kind in (int, float):
            extra['type'] = _checked(kind, name, _AT_LEAST.get(
                name, int(kind is int)))
        parser.add_argument(_flag(name), dest=name, default=_DEFAULTS.get(
            name), help=_HELP.get(name, helps[name]), **extra)


def _add_recipe_flags(parser: argparse.ArgumentParser, protocol: str) -> None:
    # One flag per recipe field, its help from the field; the defaults of
    # every preset in the help.
    recipe_type = RECIPE_TYPES[protocol]
    hints = typing.get_type_hints(recipe_type)
    for field in dataclasses.fields(recipe_type):
        hint = hints[field.name]
        extra = (dict(type=int, nargs='+', metavar='EPOCH')
                 if typing.get_origin(hint) is tuple else dict(type=next(
                     (t for t in typing.get_args(hint)
                      if t is not type(None)), hint)))
        values = {name: getattr(preset.of(protocol), field.name)
                  for name, preset in PRESETS.items()}
        shown = {format_value(v) for v in values.values()}
        # A default of None ("the reader's") is explained by the help.
        text = ('' if shown == {format_value(None)} else
                f' (default: {shown.pop()})' if len(shown) == 1 else
                " (default: --dataset's preset, quick without --data: " +
                '; '.join(f'{name} {format_value(v)}'
                          for name, v in values.items()) + ')')
        parser.add_argument(_flag(field.name), default=None,
                            help=field.metadata['help'] + text, **extra)


def build_parser(protocol: str) -> argparse.ArgumentParser:
    r"""The command-line flags of :obj:`protocol` (:obj:`"pretrain"`,
    :obj:`"finetune"` or :obj:`"linear"`): the generated ones
    (:data:`SETTINGS`, the recipe's) and the command's own."""
    parser = ArgumentParser(description=(
        f"SkeletonMAE {protocol}: without --data on the built-in synthetic "
        f"dataset with quick settings, with --data with the dataset's "
        f"preset (docs/protocols.rst)."))
    add = parser.add_argument
    for owner, names in SETTINGS[protocol]:
        _add_settings(parser, owner, names)
    _add_recipe_flags(parser, protocol)
    add('--out', type=Path, default=Path(f'runs/{protocol}'),
        help='folder of logs, checkpoints and figures')
    if protocol == 'pretrain':
        add('--probe', action=argparse.BooleanOptionalAction, default=True,
            help='at the end, linear probes of the pre-trained and of a '
            'random encoder, and the reconstruction beside trivial '
            'predictors')
        add('--synthetic', type=_checked(int, 'synthetic', 0), default=0,
            metavar='N', help="pre-train on N synthetic sequences in the "
            "data's layout beside its training split")
    else:
        add('--pretrained', type=Path, default=None,
            help='SkeletonMAE checkpoint (from the pre-training command)')
    if protocol == 'linear':
        add('--random-init', action='store_true',
            help='probe a randomly initialized encoder (the baseline)')
    return parser


def parse_args(protocol: str,
               argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    r"""Parses and checks :obj:`argv`, filling unset recipe flags from the
    data's preset; errors name the flag."""
    argv = list(sys.argv[1:] if argv is None else argv)
    for i, flag in enumerate(argv):
        if flag in RENAMED_FLAGS:
            print(f'warning: {flag} is deprecated; use '
                  f'{RENAMED_FLAGS[flag]}', file=sys.stderr)
            argv[i] = RENAMED_FLAGS[flag]
    parser = build_parser(protocol)
    args = parser.parse_args(argv)
    args.protocol = protocol
    preset = preset_for(args.source and args.dataset)
    recipe = preset.of(protocol, semi=bool(getattr(args, 'semi', None)))
    for field in dataclasses.fields(recipe):
        if getattr(args, field.name) is None:
            setattr(args, field.name, getattr(recipe, field.name))
    try:  # the recipe checks its own values
        recipe_of(args)
    except RecipeError as error:
        parser.error(f'{_flag(error.name)} must be {error.requirement}, got '
                     f'{error.value}')
    if getattr(args, 'synthetic', 0) and (args.source is None
                                          or args.holdout):
        parser.error('--synthetic adds synthetic sequences to all of '
                     "--data's training split: it needs --data and no "
                     '--holdout')
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
    with user_input():
        check_folder(args.out)
    return args


def settings_of(args: argparse.Namespace, owner: Any) -> Dict[str, Any]:
    r"""The arguments of :obj:`owner` (a class or function of
    :data:`SETTINGS`) that the flags set."""
    names = dict(SETTINGS[args.protocol])[owner]
    return {name: getattr(args, name) for name in names
            if getattr(args, name) is not None}


def recipe_of(args: argparse.Namespace) -> Any:
    r"""The recipe that :func:`parse_args` filled :obj:`args` with."""
    recipe_type = RECIPE_TYPES[args.protocol]
    return recipe_type(**{
        f.name: tuple(getattr(args, f.name)) if f.name == 'milestones'
        else getattr(args, f.name) for f in dataclasses.fields(recipe_type)})


def options_of(args: argparse.Namespace) -> RunOptions:
    r"""The :class:`~torch_skeleton_mae.engine.RunOptions` of :obj:`args`."""
    return RunOptions(**settings_of(args, RunOptions))


def data_of(args: argparse.Namespace) -> Any:
    r"""The data of :obj:`args`, after announcing the synthetic set.

    Raises:
        UsageError: on unreadable data, an empty split, or labels outside
            :obj:`--dataset`'s classes.
    """
    settings = settings_of(args, load_data)
    if args.source is None:
        settings.pop('dataset')
        if _is_main():
            print(f"No --data given: {args.protocol} on the built-in "
                  f"synthetic dataset ({settings.get('samples', SAMPLES)} "
                  f"sequences of {args.frames} frames, {args.epochs} epochs): "
                  f"a few minutes on a CPU. Pass --data for NTU RGB+D, "
                  f"FineGym, Diving48, NW-UCLA or Penn Action.")
    with user_input():
        return load_data(frames=args.frames, **settings)


def check_run_folder(args: argparse.Namespace) -> None:
    r"""Refuses, before the data is read, to start a run in a folder that
    holds one (unless :obj:`--resume`; a resumed run's settings are checked
    by the protocol, against the run's record).

    Raises:
        UsageError: naming the folder.
    """
    if not args.resume:
        with user_input():
            check_out(args.out, args.protocol, False, {})


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
    args, data = _start('pretrain', argv)
    with user_input():
        model = SkeletonMAE(data.layout, data.channels,
                            **settings_of(args, SkeletonMAE))
        train = (with_synthetic(data, args.synthetic, options_of(args).seed)
                 if args.synthetic else None)
    if _is_main():
        print(f'{model}: {sum(p.numel() for p in model.parameters())} '
              f'parameters')
    probe = preset_for(args.source and args.dataset).linear
    result = _run(pretrain, model, data, args,
                  probe=probe if args.probe else None, train=train)
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
    seed_everything(options_of(args).seed)
    data = data_of(args)
    if args.random_init:
        model = SkeletonMAE(data.layout, data.channels)
    else:
        with user_input():
            model = SkeletonMAE.from_checkpoint(
                _pretrained_checkpoint(args, data))
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
    args, data = _start('finetune', argv)
    settings = dict(preset_for(args.source and args.dataset).strl,
                    max_frames=max(inspect.signature(STRL).parameters[
                        'max_frames'].default, args.frames),
                    **settings_of(args, STRL))
    with user_input():
        if args.pretrained is not None:
            model = STRL.from_pretrained(_pretrained_checkpoint(args, data),
                                         data.num_classes, **settings)
        else:
            if _is_main():
                print('No --pretrained checkpoint: training from scratch')
            model = STRL(data.layout, data.channels, data.num_classes,
                         **settings)
    result = _run(finetune, model, data, args)
    out: Dict[str, Any] = dict(history=result.history)
    if result.report is not None:
        out.update(result.report.summary())
    return out


def _start(protocol: str, argv: Optional[Sequence[str]]) -> tuple:
    # A training command's flags, its run folder checked, seeded, its data.
    args = parse_args(protocol, argv)
    check_run_folder(args)
    seed_everything(options_of(args).seed)
    return args, data_of(args)


def _run(program: Callable, model, data, args, **kwargs) -> Any:
    # `program` (pretrain or finetune) with the flags' recipe and options;
    # its setup errors (a resumed run's differing record) name the flags.
    recipe, options = recipe_of(args), options_of(args)
    try:
        return program(model, data, recipe, args.out, options, **kwargs)
    except SetupError as error:
        raise UsageError(_in_flags(str(error))) from error


def _is_main() -> bool:
    return int(os.environ.get('RANK', 0)) == 0


def _pretrained_checkpoint(args: argparse.Namespace, data) -> Dict[str, Any]:
    # The --pretrained checkpoint, once it is known to fit the data.
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


#: The commands by name (:obj:`python -m torch_skeleton_mae NAME`).
COMMANDS = dict(pretrain=pretrain_command, finetune=finetune_command,
                linear=linear_eval_command)
