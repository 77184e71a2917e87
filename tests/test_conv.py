import pytest
import torch
from torch.nn import ReLU
from torch_geometric.nn import Sequential, global_add_pool

from conftest import HAS_TORCH_SPARSE
from torch_skeleton_mae.graph import get_skeleton
from torch_skeleton_mae.nn import SkeletonGCNConv


def random_graph(num_nodes=30, num_edges=90, self_loops=False):
    edge_index = torch.randint(0, num_nodes, (2, num_edges))
    if not self_loops:
        edge_index = edge_index[:, edge_index[0] != edge_index[1]]
    # No duplicates, so that every adjacency type holds the same graph.
    edge_index = torch.unique(edge_index, dim=1)
    return edge_index


def dense_reference(conv, x, edge_index, edge_weight=None):
    """(1 + eps) x_i + sum_j w_ji x_j, then the MLP, with a dense matrix."""
    n = x.size(0)
    weight = torch.ones(edge_index.size(1)) if edge_weight is None else (
        edge_weight)
    adj = torch.zeros(n, n)
    for (j, i), w in zip(edge_index.t().tolist(), weight.tolist()):
        adj[i, j] += w  # message from source j to target i
    return conv.nn((1 + conv.eps) * x + adj @ x)


def adjacencies(edge_index, n, edge_weight=None):
    """The same graph as edge_index, torch.sparse COO / CSR, SparseTensor."""
    value = torch.ones(edge_index.size(1)) if edge_weight is None else (
        edge_weight)
    coo = torch.sparse_coo_tensor(edge_index.flip(0), value, (n, n))
    out = {'edge_index': edge_index, 'torch.sparse.coo': coo.coalesce(),
           'torch.sparse.csr': coo.to_sparse_csr()}
    if HAS_TORCH_SPARSE:
        from torch_sparse import SparseTensor
        out['SparseTensor'] = SparseTensor(row=edge_index[1],
                                           col=edge_index[0], value=value,
                                           sparse_sizes=(n, n))
    return out


@pytest.mark.parametrize('self_loops', [False, True])
def test_every_adjacency_matches_dense_reference(self_loops):
    n = 30
    edge_index = random_graph(n, self_loops=self_loops)
    if self_loops:
        edge_index = torch.cat([edge_index, torch.arange(n).repeat(2, 1)], 1)
        edge_index = torch.unique(edge_index, dim=1)
    conv = SkeletonGCNConv(8, 16, eps=0.25, norm=None).eval()
    x = torch.randn(n, 8)
    expected = dense_reference(conv, x, edge_index)
    for name, adj in adjacencies(edge_index, n).items():
        out = conv(x, adj)
        assert out.shape == (n, 16)
        assert torch.allclose(out, expected, atol=1e-5), name
    if HAS_TORCH_SPARSE:
        assert 'SparseTensor' in adjacencies(edge_index, n)


def test_edge_weight_matches_dense_reference():
    n = 30
    edge_index = random_graph(n)
    weight = torch.rand(edge_index.size(1))
    conv = SkeletonGCNConv(8, 16).eval()
    x = torch.randn(n, 8)
    expected = dense_reference(conv, x, edge_index, weight)
    assert torch.allclose(conv(x, edge_index, weight), expected, atol=1e-5)
    for name, adj in adjacencies(edge_index, n, weight).items():
        if name != 'edge_index':  # sparse adjacencies carry the weights
            assert torch.allclose(conv(x, adj), expected, atol=1e-5), name
    # A boolean edge mask is a 0/1 weight.
    keep = torch.rand(edge_index.size(1)) > 0.5
    assert torch.allclose(conv(x, edge_index, keep),
                          conv(x, edge_index[:, keep]), atol=1e-6)
    with pytest.raises(ValueError, match="'edge_weight' goes with"):
        conv(x, adjacencies(edge_index, n)['torch.sparse.csr'], weight)


