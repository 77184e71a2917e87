r"""Pre-training, fine-tuning and linear evaluation from Python: the
functions that the command line
(:mod:`~torch_skeleton_mae.engine.cli`), the examples and the evidence
scripts call.

.. code-block:: python

    from torch_skeleton_mae.engine import QUICK, finetune, load_data, pretrain
    from torch_skeleton_mae.nn import STRL, SkeletonMAE

    data = load_data(frames=QUICK.pretrain.frames)  # synthetic
    mae = SkeletonMAE(data.layout, data.channels)
    pretrain(mae, data, QUICK.pretrain, out='runs/pretrain')
    strl = STRL.from_pretrained(mae, data.num_classes)
    finetune(strl, load_data(frames=QUICK.finetune.frames), QUICK.finetune,
             out='runs/finetune')
"""
import copy
import dataclasses
import functools
import math
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from torch.nn import Module
from torch.utils.data import DataLoader, Dataset, Subset

from torch_skeleton_mae.datasets import SyntheticSkeletons, load_dataset
from torch_skeleton_mae.datasets.base import concat_sequences
from torch_skeleton_mae.datasets.registry import DATASETS
from torch_skeleton_mae.datasets.subsets import (dataset_labels,
                                                 label_fraction_indices,
                                                 label_fraction_subset)
from torch_skeleton_mae.datasets.synthetic import ACTIONS
from torch_skeleton_mae.engine.checkpoint import (load_checkpoint,
                                                  seed_everything)
from torch_skeleton_mae.engine.distributed import (DistributedContext,
                                                   cleanup_distributed,
                                                   init_distributed,
                                                   resolve_device)
from torch_skeleton_mae.engine.evaluation import (ClassificationReport,
                                                  evaluate, extract_features,
                                                  linear_probe,
                                                  raw_joint_features,
                                                  save_confusion_matrix,
                                                  tuned_linear_probe)
from torch_skeleton_mae.engine.loader import make_loader, place_batch_transform
from torch_skeleton_mae.engine.recipes import (EVAL_BATCH_SIZE, FinetuneRecipe,
                                               LinearRecipe, PretrainRecipe,
                                               TrainingRecipe)
from torch_skeleton_mae.engine.reconstruction import (BASELINES, joint_means,
                                                      reconstruction_baselines)
from torch_skeleton_mae.engine.schedule import warmup_multistep
from torch_skeleton_mae.engine.trainer import (ClassificationObjective,
                                               MAEObjective, Trainer)
from torch_skeleton_mae.graph import get_skeleton
from torch_skeleton_mae.nn import STRL, SkeletonMAE
from torch_skeleton_mae.transforms import STREAMS, Compose, stream_transform
from torch_skeleton_mae.transforms.batch import (GaussianNoise, RandomRotation,
                                                 RandomScale)
from torch_skeleton_mae.utils import write_json

#: Sequences of the built-in synthetic set when no data is given.
SYNTHETIC_SAMPLES = 2000
#: Seed of the per-class draw of :obj:`holdout` (:obj:`semi`'s is 0).
HOLDOUT_SEED = 1
#: The weight decays :func:`raw_joint_floor` chooses from.
FLOOR_WEIGHT_DECAYS = (1e-4, 1e-3, 1e-2, 1e-1)

PathLike = Union[str, os.PathLike]


class SetupError(ValueError):
    r"""A run's arguments do not fit together (its folder holds another run,
    the device does not exist, the model was built for other data, an
    augmentation does not apply): raised before any training step. The
    command line prints it as one line."""


@dataclass
class ProtocolData:
    r"""What :func:`load_data` returns: the training set (cut to
    :obj:`semi` of its labels when set), the evaluation set, the layout,
    input channels, classes, class names (or :obj:`None`), the reader's
    training noise (its :obj:`pixel_noise`) and the arguments of
    :func:`load_data` but :obj:`frames` (:obj:`settings`, which a run
    records to resume with the same data)."""
    train: Dataset
    val: Dataset
    layout: str
    channels: int
    num_classes: int
    names: Optional[List[str]]
    pixel_noise: float
    settings: Dict[str, Any] = field(default_factory=dict)


