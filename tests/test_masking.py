import pytest
import torch

from torch_skeleton_mae.graph import get_skeleton
from torch_skeleton_mae.nn import JointEdgeMasker


@pytest.mark.parametrize('ratio,count', [(0.3, 5), (0.5, 8), (0.9, 15)])
def test_random_masking_ratio(ratio, count):
    masker = JointEdgeMasker('coco', channels=4, mask=ratio)
    mask = masker.sample((200, 3))
    assert (mask.sum(dim=-1) == count).all()
    assert mask.float().mean(dim=(0, 1)).min() > 0  # every joint is drawn


def test_joints_are_chosen_uniformly():
    mask = JointEdgeMasker('coco', channels=4, mask=0.5).sample((6000, ))
    assert torch.allclose(mask.float().mean(dim=0),
                          torch.full((17, ), 8 / 17), atol=0.03)


def test_mask_token_and_edges():
    skeleton = get_skeleton('ntu-rgb+d')
    masker = JointEdgeMasker(skeleton, channels=6, mask=0.4)
    with torch.no_grad():
        masker.mask_token.copy_(torch.arange(6.0))
    x = torch.randn(10, 4, 25, 6)
    out = masker(x)
    assert out.joint_mask.shape == (10, 4, 25)
    masked = out.joint_mask
    assert torch.equal(out.x[masked], masker.mask_token.expand(
        int(masked.sum()), 6))
    assert torch.equal(out.x[~masked], x[~masked])

    row, col = skeleton.edge_index()
    expected = masked[..., row] | masked[..., col]
    assert torch.equal(out.edge_mask, expected)

    # A given mask broadcasts (one draw per sequence over all frames).
    per_sequence = masker.sample((10, 1))
    out = masker(x, per_sequence)
    assert torch.equal(out.joint_mask, per_sequence.expand(10, 4, 25))
    assert out.x.requires_grad  # the token is learnable
    out.x.sum().backward()
    assert masker.mask_token.grad.abs().sum() > 0


def test_deterministic_under_generator():
    masker = JointEdgeMasker('coco', channels=4, mask=0.5)
    draws = [masker.sample((64, ), torch.Generator().manual_seed(s))
             for s in (7, 7, 8)]
    assert torch.equal(draws[0], draws[1])
    assert not torch.equal(draws[0], draws[2])


@pytest.mark.parametrize('layout', ['coco', 'ntu-rgb+d', 'nturgb+d',
                                    'openpose'])
def test_default_masks_the_right_arm_and_leg_everywhere(layout):
    """The paper's best setting, regions V3 + V5 (Table 5b, Fig. 6), in every
    sample, by name on every layout, and the same by index."""
    skeleton = get_skeleton(layout)
    expected = torch.zeros(skeleton.num_joints, dtype=torch.bool)
    expected[list(skeleton.parts['right_arm'])] = True
    expected[list(skeleton.parts['right_leg'])] = True
    masker = JointEdgeMasker(layout, 4)
    assert torch.equal(masker.sample((50, 3)), expected.expand(50, 3, -1))
    by_index = JointEdgeMasker(layout, 4, mask=[3, '5'])
    assert by_index.mask == masker.mask == ('right_arm', 'right_leg')
    assert torch.equal(by_index.sample((2, )), expected.expand(2, -1))
    if layout == 'coco':  # elbow and wrist, knee and ankle of the right side
        assert expected.nonzero().view(-1).tolist() == [8, 10, 14, 16]


@pytest.mark.parametrize('mask,message', [
    ([], 'needs a region or a ratio'),
    ([6], r"Region 6 does not exist: layout 'coco' has regions 0-5"),
    (['tail'], "Layout 'coco' has no part 'tail'"),
    (0.0, r"must lie in \(0, 1\]"),
    (1.5, r"must lie in \(0, 1\]"),
    (0.01, 'mask at least one of the 17 joints'),
])
def test_bad_masks(mask, message):
    with pytest.raises(ValueError, match=message):
        JointEdgeMasker('coco', 4, mask=mask)


def test_errors_and_repr():
    masker = JointEdgeMasker('coco', 4)
    with pytest.raises(ValueError, match=r"\(\*, 17, 4\) for layout 'coco', "
                                         r"got \(2, 25, 4\)"):
        masker(torch.randn(2, 25, 4))
    assert str(masker) == ("JointEdgeMasker('coco', channels=4, "
                           "mask=('right_arm', 'right_leg'))")
    assert str(JointEdgeMasker('coco', 4, mask=0.5)).endswith('mask=0.5)')
