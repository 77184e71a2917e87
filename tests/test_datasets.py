import os
import pickle

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from torch_skeleton_mae import transforms as T
from torch_skeleton_mae.transforms import batch as B
from torch_skeleton_mae.data import to_frame_batch
from torch_skeleton_mae.datasets import (
    NTURGBD,
    NpzSkeletonDataset,
    PysklDataset,
    SkeletonSequences,
    SyntheticSkeletons,
)
from torch_skeleton_mae.datasets.ntu import (
    missing_skeletons,
    parse_ntu_name,
    read_ntu_skeleton,
    select_bodies,
)
from torch_skeleton_mae.datasets.synthetic import ACTIONS, TWO_PERSON_ACTIONS


def write_skeleton(path, frames):
    """An NTU .skeleton writer following read_skeleton_file.m: frames is a
    list of {body_id: (25, 3) xyz array}."""
    lines = [str(len(frames))]
    for bodies in frames:
        lines.append(str(len(bodies)))
        for body_id, xyz in bodies.items():
            lines.append(f'{body_id} 0 1 1 1 1 0 0.1 0.2 2')
            lines.append('25')
            for x, y, z in xyz:
                lines.append(f'{x:.6f} {y:.6f} {z:.6f} 1 2 3 4 0 0 0 0 2')
    path.write_text('\n'.join(lines) + '\n')
    return path


def joints(seed):
    return np.random.default_rng(seed).standard_normal((25, 3)).round(6)


def test_read_ntu_skeleton_two_bodies_and_empty_frames(tmp_path):
    a, b = [joints(i) for i in range(3)], [joints(10 + i) for i in range(3)]
    frames = [{'72057594037931101': a[0]},
              {},  # a frame with no body
              {'72057594037931101': a[1], '72057594037931102': b[0]},
              {'72057594037931102': b[1]}]
    path = write_skeleton(tmp_path / 'S001C002P003R002A013.skeleton', frames)
    x, tracking = read_ntu_skeleton(path, return_tracking=True)
    assert x.shape == (2, 4, 25, 3) and x.dtype == np.float32
    assert np.allclose(x[0, 0], a[0], atol=1e-6)
    assert (x[:, 1] == 0).all()
    assert np.allclose(x[0, 2], a[1], atol=1e-6)
    assert np.allclose(x[1, 2], b[0], atol=1e-6)
    assert np.allclose(x[1, 3], b[1], atol=1e-6) and (x[0, 3] == 0).all()
    assert (tracking[0, 0] == 2).all() and (tracking[0, 3] == 0).all()
    assert parse_ntu_name(path.name) == dict(setup=1, camera=2, performer=3,
                                             replication=2, action=13)


@pytest.mark.parametrize('corrupt,message', [
    (lambda t: '\n'.join(t.split('\n')[:20]),
     r'truncated at line 21, expected joint 16 of frame 0'),
    (lambda t: t.replace('\n25\n', '\n24\n', 1), r':4: expected 25 joints'),
    (lambda t: t.replace('1 2 3 4 0 0 0 0 2', '1 2 3 4 0 0 0 2', 1),
     r':5: expected joint 0 of frame 0 \(12 values\), got 11'),
    (lambda t: t.replace('\n1\n', '\nx\n', 1), r":2: expected the body count"),
])
def test_read_ntu_skeleton_bad_files(tmp_path, corrupt, message):
    path = write_skeleton(tmp_path / 'S001C001P001R001A001.skeleton',
                          [{'1': joints(0)}, {'1': joints(1)}])
    path.write_text(corrupt(path.read_text()))
    with pytest.raises(ValueError, match=str(path.name) + '.*' + message):
        read_ntu_skeleton(path)


def test_read_ntu_skeleton_nan(tmp_path):
    bad = joints(0)
    bad[3, 1] = np.nan
    path = write_skeleton(tmp_path / 'S001C001P001R001A001.skeleton',
                          [{'1': bad}])
    with pytest.raises(ValueError, match='frame 0 holds NaN'):
        read_ntu_skeleton(path)


def test_select_bodies_keeps_the_two_that_move_most():
    rng = np.random.default_rng(0)
    x = np.zeros((3, 10, 25, 3), np.float32)
    x[0] = 1 + 0.01 * rng.standard_normal((10, 25, 3))  # barely moves
    x[1] = rng.standard_normal((10, 25, 3))
    x[2] = 3 * rng.standard_normal((10, 25, 3))
    out = select_bodies(x)
    assert np.array_equal(out, x[1:])
    single = select_bodies(x[:1])
    assert single.shape == (2, 10, 25, 3) and (single[1] == 0).all()


