from collections import deque

import pytest
import torch

from torch_skeleton_mae.graph import (
    Skeleton,
    get_skeleton,
    known_skeletons,
    register_skeleton,
)

LAYOUTS = {'ntu-rgb+d': (25, 24), 'nturgb+d': (25, 24), 'coco': (17, 16),
           'openpose': (18, 17)}
PART_NAMES = ['head', 'torso', 'left_arm', 'right_arm', 'left_leg',
              'right_leg']


def bfs(num_nodes, bones, source):
    neighbors = {v: set() for v in range(num_nodes)}
    for i, j in bones:
        neighbors[i].add(j)
        neighbors[j].add(i)
    dist = {source: 0}
    queue = deque([source])
    while queue:
        v = queue.popleft()
        for w in sorted(neighbors[v]):
            if w not in dist:
                dist[w] = dist[v] + 1
                queue.append(w)
    return [dist.get(v, -1) for v in range(num_nodes)]


@pytest.mark.parametrize('name', list(LAYOUTS))
def test_layout(name):
    skeleton = get_skeleton(name)
    num_joints, num_bones = LAYOUTS[name]
    assert skeleton.num_joints == num_joints
    assert len(skeleton.bones) == num_bones
    assert len(skeleton.joint_names) == num_joints

    edge_index = skeleton.edge_index()
    assert edge_index.shape == (2, 2 * num_bones)
    pairs = set(map(tuple, edge_index.t().tolist()))
    assert all((j, i) in pairs for i, j in pairs)  # symmetric
    assert all(i != j for i, j in pairs)
    keys = (edge_index[0] * num_joints + edge_index[1]).tolist()
    assert keys == sorted(keys)

    with_loops = skeleton.edge_index(self_loops=True)
    assert with_loops.size(1) == 2 * num_bones + num_joints
    loops = with_loops[:, with_loops[0] == with_loops[1]]
    assert loops[0].tolist() == list(range(num_joints))

    # Connected, and hop distances equal an independent BFS.
    expected = bfs(num_joints, skeleton.bones, skeleton.center)
    assert -1 not in expected
    assert skeleton.hop_distance().tolist() == expected

    # Parts: the paper's six regions, a partition of the joints.
    assert list(skeleton.parts) == PART_NAMES
    joints = sorted(j for part in skeleton.parts.values() for j in part)
    assert joints == list(range(num_joints))
    part_index = skeleton.part_index
    for k, part in enumerate(skeleton.parts.values()):
        assert (part_index[list(part)] == k).all()


def test_coco_parts_follow_the_paper():
    parts = get_skeleton('coco').parts
    assert parts['head'] == (0, 1, 2, 3, 4)
    assert parts['torso'] == (5, 6, 11, 12)
    assert [len(p) for p in parts.values()] == [5, 4, 2, 2, 2, 2]


def test_ntu_variants_differ_only_in_hand_bones():
    a = set(get_skeleton('ntu-rgb+d').bones)
    b = set(get_skeleton('nturgb+d').bones)
    # 1-based: ST-GCN has (22, 23) and (24, 25), pyskl (22, 8) and (24, 12).
    assert a - b == {(21, 22), (23, 24)}
    assert b - a == {(21, 7), (23, 11)}
    assert get_skeleton('ntu-rgb+d').center == 20


def test_hop_distance_and_adjacency_hand_worked():
    # A "T": 0 - 1 - 2 and 1 - 3, centered on 1.
    tee = Skeleton(name='tee', joint_names='abcd',
                   bones=[(0, 1), (1, 2), (1, 3)], center=1,
                   parts={'left': [0], 'mid': [1, 3], 'right': [2]})
    assert tee.hop_distance().tolist() == [1, 0, 1, 1]
    bones = torch.tensor([[0., 1, 0, 0], [1, 0, 1, 1], [0, 1, 0, 0],
                          [0, 1, 0, 0]])
    assert torch.equal(tee.adjacency(self_loops=False), bones)
    assert torch.equal(tee.adjacency(), bones + torch.eye(4))


def test_unknown_layout():
    with pytest.raises(ValueError, match=r"Unknown skeleton layout 'ntu25'.*"
                                         r"'coco'.*'ntu-rgb\+d'"):
        get_skeleton('ntu25')
    skeleton = get_skeleton('coco')
    assert get_skeleton(skeleton) is skeleton
    assert {'coco', 'ntu-rgb+d', 'nturgb+d', 'openpose'} <= set(
        known_skeletons())


GOOD = dict(joint_names=['a', 'b', 'c'], bones=[(0, 1), (1, 2)], center=0,
            parts={'x': [0], 'y': [1, 2]})


@pytest.mark.parametrize('change,message', [
    (dict(bones=[(0, 1), (1, 3)]), r'bone \(1, 3\) has a joint out of range'),
    (dict(bones=[(0, 1), (1, 1)]), r'bone \(1, 1\) is a self-loop'),
    (dict(bones=[(0, 1), (1, 2), (2, 1)]), r'bone \(2, 1\) is listed twice'),
    (dict(bones=[(0, 1)]), 'do not connect all 3 joints'),
    (dict(center=3), 'center 3 is out of range'),
    (dict(parts={'x': [0, 1], 'y': [1, 2]}), r'joints \[1\] are in more'),
    (dict(parts={'x': [0], 'y': [1]}), r'joints \[2\] are in no part'),
    (dict(parts={'x': [0], 'y': [1, 2, 5]}), r'joints \[5\] out of range'),
])
def test_register_validates(change, message):
    with pytest.raises(ValueError, match=message):
        register_skeleton('broken', **{**GOOD, **change})
    assert 'broken' not in known_skeletons()


def test_register_custom_layout():
    hand = register_skeleton('test-hand', **GOOD, overwrite=True)
    assert get_skeleton('test-hand') is hand
    assert hand.edge_index().tolist() == [[0, 1, 1, 2], [1, 0, 2, 1]]
    with pytest.raises(ValueError, match="'test-hand' is already registered"):
        register_skeleton('test-hand', **GOOD)
