r"""Our layers in your PyG model, on graphs that are not skeletons.

Each function is one use, and each runs on its own (the test suite runs them
all):

* ``sequential``: SkeletonGCNConv inside ``torch_geometric.nn.Sequential``.
* ``basic_gnn``: a ``BasicGNN`` subclass whose ``init_conv`` builds ours,
  with every feature of PyG's model (jumping knowledge, norms, dropout).
* ``heterogeneous``: ``to_hetero`` of a model with lazy ``-1`` sizes on a
  heterogeneous graph, forward and backward.
* ``neighbor_sampling``: ``NeighborLoader`` mini-batches of a large graph
  (needs torch-sparse or pyg-lib).
* ``explain``: ``GNNExplainer`` masks of a model built from our layer.
* ``graph_mae``: GraphMAE-style masked pre-training on PyG's FakeDataset with
  GraphEncoder, MAEDecoder and the scaled cosine error.
* ``hand_layout``: a layout of your own (an 11-joint hand) registered once,
  after which JointEdgeMasker and SkeletonMAE take its name.

    python examples/pyg_any_graph.py                 # all of them
    python examples/pyg_any_graph.py --only explain  # one
"""
import argparse
import importlib.util

import torch
from torch_geometric.datasets import FakeDataset, FakeHeteroDataset
from torch_geometric.explain import Explainer, GNNExplainer
from torch_geometric.loader import DataLoader, NeighborLoader
from torch_geometric.nn import (MLP, Linear, Sequential, global_mean_pool,
                                to_hetero)
from torch_geometric.nn.models.basic_gnn import BasicGNN
from torch_geometric.transforms import ToUndirected

from torch_skeleton_mae.graph import register_skeleton
from torch_skeleton_mae.nn import (GraphEncoder, JointEdgeMasker, MAEDecoder,
                                   SkeletonGCNConv, SkeletonMAE)
from torch_skeleton_mae.nn.loss import scaled_cosine_error


def sequential():
    r"""A graph classifier from PyG's ``Sequential``; returns logits
    ``(num_graphs, 3)``."""
    batch = next(iter(DataLoader(FakeDataset(8, num_channels=16), 8)))
    model = Sequential('x, edge_index, batch', [
        (SkeletonGCNConv(16, 32), 'x, edge_index -> x'),
        torch.nn.ReLU(),
        (SkeletonGCNConv(32, 32, aggr='mean'), 'x, edge_index -> x'),
        (global_mean_pool, 'x, batch -> x'),
        torch.nn.Linear(32, 3),
    ])
    return model(batch.x, batch.edge_index, batch.batch)


class SkeletonGIN(BasicGNN):
    r"""PyG's ``BasicGNN`` with our layer: ``init_conv`` is the one hook."""
    supports_edge_weight = True
    supports_edge_attr = False

    def init_conv(self, in_channels, out_channels, **kwargs):
        return SkeletonGCNConv(in_channels, out_channels, **kwargs)


def basic_gnn():
    r"""Node features ``(num_nodes, 8)`` from a 3-layer ``SkeletonGIN`` with
    jumping knowledge and edge weights."""
    data = FakeDataset(1, num_channels=16)[0]
    model = SkeletonGIN(16, 32, num_layers=3, out_channels=8, jk='cat')
    weight = torch.rand(data.num_edges)
    return model(data.x, data.edge_index, edge_weight=weight)


