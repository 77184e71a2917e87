import json

import numpy as np
import pytest
import torch

from torch_skeleton_mae.datasets.mocap import (
    bvh_sequence,
    guess_joint_map,
    map_joints,
    msrc12_sequence,
    parse_bvh,
    read_bvh,
    read_msrc12,
    resample,
)
from torch_skeleton_mae.datasets.pool import MotionPool, PoolBuilder
from torch_skeleton_mae.graph import get_skeleton

# A rig of its own: a root that moves, a chain of two bones (the second
# turned by channels in Z, X, Y order) and an end site.
RIG = """HIERARCHY
ROOT Pelvis
{
  OFFSET 0 0 0
  CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation
  JOINT Upper
  {
    OFFSET 0 10 0
    CHANNELS 3 Zrotation Xrotation Yrotation
    JOINT Lower
    {
      OFFSET 0 0 10
      CHANNELS 3 Zrotation Xrotation Yrotation
      End Site
      {
        OFFSET 5 0 0
      }
    }
  }
}
MOTION
Frames: {frames}
Frame Time: {frame_time}
"""


def rig(frames, frame_time=1 / 30):
    return (RIG.replace('{frames}', str(len(frames)))
            .replace('{frame_time}', str(frame_time))
            + '\n'.join(' '.join(map(str, f)) for f in frames) + '\n')


def rotation(axis, degrees):
    # An independent right-handed rotation matrix.
    c, s = np.cos(np.radians(degrees)), np.sin(np.radians(degrees))
    return {'X': np.array([[1, 0, 0], [0, c, -s], [0, s, c]]),
            'Y': np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]]),
            'Z': np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])}[axis]


def test_bvh_forward_kinematics_against_matrices():
    frame = [1, 2, 3, 30, 0, 0, 90, 90, 0, 10, 20, 30]
    motion = parse_bvh(rig([frame]))
    assert motion.names == ['Pelvis', 'Upper', 'Lower', 'Lower/end']
    assert motion.parents == [-1, 0, 1, 2]
    assert motion.positions.shape == (1, 4, 3)
    root = np.array([1., 2., 3.])
    r0 = rotation('Z', 30)
    r1 = r0 @ rotation('Z', 90) @ rotation('X', 90)  # channel order
    r2 = r1 @ rotation('Z', 10) @ rotation('X', 20) @ rotation('Y', 30)
    upper = root + r0 @ [0, 10, 0]
    lower = upper + r1 @ [0, 0, 10]
    end = lower + r2 @ [5, 0, 0]
    np.testing.assert_allclose(motion.positions[0],
                               np.stack([root, upper, lower, end]),
                               atol=1e-9)
    # The order of the channels matters: X then Z puts Lower elsewhere.
    other = r0 @ rotation('X', 90) @ rotation('Z', 90)
    assert not np.allclose(lower, upper + other @ [0, 0, 10])


def test_bvh_position_channels_replace_the_offset():
    motion = parse_bvh(rig([[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]]).replace(
        'CHANNELS 3 Zrotation Xrotation Yrotation\n    JOINT Lower',
        'CHANNELS 4 Xposition Zrotation Xrotation Yrotation\n    '
        'JOINT Lower').replace('0 0 0 0 0 0 0 0 0 0 0 0', '0 0 0 0 0 0 7 0 '
                               '0 0 0 0 0'))
    np.testing.assert_allclose(motion.positions[0, 1], [7, 10, 0])


def test_bvh_maps_a_rig_of_its_own_onto_kinect_v1_and_resamples():
    names = get_skeleton('kinect-v1').joint_names
    # Every Kinect joint from one of the rig's joints; the head is the mean
    # of two (the end site and the lower joint).
    joint_map = {name: 'Pelvis' for name in names}
    joint_map.update(head=('Lower/end', 'Lower'), left_hand='Upper')
    frames = [[t, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0] for t in range(7)]
    x = bvh_sequence(rig(frames, 1 / 60), 'mine.bvh', joint_map, fps=30,
                     units=0.01)
    assert x.shape == (1, 4, 20, 3) and x.dtype == torch.float32
    head = names.index('head')
    # Frames 0, 2, 4, 6 of 60 Hz; metres; the root moved 1 cm a frame.
    np.testing.assert_allclose(x[0, :, 0, 0], [0, .02, .04, .06], atol=1e-6)
    np.testing.assert_allclose(x[0, 1, head], [.045, .1, .1], atol=1e-6)
    np.testing.assert_allclose(x[0, 0, names.index('left_hand')],
                               [0, .1, 0], atol=1e-6)


