import pytest
import torch
from torch.nn import Linear as Lin
from torch.nn import ReLU
from torch.nn import Sequential as Seq
from torch_geometric.nn import (
    MLP,
    DenseGATConv,
    DenseGCNConv,
    GATConv,
    GCNConv,
    SAGEConv,
    Sequential,
    global_add_pool,
)
from torch_geometric.utils import (
    to_torch_coo_tensor,
    to_torch_csc_tensor,
    to_torch_csr_tensor,
)

from conftest import HAS_TORCH_SPARSE
from torch_skeleton_mae.data.frame_batch import block_diagonal
from torch_skeleton_mae.graph import get_skeleton
from torch_skeleton_mae.nn import GraphEncoder, SkeletonGCNConv
from torch_skeleton_mae.nn.encoder import conv_class, on_graphs


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
    conv = SkeletonGCNConv(nn=MLP([8, 16, 16], norm=None), eps=0.25).eval()
    x = torch.randn(n, 8)
    expected = dense_reference(conv, x, edge_index)
    for name, adj in adjacencies(edge_index, n).items():
        out = conv(x, adj)
        assert out.shape == (n, 16)
        assert torch.allclose(out, expected, atol=1e-5), name


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
def test_dense_encoder_equals_message_passing_on_a_flat_batch(layout):
    """The models' GIN (DenseGINConv on the (V, V) adjacency) equals
    SkeletonGCNConv's message passing with the same weights on the flat
    block-diagonal graph of every frame, also with per-sample edge
    weights."""
    skeleton = get_skeleton(layout)
    V, edge_index = skeleton.num_joints, skeleton.edge_index()
    encoder = GraphEncoder(3, 8, num_layers=2).eval()
    flat_convs = [SkeletonGCNConv(nn=conv.nn, eps=0.0) for conv in
                  encoder.convs]
    x = torch.randn(4, 5, V, 3)  # 20 graphs
    flat_edges = block_diagonal(edge_index, 20, V)
    weight = (torch.rand(4, 1, edge_index.size(1)) > 0.3).float()
    for w in (None, weight):
        h = x.reshape(-1, 3)
        flat_w = None if w is None else w.expand(4, 5, -1).reshape(-1)
        for conv, norm, act in zip(flat_convs, encoder.norms, encoder.acts):
            h = act(norm(conv(h, flat_edges, flat_w)))
        assert torch.allclose(encoder(x, edge_index, w), h.view(4, 5, V, 8),
                              atol=1e-5)


@pytest.mark.parametrize('name,dense,sparse', [
    ('gcn', DenseGCNConv, GCNConv), ('gat', DenseGATConv, GATConv)])
def test_table_4c_layers_equal_pyg_sparse_ones(name, dense, sparse):
    """'gcn' / 'gat' are PyG's dense layers; on the skeleton they equal
    PyG's sparse layers on the flat batch, and a masked edge (weight 0) is
    as if never there."""
    torch.manual_seed(0)
    coco = get_skeleton('coco')
    V, edge_index = coco.num_joints, coco.edge_index()
    ours = conv_class(name)(4, 6)
    assert type(ours) is dense
    theirs = sparse(4, 6).eval()
    if name == 'gcn':
        ours.lin.weight.data.copy_(theirs.lin.weight.data)
    else:
        ours.lin.weight.data.copy_(theirs.lin.weight.data)
        ours.att_src.data.copy_(theirs.att_src.data.view_as(ours.att_src))
        ours.att_dst.data.copy_(theirs.att_dst.data.view_as(ours.att_dst))
    ours.bias.data.copy_(theirs.bias.data)
    x = torch.randn(3, V, 4)
    edges = block_diagonal(edge_index, 3, V)
    expected = theirs(x.reshape(-1, 4), edges).view(3, V, 6)
    assert torch.allclose(on_graphs(ours, x, edge_index), expected,
                          atol=1e-5)
    keep = torch.rand(3, edge_index.size(1)) > 0.3
    expected = theirs(x.reshape(-1, 4), edges[:, keep.reshape(-1)])
    assert torch.allclose(on_graphs(ours, x, edge_index, keep.float()),
                          expected.view(3, V, 6), atol=1e-5)