def test_ntu_dataset(tmp_path):
    root = tmp_path / 'nturgbd'
    root.mkdir()
    names = ['S001C001P001R001A001', 'S001C002P003R001A002',
             'S002C003P001R002A060', 'S001C001P007R001A003']
    for i, name in enumerate(names):
        frames = [{'1': joints(i + t), '2': joints(20 + t),
                   '3': joints(40 + t) * (1 + t)} for t in range(5)]
        write_skeleton(root / f'{name}.skeleton', frames)
    excluded = sorted(missing_skeletons())[0]
    write_skeleton(root / f'{excluded}.skeleton', [{'1': joints(0)}])
    write_skeleton(root / 'S003C001P002R001A004.skeleton', [{}, {}])

    train = NTURGBD(root, 'xsub', 'train')
    val = NTURGBD(root, 'xsub', 'val')
    # Sorted by file name; performer 1 trains, 3 and 7 do not (xsub).
    assert [m['name'] for m in train.meta] == [names[0], names[2]]
    assert [m['name'] for m in val.meta] == [names[3], names[1]]
    assert train.skipped == {'missing_skeleton_list': [excluded],
                             'no_body': ['S003C001P002R001A004'],
                             'unreadable': {}}
    x, label = train[1]  # the stored sequence: its 5 frames
    assert x.shape == (2, 5, 25, 3) and label == 59
    raw = select_bodies(read_ntu_skeleton(root / f'{names[2]}.skeleton'))
    raw = torch.from_numpy(raw)  # (M, T, V, C)
    # Centering and view alignment are done once, when the cache is built.
    assert train.normalized
    assert torch.allclose(x, T.PreNormalize3D('ntu-rgb+d')(raw), atol=1e-5)
    # Items of T frames sampled over the stored span; batches alike.
    train.sample_frames(8, train=False)
    start, length = T.frame_span(x)
    middles = x[:, start + T.uniform_frame_indices(torch.tensor([length]), 8,
                                                   train=False)[0]]
    assert torch.equal(train[1][0], middles)
    batch, labels = train.read_batch([1, 0, 1])
    assert batch.shape == (3, 2, 8, 25, 3) and labels.tolist() == [59, 0, 59]
    assert torch.equal(batch[0], middles) and torch.equal(batch[2], middles)
    plain = NTURGBD(root, 'xsub', 'train', normalize=False)
    assert torch.equal(plain[1][0], raw)
    xview = NTURGBD(root, 'xview', 'train')
    assert [m['camera'] for m in xview.meta] == [2, 3]
    with pytest.raises(ValueError, match="Unknown benchmark 'xsetup'"):
        NTURGBD(root, 'xsetup')


def test_ntu_bad_files_cost_only_themselves(tmp_path, capsys):
    root = tmp_path / 'nturgbd'
    root.mkdir()
    good = ['S001C001P001R001A001', 'S001C002P003R001A002']
    for i, name in enumerate(good):
        write_skeleton(root / f'{name}.skeleton',
                       [{'1': joints(i + t)} for t in range(4)])
    truncated = write_skeleton(root / 'S001C001P002R001A003.skeleton',
                               [{'1': joints(0)}, {'1': joints(1)}])
    truncated.write_text('\n'.join(truncated.read_text().split('\n')[:20]))
    (root / 'S001C001P004R001A004.skeleton').write_bytes(
        bytes(range(128, 256)) * 8)  # binary
    data = NTURGBD(root, split=None)
    assert [m['name'] for m in data.meta] == good
    unreadable = data.skipped['unreadable']
    assert sorted(unreadable) == ['S001C001P002R001A003',
                                  'S001C001P004R001A004']
    assert 'truncated at line 21' in unreadable['S001C001P002R001A003']
    assert 'S001C001P004R001A004.skeleton: not a text file' in (
        unreadable['S001C001P004R001A004'])
    out = capsys.readouterr().out
    assert 'parsed 2 of 4 files' in out and '2 unreadable' in out
    assert 'S001C001P004R001A004: ' in out
    cache = root / '.torch_skeleton_mae'
    assert sorted(p.name for p in cache.iterdir()) == [
        '.lock', 'frames_normalized_v2.npy', 'index_normalized_v2.json']
    assert len(data) == 2 and data[1][0].shape == (2, 4, 25, 3)
    # A file added later is seen: the cache is built again.
    write_skeleton(root / 'S001C001P005R001A005.skeleton',
                   [{'1': joints(9)}])
    again = NTURGBD(root, split=None)
    assert [m['name'] for m in again.meta] == [  # sorted by name
        good[0], 'S001C001P005R001A005', good[1]]
    assert 'changed since its cache was built' in capsys.readouterr().out
    # An edit that keeps the size is seen too (the modification time).
    path = root / f'{good[0]}.skeleton'
    text = path.read_text()
    path.write_text(text.replace('1 2 3 4 0 0 0 0 2', '1 2 3 4 0 0 0 0 1', 1))
    assert len(path.read_text()) == len(text)
    os.utime(path, ns=(1, 1))
    NTURGBD(root, split=None)
    assert 'changed since its cache was built' in capsys.readouterr().out


