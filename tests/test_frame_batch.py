import pytest
import torch
from torch_geometric.data import Batch
from torch_geometric.nn import GCNConv

from torch_skeleton_mae.data import (
    absent_persons,
    from_frame_batch,
    to_frame_batch,
)
from torch_skeleton_mae.graph import get_skeleton


@pytest.mark.parametrize('layout', ['ntu-rgb+d', 'coco', 'openpose'])
def test_round_trip(layout):
    V = get_skeleton(layout).num_joints
    x = torch.randn(3, 1, 5, V, 2)
    batch = to_frame_batch(x, layout)
    assert batch.num_graphs == 3 * 5
    assert batch.x.shape == (3 * 5 * V, 2)
    assert torch.equal(from_frame_batch(batch), x)


@pytest.mark.parametrize('drop_absent', [False, True])
def test_round_trip_with_absent_person(drop_absent):
    N, M, T, V, C = 3, 2, 4, 25, 3
    x = torch.randn(N, M, T, V, C)
    x[1, 1] = 0  # sequence 1 has one person only
    x[2, 0, 2] = 0  # a missing frame is not an absent person
    assert absent_persons(x).tolist() == [[False, False], [False, True],
                                          [False, False]]
    batch = to_frame_batch(x, 'ntu-rgb+d', drop_absent=drop_absent)
    assert batch.num_graphs == (N * M - drop_absent) * T
    assert torch.equal(from_frame_batch(batch), x)
    if drop_absent:
        assert not ((batch.seq == 1) & (batch.person == 1)).any()


def test_graph_order_and_metadata():
    N, M, T, V, C = 2, 2, 4, 17, 3
    x = torch.randn(N, M, T, V, C)
    batch = to_frame_batch(x, 'coco')
    n, m, t, v = 1, 1, 2, 5
    g = (n * M + m) * T + t
    assert torch.equal(batch.x[g * V + v], x[n, m, t, v])
    assert (batch.seq[g], batch.person[g], batch.frame[g]) == (n, m, t)
    assert batch.sequence_size == (N, T, M)
    assert torch.equal(batch.batch,
                       torch.arange(N * M * T).repeat_interleave(V))

    # Plain PyG bookkeeping: the batch splits and re-batches exactly.
    graphs = batch.to_data_list()
    assert len(graphs) == N * M * T
    assert torch.equal(graphs[g].x, x[n, m, t])
    assert torch.equal(graphs[g].edge_index, get_skeleton('coco').edge_index())
    again = Batch.from_data_list(graphs)
    assert torch.equal(again.edge_index, batch.edge_index)
    assert torch.equal(again.x, batch.x)

    # Other node features (a layer's output) go back in the same places.
    hidden = torch.randn(batch.num_nodes, 7)
    out = from_frame_batch(batch, hidden)
    assert out.shape == (N, M, T, V, 7)
    assert torch.equal(out[n, m, t, v], hidden[g * V + v])


def test_matches_static_graph_message_passing():
    skeleton = get_skeleton('ntu-rgb+d')
    N, M, T, V, C = 2, 2, 6, 25, 3
    x = torch.randn(N, M, T, V, C)
    conv = GCNConv(C, 8)
    batch = to_frame_batch(x, skeleton)
    out_batch = conv(batch.x, batch.edge_index)

    # Static-graph mode: one shared edge_index, x of shape (..., V, C).
    static = x.reshape(-1, V, C)
    out_static = conv(static, skeleton.edge_index())
    assert torch.allclose(out_batch.view(-1, V, 8), out_static, atol=1e-6)


def test_shape_errors():
    with pytest.raises(ValueError, match=r"\(N, M, T, V, C\) with V = 17 "
                                         r"joints of layout 'coco', got "
                                         r"\(2, 3, 4, 25, 1\)"):
        to_frame_batch(torch.randn(2, 3, 4, 25, 1), 'coco')
    with pytest.raises(ValueError, match='got \\(3, 4, 25\\)'):
        to_frame_batch(torch.randn(3, 4, 25), 'ntu-rgb+d')
    plain = Batch.from_data_list([to_frame_batch(
        torch.randn(1, 1, 1, 17, 3), 'coco').get_example(0)])
    with pytest.raises(ValueError, match="carries 'sequence_size'"):
        from_frame_batch(plain)