@pytest.mark.parametrize('layout', ['ntu-rgb+d', 'coco'])
def test_static_graph_equals_flat_batch(layout):
    skeleton = get_skeleton(layout)
    V = skeleton.num_joints
    edge_index = skeleton.edge_index()
    conv = SkeletonGCNConv(3, 8, train_eps=True, eps=0.1).eval()
    x = torch.randn(4, 5, V, 3)  # (N, T, V, C): 20 graphs
    flat_edges = torch.cat([edge_index + g * V for g in range(20)], dim=1)
    flat = conv(x.reshape(-1, 3), flat_edges).view(4, 5, V, 8)

    static = conv(x, edge_index)  # dense V x V path
    assert torch.allclose(static, flat, atol=1e-5)
    conv.dense_max_nodes = 0  # PyG's gather / scatter static-graph path
    assert torch.allclose(conv(x, edge_index), flat, atol=1e-5)
    conv.dense_max_nodes = 256
    for name, adj in adjacencies(edge_index, V).items():
        assert torch.allclose(conv(x, adj), flat, atol=1e-5), name

    # Per-graph edge weights broadcast over the leading dimensions.
    weight = (torch.rand(4, 1, edge_index.size(1)) > 0.3).float()
    flat_weight = weight.expand(4, 5, -1).reshape(-1)
    flat = conv(x.reshape(-1, 3), flat_edges, flat_weight).view(4, 5, V, 8)
    assert torch.allclose(conv(x, edge_index, weight), flat, atol=1e-5)
    conv.dense_max_nodes = 0
    assert torch.allclose(conv(x, edge_index, weight), flat, atol=1e-5)


def test_gradients_flow_and_reset():
    conv = SkeletonGCNConv(3, 8, train_eps=True)
    x = torch.randn(6, 17, 3, requires_grad=True)
    weight = torch.rand(32, requires_grad=True)
    conv(x, get_skeleton('coco').edge_index(), weight).square().sum().backward()
    assert x.grad.abs().sum() > 0 and weight.grad.abs().sum() > 0
    for name, p in conv.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name
    with torch.no_grad():
        conv.eps.fill_(3.0)
        conv.nn.lin1.weight.zero_()
    conv.reset_parameters()
    assert float(conv.eps.detach()) == 0.0
    assert conv.nn.lin1.weight.abs().sum() > 0


def test_repr():
    assert str(SkeletonGCNConv(3, 64)) == (
        'SkeletonGCNConv(3, 64, eps=0, train_eps=False)')
    assert str(SkeletonGCNConv(2, 8, eps=0.5, train_eps=True)) == (
        'SkeletonGCNConv(2, 8, eps=0.5, train_eps=True)')


def test_compile_equals_eager():
    conv = SkeletonGCNConv(3, 8).eval()
    edge_index = get_skeleton('coco').edge_index()
    static = torch.randn(4, 17, 3)
    compiled = torch.compile(conv)
    assert torch.allclose(compiled(static, edge_index), conv(static, edge_index),
                          atol=1e-5)
    n = 30
    flat_edges = random_graph(n)
    flat = torch.randn(n, 3)
    assert torch.allclose(compiled(flat, flat_edges), conv(flat, flat_edges),
                          atol=1e-5)


def test_drops_into_pyg_sequential_on_any_graph():
    n = 40
    edge_index = random_graph(n, 160)
    batch = torch.cat([torch.zeros(20), torch.ones(20)]).long()
    model = Sequential('x, edge_index, batch', [
        (SkeletonGCNConv(5, 16), 'x, edge_index -> x'),
        ReLU(inplace=True),
        (SkeletonGCNConv(16, 16, mlp_layers=1), 'x, edge_index -> x'),
        (global_add_pool, 'x, batch -> x'),
    ])
    out = model(torch.randn(n, 5), edge_index, batch)
    assert out.shape == (2, 16)
    with pytest.raises(ValueError, match='num_layers 1 or 2'):
        SkeletonGCNConv(5, 16, mlp_layers=3)
