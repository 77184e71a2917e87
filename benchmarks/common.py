r"""Shared by the benchmark scripts: the two reference implementations our
layers are measured against, interleaved timing with medians, peak memory,
and the table / JSON output.

* *stock PyG*: every GIN layer (:class:`DenseGINConv`) of a model is
  replaced by
  :class:`torch_geometric.nn.GINConv` (with a plain ``Sequential`` MLP)
  over the flat node matrix of a block-diagonal frame :class:`Batch`, what
  a user would write by hand. The block-diagonal ``edge_index`` is built
  once per batch shape, outside the timed region (as a collate function
  would).
* *dense*: the same arithmetic as a dense einsum with the skeleton's
  :math:`(V, V)` matrix :math:`\mathbf{A} + \mathbf{I}`, written here from
  the bone list, independently of the package.

Everything else in the models (embedding, masking, loss, STRL's temporal
part) is shared, so the ratios isolate the graph layers, and every variant
computes the same numbers (checked before timing).
"""
import copy
import itertools
import json
import statistics
import sys
import time
import warnings
from pathlib import Path
from typing import Callable, Dict, List, Optional

import torch
from torch import Tensor
from torch.nn import BatchNorm1d, Linear, Module, PReLU, Sequential
from torch_geometric.nn import DenseGINConv, GINConv

from torch_skeleton_mae.data import block_diagonal
from torch_skeleton_mae.nn import GraphEncoder
from torch_skeleton_mae.utils import machine  # noqa: F401, for the scripts


def stock_mlp(conv: DenseGINConv) -> Sequential:
    r"""A plain ``Linear, BatchNorm1d, PReLU, Linear`` with :obj:`conv`'s
    MLP weights."""
    mlp = conv.nn
    (hidden, in_channels), (out_channels, _) = (mlp.lins[0].weight.shape,
                                                mlp.lins[1].weight.shape)
    stock = Sequential(Linear(in_channels, hidden), BatchNorm1d(hidden),
                       PReLU(), Linear(hidden, out_channels))
    mine = (mlp.lins[0], mlp.norms[0].module, mlp.act, mlp.lins[1])
    for mine, theirs in zip(mine, stock):
        theirs.load_state_dict(mine.state_dict())
    return stock


class BlockDiagonal:
    r"""The :obj:`edge_index` of :obj:`num_graphs` copies of a skeleton (a
    frame :class:`Batch`'s), cached per graph count and device."""
    def __init__(self, edge_index: Tensor, num_nodes: int):
        self.edge_index, self.num_nodes = edge_index, num_nodes
        self.cache: Dict[tuple, Tensor] = {}

    def __call__(self, num_graphs: int, device: torch.device) -> Tensor:
        key = (num_graphs, str(device))
        if key not in self.cache:
            self.cache[key] = block_diagonal(self.edge_index.to(device),
                                             num_graphs, self.num_nodes)
        return self.cache[key]


def dense_aggregation_matrix(skeleton, device=None) -> Tensor:
    r""":math:`\mathbf{A} + \mathbf{I}` from the bone list, :obj:`[target,
    source]` (symmetric here)."""
    V = skeleton.num_joints
    a = torch.eye(V, device=device)
    for i, j in skeleton.bones:
        a[i, j] = a[j, i] = 1.0
    return a


