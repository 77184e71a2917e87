import math

import pytest
import torch
import torch.nn.functional as F

from torch_geometric.nn import GCNConv, SAGEConv

from torch_skeleton_mae.data import to_frame_batch
from torch_skeleton_mae.graph import get_skeleton
from torch_skeleton_mae.nn import MAEDecoder, SkeletonMAELoss
from torch_skeleton_mae.nn.loss import (
    edge_reconstruction_error,
    scaled_cosine_error,
)


def test_scaled_cosine_error_by_hand():
    target = torch.tensor([[1.0, 0.0], [0.0, 2.0], [3.0, 3.0]])
    pred = torch.tensor([[1.0, 1.0], [0.0, 5.0], [-1.0, -1.0]])
    # cosines: 1/sqrt(2), 1, -1
    errors = torch.tensor([1 - 1 / math.sqrt(2), 0.0, 2.0])
    assert torch.isclose(scaled_cosine_error(pred, target, beta=1.0),
                         errors.mean())
    assert torch.isclose(scaled_cosine_error(pred, target),
                         errors.pow(2).mean())
    mask = torch.tensor([True, False, True])
    assert torch.isclose(scaled_cosine_error(pred, target, mask),
                         errors[mask].pow(2).mean())


def test_scaled_cosine_error_properties():
    target = torch.randn(50, 3)
    mask = torch.rand(50) > 0.5
    assert scaled_cosine_error(target.clone(), target, mask) < 1e-6
    # Scale invariant; grows with the angular error.
    assert scaled_cosine_error(2.5 * target, target, mask) < 1e-6
    noise = torch.randn(50, 3)
    losses = [scaled_cosine_error(target + s * noise, target, mask).item()
              for s in (0.1, 0.5, 2.0)]
    assert losses[0] < losses[1] < losses[2]
    # Only masked joints count.
    pred = target + noise
    other = pred.clone()
    other[~mask] = torch.randn(int((~mask).sum()), 3)
    assert torch.equal(scaled_cosine_error(pred, target, mask),
                       scaled_cosine_error(other, target, mask))
    empty = scaled_cosine_error(pred.requires_grad_(), target,
                                torch.zeros(50, dtype=torch.bool))
    assert empty == 0 and empty.requires_grad
    assert scaled_cosine_error(torch.zeros(0, 3), torch.zeros(0, 3)) == 0
    with pytest.raises(ValueError, match="'beta' must be >= 1"):
        scaled_cosine_error(pred, target, beta=0.5)


def test_edge_reconstruction_error_by_hand():
    adjacency = get_skeleton('coco').adjacency(self_loops=False)
    logits = torch.randn(4, 17, 17)
    mask = torch.zeros(4, 17, dtype=torch.bool)
    mask[0, 3] = mask[2, 9] = True
    rows = []
    for b, v in [(0, 3), (2, 9)]:
        keep = torch.arange(17) != v
        rows.append((logits[b, v][keep], adjacency[v][keep]))
    expected = F.binary_cross_entropy_with_logits(
        torch.cat([r[0] for r in rows]), torch.cat([r[1] for r in rows]))
    assert torch.isclose(edge_reconstruction_error(logits, adjacency, mask),
                         expected)


def test_loss_module():
    target = torch.randn(2, 17, 3)
    mask = torch.rand(2, 17) > 0.5
    assert SkeletonMAELoss()(target, target, mask).loss < 1e-6
    adjacency = get_skeleton('coco').adjacency(self_loops=False)
    logits = torch.randn(2, 17, 17)
    terms = SkeletonMAELoss(edge_weight=0.5)(target + 1, target, mask, logits,
                                             adjacency)
    assert torch.isclose(terms.loss, terms.joint_loss + 0.5 * terms.edge_loss)
    assert terms.edge_loss > 0
    with pytest.raises(ValueError, match="needs 'edge_logits'"):
        SkeletonMAELoss(edge_weight=0.5)(target, target, mask)
    with pytest.raises(ValueError, match="'edge_weight' must be >= 0"):
        SkeletonMAELoss(edge_weight=-1)


