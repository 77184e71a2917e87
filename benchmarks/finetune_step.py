r"""Sequences/s and peak memory of one STRL fine-tuning step (forward,
cross-entropy, backward, SGD) and of inference (forward under
``torch.no_grad``), side by side with the same model on stock PyG
``GINConv`` over a block-diagonal frame ``Batch`` and with a dense einsum
(see ``benchmarks/common.py``). The last line has the same format as
``pretrain_step.py``'s, for the training step.

    python benchmarks/finetune_step.py                 # batch 16 on a CPU
    python benchmarks/finetune_step.py --batch-size 128 --device cuda
    python benchmarks/finetune_step.py --smoke
"""
import argparse

import torch

from common import (machine, median, peak_memory, print_table, reference_model,
                    time_interleaved, write_json)
from torch_skeleton_mae.engine.precision import autocast
from torch_skeleton_mae.nn import STRL


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--batch-size', type=int, default=16,
                        help='the paper fine-tunes with 128 (on a GPU)')
    parser.add_argument('--frames', type=int, default=64)
    parser.add_argument('--persons', type=int, default=2)
    parser.add_argument('--classes', type=int, default=60)
    parser.add_argument('--layouts', nargs='+',
                        default=['coco', 'ntu-rgb+d'],
                        choices=['coco', 'ntu-rgb+d'])
    parser.add_argument('--repeats', type=int, default=5)
    parser.add_argument('--warmup', type=int, default=1)
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--bf16', action='store_true',
                        help='also time training under bf16 autocast')
    parser.add_argument('--json', default=None)
    parser.add_argument('--smoke', action='store_true')
    args = parser.parse_args(argv)
    if args.smoke:
        args.batch_size, args.frames, args.repeats, args.warmup = 2, 4, 1, 0
    return args


def main(argv=None):
    args = parse_args(argv)
    device = torch.device(args.device)
    print(f'STRL fine-tuning step and inference, batch {args.batch_size}, '
          f'T={args.frames}, M={args.persons}, {args.repeats} repeats; '
          f'{machine()}')
    rows, results = [], {}
    for layout in args.layouts:
        torch.manual_seed(0)
        channels = 2 if layout == 'coco' else 3  # the paper's x, y / xyz
        ours = STRL(layout, channels, args.classes).to(device)
        models = {'ours': ours, 'stock_pyg': reference_model(ours, 'stock'),
                  'dense': reference_model(ours, 'dense')}
        x = torch.randn(args.batch_size, args.persons, args.frames,
                        ours.skeleton.num_joints, channels, device=device)
        y = torch.randint(args.classes, (args.batch_size, ), device=device)
        with torch.no_grad():
            logits = {n: m.eval()(x) for n, m in models.items()}
        drift = max((v - logits['ours']).abs().max().item()
                    for v in logits.values())
        if drift > 1e-3:
            raise RuntimeError(f'variants disagree on {layout}: {drift}')

        def train_step(model, optimizer, precision='fp32'):
            def step():
                model.train()
                with autocast(device, precision):
                    logits = model(x)
                loss = torch.nn.functional.cross_entropy(logits.float(), y)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
            return step

        def infer_step(model):
            def step():
                model.eval()
                with torch.no_grad():
                    model(x)
            return step

        steps = {}
        for name, model in models.items():
            sgd = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
            steps[('train', name)] = train_step(model, sgd)
            steps[('infer', name)] = infer_step(model)
        if args.bf16:
            for name in ('ours', 'stock_pyg'):
                sgd = torch.optim.SGD(models[name].parameters(), lr=0.01,
                                      momentum=0.9)
                steps[('train', f'{name}_bf16')] = train_step(
                    models[name], sgd, 'bf16')
        times = time_interleaved(steps, args.repeats, args.warmup, device)
        memory = {key: peak_memory(step, device)
                  for key, step in steps.items()}
        t = {key: median(v) for key, v in times.items()}
        result = {}
        for mode in ('train', 'infer'):
            result[mode] = dict(
                seq_per_s={n: args.batch_size / t[(mode, n)]
                           for n in models},
                peak_bytes={n: memory[(mode, n)] for n in models},
                speedup_vs_stock_pyg=t[(mode, 'stock_pyg')] /
                t[(mode, 'ours')],
                slowdown_vs_dense=t[(mode, 'ours')] / t[(mode, 'dense')],
                peak_mem_ratio_vs_stock_pyg=memory[(mode, 'ours')] /
                memory[(mode, 'stock_pyg')])
            for name in [n for m, n in steps if m == mode]:
                rows.append(dict(layout=layout, mode=mode, variant=name,
                                 median_s=t[(mode, name)],
                                 seq_per_s=args.batch_size / t[(mode, name)],
                                 peak_MiB=memory[(mode, name)] / 2**20,
                                 time_vs_ours=t[(mode, name)] /
                                 t[(mode, 'ours')]))
        results[layout] = result
    print_table(rows)
    if args.json:
        write_json(args.json, dict(args=vars(args), machine=machine(),
                                   results=results))
    train = [r['train'] for r in results.values()]
    print(f"speedup_vs_stock_pyg="
          f"{min(r['speedup_vs_stock_pyg'] for r in train):.3f} "
          f"slowdown_vs_dense={max(r['slowdown_vs_dense'] for r in train):.3f}"
          f" peak_mem_ratio_vs_stock_pyg="
          f"{max(r['peak_mem_ratio_vs_stock_pyg'] for r in train):.3f}")
    return results


if __name__ == '__main__':
    main()
