r"""The command line of the training protocols: SkeletonMAE pre-training and
fine-tuning (the paper's, Sec. 4.2), and the field's linear evaluation and
semi-supervised fine-tuning (not in the paper)::

    python -m torch_skeleton_mae pretrain --help

Its flags (:mod:`~torch_skeleton_mae.engine.flags`) are made from what
Python callers pass, and each command calls the function of
:mod:`~torch_skeleton_mae.engine.training` that Python code calls."""
import argparse
import contextlib
import dataclasses
import os
import re
import sys
from pathlib import Path
from typing import Any, Callable, Dict, Optional, Sequence

from torch_skeleton_mae.engine.checkpoint import seed_everything
from torch_skeleton_mae.engine.flags import (RECIPE_TYPES, SETTINGS,
                                             ArgumentParser, UsageError,
                                             build_fuse_parser, build_parser,
                                             flag)
from torch_skeleton_mae.engine.recipes import RecipeError, preset_for
from torch_skeleton_mae.engine.streams import finetune_streams, fuse_runs
from torch_skeleton_mae.engine.trainer import TrainingDiverged
from torch_skeleton_mae.engine.training import SYNTHETIC_SAMPLES as SAMPLES
from torch_skeleton_mae.engine.training import (RunOptions, SetupError,
                                                check_folder, check_out,
                                                finetune, linear_eval,
                                                load_data, pretrain,
                                                with_synthetic)
from torch_skeleton_mae.nn import STRL, SkeletonMAE
from torch_skeleton_mae.utils import DiskFull
from torch_skeleton_mae.weights import WEIGHTS

#: What scripts of one's own use (``examples/``): the programs, one-line
#: errors, the parser that raises them, and seeding.
__all__ = ['pretrain_command', 'finetune_command', 'linear_eval_command',
           'fuse_command', 'command_line', 'user_input', 'ArgumentParser',
           'UsageError', 'seed_everything']


@contextlib.contextmanager
def user_input():
    r"""Turns the errors that bad input raises (:class:`ValueError`, missing
    files) into :class:`~torch_skeleton_mae.engine.flags.UsageError` inside
    the block; an argument named in quotes (:obj:`'frames'`, or as a run
    record's entry :obj:`'recipe.frames'`) that is a flag is named as the
    flag."""
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
    return re.sub(r"'(?:\w+\.)?(\w+)'", lambda m: flag(m[1])
                  if m[1] in flags else m[0], message)


def command_line(program: Callable[[], Any]) -> None:
    r"""Runs :obj:`program` (*e.g.* :func:`pretrain_command`) as a command:
    a :class:`~torch_skeleton_mae.engine.flags.UsageError` or
    :class:`~torch_skeleton_mae.engine.training.SetupError` becomes one line
    on stderr and exit status 2, a diverged training or a full disk one
    line and status 1; anything else (a bug) keeps its traceback."""
    name = Path(sys.argv[0]).name
    try:
        program()
    except (UsageError, SetupError) as error:
        print(f'{name}: error: {error}', file=sys.stderr)
        raise SystemExit(2)
    except TrainingDiverged as error:
        print(f'{name}: training diverged: {error}', file=sys.stderr)
        raise SystemExit(1)
    except DiskFull as error:
        print(f'{name}: error: {error.strerror}', file=sys.stderr)
        raise SystemExit(1)


def parse_args(protocol: str,
               argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    r"""Parses and checks :obj:`argv`, filling unset recipe flags from the
    data's preset; errors name the flag."""
    parser = build_parser(protocol)
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    args.protocol = protocol
    preset = preset_for(args.source and args.dataset)
    recipe = preset.of(protocol, semi=bool(getattr(args, 'semi', None)))
    for field in dataclasses.fields(recipe):
        if getattr(args, field.name) is None:
            setattr(args, field.name, getattr(recipe, field.name))
    try:  # the recipe checks its own values
        recipe_of(args)
    except RecipeError as error:
        parser.error(f'{flag(error.name)} must be {error.requirement}, got '
                     f'{error.value}')
    if getattr(args, 'synthetic', 0) and (args.source is None
                                          or args.holdout):
        parser.error('--synthetic adds synthetic sequences to all of '
                     "--data's training split: it needs --data and no "
                     '--holdout')
    pretrained = getattr(args, 'pretrained', None)
    streams = getattr(args, 'streams', None)
    if streams and args.stream:
        parser.error('--stream trains one stream, --streams several: give '
                     'one of them')
    if streams and pretrained is not None and '{stream}' not in str(
            pretrained):
        parser.error(f'--pretrained {pretrained}: with --streams, name one '
                     f'checkpoint per stream with {{stream}} in the path')
    for path in ([Path(str(pretrained).replace('{stream}', s))
                  for s in streams] if streams and pretrained else
                 [pretrained] if pretrained else []):
        if not path.is_file() and str(path) not in WEIGHTS:
            parser.error(f'--pretrained {path}: no such checkpoint, nor a '
                         f'shipped name ({", ".join(sorted(WEIGHTS))})')
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
    :data:`~torch_skeleton_mae.engine.flags.SETTINGS`) that the flags set."""
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
    args = parse_args('pretrain', argv)
    data = _start(args)
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
            model = SkeletonMAE.from_checkpoint(args.pretrained)
    with user_input():
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
    if args.streams:
        return _finetune_streams(args)
    data = _start(args)
    settings = settings_of(args, STRL)
    with user_input():
        if args.pretrained is not None:
            model = STRL.from_pretrained(args.pretrained, data.num_classes,
                                         **settings)
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


def _finetune_streams(args: argparse.Namespace) -> Dict[str, Any]:
    # finetune --streams: one run per stream, then their fusion.
    data = settings_of(args, load_data)
    if args.source is None:
        data.pop('dataset')
    pretrained = {s: str(args.pretrained).replace('{stream}', s)
                  for s in args.streams} if args.pretrained else None
    with user_input():
        results, fusion = finetune_streams(
            recipe_of(args), args.out, args.streams, options_of(args),
            pretrained, settings=settings_of(args, STRL), **data)
    return dict(fusion.summary(), history={
        stream: result.history for stream, result in results.items()})


def fuse_command(argv: Optional[Sequence[str]] = None) -> Dict[str, Any]:
    r"""The fusion of fine-tuning runs of several streams
    (:func:`~torch_skeleton_mae.engine.streams.fuse_runs`) from
    command-line arguments.

    Returns:
        The fusion's summary.
    """
    args = build_fuse_parser().parse_args(sys.argv[1:] if argv is None
                                          else argv)
    options = RunOptions(**{k: getattr(args, k)
                            for k in ('device', 'precision', 'workers')
                            if getattr(args, k) is not None})
    with user_input():
        return fuse_runs(args.runs, args.out, args.weights,
                         options).summary()


def _start(args: argparse.Namespace) -> Any:
    # A training command's run folder checked, seeded, its data.
    check_run_folder(args)
    seed_everything(options_of(args).seed)
    return data_of(args)


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


#: The commands by name (:obj:`python -m torch_skeleton_mae NAME`).
COMMANDS = dict(pretrain=pretrain_command, finetune=finetune_command,
                linear=linear_eval_command, fuse=fuse_command)
