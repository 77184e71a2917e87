r"""Sequences/s and peak memory of one SkeletonMAE pre-training step
(forward, loss, backward, Adam) at the paper's configuration (T = 64,
D = 64, 3 + 1 GIN layers, batch 64, two persons), for COCO-17 2D and
NTU-25 3D, side by side with the same model on stock PyG ``GINConv`` over a
block-diagonal frame ``Batch`` and with a dense-einsum implementation (see
``benchmarks/common.py``). The last line reads
``speedup_vs_stock_pyg=<x> slowdown_vs_dense=<y>
peak_mem_ratio_vs_stock_pyg=<z>`` (medians; the worst layout for x and z,
the worst for y).

    python benchmarks/pretrain_step.py                   # the paper's setup
    python benchmarks/pretrain_step.py --batch-size 1024 --device cuda --bf16
    python benchmarks/pretrain_step.py --smoke           # seconds, for CI
"""
import argparse

import torch

from common import (machine, median, peak_memory, print_table, reference_model,
                    time_interleaved, write_json)
from torch_skeleton_mae.engine.precision import autocast
from torch_skeleton_mae.nn import SkeletonMAE

LAYOUTS = {'coco': 2, 'ntu-rgb+d': 3}  # channels: the paper's x, y / xyz


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--batch-size', type=int, default=64)
    parser.add_argument('--frames', type=int, default=64)
    parser.add_argument('--persons', type=int, default=2)
    parser.add_argument('--layouts', nargs='+', default=list(LAYOUTS),
                        choices=list(LAYOUTS))
    parser.add_argument('--repeats', type=int, default=7)
    parser.add_argument('--warmup', type=int, default=2)
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--compile', action='store_true',
                        help='also time torch.compile of ours and of stock')
    parser.add_argument('--bf16', action='store_true',
                        help='also time ours and stock under bf16 autocast')
    parser.add_argument('--json', default=None, help='write results here')
    parser.add_argument('--smoke', action='store_true',
                        help='tiny sizes, one repeat: checks it runs')
    args = parser.parse_args(argv)
    if args.smoke:
        args.batch_size, args.frames, args.repeats, args.warmup = 2, 4, 1, 0
    return args


def variants(layout, args, device):
    r"""Ours, stock and dense SkeletonMAE with equal weights, and a training
    step for each on the same batch and the same masks."""
    torch.manual_seed(0)
    ours = SkeletonMAE(layout, LAYOUTS[layout]).to(device)
    models = {'ours': ours, 'stock_pyg': reference_model(ours, 'stock'),
              'dense': reference_model(ours, 'dense')}
    V = ours.skeleton.num_joints
    x = torch.randn(args.batch_size, args.persons, args.frames, V,
                    LAYOUTS[layout], device=device)

    def make_step(model, precision='fp32'):
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
        generator = torch.Generator(device)

        def step():
            generator.manual_seed(0)  # the same masks for every variant
            with autocast(device, precision):
                loss = model(x, generator=generator).loss
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        return step

    losses = {}
    for name, model in models.items():
        generator = torch.Generator(device).manual_seed(0)
        losses[name] = model(x, generator=generator).loss.item()
    steps = {name: make_step(m) for name, m in models.items()}
    if args.bf16:
        steps['ours_bf16'] = make_step(ours, 'bf16')
        steps['stock_pyg_bf16'] = make_step(models['stock_pyg'], 'bf16')
    if args.compile:
        steps['ours_compiled'] = make_step(torch.compile(ours))
        steps['stock_pyg_compiled'] = make_step(
            torch.compile(models['stock_pyg']))
    return steps, losses


def main(argv=None):
    args = parse_args(argv)
    device = torch.device(args.device)
    print(f'pre-training step, batch {args.batch_size}, T={args.frames}, '
          f'M={args.persons}, {args.repeats} repeats; {machine()}')
    rows, results = [], {}
    for layout in args.layouts:
        steps, losses = variants(layout, args, device)
        drift = max(abs(v - losses['ours']) for v in losses.values())
        if drift > 1e-4:
            raise RuntimeError(f'variants disagree on {layout}: {losses}')
        times = time_interleaved(steps, args.repeats, args.warmup, device)
        memory = {name: peak_memory(step, device)
                  for name, step in steps.items()}
        t = {name: median(v) for name, v in times.items()}
        result = dict(
            seconds=t, peak_bytes=memory,
            seq_per_s={n: args.batch_size / v for n, v in t.items()},
            speedup_vs_stock_pyg=t['stock_pyg'] / t['ours'],
            slowdown_vs_dense=t['ours'] / t['dense'],
            peak_mem_ratio_vs_stock_pyg=memory['ours'] / memory['stock_pyg'],
            loss_max_abs_diff=drift)
        results[layout] = result
        for name in steps:
            rows.append(dict(layout=layout, variant=name,
                             median_s=t[name],
                             seq_per_s=args.batch_size / t[name],
                             peak_MiB=memory[name] / 2**20,
                             time_vs_ours=t[name] / t['ours']))
    print_table(rows)
    if args.json:
        write_json(args.json, dict(args=vars(args), machine=machine(),
                                   results=results))
    worst = {key: min if key == 'speedup_vs_stock_pyg' else max
             for key in ('speedup_vs_stock_pyg', 'slowdown_vs_dense',
                         'peak_mem_ratio_vs_stock_pyg')}
    summary = {key: pick(r[key] for r in results.values())
               for key, pick in worst.items()}
    print(' '.join(f'{k}={v:.3f}' for k, v in summary.items()))
    return results


if __name__ == '__main__':
    main()