def test_ntu_cache_is_built_once_by_concurrent_processes(tmp_path):
    import subprocess
    import sys
    root = tmp_path / 'nturgbd'
    root.mkdir()
    for i in range(3):
        write_skeleton(root / f'S001C001P00{i + 1}R001A001.skeleton',
                       [{'1': joints(i + t)} for t in range(4)])
    code = ('from torch_skeleton_mae.datasets import NTURGBD; '
            f'NTURGBD({str(root)!r}, split=None, num_workers=1)')
    runs = [subprocess.Popen([sys.executable, '-c', code],
                             stdout=subprocess.PIPE, text=True)
            for _ in range(3)]
    printed = [run.communicate(timeout=120)[0] for run in runs]
    assert all(run.returncode == 0 for run in runs)
    # One process parsed; the others waited and read its cache.
    assert sum('parsed 3 of 3 files' in out for out in printed) == 1
    cache = root / '.torch_skeleton_mae'
    assert sorted(p.name for p in cache.iterdir()) == [
        '.lock', 'frames_normalized_v2.npy', 'index_normalized_v2.json']


def write_pyskl(path, two_d=True, num=6, V=17):
    rng = np.random.default_rng(0)
    annotations = []
    for i in range(num):
        M, T_ = 1 + i % 2, 5 + i
        ann = dict(frame_dir=f'clip{i}', total_frames=T_, label=i % 3,
                   keypoint=rng.standard_normal((M, T_, V, 2 if two_d else 3))
                   .astype(np.float32))
        if two_d:
            ann['keypoint_score'] = rng.uniform(0, 1, (M, T_, V)).astype(
                np.float32)
            ann['img_shape'] = ann['original_shape'] = (1080, 1920)
        annotations.append(ann)
    data = dict(split={'xsub_train': ['clip0', 'clip1', 'clip2', 'clip3'],
                       'xsub_val': ['clip4', 'clip5']},
                annotations=annotations)
    with open(path, 'wb') as f:
        pickle.dump(data, f)
    return data


def test_pyskl_2d_and_3d(tmp_path):
    data = write_pyskl(tmp_path / 'ntu60_hrnet.pkl')
    train = PysklDataset(tmp_path / 'ntu60_hrnet.pkl', 'xsub_train')
    assert train.skeleton.name == 'coco' and len(train) == 4
    x, label = train[1]
    ann = data['annotations'][1]
    assert x.shape == (2, 6, 17, 2) and label == 1  # the paper's (x, y)
    raw = torch.from_numpy(ann['keypoint'])  # (M, T, V, C)
    # Centered once, when the dataset is built.
    assert torch.equal(x[..., :2], T.CenterSequence('coco')(raw))
    plain = PysklDataset(tmp_path / 'ntu60_hrnet.pkl', 'xsub_train',
                         normalize=False)
    assert torch.equal(plain[1][0][..., :2], raw)
    assert train.pixel_noise == 1.0
    scored = PysklDataset(tmp_path / 'ntu60_hrnet.pkl', 'xsub_train',
                          score=True)
    x = scored[1][0]
    assert x.shape == (2, 6, 17, 3)
    assert torch.equal(x[..., 2], torch.from_numpy(ann['keypoint_score']))
    assert (train[0][0][1] == 0).all()  # one person, padded

    write_pyskl(tmp_path / 'ntu3d.pkl', two_d=False, V=25)
    three = PysklDataset(tmp_path / 'ntu3d.pkl', 'xsub_val')
    assert three.skeleton.name == 'nturgb+d'
    assert three[0][0].shape == (2, 9, 25, 3)


def test_pyskl_bad_input(tmp_path):
    path = tmp_path / 'bad.pkl'
    data = write_pyskl(path)
    with pytest.raises(ValueError, match="no split 'xview_train'"):
        PysklDataset(path, 'xview_train')
    with pytest.raises(ValueError, match=r"label 2 of 'clip2' is out of "
                                         r"range \[0, 2\)"):
        PysklDataset(path, num_classes=2)
    data['annotations'][4]['label'] = 1.5
    path.write_bytes(pickle.dumps(data))
    with pytest.raises(ValueError, match=r"'clip4' has label 1.5; expected "
                                         r"an integer class"):
        PysklDataset(path)
    path.write_bytes(pickle.dumps({'annotations': []}))
    with pytest.raises(ValueError, match="'split' is missing"):
        PysklDataset(path)
    path.write_bytes(pickle.dumps(data)[:200])  # truncated
    with pytest.raises(ValueError, match=r"bad.pkl: not a readable pickle "
                                         r"\(.*\); is it truncated"):
        PysklDataset(path)
    path.write_bytes(b'\x00not a pickle at all')
    with pytest.raises(ValueError, match='bad.pkl: not a readable pickle'):
        PysklDataset(path)