def load_data(source: Optional[PathLike] = None, *,
              dataset: Optional[str] = None, split: Optional[str] = None,
              frames: int = 64, layout: Optional[str] = None,
              num_classes: Optional[int] = None, score: bool = False,
              samples: int = SYNTHETIC_SAMPLES,
              holdout: Optional[float] = None,
              semi: Optional[float] = None,
              stream: str = 'joint') -> ProtocolData:
    r"""The training and evaluation splits of a benchmark.

    Args:
        source (str or PathLike, optional): A pyskl :obj:`.pkl`, CTR-GCN
            :obj:`.npz`, or a folder of NW-UCLA :obj:`.json`, Penn Action
            :obj:`.mat` or NTU :obj:`.skeleton` files (see
            :func:`~torch_skeleton_mae.datasets.load_dataset`); :obj:`None`
            for the built-in synthetic set.
        dataset (str, optional): A key of
            :data:`~torch_skeleton_mae.datasets.registry.DATASETS`: the
            classes and split names of :obj:`source`; :obj:`None` for data
            of your own, whose classes are read from it (or
            :obj:`num_classes`). (default: :obj:`None`)
        split (str, optional): The benchmark (default: the dataset's first;
            :obj:`"xsub"` without a dataset).
        frames (int, optional): Frames :obj:`T` per sample.
        layout (str, optional): The skeleton layout (default: the reader's;
            :obj:`"coco"` for the synthetic set).
        num_classes (int, optional): The classes of data of your own
            (default: read from it, the largest label + 1 or a CTR-GCN
            :obj:`.npz`'s one-hot width).
        score (bool, optional): Append the 2D confidence score as a channel.
        samples (int, optional): Sequences of the synthetic set.
        holdout (float, optional): Evaluate on this fraction of the training
            split, held out per class, instead of the test split.
        semi (float, optional): Keep this fraction of the training labels,
            per class (the semi-supervised protocol).
        stream (str, optional): The input: :obj:`"joint"`, :obj:`"bone"`,
            :obj:`"motion"` or :obj:`"bone_motion"`, computed from each
            sampled sequence (see
            :func:`~torch_skeleton_mae.transforms.stream_transform`).

    Raises:
        ValueError: on unreadable data, an empty split, labels outside
            :obj:`dataset`'s classes, or a fraction out of range.
    """
    if holdout is not None and not 0 < holdout < 1:
        raise ValueError(f"load_data: 'holdout' must lie in (0, 1), got "
                         f"{holdout}")
    if semi is not None and not 0 < semi <= 1:
        raise ValueError(f"load_data: 'semi' must lie in (0, 1], got {semi}")
    if stream not in STREAMS:
        raise ValueError(f"load_data: 'stream' must be one of "
                         f"{list(STREAMS)}, got '{stream}'")
    if dataset is not None and dataset not in DATASETS:
        raise ValueError(f"load_data: unknown dataset '{dataset}'; expected "
                         f"one of {sorted(DATASETS)} or None (data of your "
                         f"own)")
    if dataset is not None and num_classes is not None:
        raise ValueError(f"load_data: dataset '{dataset}' fixes the classes; "
                         f"give num_classes for data of your own only")
    benchmarks = (('xsub', 'xview') if source is None else
                  DATASETS[dataset].benchmarks if dataset else None)
    split = split or (benchmarks or ('xsub',))[0]
    if benchmarks and split not in benchmarks:
        raise ValueError(
            f"load_data: split '{split}' is not one of "
            f"{list(benchmarks)} of " + ('the synthetic set' if source is None
                                         else f"dataset '{dataset}'"))
    settings = dict(source=source and str(source), dataset=dataset,
                    split=split, layout=layout, num_classes=num_classes,
                    score=score, samples=samples, holdout=holdout, semi=semi,
                    stream=stream)
    if source is None:
        out = _synthetic_splits(samples, split, frames, layout, score)
    else:
        out = _read_splits(Path(source), dataset, split, frames, layout,
                           num_classes, score)
    out.train.transform = out.val.transform = stream_transform(stream,
                                                               out.layout)
    if holdout is not None:
        train = out.train
        held = label_fraction_indices(dataset_labels(train), holdout,
                                      seed=HOLDOUT_SEED)
        rest = np.setdiff1d(np.arange(len(train)), held)
        evaluated = copy.copy(train).sample_frames(train.num_frames, False)
        out.train, out.val = Subset(train, rest.tolist()), Subset(
            evaluated, held.tolist())
    if semi is not None:
        out.train = label_fraction_subset(out.train, semi, seed=0)
    out.settings = settings
    return out