def test_map_joints_names_what_is_missing():
    positions = np.zeros((2, 1, 3))
    with pytest.raises(ValueError, match=r"rig\.bvh: the joint map has no "
                       r"\['spine'"):
        map_joints(['Hips'], positions, {'hip_center': 'Hips'},
                   source='rig.bvh')
    joint_map = dict.fromkeys(get_skeleton('kinect-v1').joint_names, 'Hips')
    joint_map['head'] = 'Skull'
    with pytest.raises(ValueError, match=r"no joint \['Skull'\] in the rig "
                       r"for 'head'"):
        map_joints(['Hips'], positions, joint_map, source='rig.bvh')
    with pytest.raises(ValueError, match='a rig of no known joint map'):
        bvh_sequence(rig([[0] * 12]), 'rig.bvh')
    assert guess_joint_map(['Pelvis', 'Upper']) is None


@pytest.mark.parametrize('text,message', [
    ('HIERARCHY\nROOT A\n{\nOFFSET 0 0 0\n', 'no MOTION section'),
    (rig([[0] * 12]).replace('Frames: 1', 'Frames: 999999999'),
     r'999999999 frames; expected 1 to 432000 \(max_frames\)'),
    (rig([[0] * 12, [0] * 12]).replace('Frames: 2', 'Frames: 3'),
     r'24 motion values; expected 3 frames x 12 channels'),
    (rig([[0] * 11 + ['nan']]), 'not finite'),
    (rig([[0] * 11 + ['x']]), 'not numbers'),
    (rig([[0] * 12]).replace('  }\n}', ''), 'unbalanced braces'),
    ('{ ' * 200000 + '\nMOTION\nFrames: 1\nFrame Time: 1\n0',
     "'{' without a joint"),
    ('ROOT A\n' + 'JOINT B {\n' * 2000 + 'MOTION\nFrames: 1\nFrame Time: 1\n',
     'more than 1024 joints'),
    (rig([[0] * 12]).replace('CHANNELS 3 Zrotation Xrotation Yrotation\n'
                             '    JOINT Lower',
                             'CHANNELS 3 Zrotation Xrotation Wobble\n'
                             '    JOINT Lower'), 'bad CHANNELS'),
])
def test_bvh_refuses_bad_files_naming_them(text, message):
    with pytest.raises(ValueError, match='^bad.bvh: .*' + message):
        parse_bvh(text, 'bad.bvh')


def test_read_bvh_from_a_file(tmp_path):
    path = tmp_path / 'walk.bvh'
    path.write_text(rig([[0] * 12] * 3))
    joint_map = dict.fromkeys(get_skeleton('kinect-v1').joint_names,
                              'Upper')
    assert read_bvh(path, joint_map=joint_map).shape == (1, 3, 20, 3)
    with pytest.raises(ValueError, match='walk.bvh'):
        read_bvh(path, joint_map=joint_map, max_frames=2)


def msrc12_rows(times, joints):
    # MSRC-12's rows: a time stamp (us), then 20 x (x, y, z, confidence).
    rows = []
    for t, frame in zip(times, joints):
        values = np.concatenate([frame, np.ones((20, 1))], 1).reshape(-1)
        rows.append(' '.join([str(t)] + [f'{v:.6f}' for v in values]))
    return '\n'.join(rows) + '\n'


def test_msrc12_drops_leading_empty_rows_and_resamples():
    rng = np.random.default_rng(0)
    joints = rng.normal(size=(5, 20, 3))
    joints[:2] = 0  # the recorder's first rows, before a skeleton
    # Irregular time stamps (us): 30 Hz with jitter.
    times = [1000, 34000, 70000, 100000, 140000]
    x = msrc12_sequence(msrc12_rows(times, joints), 'P1_1_1_p01.csv')
    assert x.shape == (1, 3, 20, 3)
    np.testing.assert_allclose(x[0, 0], joints[2], atol=1e-6)
    # 1/30 s after the first skeleton (at 70 ms): between rows 3 and 4.
    w = (70000 + 1e6 / 30 - 100000) / 40000
    np.testing.assert_allclose(x[0, 1], (1 - w) * joints[3] + w * joints[4],
                               atol=1e-5)


@pytest.mark.parametrize('text,message', [
    ('1 2 3\n', r'3 values; expected rows of 81'),
    (msrc12_rows([1, 2], np.zeros((2, 20, 3))), 'no row holds a skeleton'),
    (msrc12_rows([2, 1], np.ones((2, 20, 3))), 'do not increase'),
    ('a ' * 81, 'not numbers'),
])
def test_msrc12_refuses_bad_files_naming_them(text, message):
    with pytest.raises(ValueError, match='^P1.csv: .*' + message):
        msrc12_sequence(text, 'P1.csv')