def test_message_passing_layers_run_on_the_block_diagonal_graph():
    coco = get_skeleton('coco')
    V, edge_index = coco.num_joints, coco.edge_index()
    sage = SAGEConv(4, 6)
    x = torch.randn(2, 3, V, 4)
    expected = sage(x.reshape(-1, 4), block_diagonal(edge_index, 6, V))
    assert torch.allclose(on_graphs(sage, x, edge_index),
                          expected.view(2, 3, V, 6))
    with pytest.raises(ValueError, match='SAGEConv runs on the edges of a '
                       'block-diagonal graph'):
        on_graphs(sage, x, edge_index, torch.ones(edge_index.size(1)))
    assert GraphEncoder(4, 6, conv='SAGEConv').conv == 'SAGEConv'
    with pytest.raises(ValueError, match="Unknown graph convolution 'nope'"):
        GraphEncoder(4, 6, conv='nope')


def test_gradients_flow_and_reset():
    conv = SkeletonGCNConv(3, 8, train_eps=True)
    x = torch.randn(17, 3, requires_grad=True)
    weight = torch.rand(32, requires_grad=True)
    edge_index = get_skeleton('coco').edge_index()
    conv(x, edge_index, weight).square().sum().backward()
    assert x.grad.abs().sum() > 0 and weight.grad.abs().sum() > 0
    for name, p in conv.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name
    with torch.no_grad():
        conv.eps.fill_(3.0)
        conv.nn.lins[0].weight.zero_()
    conv.reset_parameters()
    assert float(conv.eps.detach()) == 0.0
    assert conv.nn.lins[0].weight.abs().sum() > 0


def test_repr():
    assert str(SkeletonGCNConv(3, 64)) == (
        "SkeletonGCNConv(nn=NodeMLP(3, 64, 64))")
    assert str(SkeletonGCNConv(nn=Seq(Lin(16, 32)), aggr='mean')) == (
        'SkeletonGCNConv(nn=Sequential(\n'
        '  (0): Linear(in_features=16, out_features=32, bias=True)\n))')


@pytest.mark.full
def test_compile_equals_eager():
    conv = SkeletonGCNConv(3, 8).eval()
    compiled = torch.compile(conv)
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
        (SkeletonGCNConv(16, 16), 'x, edge_index -> x'),
        (global_add_pool, 'x, batch -> x'),
    ])
    out = model(torch.randn(n, 5), edge_index, batch)
    assert out.shape == (2, 16)


def reference(x_src, x_dst, edge_index, eps, aggr):
    """GIN's update before the MLP, by a loop over targets: the aggregation
    of each target's in-neighbors plus (1 + eps) x_dst (absent for None)."""
    out = torch.zeros(x_dst.size(0) if x_dst is not None else
                      int(edge_index[1].max()) + 1, x_src.size(-1))
    for i in range(out.size(0)):
        msgs = x_src[edge_index[0, edge_index[1] == i]]
        if len(msgs):
            out[i] = {'add': msgs.sum(0), 'mean': msgs.mean(0),
                      'max': msgs.max(0).values}[aggr]
    return out if x_dst is None else out + (1 + eps) * x_dst


def target_major(edge_index, size):
    """The PyG adjacency types of one graph, target-major (adj_t), as
    PyG's conv tests build them: torch.sparse COO / CSR / CSC and the
    SparseTensor when installed."""
    out = {'coo': to_torch_coo_tensor(edge_index, size=size).t(),
           'csr': to_torch_csc_tensor(edge_index, size=size).t(),
           'csc': to_torch_csr_tensor(edge_index, size=size).t()}
    if HAS_TORCH_SPARSE:
        from torch_sparse import SparseTensor
        out['SparseTensor'] = SparseTensor.from_edge_index(
            edge_index, sparse_sizes=size).t()
    return out


@pytest.mark.parametrize('aggr', ['add', 'mean', 'max'])
def test_pyg_contract_every_adjacency_size_and_aggr(aggr):
    x1 = torch.randn(4, 16)
    edge_index = torch.tensor([[0, 1, 2, 3, 1], [0, 0, 1, 1, 3]])
    conv = SkeletonGCNConv(16, 32, eps=0.3, aggr=aggr).eval()
    out = conv(x1, edge_index)
    assert out.size() == (4, 32)
    expected = conv.nn(reference(x1, x1, edge_index, 0.3, aggr))
    assert torch.allclose(out, expected, atol=1e-5)
    assert torch.allclose(conv(x1, edge_index, size=(4, 4)), out, atol=1e-5)
    for name, adj_t in target_major(edge_index, (4, 4)).items():
        if aggr == 'max' and name == 'csc':
            continue  # torch.sparse has no max-reduction for CSC here
        assert torch.allclose(conv(x1, adj_t), out, atol=1e-5), name