def _synthetic_splits(samples: int, split: str, frames: int,
                      layout: Optional[str], score: bool) -> ProtocolData:
    # Centering only: the camera yaw is part of the synthetic task
    # (cross-view).
    train, val = (SyntheticSkeletons(samples, layout or 'coco', frames,
                                     seed=0, split=part, benchmark=split,
                                     score=score, center=True)
                  for part in ('train', 'val'))
    _check_not_empty(train, val, f'{samples} synthetic sequences ({split})',
                     '; use more samples')
    return ProtocolData(train, val, train.skeleton.name, train[0][0].size(-1),
                        train.num_classes, list(ACTIONS), train.pixel_noise)


def _check_not_empty(train: Dataset, val: Dataset, what: str,
                     hint: str = '') -> None:
    for part, data in (('training', train), ('evaluation', val)):
        if len(data) == 0:
            raise ValueError(f'load_data: the {part} split of {what} is '
                             f'empty{hint}')


def _read_splits(source: Path, dataset: Optional[str], split: str,
                 frames: int, layout: Optional[str],
                 num_classes: Optional[int], score: bool) -> ProtocolData:
    # Both splits of a file or folder, their classes the dataset's (or the
    # training split's), every label checked against them.
    if not source.exists():
        raise FileNotFoundError(f'load_data: {source}: no such file or '
                                f'folder')
    if source.is_dir() and dataset == 'ntu120':
        split = {'xsub': 'xsub120'}.get(split, split)
    info = DATASETS.get(dataset)
    if info is not None:
        num_classes, layout = info.num_classes, layout or info.layout
    train = load_dataset(source, split, 'train', frames, layout=layout,
                         num_classes=num_classes, score=score)
    num_classes = num_classes or train.num_classes
    val = load_dataset(source, split, 'val', frames, layout=layout,
                       num_classes=num_classes, score=score)
    for part, data in (('train', train), ('val', val)):
        labels = dataset_labels(data)
        if len(labels) and labels.max() >= num_classes:
            raise ValueError(
                f'load_data: the {part} split of {source} has label '
                f'{labels.max()}, beyond the {num_classes} classes of '
                + (f"dataset '{dataset}'" if info else 'its training split'))
    _check_not_empty(train, val, f'{source} ({split})')
    names = info and info.class_names or getattr(train, 'class_names', None)
    return ProtocolData(train, val, train.skeleton.name, train[0][0].size(-1),
                        num_classes, None if names is None else list(names),
                        train.pixel_noise)


def with_synthetic(data: ProtocolData, sequences: int,
                   seed: int = 0) -> Dataset:
    r"""The training split of :obj:`data` beside :obj:`sequences`
    synthetic sequences in its layout, preprocessed as the readers
    preprocess real data, with its persons and channels.

    Raises:
        ValueError: if the training split is a :obj:`holdout` part.
    """
    if isinstance(data.train, Subset):
        raise ValueError('with_synthetic: synthetic sequences go beside the '
                         'whole training split; it does not combine with '
                         'holdout')
    synthetic = SyntheticSkeletons(
        sequences, data.layout, seed=seed, normalize=True,
        max_persons=data.train.frames.shape[1],
        score=data.channels > get_skeleton(data.layout).coords)
    return concat_sequences(data.train, synthetic)


@dataclass(frozen=True)
class RunOptions:
    r"""Where and how a run computes, none of which changes its numbers on
    one machine (except :obj:`seed` and :obj:`precision`).

    Args:
        device (str, optional): Default: CUDA if available (the local rank's
            GPU under :obj:`torchrun`).
        precision (str, optional): :obj:`"auto"` (bf16/fp16 on CUDA, fp32
            on the CPU), :obj:`"fp32"`, :obj:`"bf16"` or :obj:`"fp16"`.
        seed (int, optional): Seeds the run: the order of the data, its
            augmentation and dropout. A model is initialized when it is
            built, before the run: seed it there
            (:func:`~torch_skeleton_mae.engine.checkpoint.seed_everything`).
        workers (int, optional): Loader workers (threads where the data reads
            whole batches, else processes).
        worker_processes (bool, optional): Processes even where threads
            would do.
        eval_every (int, optional): Evaluate every this many epochs (and
            after the last) while fine-tuning.
        compile (bool, optional): Train through :func:`torch.compile`.
        resume (bool, optional): Continue the run in :obj:`out`.
    """
    device: Optional[str] = None
    precision: str = 'auto'
    seed: int = 0
    workers: int = 2
    worker_processes: bool = False
    eval_every: int = 5
    compile: bool = False
    resume: bool = False

    def loader_kwargs(self) -> Dict[str, Any]:
        r""":func:`~torch_skeleton_mae.engine.loader.make_loader`'s worker
        arguments."""
        return dict(num_workers=self.workers,
                    worker_threads=False if self.worker_processes else None)