def test_pyskl_bad_samples_are_skipped_counted_and_named(tmp_path, capsys):
    """What a sample lacks is found when the dataset is built, not mid-epoch
    in collate; the good samples are kept."""
    path = tmp_path / 'ntu60_hrnet.pkl'
    data = write_pyskl(path)
    ann = data['annotations']
    del ann[0]['keypoint_score']                      # clip0: no score
    ann[1]['keypoint'] = ann[1]['keypoint'][:, :0]    # clip1: 0 frames
    ann[1]['keypoint_score'] = ann[1]['keypoint_score'][:, :0]
    ann[2]['keypoint_score'] = ann[2]['keypoint_score'][:, :-1]  # clip2: T
    ann[3]['keypoint'][0, 0, 0, 0] = np.nan           # clip3: NaN
    path.write_bytes(pickle.dumps(data))
    scored = PysklDataset(path, score=True)
    assert scored.skipped == {
        'without keypoint_score': ['clip0'],
        'without persons or frames': ['clip1'],
        'with keypoint_score shapes unlike their keypoint': ['clip2'],
        'with NaN or inf keypoints': ['clip3']}
    assert [m['name'] for m in scored.meta] == ['clip4', 'clip5']
    out = capsys.readouterr().out
    assert 'ntu60_hrnet.pkl (all): skipped 4 of 6 annotations' in out
    assert "1 without keypoint_score (e.g. 'clip0')" in out
    assert all(scored[i][0].shape[-1] == 3 for i in range(2))
    # Without the score channel a missing score is no problem.
    plain = PysklDataset(path)
    assert [m['name'] for m in plain.meta] == ['clip0', 'clip2', 'clip4',
                                               'clip5']
    # The wrong layout skips everything, saying why.
    with pytest.raises(ValueError, match="no usable annotation"):
        PysklDataset(path, layout='ntu-rgb+d')
    assert 'with keypoint shapes other than (M, T, 25, 3)' in (
        capsys.readouterr().out)


