r"""The flags of the command line (:mod:`~torch_skeleton_mae.engine.cli`),
made from what Python callers pass: the recipe flags from the fields of
:mod:`~torch_skeleton_mae.engine.recipes` (unset, they take the data's
preset), the data flags from :func:`~torch_skeleton_mae.engine.load_data`,
the model flags from the constructor of
:class:`~torch_skeleton_mae.nn.SkeletonMAE` or
:class:`~torch_skeleton_mae.nn.STRL` and the run flags from
:class:`~torch_skeleton_mae.engine.RunOptions`, each with its type from the
annotation and its help (and default) from the docstring."""
import argparse
import collections.abc
import dataclasses
import inspect
import math
import re
import typing
from pathlib import Path
from typing import Any, Callable, Dict, Sequence

from torch_skeleton_mae.datasets.registry import DATASETS
from torch_skeleton_mae.engine.precision import PRECISIONS
from torch_skeleton_mae.engine.recipes import (PRESETS, FinetuneRecipe,
                                               LinearRecipe, PretrainRecipe,
                                               format_value, recipe_help)
from torch_skeleton_mae.engine.training import RunOptions, load_data
from torch_skeleton_mae.nn import STRL, SkeletonMAE
from torch_skeleton_mae.nn.models.skeleton_mae import TARGETS
from torch_skeleton_mae.transforms import STREAMS
from torch_skeleton_mae.weights import WEIGHTS

#: The recipe of each command.
RECIPE_TYPES = dict(pretrain=PretrainRecipe, finetune=FinetuneRecipe,
                    linear=LinearRecipe)
_DATA = ('dataset', 'source', 'split', 'layout', 'score', 'holdout',
         'samples')
_ENCODER = ('encoder', 'encoder_layers')
_TRAINING = ('device', 'precision', 'seed', 'workers', 'worker_processes')
_RUN = _TRAINING + ('eval_every', 'compile', 'resume')
#: The generated flags of each command, by where their values go (the
#: function or class whose arguments they are), and which arguments.
SETTINGS = {
    'pretrain': [(load_data, _DATA + ('stream', )),
                 (SkeletonMAE, _ENCODER + ('mask', 'target', 'mask_edges',
                                           'remask')),
                 (RunOptions, _RUN)],
    'finetune': [(load_data, _DATA + ('semi', 'stream')),
                 (STRL, _ENCODER + ('channels', 'strides', 'dropout',
                                    'input_norm', 'freeze_encoder')),
                 (RunOptions, _RUN)],
    'linear': [(load_data, _DATA + ('semi', 'stream')),
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
    encoder="the encoder's layer: gin (the paper's), gcn, gat (Table 4c) or "
    "a conv class torch_geometric.nn exports; with --pretrained, the "
    "checkpoint's (default: gin)",
    mask="body regions by name or index, comma-separated (default: "
    "right_arm,right_leg, the paper's best), or a ratio of joints drawn at "
    "random, e.g. 0.5")


class UsageError(ValueError):
    r"""A mistake in a command line or in the files it names: the
    command-line programs print it as one line on stderr and exit with
    status 2."""


class ArgumentParser(argparse.ArgumentParser):
    r"""An :class:`argparse.ArgumentParser` whose errors raise
    :class:`UsageError` (one line, no usage dump)."""
    def error(self, message: str):
        raise UsageError(message)


def flag(name: str) -> str:
    r"""The flag of the argument :obj:`name` (*e.g.* :obj:`"--encoder-layers"`
    for :obj:`"encoder_layers"`)."""
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
                f"{flag(name)} must be {'positive' if least else '>= 0'}, "
                f"got {text}")
        return value
    convert.__name__ = kind.__name__  # argparse names it in its errors
    return convert


def _mask(text: str) -> Any:
    # --mask: a ratio of joints, or comma-separated regions.
    try:
        return float(text)
    except ValueError:
        return tuple(text.split(','))


def _streams(text: str) -> list:
    # --streams: 'all' or comma-separated streams.
    streams = list(STREAMS) if text == 'all' else text.split(',')
    unknown = [s for s in streams if s not in STREAMS]
    if unknown or len(set(streams)) != len(streams):
        raise argparse.ArgumentTypeError(
            f"must be 'all' or distinct ones of {','.join(STREAMS)}, got "
            f"{text}")
    return streams


def _weights(text: str) -> list:
    # --weights: comma-separated non-negative numbers.
    try:
        weights = [float(w) for w in text.split(',')]
    except ValueError:
        weights = [-1.]
    if not all(math.isfinite(w) and w >= 0 for w in weights):
        raise argparse.ArgumentTypeError(
            f'must be comma-separated non-negative numbers, got {text}')
    return weights


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
        elif name == 'mask':
            extra.update(type=_mask, metavar='REGIONS|RATIO')
        elif typing.get_origin(hints[name]) is collections.abc.Sequence:
            extra.update(type=_checked(kind, name, 1), nargs='+', metavar='N')
        elif kind is bool:
            extra = dict(action=argparse.BooleanOptionalAction)
        elif kind in (int, float):
            extra['type'] = _checked(kind, name, _AT_LEAST.get(
                name, int(kind is int)))
        parser.add_argument(flag(name), dest=name, default=_DEFAULTS.get(
            name), help=_HELP.get(name, helps[name]), **extra)


def _add_recipe_flags(parser: argparse.ArgumentParser, protocol: str) -> None:
    # One flag per recipe field, its help from the field; the defaults of
    # every preset in the help.
    recipe_type = RECIPE_TYPES[protocol]
    hints, helps = typing.get_type_hints(recipe_type), recipe_help(recipe_type)
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
        parser.add_argument(flag(field.name), default=None,
                            help=helps[field.name] + text, **extra)


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
            help='SkeletonMAE checkpoint (from the pre-training command), '
                 'or the name of shipped weights: ' + ', '.join(WEIGHTS))
    if protocol == 'finetune':
        add('--streams', type=_streams, metavar='all|S,S,...',
            help='fine-tune one STRL per stream (all, or some of '
            f'{",".join(STREAMS)}) into OUT/<stream>, then fuse their scores '
            '(see the fuse command); --pretrained then names one checkpoint '
            'per stream, with {stream} in its path')
    if protocol == 'linear':
        add('--random-init', action='store_true',
            help='probe a randomly initialized encoder (the baseline)')
    return parser


def build_fuse_parser() -> argparse.ArgumentParser:
    r"""The flags of the :obj:`fuse` command
    (:func:`~torch_skeleton_mae.engine.streams.fuse_runs`)."""
    parser = ArgumentParser(description=(
        'The fusion of fine-tuning runs that differ only in their stream: '
        'the weighted mean of their softmax scores on the test split, the '
        'weights chosen on the held-out part of the training split when the '
        'runs held one out (--holdout), else equal or --weights.'))
    parser.add_argument('runs', nargs='+', type=Path, metavar='RUN',
                        help="a finetune run's folder")
    parser.add_argument('--weights', type=_weights, metavar='W,W,...',
                        help='one weight per run')
    parser.add_argument('--out', type=Path, default=None,
                        help='folder of fusion.json and the confusion matrix')
    _add_settings(parser, RunOptions, ('device', 'precision', 'workers'))
    return parser
