r"""Multi-stream STRL, as the field's skeleton classifiers are evaluated
(CTR-GCN, pyskl; not in the paper, which reports one stream): one STRL per
input stream (joint, bone, joint motion, bone motion, see
:func:`~torch_skeleton_mae.transforms.stream_transform`), each fine-tuned on
its own (:func:`~torch_skeleton_mae.engine.finetune_streams`), and their
softmax scores fused by a weighted mean
(:func:`~torch_skeleton_mae.engine.fuse_runs`).

.. code-block:: python

    from torch_skeleton_mae.engine import QUICK, finetune_streams

    results, fusion = finetune_streams(QUICK.finetune, 'runs/streams')
    print(fusion.per_stream, fusion.fused.top1)
"""
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import torch
from torch import Tensor

from torch_skeleton_mae.engine.checkpoint import load_checkpoint
from torch_skeleton_mae.engine.distributed import resolve_device
from torch_skeleton_mae.engine.evaluation import (ClassificationReport,
                                                  classification_report,
                                                  predict)
from torch_skeleton_mae.engine.loader import make_loader
from torch_skeleton_mae.engine.recipes import EVAL_BATCH_SIZE, FinetuneRecipe
from torch_skeleton_mae.engine.training import (FinetuneResult, PathLike,
                                                RunOptions, check_out,
                                                finetune, load_data,
                                                write_report)
from torch_skeleton_mae.nn import STRL
from torch_skeleton_mae.transforms import STREAMS
from torch_skeleton_mae.utils import write_json

#: The step of the grid of fusion weights that
#: :func:`~torch_skeleton_mae.engine.streams.choose_weights` searches.
WEIGHT_STEP = 0.1
#: The most streams whose weights it chooses (its grid grows as
#: :math:`11^S`).
MAX_CHOSEN = 5


@dataclass
class FusionReport:
    r"""What :func:`~torch_skeleton_mae.engine.fuse_runs` returns.

    Attributes:
        streams (list of str): Each run's stream, in the runs' order.
        weights (list of float): Each run's weight in the fusion.
        chosen (str): How the weights were set: :obj:`"held-out"` (on the
            part of the training split the runs held out), :obj:`"given"`
            or :obj:`"equal"`.
        per_stream (list of float): Each run's top-1 on the test split.
        fused (ClassificationReport): The fusion's, on the test split.
        held_out (dict, optional): With :obj:`chosen="held-out"`, the top-1
            of every run (:obj:`"per_stream"`) and of the fusion
            (:obj:`"fused"`) on the held-out part.
    """
    streams: List[str]
    weights: List[float]
    chosen: str
    per_stream: List[float]
    fused: ClassificationReport
    held_out: Optional[Dict[str, Any]] = None

    def summary(self) -> Dict[str, Any]:
        r"""The report as plain values (:obj:`fusion.json`)."""
        return dict(streams=self.streams, weights=self.weights,
                    chosen=self.chosen, per_stream=self.per_stream,
                    fused=self.fused.summary(), held_out=self.held_out)


def fuse(logits: Tensor, weights: Sequence[float]) -> Tensor:
    r"""The weighted mean :math:`\sum_s w_s \operatorname{softmax}(z_s) /
    \sum_s w_s` of the streams' logits :obj:`(S, N, K)`: class
    probabilities :obj:`(N, K)`."""
    weights = torch.as_tensor(weights, dtype=logits.dtype)
    return torch.einsum('s,snk->nk', weights / weights.sum(),
                        logits.softmax(dim=-1))


def choose_weights(logits: Tensor, labels: Tensor,
                   step: float = WEIGHT_STEP) -> List[float]:
    r"""The fusion weights on the grid :math:`\{0, \text{step}, \dots,
    1\}^S` (not all zero) whose
    :func:`~torch_skeleton_mae.engine.streams.fuse` of :obj:`logits`
    :obj:`(S, N, K)` is most often right about :obj:`labels` :obj:`(N,)`;
    of weights that tie, those nearest equal weights (after scaling to sum
    1).

    Raises:
        ValueError: for more than :data:`MAX_CHOSEN` streams (the grid has
            :math:`(1 / \text{step} + 1)^S` points).

    Example:
        >>> import torch
        >>> labels = torch.tensor([0, 1, 1])
        >>> right = torch.nn.functional.one_hot(labels, 2).float()
        >>> choose_weights(torch.stack([right, 1 - right]), labels)
        [1.0, 0.9]
    """
    if logits.size(0) > MAX_CHOSEN:
        raise ValueError(f'choose_weights searches a grid for at most '
                         f'{MAX_CHOSEN} streams, got {logits.size(0)}; give '
                         f'the weights')
    levels = torch.arange(0, 1 + step / 2, step, dtype=torch.float64)
    grid = torch.cartesian_prod(*[levels] * logits.size(0)).view(
        -1, logits.size(0))[1:]  # (G, S), all-zero dropped
    probs = logits.double().softmax(dim=-1)
    right = torch.cat([
        (torch.einsum('gs,snk->gnk', part, probs).argmax(-1) == labels).sum(1)
        for part in grid.split(256)])
    best = grid[right == right.max()]
    best = best / best.sum(1, keepdim=True)
    spread = (best - 1 / logits.size(0)).pow(2).sum(1)
    chosen = best[spread.argmin()]
    return [round(w, 6) for w in (chosen / chosen.max()).tolist()]


