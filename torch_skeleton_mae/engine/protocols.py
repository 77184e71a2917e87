r"""Deprecated: the command line is :mod:`torch_skeleton_mae.engine.cli`
since 0.2; its names are still handed out here, with a
:class:`DeprecationWarning`, for one release."""
from torch_skeleton_mae.utils import moved_names

__getattr__ = moved_names(__name__, {name: 'torch_skeleton_mae.engine.cli'
                                     for name in (
    'ArgumentParser', 'COMMANDS', 'RECIPE_TYPES', 'RESUMABLE', 'UsageError',
    'build_parser', 'check_run_folder', 'command_line', 'data_of',
    'finetune_command', 'linear_eval_command', 'options_of', 'parse_args',
    'pretrain_command', 'recipe_of', 'user_input')})