def test_npz(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((5, 12, 150)).astype(np.float32)
    y = np.eye(60)[[0, 5, 59, 3, 3]]
    np.savez(tmp_path / 'NTU60_CS.npz', x_train=x, y_train=y, x_test=x[:2],
             y_test=y[:2])
    data = NpzSkeletonDataset(tmp_path / 'NTU60_CS.npz', 'train')
    assert len(data) == 5 and data.num_classes == 60
    sample, label = data[2]
    assert sample.shape == (2, 12, 25, 3) and label == 59
    # (N, T, 2 bodies, 25 joints, xyz) -> (M, T, V, C)
    raw = torch.from_numpy(x[2].reshape(12, 2, 25, 3)).transpose(0, 1)
    # Centered and aligned once, when the file is read.
    assert torch.equal(sample, T.PreNormalize3D('ntu-rgb+d')(raw))
    plain = NpzSkeletonDataset(tmp_path / 'NTU60_CS.npz', normalize=False)
    assert torch.equal(plain[2][0], raw)
    assert len(NpzSkeletonDataset(tmp_path / 'NTU60_CS.npz', 'test')) == 2
    # Zero padding in time is not stored: items are the non-empty span.
    x[3, :2] = x[3, 9:] = 0
    np.savez(tmp_path / 'padded.npz', x_train=x, y_train=y)
    padded = NpzSkeletonDataset(tmp_path / 'padded.npz', normalize=False)
    assert torch.equal(padded[3][0], plain[3][0][:, 2:9])
    batch = padded.sample_frames(4).read_batch([3, 2])[0]
    assert batch.shape == (2, 2, 4, 25, 3)
    assert (batch[0] != 0).any(dim=(0, 2, 3)).all()

    np.savez(tmp_path / 'bad.npz', x_train=x[:, :, :75], y_train=y)
    with pytest.raises(ValueError, match=r"bad.npz: 'x_train' has shape "
                                         r"\(5, 12, 75\); expected"):
        NpzSkeletonDataset(tmp_path / 'bad.npz')
    with pytest.raises(ValueError, match="key 'x_test' is missing"):
        NpzSkeletonDataset(tmp_path / 'bad.npz', 'test')
    x[1, 3, 7] = np.inf
    np.savez(tmp_path / 'inf.npz', x_train=x, y_train=y)
    with pytest.raises(ValueError, match='sequence 1 .* NaN or inf'):
        NpzSkeletonDataset(tmp_path / 'inf.npz')


@pytest.mark.parametrize('y,expected', [
    (np.array([[4], [0], [59], [3], [3]]), [4, 0, 59, 3, 3]),  # a column
    (np.array([4, 0, 59, 3, 3]), [4, 0, 59, 3, 3]),
    (np.array([4.0, 0.0, 59.0, 3.0, 3.0]), [4, 0, 59, 3, 3]),
])
def test_npz_label_forms(tmp_path, y, expected):
    x = np.zeros((5, 4, 150), np.float32)
    np.savez(tmp_path / 'a.npz', x_train=x, y_train=y)
    data = NpzSkeletonDataset(tmp_path / 'a.npz', num_classes=60)
    assert [data[i][1] for i in range(5)] == expected
    assert data.num_classes == 60


@pytest.mark.parametrize('y,message', [
    (np.array([[1, 0, 0], [0, 1, 0], [0, 0, 0], [1, 0, 0], [0, 0, 1]]),
     r"row 2 is not one-hot \(exactly one 1, zeros elsewhere\): \[0, 0, 0\]"),
    (np.array([[1, 0], [0, 1], [1, 1], [1, 0], [0, 1]]),
     'row 2 is not one-hot'),
    (np.array([[1, 0], [0, .5], [1, 0], [1, 0], [0, 1]]),
     'row 1 is not one-hot'),
    (np.array([0, 1.5, 2, 0, 1]), r"row 1 has label 1.5; expected an integer"),
    (np.array([0, 1, -2, 0, 1]), r"row 2 has label -2; expected an integer"),
    (np.array([0, 1, 70, 0, 1]), r"row 2 of 'y_train' has label 70, beyond "
                                 r"60 classes"),
])
def test_npz_bad_labels_are_refused(tmp_path, y, message):
    x = np.zeros((5, 4, 150), np.float32)
    np.savez(tmp_path / 'b.npz', x_train=x, y_train=y)
    with pytest.raises(ValueError, match=message):
        NpzSkeletonDataset(tmp_path / 'b.npz', num_classes=60)


@pytest.mark.parametrize('layout,V', [('ntu-rgb+d', 25), ('coco', 17),
                                      ('openpose', 18)])
def test_synthetic(layout, V):
    data = SyntheticSkeletons(40, layout, num_frames=16, seed=3)
    x, label = data[5]
    C = 3 if layout == 'ntu-rgb+d' else 2  # xyz, or the xy of 2D layouts
    assert x.shape == (2, 16, V, C) and 0 <= label < 17
    if C == 2:
        scored = SyntheticSkeletons(40, layout, 16, seed=3, score=True)[5][0]
        assert torch.equal(scored[..., :2], x) and scored.shape[-1] == 3
    assert torch.equal(x, SyntheticSkeletons(400, layout, 16, seed=3)[5][0])
    assert not torch.equal(x, SyntheticSkeletons(40, layout, 16, seed=4)[5][0])
    assert torch.isfinite(x).all()
    labels = [data[i][1] for i in range(len(data))]
    assert sorted(set(labels)) == list(range(17)) == list(range(
        data.num_classes))
    # The two-person actions always have a second person.
    pairs = [i for i in range(len(data))
             if ACTIONS[labels[i]] in TWO_PERSON_ACTIONS]
    assert len(pairs) == 4
    assert all((data[i][0][1] != 0).any() for i in pairs)
    batch = next(iter(DataLoader(data, batch_size=8)))
    assert batch[0].shape == (8, 2, 16, V, C)
    assert to_frame_batch(batch[0], layout).num_graphs == 8 * 2 * 16


def test_synthetic_bone_lengths_are_plausible():
    data = SyntheticSkeletons(20, 'ntu-rgb+d', num_frames=32, noise=0.0)
    x = data[0][0][0]  # (T, V, 3)
    present = (x != 0).any(dim=-1).all(dim=-1)
    forearm = (x[present, 9] - x[present, 10]).norm(dim=-1)
    assert forearm.std() < 1e-4  # rigid bones under motion
    assert 0.15 < forearm.mean() < 0.4


def test_synthetic_splits():
    train = SyntheticSkeletons(300, split='train')
    val = SyntheticSkeletons(300, split='val')
    assert len(train) + len(val) == 300
    assert max(m['performer'] for m in train.meta) <= 28
    assert min(m['performer'] for m in val.meta) > 28
    xview = SyntheticSkeletons(300, split='val', benchmark='xview')
    assert {m['camera'] for m in xview.meta} == {1}
    with pytest.raises(ValueError, match="'split' must be"):
        SyntheticSkeletons(10, split='test')


def pyskl_uniform_sample(length, num_frames, offsets):
    """pyskl's UniformSampleFrames._get_train_clips, written out per frame
    in plain Python: segment i spans [i * L / T, (i + 1) * L / T)."""
    out = []
    for i in range(num_frames):
        begin, end = i * length / num_frames, (i + 1) * length / num_frames
        out.append(min(int(begin + offsets[i] * (end - begin)), length - 1))
    return out


def test_uniform_frame_indices_match_a_per_frame_reference():
    lengths = torch.tensor([1, 3, 17, 64, 65, 300])
    for train in (False, True):
        generator = torch.Generator().manual_seed(0)
        index = T.uniform_frame_indices(lengths, 16, train, generator)
        offsets = (torch.rand(6, 16, generator=torch.Generator().manual_seed(
            0)) if train else torch.full((6, 16), 0.5))
        assert index.shape == (6, 16)
        for row, length, draw in zip(index, lengths, offsets):
            assert row.tolist() == pyskl_uniform_sample(
                int(length), 16, draw.double().tolist())
    with pytest.raises(ValueError, match="'num_frames' must be >= 1"):
        T.uniform_frame_indices(lengths, 0)


def test_read_batch_is_the_items_stacked():
    data = SyntheticSkeletons(12, 'coco', num_frames=20).sample_frames(8)
    x, y = data.read_batch([5, 0, 5])
    assert x.shape == (3, 2, 8, 17, 2) and y.tolist() == [5, 0, 5]
    assert torch.equal(x[0], data[5][0]) and torch.equal(x[1], data[0][0])
    # Training draws: one generator, one vectorized read; the same seed,
    # the same batch.
    data.sample_frames(8, train=True)
    a = data.read_batch([1, 2], torch.Generator().manual_seed(4))[0]
    b = data.read_batch([1, 2], torch.Generator().manual_seed(4))[0]
    assert torch.equal(a, b) and not torch.equal(
        a, data.read_batch([1, 2], torch.Generator().manual_seed(5))[0])
    whole = data.sample_frames(None)[1][0]
    frames = T.uniform_frame_indices(torch.tensor([20]), 8, True,
                                     torch.Generator().manual_seed(4))[0]
    assert torch.equal(a[0], whole[:, frames])
    # A plain DataLoader uses the same vectorized read (__getitems__).
    loader = torch.utils.data.DataLoader(data, batch_size=4)
    assert torch.equal(next(iter(loader))[0], data.read_batch(range(4))[0])
    # Every batch is its own memory: the reader's gather buffer is reused,
    # the batches it returned are not.
    first = data.read_batch([3, 4])[0]
    kept = first.clone()
    data.read_batch([7, 8])
    assert torch.equal(first, kept)


def test_store_refuses_sequences_outside_the_frames():
    frames = np.zeros((4, 1, 17, 2), np.float32)
    with pytest.raises(ValueError, match='outside the 4 stored frames'):
        SkeletonSequences().store(frames, np.array([0, 2]), np.array([2, 3]),
                                  np.array([0, 1]))
    with pytest.raises(ValueError, match='outside the 4 stored frames'):
        SkeletonSequences().store(frames, np.array([-1]), np.array([2]),
                                  np.array([0]))


def rotation_reference(degrees):
    """x, then y, then z rotation by `degrees` (3,), written out in numpy."""
    a, b, c = np.radians(degrees)
    rx = np.array([[1, 0, 0], [0, np.cos(a), -np.sin(a)],
                   [0, np.sin(a), np.cos(a)]])
    ry = np.array([[np.cos(b), 0, -np.sin(b)], [0, 1, 0],
                   [np.sin(b), 0, np.cos(b)]])
    rz = np.array([[np.cos(c), -np.sin(c), 0], [np.sin(c), np.cos(c), 0],
                   [0, 0, 1]])
    return rz @ ry @ rx


def test_batch_augmentations_draw_per_sequence_on_the_device():
    x = torch.randn(5, 2, 6, 25, 4)  # xyz + a score channel
    x[:, 1] = 0  # absent second person
    u = torch.rand(5, 3, generator=torch.Generator().manual_seed(1)) * 2 - 1
    rotation = B.RandomRotation((10, 20, 30))
    out = rotation(x, torch.Generator().manual_seed(1))
    for n in range(5):
        r = rotation_reference((u[n] * torch.tensor([10, 20, 30])).numpy())
        expected = np.einsum('ij,mtvj->mtvi', r,
                             x[n, ..., :3].double().numpy())
        assert np.allclose(out[n, ..., :3].numpy(), expected, atol=1e-5)
    assert torch.equal(out[..., 3], x[..., 3]) and (out[:, 1] == 0).all()

    scale = B.RandomScale(0.2, 3)(x, torch.Generator().manual_seed(2))
    factors = 1 + 0.2 * (torch.rand(5, 3, generator=torch.Generator(
    ).manual_seed(2)) * 2 - 1)
    assert torch.allclose(scale[..., :3], x[..., :3] * factors[:, None,
                                                               None, None])
    shear = B.RandomShear(0.5).matrix(5, torch.Generator().manual_seed(3))
    assert torch.equal(torch.diagonal(shear, dim1=1, dim2=2), torch.ones(5, 3))
    assert shear.abs().max() <= 1 and not torch.equal(shear[0], shear[1])
    noisy = T.Compose([B.RandomRotation(), B.GaussianNoise(0.1, 3)])(
        x, torch.Generator().manual_seed(5))
    assert (noisy[:, 1] == 0).all() and torch.equal(noisy[..., 3], x[..., 3])
    # In place: the same draws, added to the batch itself.
    fresh = B.GaussianNoise(0.1, 3)(x, torch.Generator().manual_seed(6))
    same = x.clone()
    assert B.GaussianNoise(0.1, 3, inplace=True)(
        same, torch.Generator().manual_seed(6)) is same
    assert torch.equal(same, fresh) and not torch.equal(same, x)
    with pytest.raises(ValueError, match=r'expects a batch \(N, M, T, V, '
                                         r'C\), got \(2, 6, 25, 4\)'):
        B.RandomScale()(x[0])


def test_transforms():
    x = torch.zeros(2, 10, 25, 3)  # (M, T, V, C)
    x[0, 2:8] = torch.randn(6, 25, 3) + 5
    centered = T.CenterSequence('ntu-rgb+d')(x)
    assert torch.allclose(centered[0, 2, 20], torch.zeros(3))
    assert (centered[:, :2] == 0).all() and (centered[1] == 0).all()

    bone = T.JointToBone('ntu-rgb+d')(centered)
    assert torch.equal(bone[:, :, 20], torch.zeros(2, 10, 3))
    assert torch.allclose(bone[:, :, 3], centered[:, :, 3] - centered[:, :, 2])
    motion = T.ToMotion('ntu-rgb+d')(x)
    assert torch.equal(motion[:, 3], x[:, 4] - x[:, 3])
    with pytest.raises(ValueError, match=r'\(M, T, V, C\), got \(10, 25\)'):
        T.ToMotion('ntu-rgb+d')(torch.zeros(10, 25))


def test_bone_and_motion_keep_a_2d_score_a_score():
    """The layout says which channels are coordinates: a COCO score is
    averaged (as pyskl does), never differenced into negative values."""
    x = torch.rand(1, 5, 17, 3) + 0.1  # x, y, score > 0
    bone = T.JointToBone('coco')(x)
    parent = T.JointToBone('coco').parent
    xy, score = x[..., :2], x[..., 2]
    assert torch.allclose(bone[..., :2], xy - xy[:, :, parent])
    assert torch.allclose(bone[..., 2], (score + score[:, :, parent]) / 2)
    motion = T.ToMotion('coco')(x)
    assert torch.allclose(motion[:, :4, :, :2], xy[:, 1:] - xy[:, :4])
    assert torch.allclose(motion[:, :4, :, 2], (score[:, 1:] + score[:, :4])
                          / 2)
    assert (bone[..., 2] > 0).all() and (motion[:, :4, :, 2] > 0).all()


def test_prenormalize3d_canonical_view():
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(2, 6, 25, 3, generator=gen)  # (M, T, V, C)
    x[:, 0] = 0  # an empty first frame: the reference is frame 1
    x[1] = 0  # one person
    y = T.PreNormalize3D('ntu-rgb+d')(x)
    frame = y[0, 1]  # (V, 3)
    assert torch.allclose(frame[20], torch.zeros(3), atol=1e-6)  # centered
    spine = frame[1] - frame[0]
    assert torch.allclose(spine[:2], torch.zeros(2), atol=1e-5)
    assert spine[2] > 0
    shoulders = frame[4] - frame[8]
    assert abs(shoulders[1]) < 1e-5 and shoulders[0] > 0
    # A rotation of the centered input: pairwise distances are kept.
    flat_in = T.CenterSequence('ntu-rgb+d')(x)[0, 1:].reshape(-1, 3)
    flat_out = y[0, 1:].reshape(-1, 3)

    def distances(p):
        return (p[:, None] - p[None]).norm(dim=-1)
    assert torch.allclose(distances(flat_in), distances(flat_out), atol=1e-4)
    assert torch.equal(y[:, 0], torch.zeros(2, 25, 3))
    with pytest.raises(ValueError, match="no default axes for layout 'coco'"):
        T.PreNormalize3D('coco')


def test_random_shear_is_the_drawn_matrix():
    x = torch.randn(2, 4, 17, 3)
    y = B.RandomShear(0.3, num_coords=2)(
        x[None], torch.Generator().manual_seed(5))[0]
    matrix = B.RandomShear(0.3, num_coords=2).matrix(
        1, torch.Generator().manual_seed(5))[0]
    assert torch.equal(matrix.diagonal(), torch.ones(2))
    assert (matrix - torch.eye(2)).abs().max() <= 0.3
    expected = torch.einsum('ij,mtvj->mtvi', matrix, x[..., :2])
    assert torch.allclose(y[..., :2], expected)
    assert torch.equal(y[..., 2], x[..., 2])


def test_missing_skeleton_lists_of_ntu60_and_ntu120():
    names = missing_skeletons()
    assert len(names) == 535  # the NTU-120 list; NTU-60's 302 are in it
    setups = sorted({int(n[1:4]) for n in names})
    assert setups[0] == 1 and setups[-1] == 32 and 18 not in setups
    assert sum(int(n[1:4]) <= 17 for n in names) == 302
    assert all(parse_ntu_name(n) for n in names)


class _Payload:
    # Unpickling it would create a file: what a hostile pickle does.
    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, 'w'))