@pytest.mark.parametrize('remask', [True, False])
def test_decoder_remasking(remask):
    edge_index = get_skeleton('coco').edge_index()
    decoder = MAEDecoder(16, 3, remask=remask).eval()
    h = torch.randn(5, 17, 16)
    mask = torch.rand(5, 17) > 0.5
    out = decoder(h, edge_index, mask)
    assert out.x.shape == (5, 17, 3) and out.edge_logits is None
    changed = h.clone()
    changed[mask] = torch.randn(int(mask.sum()), 16)
    same = torch.allclose(decoder(changed, edge_index, mask).x, out.x)
    # Re-masked, the decoder cannot see the encoder output at masked joints.
    assert same == remask


def test_decoder_position_tells_masked_joints_apart():
    coco = get_skeleton('coco')
    arm = list(coco.parts['left_arm'])  # elbow and wrist: a masked chain
    h = torch.randn(4, 17, 16)
    mask = torch.zeros(4, 17, dtype=torch.bool)
    mask[:, arm] = True
    mask[:, 5] = True  # and the shoulder: the wrist sees no visible joint
    wrist = arm[-1]
    plain = MAEDecoder(16, 3).eval()(h, coco.edge_index(), mask).x
    # Without position: every masked joint whose neighbors are all masked
    # decodes to the same vector, whatever the sample.
    assert torch.allclose(plain[:, wrist], plain[0, wrist].expand(4, 3))
    assert torch.allclose(plain[:, wrist], plain[:, arm[0]])
    decoder = MAEDecoder(16, 3, num_joints=17).eval()
    with torch.no_grad():
        decoder.position.copy_(torch.randn(17, 16))
    out = decoder(h, coco.edge_index(), mask).x
    assert not torch.allclose(out[0, wrist], out[0, arm[0]])
    # By hand: position added after re-masking, then the GIN layer.
    z = decoder.proj(h).masked_fill(mask.unsqueeze(-1), 0) + decoder.position
    A = coco.adjacency(self_loops=False).to_dense()
    expected = decoder.conv.nn((A @ z + (1 + decoder.conv.eps) * z).view(
        -1, 16)).view(4, 17, 3)
    assert torch.allclose(out, expected, atol=1e-5)
    with pytest.raises(ValueError, match=r"embedding of 17 joints expects "
                       r"\(\*, 17, 16\), got \(4, 25, 16\)"):
        decoder(torch.randn(4, 25, 16), get_skeleton('ntu-rgb+d').edge_index())


def test_decoder_edges_and_flat_input():
    edge_index = get_skeleton('coco').edge_index()
    decoder = MAEDecoder(16, 3, reconstruct_edges=True)
    out = decoder(torch.randn(5, 17, 16), edge_index)
    assert out.edge_logits.shape == (5, 17, 17)
    assert torch.allclose(out.edge_logits, out.edge_logits.transpose(1, 2))
    flat = MAEDecoder(16, 3)(torch.randn(34, 16),
                             torch.cat([edge_index, edge_index + 17], 1))
    assert flat.x.shape == (34, 3)
    assert str(decoder) == (
        "MAEDecoder(16, 3, remask=True, reconstruct_edges=True, "
        "conv=SkeletonGCNConv(nn=MLP(16, 16, 3), eps=0, train_eps=False, "
        "aggr='add'))")


@pytest.mark.parametrize('conv', ['gcn', 'gat', GCNConv(16, 3),
                                  SAGEConv(16, 3)])
def test_any_pyg_conv_stands_in_for_the_decoder_layer(conv):
    """The decoder calls its layer only through the public forward: on
    (*, V, C) features a PyG conv sees one block-diagonal batch, and the
    result equals running it on a flat PyG Batch of the same frames."""
    coco = get_skeleton('coco')
    decoder = MAEDecoder(16, 3, conv=conv).eval()
    h = torch.randn(4, 17, 16)
    mask = torch.rand(4, 17) < 0.3
    out = decoder(h, coco.edge_index(), mask).x
    assert out.shape == (4, 17, 3)
    z = decoder.proj(h).masked_fill(mask.unsqueeze(-1), 0)
    batch = to_frame_batch(z.permute(2, 0, 1)[None, ..., None], coco)
    expected = decoder.conv(batch.x, batch.edge_index)
    assert torch.allclose(out, expected.view(4, 17, 3), atol=1e-5)
