import pytest
import torch

from torch_skeleton_mae.graph import get_skeleton
from torch_skeleton_mae.nn import JointEdgeMasker, masking_strategy
from torch_skeleton_mae.nn.masking import FixedParts, RandomJoints, RandomParts


@pytest.mark.parametrize('layout', ['coco', 'ntu-rgb+d', 'openpose'])
@pytest.mark.parametrize('k', [1, 3, 5])
def test_part_masking_masks_whole_parts(layout, k):
    skeleton = get_skeleton(layout)
    masker = JointEdgeMasker(layout, channels=4, mask=f'random-parts:{k}')
    mask = masker.sample((500, ))
    assert mask.shape == (500, skeleton.num_joints)
    for row in mask.tolist():
        masked_parts = [name for name, joints in skeleton.parts.items()
                        if all(row[j] for j in joints)]
        touched = [name for name, joints in skeleton.parts.items()
                   if any(row[j] for j in joints)]
        assert masked_parts == touched  # whole parts only
        assert len(masked_parts) == k


def test_parts_are_chosen_uniformly():
    masker = JointEdgeMasker('coco', channels=4, mask='random-parts:3')
    mask = masker.sample((6000, ))
    part_rate = torch.stack([mask[:, list(joints)].all(dim=1)
                             for joints in masker.skeleton.parts.values()],
                            dim=1).float().mean(dim=0)
    assert torch.allclose(part_rate, torch.full((6, ), 0.5), atol=0.03)


@pytest.mark.parametrize('ratio,count', [(0.3, 5), (0.5, 8), (0.9, 15)])
def test_random_masking_ratio(ratio, count):
    masker = JointEdgeMasker('coco', channels=4,
                             mask=f'random-joints:{ratio}')
    mask = masker.sample((200, 3))
    assert (mask.sum(dim=-1) == count).all()
    assert mask.float().mean(dim=(0, 1)).min() > 0  # every joint is drawn


def test_mask_token_and_edges():
    skeleton = get_skeleton('ntu-rgb+d')
    masker = JointEdgeMasker(skeleton, channels=6, mask='random-joints:0.4')
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
    masker = JointEdgeMasker('coco', channels=4, mask='random-parts:2')
    draws = [masker.sample((64, ), torch.Generator().manual_seed(s))
             for s in (7, 7, 8)]
    assert torch.equal(draws[0], draws[1])
    assert not torch.equal(draws[0], draws[2])


@pytest.mark.parametrize('layout', ['coco', 'ntu-rgb+d', 'nturgb+d',
                                    'openpose'])
def test_default_masks_the_right_arm_and_leg_everywhere(layout):
    """The paper's best setting, regions V3 + V5 (Table 5b, Fig. 6), in every
    sample, by name on every layout."""
    skeleton = get_skeleton(layout)
    expected = torch.zeros(skeleton.num_joints, dtype=torch.bool)
    expected[list(skeleton.parts['right_arm'])] = True
    expected[list(skeleton.parts['right_leg'])] = True
    mask = JointEdgeMasker(layout, 4).sample((50, 3))
    assert torch.equal(mask, expected.expand(50, 3, -1))
    by_index = FixedParts(layout, [3, 5]).sample((2, ))
    assert torch.equal(by_index, expected.expand(2, -1))
    if layout == 'coco':  # elbow and wrist, knee and ankle of the right side
        assert expected.nonzero().view(-1).tolist() == [8, 10, 14, 16]


def test_specs_round_trip():
    for spec, cls in (('parts:right_arm,right_leg', FixedParts),
                      ('random-parts:2', RandomParts),
                      ('random-joints:0.5', RandomJoints)):
        strategy = masking_strategy(spec, 'coco')
        assert isinstance(strategy, cls) and strategy.spec == spec
        assert masking_strategy(strategy, 'coco') is strategy
    assert masking_strategy('parts:0,torso', 'coco').spec == 'parts:head,torso'
    assert str(FixedParts('coco', [3])) == (
        "FixedParts('coco', 'parts:right_arm')")


@pytest.mark.parametrize('spec,message', [
    ('block', "Unknown masking 'block'"),
    ('parts:', "Unknown masking 'parts:'"),
    ('parts:6', r"Region 6 does not exist: layout 'coco' has regions 0-5"),
    ('parts:tail', "Layout 'coco' has no part 'tail'"),
    ('random-parts:0', "has 6 parts; mask between 1 and 6"),
    ('random-parts:7', "has 6 parts; mask between 1 and 6"),
    ('random-parts:1.5', "Unknown masking 'random-parts:1.5'"),
    ('random-joints:0', r"the ratio must lie in \(0, 1\]"),
    ('random-joints:1.5', r"the ratio must lie in \(0, 1\]"),
    ('random-joints:x', "Unknown masking 'random-joints:x'"),
])
def test_bad_specs(spec, message):
    with pytest.raises(ValueError, match=message):
        JointEdgeMasker('coco', 4, mask=spec)


def test_errors_and_repr():
    with pytest.raises(ValueError, match="for layout 'coco', not 'ntu-rgb"):
        masking_strategy(FixedParts('coco', [3]), 'ntu-rgb+d')
    masker = JointEdgeMasker('coco', 4)
    with pytest.raises(ValueError, match=r"\(\*, 17, 4\) for layout 'coco', "
                                         r"got \(2, 25, 4\)"):
        masker(torch.randn(2, 25, 4))
    assert str(masker) == ("JointEdgeMasker('coco', channels=4, "
                           "mask='parts:right_arm,right_leg')")