@dataclass
class PretrainResult:
    r"""What :func:`pretrain` returns (on the main process).

    Attributes:
        history (list of dict): Every epoch's metrics this call ran.
        checkpoint (pathlib.Path): :obj:`out/last.pt`.
        probe (ClassificationReport, optional): The linear probe of the
            pre-trained encoder (with a :obj:`probe` recipe).
        random_probe (ClassificationReport, optional): That of a randomly
            initialized encoder.
        reconstruction (dict, optional): The masked-joint error of the
            model and of trivial predictors on the evaluation set.
    """
    history: List[Dict[str, float]]
    checkpoint: Path
    probe: Optional[ClassificationReport] = None
    random_probe: Optional[ClassificationReport] = None
    reconstruction: Optional[Dict[str, Optional[float]]] = None


@dataclass
class FinetuneResult:
    r"""What :func:`finetune` returns: the history and, on the main process,
    the final evaluation (:obj:`None` on the others)."""
    history: List[Dict[str, float]]
    checkpoint: Path
    report: Optional[ClassificationReport]


def pretrain(model: SkeletonMAE, data: ProtocolData,
             recipe: PretrainRecipe, out: PathLike,
             options: RunOptions = RunOptions(),
             probe: Optional[LinearRecipe] = None,
             train: Optional[Dataset] = None,
             extra_state: Optional[Dict[str, Any]] = None
             ) -> PretrainResult:
    r"""Pre-trains :obj:`model` with Adam on :obj:`data.train` (or
    :obj:`train`), writing :obj:`out/last.pt` after every epoch and
    :obj:`out/pretrain.csv`; then, given a :obj:`probe` recipe, linear
    probes of the pre-trained and of a randomly initialized encoder
    (:obj:`out/probe*.json`) and the reconstruction beside trivial
    predictors (:obj:`out/reconstruction.json`). Under :obj:`torchrun`,
    every process calls it.

    Args:
        model (SkeletonMAE): Trained in place, built for the data's layout
            and channels.
        data (ProtocolData): From :func:`load_data`, of
            :obj:`recipe.frames` frames: sequences :obj:`(M, T, V, C)`.
        recipe (PretrainRecipe): The numbers.
        out (str or PathLike): The run's folder.
        options (RunOptions, optional): Device, seed, workers, resume, ...
        probe (LinearRecipe, optional): Probe the encoders after training.
        train (Dataset, optional): Pre-train on this instead of
            :obj:`data.train` (*e.g.*
            :func:`~torch_skeleton_mae.engine.training.with_synthetic`'s).
        extra_state (dict, optional): Saved in every checkpoint.

    Raises:
        SetupError: if :obj:`out` holds a run and :obj:`options.resume` is
            not set, a resumed run's recipe or model differ, or the model
            was built for other data.
        TrainingDiverged: on a non-finite loss.
    """
    out = Path(out)
    context, device, record = _start('pretrain', model, data, recipe, out,
                                     options, train)
    try:
        optimizer = torch.optim.Adam(model.parameters(), lr=recipe.lr,
                                     weight_decay=recipe.weight_decay)
        loader, augment = _training_batches(recipe, data, device, context,
                                            options, train)
        trainer = Trainer(model, MAEObjective(), optimizer, loader, device,
                          out, name='pretrain', precision=options.precision,
                          seed=options.seed, context=context,
                          extra_state=dict(run=record, **(extra_state or {})),
                          compile=options.compile, batch_transform=augment)
        history = trainer.fit(recipe.epochs, resume=options.resume)
        result = PretrainResult(history, trainer.checkpoint_path)
        if context.is_main and history:
            print(f"pre-training done: loss {history[-1]['loss']:.4f}; "
                  f"checkpoint {trainer.checkpoint_path}")
        if context.is_main and probe is not None:
            _probe_and_score(model, data, probe, device, options, out, result)
        return result
    finally:
        cleanup_distributed()