def heterogeneous():
    r"""``to_hetero`` on a heterogeneous graph; lazy sizes (``-1``) are
    inferred per node type. Returns the output of every node type."""
    data = FakeHeteroDataset(num_graphs=1, transform=ToUndirected())[0]

    class GNN(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = Linear(-1, 32)  # node types differ in size
            self.conv1 = SkeletonGCNConv(-1, 32)
            self.conv2 = SkeletonGCNConv(-1, 8)

        def forward(self, x, edge_index):
            x = self.conv1(self.lin(x), edge_index).relu()
            return self.conv2(x, edge_index)

    model = to_hetero(GNN(), data.metadata(), aggr='sum')
    out = model(data.x_dict, data.edge_index_dict)
    sum(o.sum() for o in out.values()).backward()
    return out


def neighbor_sampling():
    r"""Mini-batches of 2-hop neighborhoods; returns the seed nodes'
    outputs of every batch, or ``None`` without torch-sparse / pyg-lib."""
    if not (importlib.util.find_spec('torch_sparse')
            or importlib.util.find_spec('pyg_lib')):
        return None
    data = FakeDataset(1, avg_num_nodes=400, num_channels=16)[0]
    conv1, conv2 = SkeletonGCNConv(16, 32), SkeletonGCNConv(32, 8)
    loader = NeighborLoader(data, num_neighbors=[10, 10], batch_size=64)
    outs = []
    for batch in loader:
        h = conv1(batch.x, batch.edge_index).relu()
        outs.append(conv2(h, batch.edge_index)[:batch.batch_size])
    return outs


def explain():
    r"""GNNExplainer on a node classifier of our layers; returns the
    explanation (``node_mask`` and ``edge_mask``)."""
    data = FakeDataset(1, num_channels=8, num_classes=3)[0]

    class Classifier(torch.nn.Module):
        def __init__(self):
            super().__init__()
            # Without batch norm: the explainer perturbs a single graph.
            self.conv1 = SkeletonGCNConv(nn=MLP([8, 16, 16], norm=None))
            self.conv2 = SkeletonGCNConv(nn=MLP([16, 16, 3], norm=None))

        def forward(self, x, edge_index):
            return self.conv2(self.conv1(x, edge_index).relu(),
                              edge_index).log_softmax(dim=-1)

    explainer = Explainer(
        Classifier(), algorithm=GNNExplainer(epochs=20),
        explanation_type='model', node_mask_type='attributes',
        edge_mask_type='object',
        model_config=dict(mode='multiclass_classification',
                          task_level='node', return_type='log_probs'))
    return explainer(data.x, data.edge_index, index=0)


def graph_mae(steps: int = 40, mask_rate: float = 0.5):
    r"""Masked pre-training on an ordinary flat ``Batch``; returns the first
    and last training losses."""
    torch.manual_seed(0)
    dataset = FakeDataset(num_graphs=64, avg_num_nodes=30, num_channels=16,
                          edge_dim=0)
    loader = DataLoader(dataset, batch_size=16, shuffle=True)
    # Message passing on any graph: our GIN layer as the encoder's and the
    # decoder's conv class.
    encoder = GraphEncoder(16, 64, num_layers=2, conv=SkeletonGCNConv)
    decoder = MAEDecoder(64, 16, conv=SkeletonGCNConv)
    token = torch.nn.Parameter(torch.zeros(16))
    params = [token, *encoder.parameters(), *decoder.parameters()]
    optimizer = torch.optim.Adam(params, lr=1e-2)
    losses = []
    while len(losses) < steps:
        for batch in loader:
            mask = torch.rand(batch.num_nodes) < mask_rate
            x = torch.where(mask[:, None], token, batch.x)
            h = encoder(x, batch.edge_index)  # flat (num_nodes, 64)
            rec = decoder(h, batch.edge_index, mask)
            loss = scaled_cosine_error(rec, batch.x, mask)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
    return losses[0], losses[-1]


def hand_layout():
    r"""Registers an 11-joint hand and pre-trains one step on it; returns
    random masks of 3 joints and the model's output."""
    fingers = ['thumb', 'index', 'middle', 'ring', 'little']
    names = ['wrist'] + [f'{f}_{k}' for f in fingers for k in ('base', 'tip')]
    bones = ([(0, 1 + 2 * i) for i in range(5)] +
             [(1 + 2 * i, 2 + 2 * i) for i in range(5)])
    parts = {'palm': [0]}
    parts.update({f: [1 + 2 * i, 2 + 2 * i] for i, f in enumerate(fingers)})
    hand = register_skeleton('hand-11', names, bones, center=0, parts=parts,
                             overwrite=True)
    masker = JointEdgeMasker(hand, channels=8, mask=0.25)
    joint_mask = masker.sample((4, ))  # (4, 11): 3 random joints each
    model = SkeletonMAE('hand-11', in_channels=2, mask=('thumb', 'index'))
    out = model(torch.randn(4, 1, 16, 11, 2))  # (N, M, T, V, C)
    out.loss.backward()
    return joint_mask, out


EXAMPLES = dict(sequential=sequential, basic_gnn=basic_gnn,
                heterogeneous=heterogeneous,
                neighbor_sampling=neighbor_sampling, explain=explain,
                graph_mae=graph_mae, hand_layout=hand_layout)


def main(argv=None):
    parser = argparse.ArgumentParser(
        description='SkeletonGCNConv and friends in PyG models, on graphs '
        'that are not skeletons.')
    parser.add_argument('--only', choices=sorted(EXAMPLES), default=None,
                        help='run one example (default: all)')
    args = parser.parse_args(argv)
    for name, example in EXAMPLES.items():
        if args.only in (None, name):
            result = example()
            print(f'{name}: ' + ('skipped (needs torch-sparse or pyg-lib)'
                                 if result is None else 'ok'))


if __name__ == '__main__':
    main()