class StockAggregation(Module):
    r""":math:`(1 + \epsilon) x_i + \sum_j x_j` by a stock :class:`GINConv`
    (identity MLP) on the flattened nodes."""
    def __init__(self, blocks: BlockDiagonal):
        super().__init__()
        self.gin = GINConv(torch.nn.Identity())
        self.blocks = blocks

    def forward(self, x: Tensor) -> Tensor:
        V = x.size(-2)
        flat = x.reshape(-1, x.size(-1))
        out = self.gin(flat, self.blocks(flat.size(0) // V, flat.device))
        return out.view_as(x)


class DenseAggregation(Module):
    r"""The same by one einsum with :math:`\mathbf{A} + \mathbf{I}`."""
    def __init__(self, matrix: Tensor):
        super().__init__()
        self.register_buffer('matrix', matrix)

    def forward(self, x: Tensor) -> Tensor:
        return torch.einsum('vw,...wc->...vc', self.matrix, x)


class ReferenceConv(Module):
    r"""Stands in for a GIN layer (same weights; a dense layer's forward,
    whose adjacency it ignores) with a stock-PyG or a dense aggregation and
    a plain MLP on flat rows."""
    def __init__(self, conv: DenseGINConv, aggregation: Module):
        super().__init__()
        self.aggregation = aggregation
        self.mlp = stock_mlp(conv)

    def forward(self, x: Tensor, adj: Optional[Tensor] = None) -> Tensor:
        out = self.aggregation(x)
        return self.mlp(out.reshape(-1, out.size(-1))).view(*x.shape[:-1], -1)


def reference_model(model: Module, kind: str) -> Module:
    r"""A deep copy of a SkeletonMAE or STRL whose every
    GIN layer (in encoders and decoder) is replaced by a
    :class:`ReferenceConv` of :obj:`kind` :obj:`"stock"` or
    :obj:`"dense"`."""
    model = copy.deepcopy(model)
    skeleton = model.skeleton
    V = skeleton.num_joints
    blocks = BlockDiagonal(skeleton.edge_index(), V)
    matrix = dense_aggregation_matrix(skeleton)

    def make(conv):
        aggregation = (StockAggregation(blocks) if kind == 'stock' else
                       DenseAggregation(matrix))
        return ReferenceConv(conv, aggregation)

    for module in list(model.modules()):
        if isinstance(module, GraphEncoder):
            module.convs = torch.nn.ModuleList(make(c) for c in module.convs)
        if isinstance(getattr(module, 'conv', None), DenseGINConv):
            module.conv = make(module.conv)
    assert not any(isinstance(m, DenseGINConv) for m in model.modules())
    return model


def peak_memory(step: Callable[[], None], device: torch.device) -> int:
    r"""Peak bytes allocated during :obj:`step` beyond what was live before
    it: CUDA's allocator statistics on GPUs; on the CPU, the running sum of
    the profiler's per-operator allocations and frees."""
    if device.type == 'cuda':
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        before = torch.cuda.memory_allocated(device)
        step()
        torch.cuda.synchronize(device)
        return torch.cuda.max_memory_allocated(device) - before
    from torch.profiler import ProfilerActivity, profile
    with warnings.catch_warnings():  # the profiler's own notes, by version
        warnings.simplefilter('ignore')
        with profile(activities=[ProfilerActivity.CPU],
                     profile_memory=True) as p:
            step()
    events = sorted(p.events(), key=lambda e: e.time_range.start)
    return max(itertools.accumulate(e.self_cpu_memory_usage
                                    for e in events))


def seconds(step: Callable[[], None], device: torch.device) -> float:
    r"""Wall-clock seconds of one :obj:`step()`, the device's queued work
    included."""
    if device.type == 'cuda':
        torch.cuda.synchronize(device)
    start = time.perf_counter()
    step()
    if device.type == 'cuda':
        torch.cuda.synchronize(device)
    return time.perf_counter() - start


def time_interleaved(steps: Dict[str, Callable[[], None]], repeats: int,
                     warmup: int, device: torch.device
                     ) -> Dict[str, List[float]]:
    r"""Seconds per call of every step, alternating between them in every
    round so that machine noise hits all alike."""
    for _ in range(warmup):
        for step in steps.values():
            step()
    times: Dict[str, List[float]] = {name: [] for name in steps}
    for _ in range(repeats):
        for name, step in steps.items():
            times[name].append(seconds(step, device))
    return times


def median(values: List[float]) -> float:
    return statistics.median(values)


def cell(value: object) -> str:
    if isinstance(value, list):
        return ', '.join(cell(v) for v in value)
    if not isinstance(value, float):
        return str(value)
    return f'{value:,.0f}' if abs(value) >= 1000 else f'{value:.4g}'


def print_table(rows: List[Dict[str, object]]) -> None:
    r"""Prints rows of equal keys as an aligned text table."""
    keys = list(rows[0])
    cells = [[cell(r[k]) for k in keys] for r in rows]
    widths = [max(len(k), *(len(c[i]) for c in cells))
              for i, k in enumerate(keys)]
    print('  '.join(k.ljust(w) for k, w in zip(keys, widths)))
    for c in cells:
        print('  '.join(v.ljust(w) for v, w in zip(c, widths)))


def rst_table(payload: Dict) -> str:
    r"""The reST table (with the command and machine that measured it) of
    a payload that :func:`report` wrote; the docs include these files."""
    rows = payload['rows']
    lines = ['.. list-table::', '   :header-rows: 1', '']
    for i, row in enumerate([dict(zip(rows[0], rows[0]))] + rows):
        for j, value in enumerate(row.values()):
            lines.append(f"   {'*' if j == 0 else ' '} - {cell(value)}")
    return '\n'.join(lines + [
        '', f"``{payload['command']}`` on {payload['machine']}.", ''])


def write_json(path, payload) -> None:
    with open(path, 'w') as f:
        json.dump(payload, f, indent=1)


def report(rows: List[Dict[str, object]], args, script: str,
           argv: Optional[List[str]]):
    r"""Prints :obj:`rows` as a table and, with :obj:`args.json`, writes
    them with the command and the machine to that file and as a reST table
    beside it (:func:`rst_table`); returns them."""
    print_table(rows)
    if args.json:
        payload = dict(command=' '.join(
            ['python', f'benchmarks/{script}'] + list(
                sys.argv[1:] if argv is None else argv)),
            args=vars(args), machine=machine(), rows=rows)
        write_json(args.json, payload)
        Path(args.json).with_suffix('.rst').write_text(rst_table(payload))
    return rows
