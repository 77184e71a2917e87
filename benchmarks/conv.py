r"""``SkeletonGCNConv`` alone (forward + backward) across batch sizes and
feature widths, for every adjacency input: a shared ``edge_index`` on
``(B, V, C)`` features (the automatic dense path), a shared ``torch.sparse``
CSR matrix, a shared ``SparseTensor`` (when torch-sparse is installed), and
the generic flat path on a block-diagonal ``edge_index``; beside it, stock
PyG ``GINConv`` with the same MLP on the block-diagonal graph.

    python benchmarks/conv.py
    python benchmarks/conv.py --smoke
"""
import argparse
import importlib.util
import warnings

import torch

from common import (
    BlockDiagonal,
    machine,
    median,
    report,
    stock_mlp,
    time_interleaved,
)
from torch_geometric.nn import GINConv
from torch_skeleton_mae.graph import get_skeleton
from torch_skeleton_mae.nn import SkeletonGCNConv


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--layout', default='coco')
    parser.add_argument('--graphs', type=int, nargs='+', default=[1024, 8192],
                        help='frame graphs per batch (N * M * T)')
    parser.add_argument('--channels', type=int, nargs='+', default=[16, 64])
    parser.add_argument('--repeats', type=int, default=7)
    parser.add_argument('--warmup', type=int, default=2)
    parser.add_argument('--json', default=None)
    parser.add_argument('--smoke', action='store_true')
    args = parser.parse_args(argv)
    if args.smoke:
        args.graphs, args.channels, args.repeats, args.warmup = [4], [8], 1, 0
    return args


warnings.filterwarnings('ignore', 'Sparse (CSR tensor support|invariant)')


def adjacencies(skeleton, graphs):
    r"""Every adjacency input our layer accepts, with the node layout each
    one expects (:obj:`"static"` for :obj:`(B, V, C)`, :obj:`"flat"`)."""
    V = skeleton.num_joints
    edge_index = skeleton.edge_index()
    value = torch.ones(edge_index.size(1))
    out = {
        'edge_index (dense path)': ('static', edge_index),
        'torch.sparse CSR': ('static', torch.sparse_coo_tensor(
            edge_index.flip(0), value, (V, V)).to_sparse_csr()),
        'edge_index (flat Batch)': ('flat', BlockDiagonal(edge_index, V)(
            graphs, edge_index.device)),
    }
    if importlib.util.find_spec('torch_sparse'):
        from torch_sparse import SparseTensor
        out['SparseTensor'] = ('static', SparseTensor(
            row=edge_index[1], col=edge_index[0], sparse_sizes=(V, V)))
    return out


def main(argv=None):
    args = parse_args(argv)
    skeleton = get_skeleton(args.layout)
    V = skeleton.num_joints
    print(f'SkeletonGCNConv forward + backward, {args.layout} (V={V}), '
          f'{args.repeats} repeats; {machine()}')
    rows = []
    for graphs in args.graphs:
        for channels in args.channels:
            torch.manual_seed(0)
            # Cached, as the models build it (one skeleton graph).
            conv = SkeletonGCNConv(channels, channels, cached=True)
            stock = GINConv(stock_mlp(conv))
            x = torch.randn(graphs, V, channels, requires_grad=True)
            flat = x.detach().reshape(-1, channels).requires_grad_()
            block = BlockDiagonal(skeleton.edge_index(), V)(graphs, x.device)

            def run(fn, inp):
                def step():
                    fn(inp).sum().backward()
                return step

            steps = {'stock GINConv (flat Batch)':
                     run(lambda z: stock(z, block), flat)}
            for name, (layout, adj) in adjacencies(skeleton, graphs).items():
                inp = x if layout == 'static' else flat
                steps[name] = run(lambda z, adj=adj: conv(z, adj), inp)
            times = time_interleaved(steps, args.repeats, args.warmup,
                                     torch.device('cpu'))
            base = median(times['stock GINConv (flat Batch)'])
            for name, values in times.items():
                rows.append(dict(graphs=graphs, channels=channels,
                                 input=name, median_ms=1e3 * median(values),
                                 speedup_vs_stock=base / median(values)))
    return report(rows, args, 'conv.py', argv)


if __name__ == '__main__':
    main()