def _probe_and_score(model: SkeletonMAE, data: ProtocolData,
                     recipe: LinearRecipe, device: torch.device,
                     options: RunOptions, out: Path,
                     result: PretrainResult) -> None:
    # The probes of the pre-trained and a random encoder, and the
    # reconstruction beside trivial predictors, into `result` and `out`.
    loaders = _eval_loaders(data, device, options)
    result.probe = _probe(model, loaders, device, data.num_classes, recipe,
                          options.seed, 'pre-trained encoder')
    with torch.random.fork_rng():
        torch.manual_seed(options.seed)
        if model.config['encoder'] is None:  # a module no config rebuilds
            baseline = copy.deepcopy(model)
            baseline.reset_parameters()
        else:
            baseline = SkeletonMAE(**model.config).to(device)
    result.random_probe = _probe(baseline, loaders, device, data.num_classes,
                                 recipe, options.seed, 'random encoder')
    write_report(result.probe, out, 'probe', data.names)
    write_report(result.random_probe, out, 'probe_random', data.names)
    means = joint_means(loaders[0], model.skeleton.num_joints)
    errors = reconstruction_baselines(model, loaders[1], device, means,
                                      seed=options.seed)
    write_json(out / 'reconstruction.json', errors)
    result.reconstruction = errors
    print(f'linear probe top-1: pre-trained encoder '
          f'{100 * result.probe.top1:.1f}%, random encoder '
          f'{100 * result.random_probe.top1:.1f}% (chance '
          f'{100 / data.num_classes:.1f}%)')
    print('masked-joint error on the evaluation set (Eq. 2, lower is '
          'better): model ' + ', '.join(
              f'{errors[k]:.3f}' if k == 'model' else
              f"{k.replace('_', ' ')} {errors[k]:.3f}"
              for k in ('model', ) + BASELINES if errors[k] is not None))


def linear_eval(model: SkeletonMAE, data: ProtocolData,
                recipe: LinearRecipe, out: PathLike,
                options: RunOptions = RunOptions(),
                encoder: str = 'pre-trained encoder') -> ClassificationReport:
    r"""Linear evaluation: the frozen encoder of :obj:`model` encodes every
    sequence once; a linear classifier is fitted to the pooled features of
    :obj:`data.train` and scored on :obj:`data.val` (report and confusion
    matrix :obj:`out/linear_eval.*`). One process does it.

    Args:
        model (SkeletonMAE): Its encoder is probed, frozen.
        data (ProtocolData): From :func:`load_data`, of
            :obj:`recipe.frames` frames.
        recipe (LinearRecipe): The numbers.
        out (str or PathLike): Where the report goes.
        options (RunOptions, optional): Device, seed and workers.
        encoder (str, optional): What the progress bars call the encoder.

    Returns:
        The evaluation report.

    Raises:
        SetupError: if :obj:`out` holds a finished linear evaluation, or
            the model was built for other data.
    """
    out = Path(out)
    check_folder(out)
    if (out / 'linear_eval.json').exists():
        raise SetupError(f"'out' {out} holds a finished linear evaluation "
                         f"(linear_eval.json); pass another 'out' (or "
                         f"delete the folder) to evaluate again")
    _check_fits(model, data, recipe)
    seed_everything(options.seed)
    try:
        device = resolve_device(options.device)
    except ValueError as error:
        raise SetupError(str(error)) from None
    model.to(device)
    out.mkdir(parents=True, exist_ok=True)
    report = _probe(model, _eval_loaders(data, device, options), device,
                    data.num_classes, recipe, options.seed, encoder)
    summary = write_report(report, out, 'linear_eval', data.names)
    print(f'linear evaluation: top-1 {100 * report.top1:.1f}%, top-5 '
          f'{100 * report.top5:.1f}%, mean class accuracy '
          f"{100 * summary['mean_class_acc']:.1f}%")
    return report


