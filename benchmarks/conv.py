r"""One GIN layer alone (forward + backward) across batch sizes and feature
widths, for every adjacency input: the models' layer, PyG's ``DenseGINConv``
on the skeleton's ``(V, V)`` adjacency over ``(B, V, C)`` features (the
dense path), and ``SkeletonGCNConv`` on a flat frame ``Batch`` as a
block-diagonal ``edge_index``, a ``torch.sparse`` CSR matrix and a
``SparseTensor`` (when torch-sparse is installed); beside them, stock PyG
``GINConv`` with the same MLP on the block-diagonal graph.

    python benchmarks/conv.py
    python benchmarks/conv.py --smoke
"""
import argparse
import importlib.util
import warnings

import torch

from common import (BlockDiagonal, machine, median, report, stock_mlp,
                    time_interleaved)
from torch_geometric.nn import DenseGINConv, GINConv
from torch_skeleton_mae.graph import get_skeleton
from torch_skeleton_mae.nn import SkeletonGCNConv
from torch_skeleton_mae.nn.encoder import dense_adjacency


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
    r"""Every adjacency input of the flat frame batch :obj:`SkeletonGCNConv`
    accepts."""
    V = skeleton.num_joints
    edge_index = BlockDiagonal(skeleton.edge_index(), V)(graphs,
                                                         torch.device('cpu'))
    n = graphs * V
    out = {'edge_index (flat Batch)': edge_index,
           'torch.sparse CSR': torch.sparse_coo_tensor(
               edge_index.flip(0), torch.ones(edge_index.size(1)),
               (n, n)).to_sparse_csr()}
    if importlib.util.find_spec('torch_sparse'):
        from torch_sparse import SparseTensor
        out['SparseTensor'] = SparseTensor(row=edge_index[1],
                                           col=edge_index[0],
                                           sparse_sizes=(n, n))
    return out


def main(argv=None):
    args = parse_args(argv)
    skeleton = get_skeleton(args.layout)
    V = skeleton.num_joints
    print(f'GIN layer forward + backward, {args.layout} (V={V}), '
          f'{args.repeats} repeats; {machine()}')
    adj = dense_adjacency(skeleton.edge_index(), None, V, torch.float32)
    rows = []
    for graphs in args.graphs:
        for channels in args.channels:
            torch.manual_seed(0)
            conv = SkeletonGCNConv(channels, channels)
            dense = DenseGINConv(conv.nn)
            stock = GINConv(stock_mlp(conv))
            x = torch.randn(graphs, V, channels, requires_grad=True)
            flat = x.detach().reshape(-1, channels).requires_grad_()
            block = BlockDiagonal(skeleton.edge_index(), V)(graphs, x.device)

            def run(fn, inp):
                def step():
                    fn(inp).sum().backward()
                return step

            steps = {'stock GINConv (flat Batch)':
                     run(lambda z: stock(z, block), flat),
                     'DenseGINConv (dense path)':
                     run(lambda z: dense(z, adj), x)}
            for name, edges in adjacencies(skeleton, graphs).items():
                steps[name] = run(lambda z, e=edges: conv(z, e), flat)
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