@pytest.mark.parametrize('protocol', [2, 4, 5])
def test_pyskl_pickle_reads_data_and_runs_nothing(tmp_path, protocol):
    data = write_pyskl(tmp_path / 'real.pkl')
    # The real shape of a pyskl file, numpy scalars and an object array
    # included, in each protocol numpy and pyskl write.
    data['annotations'][0]['extra'] = (np.float32(1.5), np.int64(3),
                                       np.array(['a', 1], dtype=object))
    (tmp_path / 'real.pkl').write_bytes(pickle.dumps(data, protocol))
    train = PysklDataset(tmp_path / 'real.pkl', 'xsub_train')
    assert len(train) == 4
    planted = tmp_path / 'planted'
    data['annotations'][0]['label'] = _Payload(planted)
    (tmp_path / 'evil.pkl').write_bytes(pickle.dumps(data, protocol))
    with pytest.raises(ValueError, match=r"evil.pkl: refused: it names "
                       r"'io.open', which a skeleton pickle never holds"):
        PysklDataset(tmp_path / 'evil.pkl', 'xsub_train')
    assert not planted.exists()


def test_ntu_limits_frames_and_bodies_before_allocating(tmp_path):
    # A new body ID in every frame: refused at the 65th ID, not after
    # allocating IDs x frames x 25 x 3.
    frames = [{str(t): joints(t)} for t in range(70)]
    path = write_skeleton(tmp_path / 'S001C001P001R001A001.skeleton', frames)
    with pytest.raises(ValueError, match=r'more than 64 body IDs by frame 64 '
                       r'\(max_bodies\)'):
        read_ntu_skeleton(path)
    assert read_ntu_skeleton(path, max_bodies=70).shape == (70, 70, 25, 3)
    # One body, then a million empty frames: refused from the header.
    path.write_text('1000000\n' + '0\n' * 10)
    with pytest.raises(ValueError, match=r':1: 1000000 frames; expected 0 to '
                       r'10000 \(max_frames\)'):
        read_ntu_skeleton(path)