def _read_runs(runs: Sequence[PathLike]
               ) -> Tuple[List[STRL], List[Dict[str, Any]]]:
    # Each run's fine-tuned STRL and record, the records' data checked to
    # differ in the stream alone.
    models, records = [], []
    for run in runs:
        path = Path(run) / 'last.pt'
        if not path.is_file():
            raise FileNotFoundError(f'{run}: no fine-tuning run here (no '
                                    f'last.pt)')
        checkpoint = load_checkpoint(path)
        record = checkpoint.get('run')
        if not isinstance(record, dict) or 'stream' not in record.get(
                'data', {}):
            raise ValueError(f"{path} holds no fine-tuning run's record; "
                             f"expected the last.pt of a finetune run")
        models.append(STRL.from_checkpoint(checkpoint))
        records.append(record)
    first = runs[0]
    for run, record in zip(runs[1:], records[1:]):
        differs = [f'{key}={record["data"][key]!r} vs '
                   f'{records[0]["data"][key]!r}'
                   for key in record['data']
                   if key != 'stream'
                   and record['data'][key] != records[0]['data'].get(key)]
        if record['recipe']['frames'] != records[0]['recipe']['frames']:
            differs.append(f"frames={record['recipe']['frames']} vs "
                           f"{records[0]['recipe']['frames']}")
        if differs:
            raise ValueError(f'the runs to fuse must share their data but '
                             f'the stream; {run} differs from {first}: '
                             + ', '.join(differs))
    return models, records


def _scores(models: List[STRL], records: List[Dict[str, Any]],
            holdout: Optional[float], options: RunOptions
            ) -> Tuple[Tensor, Tensor, Any]:
    # Every run's logits (S, N, K) on its stream of one evaluation set
    # (the held-out part, or the test split with holdout=None), the labels
    # and the last run's data.
    device = resolve_device(options.device)
    logits, labels = [], None
    for model, record in zip(models, records):
        data = load_data(frames=record['recipe']['frames'],
                         **dict(record['data'], holdout=holdout))
        loader = make_loader(data.val, EVAL_BATCH_SIZE, device, train=False,
                             **options.loader_kwargs())
        scores, y = predict(model.to(device), loader, device,
                            options.precision)
        if labels is not None and not torch.equal(y, labels):
            raise ValueError('the runs to fuse were evaluated on different '
                             'sequences')
        logits.append(scores)
        labels = y
    return torch.stack(logits), labels, data


def _top1(scores: Tensor, labels: Tensor) -> List[float]:
    # The top-1 of each of scores (S, N, K).
    return (scores.argmax(-1) == labels).float().mean(-1).tolist()


def fuse_runs(runs: Sequence[PathLike], out: Optional[PathLike] = None,
              weights: Optional[Sequence[float]] = None,
              options: RunOptions = RunOptions()) -> FusionReport:
    r"""Fuses the scores of fine-tuning runs that differ only in their
    stream (:func:`~torch_skeleton_mae.engine.finetune` with
    :obj:`load_data(stream=...)`): each run's STRL (its :obj:`last.pt`)
    scores its own stream of the test split, and the weighted mean of their
    softmax scores (:func:`~torch_skeleton_mae.engine.streams.fuse`) is
    scored.

    The weights are :obj:`weights` when given; else, when the runs held out
    part of the training split (:obj:`load_data(holdout=...)`), those that
    fuse best on it
    (:func:`~torch_skeleton_mae.engine.streams.choose_weights`), the test
    split staying unseen until they are set; else equal.

    Args:
        runs (sequence of str or PathLike): The runs' folders.
        out (str or PathLike, optional): Where :obj:`fusion.json` and the
            fusion's confusion matrix go.
        weights (sequence of float, optional): One non-negative weight per
            run, not all zero.
        options (RunOptions, optional): Device, precision and workers.

    Raises:
        FileNotFoundError: if a run has no :obj:`last.pt`.
        ValueError: if a run is no fine-tuning run, the runs' data differ
            in more than the stream, or :obj:`weights` do not fit.
    """
    runs = [Path(run) for run in runs]
    if not runs:
        raise ValueError('fuse_runs: no runs given')
    if weights is not None and (
            len(weights) != len(runs) or min(weights) < 0
            or sum(weights) <= 0):
        raise ValueError(f"fuse_runs: 'weights' must be {len(runs)} "
                         f"non-negative numbers, not all zero, one per run; "
                         f"got {list(weights)}")
    models, records = _read_runs(runs)
    holdout = records[0]['data']['holdout']
    held_out = None
    if weights is None and holdout:
        logits, labels, _ = _scores(models, records, holdout, options)
        weights, chosen = choose_weights(logits, labels), 'held-out'
        held_out = dict(per_stream=_top1(logits, labels),
                        fused=_top1(fuse(logits, weights)[None], labels)[0])
    else:
        chosen = 'equal' if weights is None else 'given'
        weights = [1.0] * len(runs) if weights is None else [
            float(w) for w in weights]
    logits, labels, data = _scores(models, records, None, options)
    report = FusionReport(
        [r['data']['stream'] for r in records], weights, chosen,
        _top1(logits, labels),
        classification_report(fuse(logits.double(), weights).clamp_min(
            1e-300).log(), labels, data.num_classes), held_out)
    for stream, top1 in zip(report.streams, report.per_stream):
        print(f'{stream}: top-1 {100 * top1:.1f}%')
    print(f'fusion ({chosen} weights '
          f'{", ".join(f"{w:g}" for w in weights)}): top-1 '
          f'{100 * report.fused.top1:.1f}% on {len(labels)} sequences')
    if out is not None:
        Path(out).mkdir(parents=True, exist_ok=True)
        write_report(report.fused, Path(out), 'fusion', data.names)
        write_json(Path(out) / 'fusion.json', report.summary())
    return report


