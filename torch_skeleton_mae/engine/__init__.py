r"""One training engine for every protocol: the :class:`Trainer`
loop (mixed precision, DDP, logs, exact resume), atomic checkpoints,
evaluation metrics and the command-line programs in
:mod:`torch_skeleton_mae.engine.protocols`."""
from .checkpoint import (
    load_checkpoint,
    load_weights,
    rng_state,
    save_checkpoint,
    seed_everything,
    set_rng_state,
    unwrap,
)
from .distributed import (
    DistributedContext,
    cleanup_distributed,
    init_distributed,
    resolve_device,
)
from .evaluation import (
    ClassificationReport,
    classification_report,
    evaluate,
    extract_features,
    linear_probe,
    predict,
    save_confusion_matrix,
    train_linear_classifier,
)
from .logger import CSVLogger, MetricsLogger
from .precision import autocast, autocast_dtype, grad_scaler
from .schedule import warmup_multistep
from .trainer import (
    ClassificationObjective,
    MAEObjective,
    Trainer,
    TrainingDiverged,
)
from .loader import (
    BatchKey,
    BatchReader,
    EpochBatchSampler,
    ThreadedBatchLoader,
    derived_seed,
    make_loader,
    place_batch_transform,
    reads_whole_batches,
)
from .reconstruction import (
    joint_means,
    mirror_index,
    mirrored_limb,
    nearest_joint,
    reconstruction_baselines,
)

__all__ = [
    'Trainer',
    'TrainingDiverged',
    'MAEObjective',
    'ClassificationObjective',
    'make_loader',
    'place_batch_transform',
    'BatchKey',
    'BatchReader',
    'EpochBatchSampler',
    'ThreadedBatchLoader',
    'reads_whole_batches',
    'derived_seed',
    'save_checkpoint',
    'load_checkpoint',
    'load_weights',
    'seed_everything',
    'rng_state',
    'set_rng_state',
    'unwrap',
    'DistributedContext',
    'init_distributed',
    'cleanup_distributed',
    'resolve_device',
    'ClassificationReport',
    'classification_report',
    'evaluate',
    'predict',
    'extract_features',
    'train_linear_classifier',
    'linear_probe',
    'save_confusion_matrix',
    'reconstruction_baselines',
    'joint_means',
    'mirror_index',
    'mirrored_limb',
    'nearest_joint',
    'CSVLogger',
    'MetricsLogger',
    'autocast',
    'autocast_dtype',
    'grad_scaler',
    'warmup_multistep',
]