def raw_joint_floor(data: ProtocolData, recipe: LinearRecipe, out: PathLike,
                    options: RunOptions = RunOptions()
                    ) -> ClassificationReport:
    r"""The floor every model must beat: a linear classifier on the raw
    (preprocessed) joint coordinates of :obj:`recipe.frames` frames
    sampled uniformly, flattened and standardized, its weight decay one
    of :data:`~torch_skeleton_mae.engine.training.FLOOR_WEIGHT_DECAYS`
    chosen on a fifth of :obj:`data.train` held out per class (report
    :obj:`out/raw_joint_floor.*`).

    Args:
        data (ProtocolData): From :func:`load_data`, of
            :obj:`recipe.frames` frames.
        recipe (LinearRecipe): Frames, Adam steps and rate.
        out (str or PathLike): Where the report goes.
        options (RunOptions, optional): Seed and workers.

    Returns:
        The evaluation report.
    """
    out = Path(out)
    _check_frames(data, recipe)
    out.mkdir(parents=True, exist_ok=True)
    train, val = (raw_joint_features(loader) for loader in _eval_loaders(
        data, torch.device('cpu'), options))
    counts = torch.bincount(train[1])
    if ((counts > 0) & (counts < 2)).any():
        raise SetupError(
            'the raw-joint floor chooses its weight decay on a fifth of each '
            'class held out, so it needs 2 training sequences of every '
            f'class; class {int((counts == 1).nonzero()[0])} has 1')
    held = label_fraction_indices(train[1].numpy(), 0.2, seed=HOLDOUT_SEED)
    report, decay = tuned_linear_probe(
        train, val, data.num_classes, FLOOR_WEIGHT_DECAYS,
        torch.from_numpy(held), epochs=recipe.epochs, lr=recipe.lr,
        seed=options.seed)
    summary = write_report(report, out, 'raw_joint_floor', data.names)
    summary['weight_decay'] = decay
    write_json(out / 'raw_joint_floor.json', summary)
    print(f'linear classifier on the raw joints: top-1 '
          f'{100 * report.top1:.1f}% (weight decay {decay:g})')
    return report


def finetune(model: STRL, data: ProtocolData, recipe: FinetuneRecipe,
             out: PathLike, options: RunOptions = RunOptions(),
             extra_state: Optional[Dict[str, Any]] = None
             ) -> FinetuneResult:
    r"""Fine-tunes :obj:`model` (SGD with momentum, warm-up, step decay,
    label smoothing), evaluating on :obj:`data.val` every
    :obj:`options.eval_every` epochs and after the last; writes
    :obj:`out/last.pt`, :obj:`out/finetune.csv` and the final report
    :obj:`out/finetune_eval.*`. Under :obj:`torchrun`, every process calls
    it.

    Args:
        model (STRL): Trained in place (*e.g.* from
            :meth:`~torch_skeleton_mae.nn.STRL.from_pretrained`), built for
            the data's layout, channels and classes.
        data (ProtocolData): From :func:`load_data`, of
            :obj:`recipe.frames` frames: sequences :obj:`(M, T, V, C)`.
        recipe (FinetuneRecipe): The numbers.
        out (str or PathLike): The run's folder.
        options (RunOptions, optional): Device, seed, workers, evaluation
            interval, resume, ...
        extra_state (dict, optional): Saved in every checkpoint.

    Raises:
        SetupError: if :obj:`out` holds a run and :obj:`options.resume` is
            not set, a resumed run's recipe or model differ, or the model
            was built for other data.
        TrainingDiverged: on a non-finite loss.
    """
    out = Path(out)
    context, device, record = _start('finetune', model, data, recipe, out,
                                     options)
    try:
        optimizer = torch.optim.SGD(
            [p for p in model.parameters() if p.requires_grad], lr=recipe.lr,
            momentum=recipe.momentum, weight_decay=recipe.weight_decay)
        scheduler = warmup_multistep(optimizer, recipe.warmup,
                                     list(recipe.milestones))
        val_loader = make_loader(data.val, EVAL_BATCH_SIZE, device,
                                 train=False, **options.loader_kwargs())

        def validate(module: Module) -> Dict[str, float]:
            report = evaluate(module, val_loader, device, data.num_classes,
                              options.precision)
            return {f'val_{k}': v for k, v in report.summary().items()}

        loader, augment = _training_batches(recipe, data, device, context,
                                            options)
        trainer = Trainer(model, ClassificationObjective(
            recipe.label_smoothing), optimizer, loader, device, out,
                          name='finetune', scheduler=scheduler,
                          precision=options.precision, evaluate=validate,
                          eval_every=options.eval_every, seed=options.seed,
                          context=context,
                          extra_state=dict(run=record, **(extra_state or {})),
                          compile=options.compile, batch_transform=augment)
        history = trainer.fit(recipe.epochs, resume=options.resume)
        report = None
        if context.is_main:
            report = evaluate(model, val_loader, device, data.num_classes,
                              options.precision)
            write_report(report, out, 'finetune_eval', data.names)
            print(f'fine-tuning: top-1 {100 * report.top1:.1f}%, top-5 '
                  f'{100 * report.top5:.1f}% on {len(data.val)} sequences')
            if report.one_class is not None:
                warnings.warn(f'{out}: the model predicts class '
                              f'{report.one_class} for every one of the '
                              f'{len(data.val)} evaluation sequences: it '
                              f'collapsed to a constant (try a lower '
                              f'learning rate or another seed)')
        return FinetuneResult(history, trainer.checkpoint_path, report)
    finally:
        cleanup_distributed()


