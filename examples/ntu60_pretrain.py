r"""SkeletonMAE pre-training, then a linear probe of the frozen encoder.

With no --data, runs on the built-in synthetic dataset (a few minutes on a
2-core CPU). With --data, reads a pyskl pickle (.pkl) or a CTR-GCN / MAMP
.npz file of NTU RGB+D 60 and uses the paper's hyper-parameters unless
overridden.

    python examples/ntu60_pretrain.py                         # synthetic
    python examples/ntu60_pretrain.py --data ntu60_hrnet.pkl --split xsub
"""
import argparse
import time
from pathlib import Path

import torch
from torch.utils.data import DataLoader

from torch_skeleton_mae import transforms as T
from torch_skeleton_mae.datasets import SyntheticSkeletons, load_dataset
from torch_skeleton_mae.engine import (
    CSVLogger,
    extract_features,
    linear_probe,
    pretrain_epoch,
    resolve_device,
    save_checkpoint,
    seed_everything,
)
from torch_skeleton_mae.nn import SkeletonMAE


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--data', type=Path, default=None,
                        help='pyskl .pkl or CTR-GCN .npz; synthetic if unset')
    parser.add_argument('--split', default='xsub',
                        help='benchmark: xsub, xview (NTU-60), xset (120)')
    parser.add_argument('--layout', default=None,
                        help="skeleton layout (default: 'coco' for pyskl 2D "
                             "pickles, 'ntu-rgb+d' otherwise)")
    parser.add_argument('--epochs', type=int, default=None)
    parser.add_argument('--batch-size', type=int, default=None)
    parser.add_argument('--lr', type=float, default=None)
    parser.add_argument('--frames', type=int, default=None)
    parser.add_argument('--num-masked-parts', type=int, default=3)
    parser.add_argument('--samples', type=int, default=2000,
                        help='synthetic sequences (without --data)')
    parser.add_argument('--workers', type=int, default=2)
    parser.add_argument('--device', default=None)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--out', type=Path, default=Path('runs/pretrain'))
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    seed_everything(args.seed)
    device = resolve_device(args.device)
    synthetic = args.data is None
    if synthetic:  # small and quick
        defaults = dict(epochs=5, batch_size=64, lr=1e-3, frames=32)
    else:  # the paper's recipe (Sec. 4.2)
        defaults = dict(epochs=50, batch_size=1024, lr=1.5e-4, frames=64)
    for key, value in defaults.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    if synthetic:
        print(f'No --data given: pre-training on the built-in synthetic '
              f'dataset ({args.samples} sequences, {args.epochs} epochs of '
              f'{args.frames} frames), a few minutes on a CPU. Pass --data '
              f'for NTU RGB+D.')

    if synthetic:
        layout = args.layout or 'ntu-rgb+d'
        center = T.CenterSequence(layout)
        train = SyntheticSkeletons(args.samples, layout, args.frames,
                                   seed=args.seed, split='train',
                                   benchmark=args.split, transform=center)
        val = SyntheticSkeletons(args.samples, layout, args.frames,
                                 seed=args.seed, split='val',
                                 benchmark=args.split, transform=center)
        num_classes = train.num_classes
    else:
        train, val = (load_dataset(args.data, args.split, part, args.frames,
                                   layout=args.layout)
                      for part in ('train', 'val'))
        layout = train.skeleton.name
        num_classes = train.num_classes
    in_channels = train[0][0].size(0)
    print(f'layout={layout} C={in_channels} train={len(train)} '
          f'val={len(val)} classes={num_classes} device={device}')

    pin = device.type == 'cuda'
    loader = DataLoader(train, args.batch_size, shuffle=True,
                        num_workers=args.workers, pin_memory=pin,
                        drop_last=len(train) > args.batch_size,
                        generator=torch.Generator().manual_seed(args.seed))
    eval_loaders = [DataLoader(d, 256, num_workers=args.workers,
                               pin_memory=pin) for d in (train, val)]

    model = SkeletonMAE(layout, in_channels,
                        num_masked_parts=args.num_masked_parts).to(device)
    print(f'{model}: {sum(p.numel() for p in model.parameters())} '
          f'parameters')
    random_probe = linear_probe(
        *(extract_features(model, dl, device) for dl in eval_loaders),
        num_classes=num_classes, seed=args.seed)

    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    logger = CSVLogger(args.out / 'pretrain.csv')
    start = time.time()
    for epoch in range(1, args.epochs + 1):
        metrics = pretrain_epoch(model, loader, optimizer, device,
                                 desc=f'epoch {epoch}/{args.epochs}')
        logger.log(epoch=epoch, lr=optimizer.param_groups[0]['lr'],
                   **metrics)
        print(f"epoch {epoch}: loss={metrics['loss']:.4f} "
              f"({metrics['seq_per_s']:.0f} sequences/s)")
        save_checkpoint(args.out / 'last.pt', model, epoch=epoch,
                        optimizer=optimizer.state_dict())
    print(f'pre-training took {time.time() - start:.0f} s; checkpoint: '
          f'{args.out / "last.pt"}')

    probe = linear_probe(
        *(extract_features(model, dl, device) for dl in eval_loaders),
        num_classes=num_classes, seed=args.seed)
    print(f'linear probe top-1: pre-trained encoder {100 * probe:.1f}%, '
          f'random encoder {100 * random_probe:.1f}% '
          f'(chance {100 / num_classes:.1f}%)')
    return probe, random_probe


if __name__ == '__main__':
    main()
