r"""Does the input pipeline keep the training step busy? SkeletonMAE
pre-training through the real :class:`~torch_skeleton_mae.engine.Trainer`
and loader on memory-mapped NTU RGB+D data (generated ``.skeleton`` files in
the official layout, parsed once), measured three ways, start-up included,
each ``--rounds`` times, interleaved so that machine noise hits all alike (the
rates are the medians; ``rounds`` lists each):

* ``input_pipeline``: the loader and the batch transforms alone (the pixel
  noise: in the loader's workers on the CPU, on the device on a GPU), read
  for ``--pipeline-epochs`` epochs, as a training run reads its persistent
  loader (worker start-up once, prefetch restarted at each epoch), with the
  workers training uses (threads, for this data);
* ``input_pipeline_processes``: the same with a DataLoader's worker
  processes (``--worker-processes`` of the example scripts), side by side;
* ``step``: the model step alone, on batches already on the device;
* ``end_to_end``: the two together, as training runs.

The last line reads exactly (the first three)
``input_pipeline_seq_per_s=<a> step_seq_per_s=<b> end_to_end_seq_per_s=<c>``.

    python benchmarks/end_to_end.py                     # 2 workers, batch 256
    python benchmarks/end_to_end.py --device cuda --batch-size 1024 \
        --workers 14 --precision bf16
    python benchmarks/end_to_end.py --smoke
"""
import argparse
import functools
import tempfile
from pathlib import Path

import torch

from common import machine, median, report, time_interleaved
from ntu_parse_rate import write_files
from torch_skeleton_mae.datasets import load_dataset
from torch_skeleton_mae.engine import PAPER, Trainer
from torch_skeleton_mae.engine.loader import make_loader, place_batch_transform
from torch_skeleton_mae.engine.trainer import MAEObjective
from torch_skeleton_mae.engine.precision import autocast
from torch_skeleton_mae.nn import SkeletonMAE
from torch_skeleton_mae.transforms.batch import GaussianNoise


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--batch-size', type=int, default=256)
    parser.add_argument('--frames', type=int, default=64)
    parser.add_argument('--steps', type=int, default=10,
                        help='training steps of each measurement')
    parser.add_argument('--rounds', type=int, default=3,
                        help='measurements of each kind, interleaved; the '
                        'rates are their medians')
    parser.add_argument('--pipeline-epochs', type=int, default=4,
                        help='epochs of each input_pipeline measurement (the '
                        'other two train one epoch of --steps batches)')
    parser.add_argument('--workers', type=int, default=2)
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--precision', default='auto')
    parser.add_argument('--source-frames', type=int, default=100,
                        help='frames of each generated .skeleton file')
    parser.add_argument('--json', default=None)
    parser.add_argument('--smoke', action='store_true')
    args = parser.parse_args(argv)
    if args.smoke:
        args.batch_size, args.frames, args.steps, args.rounds = 4, 8, 3, 1
        args.source_frames, args.workers, args.pipeline_epochs = 10, 0, 2
    return args


def main(argv=None):
    args = parse_args(argv)
    device = torch.device(args.device)
    print(f'end to end: SkeletonMAE pre-training on memory-mapped NTU RGB+D, '
          f'batch {args.batch_size}, T={args.frames}, {args.steps} steps, '
          f'{args.workers} workers, {args.device}; {machine()}')
    sequences = args.batch_size * args.steps
    with tempfile.TemporaryDirectory() as tmp:
        # Files named for xsub training performers only: one epoch is
        # exactly `steps` batches.
        root = write_files(Path(tmp) / 'raw', sequences, args.source_frames,
                           performers=(1, 2, 4, 5, 8))
        data = load_dataset(root, 'xsub', 'train', args.frames)
        # As the example scripts place it: in the workers on the CPU, on
        # the device after the copy on a GPU.
        noise = GaussianNoise(0.01, data.skeleton.coords, inplace=True)
        on_workers, on_device = place_batch_transform(noise, device)

        def loader(threads=None):  # fresh: worker start-up counts each time
            return make_loader(data, args.batch_size, device, True,
                               args.workers, transform=on_workers,
                               worker_threads=threads)

        def pipeline(threads=None):
            generator = torch.Generator(device).manual_seed(0)
            batches = loader(threads)
            for epoch in range(args.pipeline_epochs):
                batches.sampler.set_epoch(epoch)
                for x, _ in batches:
                    x = x.to(device, non_blocking=True)
                    if on_device is not None:
                        on_device(x, generator)

        model = SkeletonMAE('ntu-rgb+d', 3).to(device)
        optimizer = torch.optim.Adam(model.parameters(), lr=PAPER.pretrain.lr)
        batch = data.read_batch(range(args.batch_size))[0].to(device)

        def steps(count=args.steps):
            for _ in range(count):
                with autocast(device, args.precision):
                    loss = model(batch).loss
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()

        def train(runs=iter(range(args.rounds))):
            # A fresh Trainer and loader: start-up and the checkpoint count.
            Trainer(model, MAEObjective(), optimizer, loader(), device,
                    Path(tmp) / f'run{next(runs)}', precision=args.precision,
                    batch_transform=on_device).fit(1)

        steps(1)  # first-call set-up is not the step's cost
        times = time_interleaved(
            dict(input_pipeline=pipeline,
                 input_pipeline_processes=functools.partial(pipeline, False),
                 step=steps, end_to_end=train),
            repeats=args.rounds, warmup=0, device=device)
        read = dict(input_pipeline=sequences * args.pipeline_epochs,
                    input_pipeline_processes=sequences * args.pipeline_epochs)
        rounds = {name: [read.get(name, sequences) / t for t in ts]
                  for name, ts in times.items()}
        rates = {name: median(r) for name, r in rounds.items()}
    report([dict(measured=name, seq_per_s=round(value, 1),
                 vs_step=round(value / rates['step'], 3),
                 rounds=[round(r, 1) for r in rounds[name]])
            for name, value in rates.items()], args, 'end_to_end.py', argv)
    print(' '.join(f'{k}_seq_per_s={rates[k]:.1f}'
                   for k in ('input_pipeline', 'step', 'end_to_end')))
    return rates


if __name__ == '__main__':
    main()