def _start(protocol: str, model: Module, data: ProtocolData,
           recipe: TrainingRecipe, out: Path, options: RunOptions,
           train: Optional[Dataset] = None
           ) -> Tuple[DistributedContext, torch.device, Dict[str, Any]]:
    # The checks before a training run, the process group, the seed, the
    # announcement of the data, and the run's record for its checkpoints.
    record = dict(recipe=_plain(recipe), model=model.config,
                  data=data.settings, seed=options.seed,
                  precision=options.precision,
                  training_samples=len(data.train if train is None else train))
    _check_fits(model, data, recipe)
    if recipe.rotate and get_skeleton(data.layout).coords != 3:
        raise SetupError(f'rotate={recipe.rotate:g} turns 3D joints; layout '
                         f"'{data.layout}' is 2D (use scale)")
    check_out(out, protocol, options.resume, record,
              name=lambda key: dict(resume='options.resume').get(key, key))
    try:
        context, device = init_distributed(options.device)
    except ValueError as error:
        raise SetupError(str(error)) from None
    seed_everything(options.seed)
    if context.is_main:
        print(f'layout={data.layout} C={data.channels} '
              f'train={len(data.train)} val={len(data.val)} '
              f'classes={data.num_classes} device={device} '
              f'processes={context.world_size}')
    return context, device, record


def _check_frames(data: ProtocolData, recipe: Any) -> None:
    frames = data.train[0][0].size(1)  # (M, T, V, C)
    if frames != recipe.frames:
        raise SetupError(f'the recipe has frames={recipe.frames}, the data '
                         f'{frames} (load the data with '
                         f'frames=recipe.frames)')


def _check_fits(model: Module, data: ProtocolData, recipe: Any) -> None:
    # The recipe's frames are load_data's; the model must be built for the
    # data's layout, channels and classes.
    _check_frames(data, recipe)
    built = (model.skeleton.name, model.in_channels)
    if built != (data.layout, data.channels):
        raise SetupError(
            f"the {type(model).__name__} was built for layout '{built[0]}' "
            f"with {built[1]} channels, the data has '{data.layout}' with "
            f"{data.channels} (a pre-trained model keeps the layout and "
            f"channels of its pre-training data)")
    classes = getattr(model, 'num_classes', data.num_classes)
    if classes != data.num_classes:
        raise SetupError(f'the {type(model).__name__} has {classes} classes, '
                         f'the data {data.num_classes}')


def check_folder(out: PathLike, name: str = 'out') -> None:
    r"""Refuses a run folder :obj:`out` (the argument :obj:`name`) that
    is, or lies under, a file.

    Raises:
        SetupError: naming the file.
    """
    blocked = [p for p in (Path(out), *Path(out).parents) if p.is_file()]
    if blocked:
        raise SetupError(f"'{name}' {out}: {blocked[0]} is a file; expected "
                         f"a folder")


def check_out(out: Path, protocol: str, resume: bool, record: Dict[str, Any],
              key: str = 'run', ignored: Sequence[str] = ('recipe.epochs', ),
              name: Callable[[str], str] = str) -> None:
    r"""Refuses to start a run in a folder that holds one (unless
    :obj:`resume`), and to resume a run whose saved :obj:`record` (under
    :obj:`key` in its checkpoint) differs from this one's.

    Args:
        out (pathlib.Path): The run's folder.
        protocol (str): The stem of its log, *e.g.* :obj:`"pretrain"`.
        resume (bool): Whether the run continues.
        record (dict): What must agree (nested dicts compare entry by
            entry; entries the saved record lacks, written before they were
            recorded, are not compared): for :func:`pretrain` and
            :func:`finetune` the recipe, the model's settings, the data's
            (:obj:`ProtocolData.settings`), the seed, the precision and the
            training sequences.
        key (str, optional): Where the checkpoint holds its record.
        ignored (sequence of str, optional): Entries that may differ (the
            recipe's epochs: a run may be extended).
        name (callable, optional): Spells an entry in errors (the command
            line's flags).

    Raises:
        SetupError: naming the folder, or every differing entry (in
            quotes).
    """
    out = Path(out)
    run, resumed = (f"'{name(k)}'" for k in ('out', 'resume'))
    check_folder(out, name('out'))
    checkpoint, log = out / 'last.pt', out / f'{protocol}.csv'
    if not resume:
        if checkpoint.exists() or log.exists():
            raise SetupError(
                f'{run} {out} holds an earlier {protocol} run '
                f'({checkpoint.name if checkpoint.exists() else log.name}); '
                f'pass {resumed} to continue it, or another {run} (or '
                f'delete the folder) to start over')
        return
    if not checkpoint.is_file():
        raise SetupError(f'{resumed}: {checkpoint} does not exist; start the '
                         f'run without {resumed}')
    try:
        saved = load_checkpoint(checkpoint).get(key)
    except ValueError as error:
        raise SetupError(str(error)) from None
    if saved is None:  # written without a record
        return
    now, before = _flat(record), _flat(saved)
    differs = [f"'{name(k)}' {now.get(k)!r} (the run has {before[k]!r})"
               for k in sorted(before)
               if k not in ignored and now.get(k) != before[k]]
    if differs:
        raise SetupError(
            f'{resumed}: these settings differ from the run in {out}: '
            + '; '.join(differs) + f". Resume with the run's settings, or "
            f'start a new run in another {run}')


