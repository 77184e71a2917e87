import math

import pytest
import torch

from torch_geometric.nn import GCNConv, SAGEConv

from torch_skeleton_mae.data import to_frame_batch
from torch_skeleton_mae.graph import get_skeleton
from torch_skeleton_mae.nn import MAEDecoder, SkeletonMAELoss
from torch_skeleton_mae.nn.loss import scaled_cosine_error


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


def test_loss_module():
    target = torch.randn(2, 17, 3)
    mask = torch.rand(2, 17) > 0.5
    pred = target + torch.randn(2, 17, 3)
    assert SkeletonMAELoss()(target, target, mask) < 1e-6
    assert torch.equal(SkeletonMAELoss(beta=3.0)(pred, target, mask),
                       scaled_cosine_error(pred, target, mask, beta=3.0))
    with pytest.raises(ValueError, match="'beta' must be >= 1"):
        SkeletonMAELoss(beta=0.5)


@pytest.mark.parametrize('remask', [True, False])
def test_decoder_remasking(remask):
    edge_index = get_skeleton('coco').edge_index()
    decoder = MAEDecoder(16, 3, remask=remask).eval()
    h = torch.randn(5, 17, 16)
    mask = torch.rand(5, 17) > 0.5
    out = decoder(h, edge_index, mask)
    assert out.shape == (5, 17, 3)
    changed = h.clone()
    changed[mask] = torch.randn(int(mask.sum()), 16)
    same = torch.allclose(decoder(changed, edge_index, mask), out)
    # Re-masked, the decoder cannot see the encoder output at masked joints.
    assert same == remask


def test_decoder_by_hand_and_repr():
    coco = get_skeleton('coco')
    h = torch.randn(4, 17, 16)
    mask = torch.rand(4, 17) > 0.5
    decoder = MAEDecoder(16, 3).eval()
    out = decoder(h, coco.edge_index(), mask)
    # Re-masked, then the GIN layer: (A + (1 + eps) I) z through its MLP.
    z = decoder.proj(h).masked_fill(mask.unsqueeze(-1), 0)
    A = coco.adjacency(self_loops=False).to_dense()
    expected = decoder.conv.nn((A @ z + (1 + decoder.conv.eps) * z).view(
        -1, 16)).view(4, 17, 3)
    assert torch.allclose(out, expected, atol=1e-5)
    assert str(decoder).startswith(
        'MAEDecoder(16, 3, remask=True, conv=DenseGINConv(nn=NodeMLP(16, 16, '
        '3)))')


@pytest.mark.parametrize('conv', [GCNConv(16, 3), SAGEConv(16, 3), SAGEConv])
def test_any_pyg_conv_stands_in_for_the_decoder_layer(conv):
    """The decoder calls its layer only through the public forward: on
    (*, V, C) features a PyG conv sees one block-diagonal batch, and the
    result equals running it on a flat PyG Batch of the same frames."""
    coco = get_skeleton('coco')
    decoder = MAEDecoder(16, 3, conv=conv).eval()
    h = torch.randn(4, 17, 16)
    mask = torch.rand(4, 17) < 0.3
    out = decoder(h, coco.edge_index(), mask)
    assert out.shape == (4, 17, 3)
    z = decoder.proj(h).masked_fill(mask.unsqueeze(-1), 0)
    batch = to_frame_batch(z[None, None], coco)  # (1, 1, T, V, C)
    expected = decoder.conv(batch.x, batch.edge_index)
    assert torch.allclose(out, expected.view(4, 17, 3), atol=1e-5)