def test_read_msrc12_limits_rows_before_parsing(tmp_path):
    path = tmp_path / 'long.csv'
    path.write_text(msrc12_rows(range(1, 100000, 30000),
                                np.ones((4, 20, 3))))
    assert read_msrc12(path).shape[1] == 3
    with pytest.raises(ValueError, match=r'long.csv: 5 rows; expected at '
                       r'most 3'):
        read_msrc12(path, max_frames=3)


def test_resample_is_linear_in_time():
    joints = np.arange(4.0)[:, None] * [1., 2.]
    out = resample(joints, np.array([0, 0.1, 0.2, 0.3]), fps=20)
    # Every 50 ms from 0 to 300 ms.
    np.testing.assert_allclose(out, np.arange(0, 3.1, .5)[:, None] * [1, 2])


def sequence(T, value=1.0):
    x = torch.zeros(1, T, 20, 3)
    x[0] = torch.randn(1, 20, 3) + value
    x[0, :, 0, 0] += torch.arange(T) * 0.01  # moves
    return x


def test_pool_cuts_windows_skips_bad_files_and_reads_back(tmp_path):
    builder = PoolBuilder('kinect-v1', window=40, stride=40, min_frames=8)
    assert builder.add('a', 'long', lambda: sequence(100))  # 0, 40, 60
    assert builder.add('a', 'whole', lambda: sequence(100), cut=False)

    def hostile():
        raise MemoryError('Unable to allocate 112 GiB')
    assert not builder.add('b', 'bomb', hostile)
    assert not builder.add('b', 'deep', lambda: json.loads('[' * 10 ** 6))
    assert not builder.add('b', 'short', lambda: sequence(5))
    assert not builder.add('b', 'wide', lambda: torch.zeros(1, 9, 25, 3))
    assert builder.add('b', 'clip', lambda: sequence(30))
    out = builder.finish(tmp_path / 'pool', fps=30)
    manifest = json.loads((out / 'manifest.json').read_text())
    assert manifest['windows'] == 5 and manifest['fps'] == 30
    assert manifest['frames'] == 3 * 40 + 100 + 30
    a, b = manifest['sources']['a'], manifest['sources']['b']
    assert (a['files'], a['sequences'], a['windows']) == (2, 2, 4)
    assert (b['files'], b['sequences'], b['too_short']) == (5, 1, 1)
    assert set(b['skipped']) == {'bomb', 'deep', 'wide'}
    assert b['skipped']['bomb'] == 'MemoryError: Unable to allocate 112 GiB'
    assert b['skipped']['deep'].startswith('RecursionError')
    assert 'expected (1, T, 20, C)' in b['skipped']['wide']

    pool = MotionPool(out)
    assert len(pool) == 5 and pool.num_classes == 2
    assert pool.lengths.tolist() == [40, 40, 40, 100, 30]
    assert pool.labels.tolist() == [0, 0, 0, 0, 1]
    x, label = pool[4]
    assert x.shape == (1, 30, 20, 3) and label == 1
    # Every window is centred on its own first frame's centre joint.
    center = get_skeleton('kinect-v1').center
    for i in range(5):
        assert pool[i][0][:, 0, center].abs().max() < 1e-6
    assert len(MotionPool(out, sources=['b'])) == 1
    assert len(MotionPool(out, limit=3, seed=1)) == 3
    with pytest.raises(ValueError, match=r"no source \['c'\]"):
        MotionPool(out, sources=['c'])
    with pytest.raises(ValueError, match=r"'limit' must lie in \[1, 5\]"):
        MotionPool(out, limit=6)
    with pytest.raises(FileExistsError, match='pool exists'):
        builder.finish(out)
    with pytest.raises(ValueError, match='not a pool'):
        MotionPool(tmp_path)


def test_retarget_keeps_directions_and_sets_proportions():
    from torch_skeleton_mae.datasets.mocap import bone_proportions, retarget
    skeleton = get_skeleton('kinect-v1')
    bones = np.array(skeleton.bones)
    rng = np.random.default_rng(0)
    joints = rng.normal(size=(4, 20, 3))
    names = skeleton.joint_names
    # A rig whose hand is its wrist (Bandai-Namco's).
    joints[:, names.index('left_hand')] = joints[:, names.index('left_wrist')]
    target = rng.uniform(0.5, 1.5, len(bones))
    target /= target.sum()
    out = retarget(joints, target)

    def length(x):
        return np.linalg.norm(x[:, bones[:, 0]] - x[:, bones[:, 1]], axis=-1)

    # The summed lengths are kept, each bone's share is the target's.
    np.testing.assert_allclose(length(out).sum(1), length(joints).sum(1))
    np.testing.assert_allclose(length(out) / length(out).sum(1, keepdims=True),
                               np.broadcast_to(target, (4, len(bones))))
    np.testing.assert_allclose(bone_proportions(out), target)
    assert np.array_equal(out[:, skeleton.center], joints[:, skeleton.center])

    def step(x, a, b):
        return x[:, names.index(b)] - x[:, names.index(a)]

    def unit(v):
        return v / np.linalg.norm(v, axis=-1, keepdims=True)

    np.testing.assert_allclose(unit(step(out, 'left_elbow', 'left_wrist')),
                               unit(step(joints, 'left_elbow', 'left_wrist')))
    # The zero-length hand continues the forearm.
    np.testing.assert_allclose(unit(step(out, 'left_wrist', 'left_hand')),
                               unit(step(joints, 'left_elbow', 'left_wrist')))


