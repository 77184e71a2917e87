r"""One training engine for every protocol: :func:`pretrain`,
:func:`finetune` and :func:`linear_eval` with their recipes
(:data:`~torch_skeleton_mae.engine.recipes.PAPER`,
:data:`~torch_skeleton_mae.engine.recipes.QUICK`,
:data:`~torch_skeleton_mae.engine.recipes.SMALL`), the :class:`Trainer`
loop (mixed precision, DDP, logs, exact resume), atomic checkpoints,
evaluation metrics and the command line in
:mod:`torch_skeleton_mae.engine.cli`."""
from .recipes import (
    PAPER,
    QUICK,
    SMALL,
    FinetuneRecipe,
    LinearRecipe,
    PretrainRecipe,
    Recipes,
    preset_for,
)
from .trainer import Trainer, TrainingDiverged
from .training import (
    FinetuneResult,
    PretrainResult,
    ProtocolData,
    RunOptions,
    SetupError,
    finetune,
    linear_eval,
    load_data,
    pretrain,
    raw_joint_floor,
)
from ..utils import moved_names

__all__ = [
    'pretrain',
    'finetune',
    'linear_eval',
    'raw_joint_floor',
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

# Names exported here before 0.2, now in their submodules only: still
# handed out, with a DeprecationWarning, for one release.
__getattr__ = moved_names(__name__, {
    name: module for module, names in {
        'checkpoint': ('load_checkpoint', 'load_weights', 'rng_state',
                       'save_checkpoint', 'seed_everything', 'set_rng_state',
                       'unwrap'),
        'distributed': ('DistributedContext', 'cleanup_distributed',
                        'init_distributed', 'resolve_device'),
        'evaluation': ('ClassificationReport', 'classification_report',
                       'evaluate', 'extract_features', 'linear_probe',
                       'predict', 'save_confusion_matrix',
                       'train_linear_classifier'),
        'logger': ('CSVLogger', 'MetricsLogger'),
        'precision': ('autocast', 'autocast_dtype', 'grad_scaler'),
        'schedule': ('warmup_multistep',),
        'trainer': ('ClassificationObjective', 'MAEObjective'),
        'loader': ('BatchKey', 'BatchReader', 'EpochBatchSampler',
                   'ThreadedBatchLoader', 'derived_seed', 'make_loader',
                   'place_batch_transform', 'reads_whole_batches'),
        'recipes': ('EVAL_BATCH_SIZE', 'PRESETS', 'TrainingRecipe'),
        'training': ('SYNTHETIC_SAMPLES', 'with_synthetic'),
        'torch_skeleton_mae.datasets.registry': ('DATASETS',),
        'reconstruction': ('joint_means', 'mirror_index', 'mirrored_limb',
                           'nearest_joint', 'reconstruction_baselines'),
    }.items() for name in names})
