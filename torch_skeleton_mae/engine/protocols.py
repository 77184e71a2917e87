r"""Deprecated: the command line is :mod:`torch_skeleton_mae.engine.cli`
since 0.2; its names are still handed out here, with a
:class:`DeprecationWarning`, for one release."""
import inspect
from typing import Any

from torch_skeleton_mae.engine.recipes import Recipes, preset_for
from torch_skeleton_mae.utils import moved_names, warn_deprecated

__getattr__ = moved_names(__name__, dict.fromkeys(
    ('ArgumentParser', 'RECIPE_TYPES', 'UsageError', 'build_parser'),
    'torch_skeleton_mae.engine.flags') | dict.fromkeys(
    ('COMMANDS', 'check_run_folder', 'command_line', 'data_of',
     'finetune_command', 'linear_eval_command', 'options_of', 'parse_args',
     'pretrain_command', 'recipe_of', 'user_input'),
    'torch_skeleton_mae.engine.cli'))

#: Deprecated and unused: a resumed run's record (its recipe, model, data,
#: seed and precision) decides what may differ.
RESUMABLE = ('resume', 'workers', 'worker_processes', 'device', 'out',
             'eval_every', 'epochs', 'compile', 'probe')


def _gone(name: str, use: str) -> None:
    warn_deprecated(f"'{__name__}.{name}'", f'use {use}', stacklevel=3)


def default_of(cls: type, name: str) -> Any:
    r"""Deprecated: the default of :obj:`cls`'s argument :obj:`name`."""
    _gone('default_of', 'inspect.signature')
    return inspect.signature(cls).parameters[name].default


def preset_of(args: Any) -> Recipes:
    r"""Deprecated: the preset of parsed flags :obj:`args`."""
    _gone('preset_of', 'torch_skeleton_mae.engine.preset_for')
    return preset_for(None if args.source is None else args.dataset)