def test_project_is_a_pinhole_camera_onto_penn_action_joints():
    from torch_skeleton_mae.datasets.mocap import KINECT_TO_2D, project
    names = get_skeleton('kinect-v1').joint_names
    torch.manual_seed(0)
    x = torch.randn(1, 5, 20, 3) * 0.3
    x[:, 4] = 0  # an absent frame stays absent
    # No turn, no tilt, the body one half-width tall: a plain pinhole.
    y = project(x, 'penn-action', torch.Generator().manual_seed(1), yaw=0,
                pitch=0, height=(1.0, 1.0))
    assert y.shape == (1, 5, 13, 2)
    joints = x[0][:, [names.index(n) for n in KINECT_TO_2D['penn-action']]]
    joints = joints.movedim(-1, 0)  # (3, T, V): the camera axes first
    first = joints[:, 0]
    tall = first[2].max() - first[2].min()
    depth = joints[1] + tall - first[1].mean()
    depth = depth + (tall / 2 - depth[:4].min()).clamp(min=0)
    assert torch.allclose(y[0, :4, :, 0], joints[0, :4] / depth[:4],
                          atol=1e-5)
    assert torch.allclose(y[0, :4, :, 1], joints[2, :4] / depth[:4],
                          atol=1e-5)
    assert (y[:, 4] == 0).all()
    # Any camera: the same body, another view.
    z = project(x, 'penn-action', torch.Generator().manual_seed(2))
    assert z.shape == y.shape and not torch.allclose(z, y)
    # A body walking 3 m towards the camera stays in front of it: the
    # camera backs off, and the head is always above the ankles.
    walk = x.clone()
    walk[0, :4, :, 1] -= torch.linspace(0, 3, 4)[:, None]
    head, ankle = 0, KINECT_TO_2D['penn-action'].index('left_ankle')
    walk[0, :4, names.index('head'), 2] = 1.0
    walk[0, :4, names.index('left_ankle'), 2] = -1.0
    w = project(walk, 'penn-action', torch.Generator().manual_seed(1),
                yaw=0, pitch=0, height=(1.0, 1.0))
    assert (w[0, :4, head, 1] > w[0, :4, ankle, 1]).all()
    assert w[:, :4].abs().max() < 10
    with pytest.raises(ValueError, match="no 2D layout 'coco' of the Kinect"):
        project(x, 'coco', torch.Generator())


def test_build_pool_reads_checkouts_and_bare_snapshots(tmp_path):
    import importlib.util
    import subprocess
    from pathlib import Path
    spec = importlib.util.spec_from_file_location(
        'build_pool', Path(__file__).parents[1] / 'experiments' /
        'build_pool.py')
    build_pool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build_pool)
    checkout = tmp_path / 'owner' / 'name'
    (checkout / 'data').mkdir(parents=True)
    (checkout / 'data' / 'a.bvh').write_text(rig([[0] * 12]))
    (checkout / 'data' / 'b.txt').write_text('not matched')
    git = ['git', '-c', 'user.name=t', '-c', 'user.email=t@t']
    subprocess.run(git + ['init', '-q', str(checkout)], check=True)
    subprocess.run(git + ['-C', str(checkout), 'add', '.'], check=True)
    subprocess.run(git + ['-C', str(checkout), 'commit', '-qm', 'x'],
                   check=True)
    bare = tmp_path / 'mirror' / 'owner+name' / 'repo'
    subprocess.run(['git', 'clone', '-q', '--bare', str(checkout), str(bare)],
                   check=True)
    for root in (build_pool.source_root(tmp_path, 'owner/name'),
                 build_pool.source_root(tmp_path / 'mirror', 'owner/name')):
        files = list(build_pool.repository_files(root, 'data/*.bvh'))
        assert [path for path, _ in files] == ['data/a.bvh']
        assert files[0][1]() == rig([[0] * 12])
    with pytest.raises(FileNotFoundError, match='other/repo'):
        build_pool.source_root(tmp_path, 'other/repo')