@pytest.mark.parametrize('aggr', ['add', 'mean', 'max'])
def test_bipartite(aggr):
    x1, x2 = torch.randn(4, 16), torch.randn(2, 16)
    edge_index = torch.tensor([[0, 1, 2, 3], [0, 0, 1, 1]])
    conv = SkeletonGCNConv(16, 32, eps=0.1, aggr=aggr).eval()
    out1 = conv((x1, x2), edge_index)
    assert out1.size() == (2, 32)
    assert torch.allclose(out1, conv.nn(
        reference(x1, x2, edge_index, 0.1, aggr)), atol=1e-5)
    assert torch.allclose(conv((x1, x2), edge_index, size=(4, 2)), out1,
                          atol=1e-5)
    out2 = conv((x1, None), edge_index, size=(4, 2))
    assert out2.size() == (2, 32)
    assert torch.allclose(out2, conv.nn(
        reference(x1, None, edge_index, 0.1, aggr)), atol=1e-5)
    for name, adj_t in target_major(edge_index, (4, 2)).items():
        if aggr == 'max' and name == 'csc':
            continue
        assert torch.allclose(conv((x1, x2), adj_t), out1, atol=1e-5), name
        assert torch.allclose(conv((x1, None), adj_t), out2, atol=1e-5), name
    with pytest.raises(ValueError, match='one size; got 16 and 8'):
        conv((x1, torch.randn(2, 8)), edge_index)


def test_lazy_in_channels_and_ready_nn():
    conv = SkeletonGCNConv(-1, 32)
    edge_index = torch.tensor([[0, 1, 2, 3], [0, 0, 1, 1]])
    assert conv(torch.randn(4, 7), edge_index).shape == (4, 32)
    assert conv.nn.lins[0].weight.shape == (32, 7)
    conv.reset_parameters()  # an initialized lazy layer resets as usual
    nn = Seq(Lin(16, 32), ReLU(), Lin(32, 32))
    conv = SkeletonGCNConv(nn=nn, train_eps=True)
    x = torch.randn(4, 16)
    expected = nn(reference(x, x, edge_index, 0.0, 'add'))
    assert torch.allclose(conv(x, edge_index), expected, atol=1e-6)
    with pytest.raises(ValueError, match="needs 'out_channels' or a ready"):
        SkeletonGCNConv(16)


def test_to_hetero_forward_and_backward():
    import torch_geometric.transforms as T
    from torch_geometric.datasets import FakeHeteroDataset
    from torch_geometric.nn import Linear, to_hetero

    class GNN(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = Linear(-1, 16)
            self.conv1 = SkeletonGCNConv(-1, 32)
            self.conv2 = SkeletonGCNConv(-1, 8, aggr='mean')

        def forward(self, x, edge_index):
            x = self.lin(x)
            x = self.conv1(x, edge_index).relu()
            return self.conv2(x, edge_index)

    # Reverse edges, so that every node type receives messages.
    data = FakeHeteroDataset(num_graphs=1, avg_num_nodes=20,
                             transform=T.ToUndirected())[0]
    model = to_hetero(GNN(), data.metadata(), aggr='sum')
    out = model(data.x_dict, data.edge_index_dict)
    targets = {t for _, _, t in data.edge_types}
    assert set(out) == targets
    for node_type in targets:
        assert out[node_type].shape == (data[node_type].num_nodes, 8)
    sum(o.sum() for o in out.values()).backward()
    grads = [p.grad for p in model.parameters()]
    assert grads and all(g is not None for g in grads)


@pytest.mark.skipif(not HAS_TORCH_SPARSE,
                    reason='NeighborLoader needs torch-sparse or pyg-lib')
def test_neighbor_loader_mini_batches():
    from torch_geometric.data import Data
    from torch_geometric.loader import NeighborLoader
    n = 60
    data = Data(x=torch.randn(n, 8), edge_index=random_graph(n, 240))
    conv = SkeletonGCNConv(8, 16).eval()
    full = conv(data.x, data.edge_index)
    loader = NeighborLoader(data, num_neighbors=[-1], batch_size=16)
    seen = 0
    for batch in loader:
        out = conv(batch.x, batch.edge_index)[:batch.batch_size]
        assert torch.allclose(out, full[batch.n_id[:batch.batch_size]],
                              atol=1e-5)
        seen += batch.batch_size
    assert seen == n