def test_ntu_folder_keeps_the_good_files_beside_hostile_ones(tmp_path,
                                                             monkeypatch):
    import torch_skeleton_mae.datasets.ntu as ntu
    root = tmp_path / 'nturgbd'
    root.mkdir()
    write_skeleton(root / 'S001C001P001R001A001.skeleton',
                   [{'1': joints(t)} for t in range(4)])
    write_skeleton(root / 'S001C001P002R001A002.skeleton',
                   [{str(t): joints(t)} for t in range(70)])
    write_skeleton(root / 'S001C001P003R001A003.skeleton',
                   [{'1': joints(t)} for t in range(3)])
    read = ntu.read_ntu_skeleton

    def allocation_fails(path, *args, **kwargs):
        if 'P003' in str(path):
            raise MemoryError('Unable to allocate 112. GiB')
        return read(path, *args, **kwargs)
    monkeypatch.setattr(ntu, 'read_ntu_skeleton', allocation_fails)
    data = NTURGBD(root, 'xsub', None, num_workers=0)
    assert [m['name'] for m in data.meta] == ['S001C001P001R001A001']
    unreadable = data.skipped['unreadable']
    assert set(unreadable) == {'S001C001P002R001A002',
                               'S001C001P003R001A003'}
    assert 'more than 64 body IDs' in unreadable['S001C001P002R001A002']
    assert unreadable['S001C001P003R001A003'].endswith(
        'S001C001P003R001A003.skeleton: MemoryError: Unable to allocate '
        '112. GiB')


