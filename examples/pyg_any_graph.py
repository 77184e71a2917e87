r"""The layers on graphs that are not skeletons.

1. GraphMAE-style masked pre-training on PyG's FakeDataset: a GINEncoder of
   SkeletonGCNConv layers, a learnable mask token, MAEDecoder (re-masking +
   one GIN layer) and the scaled cosine error, on an ordinary flat Batch.
2. A layout of your own (an 11-joint hand) registered once, after which
   JointEdgeMasker and SkeletonMAE take its name like a built-in one.

    python examples/pyg_any_graph.py
"""
import torch
from torch_geometric.datasets import FakeDataset
from torch_geometric.loader import DataLoader

from torch_skeleton_mae.graph import register_skeleton
from torch_skeleton_mae.nn import (
    GINEncoder,
    JointEdgeMasker,
    MAEDecoder,
    SkeletonMAE,
    scaled_cosine_error,
)


def graph_mae(steps: int = 40, mask_rate: float = 0.5):
    r"""Returns the first and last training losses."""
    torch.manual_seed(0)
    dataset = FakeDataset(num_graphs=64, avg_num_nodes=30, num_channels=16,
                          edge_dim=0)
    loader = DataLoader(dataset, batch_size=16, shuffle=True)
    encoder = GINEncoder(16, 64, num_layers=2)
    decoder = MAEDecoder(64, 16)
    token = torch.nn.Parameter(torch.zeros(16))
    params = [token, *encoder.parameters(), *decoder.parameters()]
    optimizer = torch.optim.Adam(params, lr=1e-2)
    losses = []
    while len(losses) < steps:
        for batch in loader:
            mask = torch.rand(batch.num_nodes) < mask_rate
            x = torch.where(mask[:, None], token, batch.x)
            h = encoder(x, batch.edge_index)  # flat (num_nodes, 64)
            rec = decoder(h, batch.edge_index, mask).x
            loss = scaled_cosine_error(rec, batch.x, mask)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
    return losses[0], losses[-1]


def hand_layout():
    r"""Registers an 11-joint hand and pre-trains one step on it."""
    fingers = ['thumb', 'index', 'middle', 'ring', 'little']
    names = ['wrist'] + [f'{f}_{k}' for f in fingers for k in ('base', 'tip')]
    bones = [(0, 1 + 2 * i) for i in range(5)] + [(1 + 2 * i, 2 + 2 * i)
                                                   for i in range(5)]
    parts = {'palm': [0]}
    parts.update({f: [1 + 2 * i, 2 + 2 * i] for i, f in enumerate(fingers)})
    hand = register_skeleton('hand-11', names, bones, center=0, parts=parts,
                             overwrite=True)
    masker = JointEdgeMasker(hand, channels=8, num_masked_parts=2)
    joint_mask = masker.sample((4, ))  # (4, 11): two whole parts each
    model = SkeletonMAE('hand-11', in_channels=2)
    out = model(torch.randn(4, 2, 16, 11, 1))  # (N, C, T, V, M)
    out.loss.backward()
    return joint_mask, out


if __name__ == '__main__':
    first, last = graph_mae()
    print(f'GraphMAE on FakeDataset: loss {first:.3f} -> {last:.3f}')
    joint_mask, out = hand_layout()
    print(f'hand-11: masked joints per sample {joint_mask.sum(1).tolist()}, '
          f'SkeletonMAE loss {out.loss.item():.3f}')