def finetune_streams(recipe: FinetuneRecipe, out: PathLike,
                     streams: Sequence[str] = STREAMS,
                     options: RunOptions = RunOptions(),
                     pretrained: Optional[Mapping[str, Any]] = None,
                     weights: Optional[Sequence[float]] = None,
                     settings: Optional[Mapping[str, Any]] = None,
                     **data: Any
                     ) -> Tuple[Dict[str, FinetuneResult], FusionReport]:
    r"""Fine-tunes one STRL per stream, each in :obj:`out/<stream>`
    (:func:`~torch_skeleton_mae.engine.finetune` on
    :obj:`load_data(stream=stream, **data)`), then fuses them
    (:func:`~torch_skeleton_mae.engine.fuse_runs`, into :obj:`out`).

    Args:
        recipe (FinetuneRecipe): Every stream's numbers.
        out (str or PathLike): The folder of the runs.
        streams (sequence of str, optional): Of
            :data:`~torch_skeleton_mae.transforms.STREAMS`, each once.
        options (RunOptions, optional): Every run's device, seed, ...
        pretrained (dict, optional): A pre-trained SkeletonMAE (any
            :meth:`~torch_skeleton_mae.nn.STRL.from_pretrained` source) per
            stream; a stream not in it trains from scratch.
        weights (sequence of float, optional): The fusion's, see
            :func:`~torch_skeleton_mae.engine.fuse_runs`.
        settings (dict, optional): STRL's settings (*e.g.*
            :obj:`dropout`).
        **data: :func:`~torch_skeleton_mae.engine.load_data`'s arguments
            but :obj:`frames` and :obj:`stream`.

    Raises:
        ValueError: on an unknown or repeated stream, a pre-trained model
            for a stream not trained, or under :obj:`torchrun` (launch one
            :func:`~torch_skeleton_mae.engine.finetune` per stream there,
            then :func:`~torch_skeleton_mae.engine.fuse_runs`).
    """
    out, settings, pretrained = Path(out), dict(settings or {}), dict(
        pretrained or {})
    unknown = [s for s in streams if s not in STREAMS]
    if unknown or len(set(streams)) != len(streams) or not streams:
        raise ValueError(f"finetune_streams: 'streams' must be distinct ones "
                         f"of {list(STREAMS)}, got {list(streams)}")
    if int(os.environ.get('WORLD_SIZE', 1)) > 1:
        raise ValueError('finetune_streams runs in one process; under '
                         'torchrun, fine-tune each stream on its own, then '
                         'fuse the runs')
    if set(pretrained) - set(streams):
        raise ValueError(f"finetune_streams: 'pretrained' names streams not "
                         f"trained: {sorted(set(pretrained) - set(streams))}")
    if not options.resume:  # before any run starts
        for stream in streams:
            check_out(out / stream, 'finetune', False, {})
    results = {}
    for stream in streams:
        print(f'stream {stream}: {out / stream}')
        stream_data = load_data(frames=recipe.frames, stream=stream, **data)
        if stream in pretrained:
            model = STRL.from_pretrained(pretrained[stream],
                                         stream_data.num_classes, **settings)
        else:
            model = STRL(stream_data.layout, stream_data.channels,
                         stream_data.num_classes, **settings)
        results[stream] = finetune(model, stream_data, recipe, out / stream,
                                   options)
    return results, fuse_runs([out / s for s in streams], out, weights,
                              options)