def test_npz_members_are_checked_before_they_are_read(tmp_path):
    import io
    import zipfile
    # A 16.8 GiB array claimed by a header with no data behind it.
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, dict(
        descr='<f4', fortran_order=False, shape=(100_000, 300, 150)))
    with zipfile.ZipFile(tmp_path / 'liar.npz', 'w') as archive:
        archive.writestr('x_train.npy', header.getvalue())
        archive.writestr('y_train.npy', header.getvalue())
    with pytest.raises(ValueError, match=r"liar.npz: key 'x_train': its "
                       r"header claims shape \(100000, 300, 150\) of float32 "
                       r"\(18000000000 bytes\); the archive stores 0"):
        NpzSkeletonDataset(tmp_path / 'liar.npz')
    # A compressed bomb: 48 MB of zeros in about 50 KB.
    np.savez_compressed(tmp_path / 'bomb.npz',
                        x_train=np.zeros((800, 100, 150), np.float32),
                        y_train=np.zeros(800))
    with pytest.raises(ValueError, match=r"bomb.npz: key 'x_train': \d+ "
                       r"compressed bytes expand to 48000128, more than 200 "
                       r"times \(max_compression\)"):
        NpzSkeletonDataset(tmp_path / 'bomb.npz')
    np.savez(tmp_path / 'objects.npz', x_train=np.array([None, 1]),
             y_train=np.zeros(2))
    with pytest.raises(ValueError, match=r"objects.npz: key 'x_train': "
                       r"dtype object holds Python objects"):
        NpzSkeletonDataset(tmp_path / 'objects.npz')
    (tmp_path / 'text.npz').write_text('not an archive')
    with pytest.raises(ValueError, match=r'text.npz: not an .npz archive'):
        NpzSkeletonDataset(tmp_path / 'text.npz')
