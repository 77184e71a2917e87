r"""The bone-motion stream's collapse on Penn Action, and two remedies.

STRL trained on Penn Action's bone motion (frame-to-frame motion of the
bones, about 30 times smaller than the joints' coordinates) can end with every
hidden unit of its classifier dead, predicting one class for every sequence.
This trains the run of :obj:`seed` exactly as ``streams_evidence.py`` does
(the initialization seeded), with one change:

- ``none``: no change (the evidence's run);
- ``input_norm``: a batch norm over the input channels before the embedding,
  as CTR-GCN's ``data_bn`` normalizes its inputs (``STRL(input_norm=True)``;
  the runs made before STRL had the setting, commit ``1eeeaf7``, wrapped the
  embedding in such a norm: the same initial weights and computation);
- ``clip``: every step's gradient norm clipped at 10.

::

    OMP_NUM_THREADS=1 python experiments/stream_collapse.py SEED CHANGE OUT

writes ``OUT/result.json`` (the test top-1) beside the run's logs;
``stream_collapse.py summary DIR`` writes ``DIR/summary.json``: for each
folder ``DIR/<name>_seed<k>`` with a ``result.json``, its top-1 under
``<name>`` and seed ``k``, and each name's mean;
``stream_collapse.py measure OUT RUN ...`` writes ``OUT/measures.json``: the
standard deviation of each stream's training inputs, and for each run folder
the share of the test sequences that make any hidden unit of its classifier
positive, and the mean share of those units positive per sequence.
"""
import json
import statistics
import sys
from pathlib import Path
from typing import List

import torch

from torch_skeleton_mae.engine import (
    ProtocolData,
    RunOptions,
    finetune,
    load_data,
    preset_for,
)
from torch_skeleton_mae.engine.checkpoint import (
    load_checkpoint,
    seed_everything,
)
from torch_skeleton_mae.nn import STRL
from torch_skeleton_mae.transforms import STREAMS

ROOT = Path('../shared/data/penn_action/labels')
CHANGES = ('none', 'input_norm', 'clip')


def clip_every_step(max_norm: float) -> None:
    r"""Clips the gradients' norm before every SGD step (the engine builds
    the optimizer, so its class is patched)."""
    step = torch.optim.SGD.step

    def clipped(self, *args, **kwargs):
        torch.nn.utils.clip_grad_norm_(
            [p for group in self.param_groups for p in group['params']],
            max_norm)
        return step(self, *args, **kwargs)

    torch.optim.SGD.step = clipped


def build(data: ProtocolData, seed: int, change: str) -> STRL:
    r"""STRL for :obj:`data`, its initialization drawn from :obj:`seed`,
    with :obj:`change` (one of :data:`CHANGES`) made."""
    seed_everything(seed)
    model = STRL(data.layout, data.channels, data.num_classes,
                 input_norm=change == 'input_norm')
    if change == 'clip':
        clip_every_step(10.0)
    return model


def measure(out: Path, runs: List[Path]) -> None:
    r"""Each stream's input scale and each run's live classifier units."""
    preset = preset_for('penn-action')
    scale = {}
    for stream in STREAMS:
        data = load_data(ROOT, dataset='penn-action',
                         frames=preset.finetune.frames, stream=stream)
        scale[stream] = torch.stack([x for x, _ in data.train]).std().item()
    live = {}
    for run in runs:
        checkpoint = load_checkpoint(run / 'last.pt')
        model = STRL.from_checkpoint(checkpoint).eval()
        data = load_data(ROOT, dataset='penn-action',
                         frames=preset.finetune.frames,
                         stream=checkpoint['run']['data']['stream'])
        hidden = []
        model.classifier[1].register_forward_hook(
            lambda module, args, h: hidden.append(h))
        x = torch.stack([x for x, _ in data.val])
        with torch.no_grad():
            for batch in x.split(128):
                model(batch)
        positive = torch.cat(hidden) > 0  # (sequences, hidden units)
        live[str(run)] = dict(
            sequences=positive.any(dim=1).float().mean().item(),
            units_per_sequence=positive.float().mean().item())
    out.mkdir(parents=True, exist_ok=True)
    (out / 'measures.json').write_text(json.dumps(dict(
        input_std=scale, live_hidden_units=live), indent=1))


def summary(folder: Path, key: str = 'top1') -> None:
    r"""The :obj:`key` of the :obj:`result.json` of every run
    :obj:`folder/<name>_seed<k>` by name and seed, and each name's mean,
    into :obj:`folder/summary.json`."""
    runs = {}
    for result in sorted(folder.glob('*_seed*/result.json')):
        name, seed = result.parent.name.rsplit('_seed', 1)
        runs.setdefault(name, {})[int(seed)] = json.loads(
            result.read_text())[key]
    (folder / 'summary.json').write_text(json.dumps({
        name: dict(seeds=dict(sorted(top1.items())),
                   mean=statistics.mean(top1.values()))
        for name, top1 in runs.items()}, indent=1))


def main() -> None:
    if sys.argv[1] == 'summary':
        return summary(Path(sys.argv[2]))
    if sys.argv[1] == 'measure':
        return measure(Path(sys.argv[2]), [Path(p) for p in sys.argv[3:]])
    seed, change, out = int(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
    if change not in CHANGES:
        sys.exit(f'stream_collapse.py: CHANGE must be one of {CHANGES}, '
                 f'got {change!r}')
    preset = preset_for('penn-action')
    data = load_data(ROOT, dataset='penn-action',
                     frames=preset.finetune.frames, stream='bone_motion')
    model = build(data, seed, change)
    result = finetune(model, data, preset.finetune, out,
                      RunOptions(seed=seed, workers=0))
    (out / 'result.json').write_text(json.dumps(dict(
        top1=result.report.top1)))


if __name__ == '__main__':
    main()