def _flat(record: Dict[str, Any]) -> Dict[str, Any]:
    return {f'{k}.{key}' if isinstance(v, dict) else k: (
        value if isinstance(v, dict) else v)
        for k, v in record.items()
        for key, value in (v.items() if isinstance(v, dict) else [(k, v)])}


def write_report(report: ClassificationReport, out: Path, stem: str,
                 names: Optional[List[str]]) -> Dict[str, Any]:
    r"""Writes :obj:`report` as :obj:`out/stem.json` and its confusion
    matrix as :obj:`out/stem.png` (CSV beside it); returns the summary."""
    summary = report.summary()
    summary['per_class'] = [None if math.isnan(a) else a
                            for a in report.per_class.tolist()]
    write_json(out / f'{stem}.json', summary)
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
           recipe: LinearRecipe, seed: int,
           encoder: str) -> ClassificationReport:
    features = [extract_features(model, loader, device,
                                 desc=f'features: {encoder}, {part} set')
                for loader, part in zip(loaders, ('training', 'evaluation'))]
    return linear_probe(*features, num_classes, epochs=recipe.epochs,
                        lr=recipe.lr, weight_decay=recipe.weight_decay,
                        seed=seed)


def _eval_loaders(data: ProtocolData, device: torch.device,
                  options: RunOptions) -> List[DataLoader]:
    return [make_loader(d, EVAL_BATCH_SIZE, device, train=False,
                        **options.loader_kwargs())
            for d in (data.train, data.val)]


def _training_batches(recipe: TrainingRecipe, data: ProtocolData,
                      device: torch.device, context: DistributedContext,
                      options: RunOptions, train: Optional[Dataset] = None
                      ) -> Tuple[DataLoader, Optional[Callable]]:
    # The loader of `train` (default: data.train) and the Trainer's
    # batch_transform, which share the augmentation by device
    # (place_batch_transform): rotate, scale, then the pixel noise.
    train = data.train if train is None else train
    std = data.pixel_noise if recipe.noise is None else recipe.noise
    transform = augmentation(recipe, get_skeleton(data.layout).coords, std)
    on_workers, on_device = place_batch_transform(transform, device)
    loader = make_loader(train, recipe.batch_size, device, True,
                         seed=options.seed, context=context,
                         transform=on_workers, **options.loader_kwargs())
    return loader, on_device


def augmentation(recipe: TrainingRecipe, coords: int,
                 noise: float) -> Optional[Callable]:
    r"""The batch transform of :obj:`recipe`'s augmentation of
    :obj:`(N, M, T, V, C)` batches whose first :obj:`coords` channels are
    coordinates: the rotation, the scaling, then Gaussian noise of std
    :obj:`noise` (:obj:`None` when there is none)."""
    degrees = [recipe.rotate if axis in recipe.rotate_axes else 0.
               for axis in 'xyz']
    augment = ([RandomRotation(degrees)] if recipe.rotate else []) + (
        [RandomScale(recipe.scale, coords)] if recipe.scale else []) + (
        [GaussianNoise(noise, coords, inplace=True)] if noise > 0 else [])
    return (None if not augment else augment[0] if len(augment) == 1
            else Compose(augment))


def _plain(recipe: Any) -> Dict[str, Any]:
    # A recipe as plain values (checkpoints load with weights_only=True).
    return {k: list(v) if isinstance(v, tuple) else v
            for k, v in dataclasses.asdict(recipe).items()}
