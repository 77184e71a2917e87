r"""One training engine for every protocol: :func:`pretrain`,
:func:`finetune` and :func:`linear_eval` with their recipes
(:data:`~torch_skeleton_mae.engine.recipes.PAPER`,
:data:`~torch_skeleton_mae.engine.recipes.QUICK`,
:data:`~torch_skeleton_mae.engine.recipes.SMALL`), the :class:`Trainer`
loop (mixed precision, DDP, logs, exact resume), atomic checkpoints,
the fusion of several input streams
(:mod:`~torch_skeleton_mae.engine.streams`), evaluation metrics and the
command line in
:mod:`torch_skeleton_mae.engine.cli`."""
from .recipes import (PAPER, QUICK, SMALL, FinetuneRecipe, LinearRecipe,
                      PretrainRecipe, Recipes, preset_for)
from .streams import finetune_streams, fuse_runs
from .trainer import Trainer, TrainingDiverged
from .training import (FinetuneResult, PretrainResult, ProtocolData,
                       RunOptions, SetupError, finetune, linear_eval,
                       load_data, pretrain, raw_joint_floor)

__all__ = [
    'pretrain',
    'finetune',
    'linear_eval',
    'raw_joint_floor',
    'finetune_streams',
    'fuse_runs',
    'load_data',
    'ProtocolData',
    'RunOptions',
    'SetupError',
    'PretrainResult',
    'FinetuneResult',
    'PretrainRecipe',
    'FinetuneRecipe',
    'LinearRecipe',
    'Recipes',
    'PAPER',
    'QUICK',
    'SMALL',
    'preset_for',
    'Trainer',
    'TrainingDiverged',
]
