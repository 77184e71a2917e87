import dataclasses
import json
import re

import numpy as np
import pytest
import torch

from torch_skeleton_mae.datasets import (
    NWUCLA,
    PennAction,
    SyntheticSkeletons,
    load_dataset,
)
from torch_skeleton_mae.datasets.base import concat_sequences
from torch_skeleton_mae.datasets.nw_ucla import parse_nw_ucla_name
from torch_skeleton_mae.datasets.nw_ucla import ACTION_CODES
from torch_skeleton_mae.datasets.penn_action import HALF_WIDTH, PENN_ACTIONS
from torch_skeleton_mae.transforms import PreNormalize3D


def write_clip(folder, action, subject, repetition, view, frames, label=None,
               rng=None):
    """An NW-UCLA all_sqe clip as CTR-GCN's files hold it."""
    name = f'a{action:02d}_s{subject:02d}_e{repetition:02d}_v{view:02d}'
    rng = rng or np.random.default_rng(action * 100 + subject + view)
    joints = rng.normal(0, 0.3, (frames, 20, 3)) + [0, 0, 3]
    label = 1 + ACTION_CODES.index(action) if label is None else label
    (folder / f'{name}.json').write_text(json.dumps(dict(
        file_name=name, skeletons=joints.round(6).tolist(), label=label)))
    return name, joints.round(6)


@pytest.fixture
def ucla(tmp_path):
    root = tmp_path / 'all_sqe'
    root.mkdir()
    clips = {}
    for action, subject, view, frames in ((1, 1, 1, 5), (4, 2, 2, 7),
                                          (12, 6, 3, 4), (8, 7, 1, 1),
                                          (11, 3, 3, 6)):
        name, joints = write_clip(root, action, subject, 0, view, frames)
        clips[name] = joints
    return root, clips


def test_nw_ucla_splits_labels_and_coordinates(ucla):
    root, clips = ucla
    assert parse_nw_ucla_name('a12_s06_e03_v02.json') == dict(
        action=12, subject=6, repetition=3, view=2)
    train = NWUCLA(root, 'xview', 'train', normalize=False)
    val = NWUCLA(root, 'xview', 'val', normalize=False)
    # Cross-view: views 1 and 2 train, view 3 tests.
    assert [m['name'] for m in train.meta] == [
        'a01_s01_e00_v01', 'a04_s02_e00_v02', 'a08_s07_e00_v01']
    assert [m['name'] for m in val.meta] == ['a11_s03_e00_v03',
                                             'a12_s06_e00_v03']
    # Labels follow the action codes (no a07, a10): a08 is label 6.
    assert train.labels.tolist() == [0, 3, 6] and val.labels.tolist() == [
        8, 9]
    assert train.num_classes == 10 and train.lengths.tolist() == [5, 7, 1]
    for data in (train, val):
        for i, meta in enumerate(data.meta):
            x, y = data[i]
            expected = torch.from_numpy(clips[meta['name']]).float()
            assert x.shape == (1, len(expected), 20, 3)
            assert torch.equal(x[0], expected)
    xsub = NWUCLA(root, 'xsub', 'train', normalize=False)
    assert sorted(m['subject'] for m in xsub.meta) == [1, 2, 3]
    # Normalized: each clip as PreNormalize3D leaves it.
    normalized = NWUCLA(root, 'xview', 'train')
    x = torch.from_numpy(clips['a04_s02_e00_v02']).float()[None]
    assert torch.allclose(normalized[1][0], PreNormalize3D('kinect-v1')(x),
                          atol=1e-6)
    with pytest.raises(ValueError, match="Unknown NW-UCLA benchmark 'xset'"):
        NWUCLA(root, 'xset')


@pytest.mark.parametrize('content,why', [
    ('{"file_name": "x", "label": 1, "skel', 'not a JSON object'),
    ('[1, 2]', "expected a JSON object with 'label' and 'skeletons'"),
    (json.dumps(dict(label=3, skeletons=[[[0, 0, 1]] * 20])),
     r"label 3 does not match action a01"),
    (json.dumps(dict(label=1, skeletons=[[[0, 0, 1]] * 19])),
     r"'skeletons' has shape \(1, 19, 3\); expected \(T >= 1, 20, 3\)"),
    (json.dumps(dict(label=1, skeletons=[])), r"has shape \(0,\)"),
    (json.dumps(dict(label=1, skeletons=[[[0, 'a', 1]] * 20])),
     'not a \\(T, 20, 3\\) array of numbers'),
    (json.dumps(dict(label=1, skeletons=[[[0, float('nan'), 1]] * 20])),
     'NaN or inf'),
])
def test_nw_ucla_bad_files_cost_only_themselves(ucla, capsys, content, why):
    root, _ = ucla
    (root / 'a01_s04_e01_v01.json').write_text(content)
    data = NWUCLA(root, 'xview', 'train')
    assert len(data) == 3  # the good ones
    assert list(data.skipped) == ['a01_s04_e01_v01.json']
    assert data.skipped['a01_s04_e01_v01.json'].startswith(str(root))
    assert re.search(why, data.skipped['a01_s04_e01_v01.json'])
    out = capsys.readouterr().out
    assert 'read 5 of 6 files' in out and 'skipped 1' in out
    assert 'a01_s04_e01_v01.json' in out


def test_nw_ucla_bad_name_and_empty_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match='no .json files'):
        NWUCLA(tmp_path)
    write_clip(tmp_path, 1, 1, 0, 1, 3)
    (tmp_path / 'clip.json').write_text('{"label": 1, "skeletons": []}')
    data = NWUCLA(tmp_path, split=None)
    assert len(data) == 1
    assert "'clip.json' is not an NW-UCLA name" in data.skipped['clip.json']
    with pytest.raises(ValueError, match="no readable sequence of split "
                       "'val'"):
        NWUCLA(tmp_path, split='val')


def write_video(folder, index, action, train, x, y, visible,
                dimensions=(270, 480)):
    savemat = pytest.importorskip('scipy.io').savemat
    T = len(x)
    savemat(folder / f'{index:04d}.mat', dict(
        action=action, pose='front', x=x, y=y, visibility=visible,
        train=1 if train else -1, bbox=np.zeros((T, 4)),
        dimensions=np.array([*dimensions, T], np.uint16), nframes=T))


@pytest.fixture
def penn(tmp_path):
    pytest.importorskip('scipy')
    root = tmp_path / 'labels'
    root.mkdir()
    rng = np.random.default_rng(0)
    videos = {}
    for index, (action, train, T) in enumerate(
            (('bowl', True, 4), ('pullup', False, 3), ('squat', True, 5),
             ('tennis_serve', True, 2)), start=1):
        x, y = rng.uniform(1, 480, (2, T, 13))
        visible = rng.integers(0, 2, (T, 13)).astype(np.uint8)
        write_video(root, index, action, train, x, y, visible)
        videos[f'{index:04d}'] = (x, y, visible)
    return root, videos


def test_penn_action_splits_labels_and_coordinates(penn):
    root, videos = penn
    train = PennAction(root, 'train', normalize=False, score=True)
    assert [m['name'] for m in train.meta] == ['0001', '0003', '0004']
    assert train.labels.tolist() == [PENN_ACTIONS.index(a) for a in (
        'bowl', 'squat', 'tennis_serve')]
    assert train.num_classes == 15 and train.lengths.tolist() == [4, 5, 2]
    assert [m['view'] for m in train.meta] == ['front'] * 3
    val = PennAction(root, 'val')
    assert [m['name'] for m in val.meta] == ['0002'] and len(val) == 1
    # Raw: pixels, and the visibility as a channel; invisible joints keep
    # the annotators' coordinates.
    x, label = train[0]
    px, py, visible = videos['0001']
    assert x.shape == (1, 4, 13, 3)
    assert torch.allclose(x[0], torch.from_numpy(
        np.stack([px, py, visible], axis=-1)).float())
    assert (visible == 0).any()
    # Normalized: half-widths, y up, centred on the head of frame 0.
    x = PennAction(root, 'train')[0][0][0]
    u, v = (px - 240) / 240, (135 - py) / 240
    expected = np.stack([u - u[0, 0], v - v[0, 0]], axis=-1)
    assert x.shape == (4, 13, 2)
    assert torch.allclose(x, torch.from_numpy(expected).float(), atol=1e-6)
    assert PennAction(root, 'train').pixel_noise == 1 / HALF_WIDTH


def test_penn_action_zero_frames_and_bad_files(penn, capsys):
    root, _ = penn
    rng = np.random.default_rng(1)
    x, y = rng.uniform(1, 400, (2, 3, 13))
    x[-1], y[-1] = 0, 0  # a video that ends on an all-zero frame
    write_video(root, 5, 'pushup', True, x, y, np.ones((3, 13)))
    write_video(root, 6, 'surfing', True, x, y, np.ones((3, 13)))
    write_video(root, 7, 'pushup', True, x[:, :12], y[:, :12],
                np.ones((3, 12)))
    (root / '0008.mat').write_bytes(
        (root / '0001.mat').read_bytes()[:100])  # truncated
    data = PennAction(root, 'train')
    assert [m['name'] for m in data.meta] == ['0001', '0003', '0004', '0005']
    # The all-zero frame is absent: the stored sequence ends before it.
    assert data.lengths.tolist()[-1] == 2
    assert set(data.skipped) == {'0006.mat', '0007.mat', '0008.mat'}
    assert "unknown action 'surfing'" in data.skipped['0006.mat']
    assert ("have shapes (3, 12), (3, 12), (3, 12); expected the same "
            "(T >= 1, 13)") in data.skipped['0007.mat']
    assert 'not a readable MATLAB file' in data.skipped['0008.mat']
    assert 'read 5 of 8 files' in capsys.readouterr().out


def test_penn_action_without_scipy_says_so(tmp_path, monkeypatch):
    import builtins
    real_import = builtins.__import__

    def no_scipy(name, *args, **kwargs):
        if name.startswith('scipy'):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, '__import__', no_scipy)
    with pytest.raises(ImportError, match='pip install scipy'):
        PennAction(tmp_path)


def test_load_dataset_recognises_both_folders(ucla, penn):
    ucla_root, _ = ucla
    data = load_dataset(ucla_root, 'xview', 'val', 8)
    assert isinstance(data, NWUCLA) and len(data) == 2
    assert data[0][0].shape == (1, 8, 20, 3) and not data.train
    penn_root, _ = penn
    data = load_dataset(penn_root, 'none', 'train', 6)
    assert isinstance(data, PennAction) and data.train
    assert data[0][0].shape == (1, 6, 13, 2)
    with pytest.raises(ValueError, match="Penn Action has one split, "
                       "benchmark 'none', got 'xsub'"):
        load_dataset(penn_root, 'xsub', 'train', 6)


@pytest.mark.parametrize('layout,C', [('kinect-v1', 3), ('penn-action', 2)])
def test_synthetic_in_the_real_layouts(layout, C):
    data = SyntheticSkeletons(20, layout, 8, normalize=True, max_persons=1)
    both = SyntheticSkeletons(20, layout, 8, normalize=False)
    V = 20 if layout == 'kinect-v1' else 13
    assert data[0][0].shape == (1, 8, V, C) and both[0][0].shape == (
        2, 8, V, C)
    # One person of the same motion, preprocessed as real data is.
    from torch_skeleton_mae.datasets.base import normalizer
    x = both[3][0][:1]
    assert torch.allclose(data[3][0], normalizer(layout)(x), atol=1e-5)
    with pytest.raises(ValueError, match="'max_persons' must be 1 or 2"):
        SyntheticSkeletons(4, layout, 8, max_persons=3)


def test_concat_sequences(ucla):
    root, _ = ucla
    real = NWUCLA(root, 'xview', 'train').sample_frames(4, train=False)
    synthetic = SyntheticSkeletons(6, 'kinect-v1', 8, normalize=True,
                                   max_persons=1)
    both = concat_sequences(real, synthetic)
    assert len(both) == 9 and both.num_frames == 4 and not both.train
    for i in range(3):
        assert torch.equal(both[i][0], real[i][0])
    synthetic.sample_frames(4)
    for i in range(6):
        assert torch.equal(both[3 + i][0], synthetic[i][0])
    assert both.labels.tolist() == real.labels.tolist() + \
        synthetic.labels.tolist()
    with pytest.raises(ValueError, match=r"frames of layout 'coco' and shape"):
        concat_sequences(real, SyntheticSkeletons(4, 'coco', 8))


def bfs_nearest(skeleton, masked):
    """For every joint the nearest unmasked joint (lowest index on a tie),
    by breadth-first search from each joint."""
    neighbors = {v: set() for v in range(skeleton.num_joints)}
    for i, j in skeleton.bones:
        neighbors[i].add(j)
        neighbors[j].add(i)
    out = []
    for v in range(skeleton.num_joints):
        frontier, seen = [v], {v}
        while not [u for u in frontier if u not in masked]:
            frontier = sorted({w for u in frontier for w in neighbors[u]}
                              - seen)
            seen.update(frontier)
        out.append(min(u for u in frontier if u not in masked))
    return out


@pytest.mark.parametrize('layout,parts', [('kinect-v1', (3, 5)),
                                          ('penn-action', (3, 5)),
                                          ('coco', (0, 2))])
def test_trivial_predictors(layout, parts):
    from torch_skeleton_mae.engine.reconstruction import (
        mirror_index,
        mirrored_limb,
        nearest_joint,
    )
    from torch_skeleton_mae.graph import get_skeleton
    skeleton = get_skeleton(layout)
    names = list(skeleton.parts)
    masked_joints = {j for p in parts for j in skeleton.parts[names[p]]}
    V = skeleton.num_joints
    joints = torch.randn(2, 1, 3, V, skeleton.coords)
    masked = torch.zeros(2, 1, 1, V, dtype=torch.bool)
    masked[..., sorted(masked_joints)] = True
    masked[1] = False  # the second sequence has nothing masked
    nearest = nearest_joint(joints, masked, skeleton)
    reference = bfs_nearest(skeleton, masked_joints)
    assert torch.equal(nearest[0], joints[0][..., reference, :])
    assert torch.equal(nearest[1], joints[1])
    mirror = mirror_index(skeleton).tolist()
    for left, right in (('left_arm', 'right_arm'), ('left_leg', 'right_leg')):
        for a, b in zip(skeleton.parts[left], skeleton.parts[right]):
            assert mirror[a] == b and mirror[b] == a
    if names[parts[0]] == 'head':  # no counterpart: refused
        with pytest.raises(ValueError, match='mirrored-limb predictor'):
            mirrored_limb(joints, masked, skeleton)
        return
    mirrored = mirrored_limb(joints, masked, skeleton)
    torso = list(skeleton.parts['torso'])
    for v in masked_joints:
        c = joints[..., torso, 0].mean(-1)
        assert torch.allclose(mirrored[..., v, 0],
                              2 * c - joints[..., mirror[v], 0])
        assert torch.equal(mirrored[..., v, 1:], joints[..., mirror[v], 1:])
    both_arms = masked.clone()
    both_arms[..., list(skeleton.parts['left_arm'])] = True
    with pytest.raises(ValueError, match='counterpart is not masked'):
        mirrored_limb(joints, both_arms, skeleton)


def test_reconstruction_baselines_score_as_the_model_does(ucla):
    from torch_skeleton_mae.engine.loader import make_loader
    from torch_skeleton_mae.engine.reconstruction import (
        joint_means,
        reconstruction_baselines,
    )
    from torch_skeleton_mae.nn import SkeletonMAE
    from torch_skeleton_mae.nn.loss import scaled_cosine_error
    root, _ = ucla
    data = NWUCLA(root, split=None).sample_frames(6)
    cpu = torch.device('cpu')
    loader = make_loader(data, 16, cpu, train=False)
    means = joint_means(loader, 20)
    x = torch.stack([data[i][0] for i in range(len(data))])
    mask = (x != 0).any(-1, keepdim=True)  # x: (N, M, T, V, C)
    expected = (x * mask).sum((0, 1, 2)) / mask.sum((0, 1, 2))
    assert torch.allclose(means, expected, atol=1e-6)
    torch.manual_seed(0)
    model = SkeletonMAE('kinect-v1', 3).eval()
    errors = reconstruction_baselines(model, loader, cpu, means, seed=0)
    # One batch: the model's entry is its own masked-joint loss.
    with torch.no_grad():
        out = model(x, torch.Generator().manual_seed(0))
        assert errors['model'] == pytest.approx(float(out.loss),
                                                rel=1e-5)
        guess = model.embedding(means).expand(len(data), 1, 6, 20, -1)
        assert errors['joint_mean'] == pytest.approx(float(
            scaled_cosine_error(guess, out.target, out.loss_mask)), rel=1e-5)
    assert set(errors) == {'model', 'joint_mean', 'mirrored_limb',
                           'nearest_joint'}
    assert all(0 <= v <= 4 for v in errors.values())


def many_clips(root, per_class=2):
    """Two clips of every NW-UCLA class in views 1 and 2, one in view 3."""
    for code in ACTION_CODES:
        for k, view in enumerate((1, 2, 3)[:per_class] + (3, )):
            write_clip(root, code, 1 + k, k, view, 5 + k)


def test_real_data_protocols(tmp_path, capsys):
    from torch_skeleton_mae.engine.recipes import NW_UCLA
    from torch_skeleton_mae.engine.cli import (
        UsageError,
        data_of,
        parse_args,
        pretrain_command,
        recipe_of,
    )
    root = tmp_path / 'all_sqe'
    root.mkdir()
    many_clips(root)
    data = ['--data', str(root), '--dataset', 'nw-ucla', '--workers', '0',
            '--frames', '4']
    args = parse_args('finetune', data)
    assert data_of(args).settings['split'] == 'xview'  # NW-UCLA's only
    assert recipe_of(args) == dataclasses.replace(NW_UCLA.finetune, frames=4)
    # --holdout: half of every class of the training split evaluates.
    held = data_of(parse_args('finetune', data + ['--holdout', '0.5']))
    train_names = {m['name'] for m in held.train.dataset.meta}
    names = [[held.train.dataset.meta[i]['name'] for i in part.indices]
             for part in (held.train, held.val)]
    assert set(names[0]) | set(names[1]) == train_names
    assert not set(names[0]) & set(names[1]) and len(names[1]) == 10
    assert held.train.dataset.train and not held.val.dataset.train
    result = pretrain_command(data + [
        '--epochs', '1', '--batch-size', '8', '--synthetic', '12',
        '--rotate', '10', '--scale', '0.1', '--out', str(tmp_path / 'pre')])
    errors = json.loads((tmp_path / 'pre' / 'reconstruction.json').read_text())
    assert errors == result['reconstruction']
    assert set(errors) == {'model', 'joint_mean', 'mirrored_limb',
                           'nearest_joint'}
    out = capsys.readouterr().out
    assert 'masked-joint error on the evaluation set' in out
    assert f"model {errors['model']:.3f}" in out
    log = (tmp_path / 'pre' / 'pretrain.csv').read_text().splitlines()
    assert len(log) == 2
    with pytest.raises(UsageError, match='it needs --data and no --holdout'):
        pretrain_command(data + ['--synthetic', '4', '--holdout', '0.5',
                                 '--out', str(tmp_path / 'x')])
    with pytest.raises(UsageError, match='--synthetic adds synthetic'):
        parse_args('pretrain', ['--synthetic', '4'])
    with pytest.raises(UsageError, match=r'--holdout must lie in \(0, 1\)'):
        data_of(parse_args('pretrain', data + ['--holdout', '1']))


def load_script(name, folder='experiments'):
    """The module of FOLDER/NAME.py."""
    import importlib.util
    from pathlib import Path
    path = Path(__file__).parents[1] / folder / f'{name}.py'
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def tiny_real_data(root):
    """Both real sets' folders below root, a few tiny files each."""
    (root / 'nw_ucla' / 'all_sqe').mkdir(parents=True)
    (root / 'penn_action' / 'labels').mkdir(parents=True)
    many_clips(root / 'nw_ucla' / 'all_sqe')
    rng = np.random.default_rng(0)
    for index in range(12):
        x, y = rng.uniform(1, 400, (2, 6, 13))
        write_video(root / 'penn_action' / 'labels', index + 1,
                    PENN_ACTIONS[index % 3], index < 8, x, y,
                    np.ones((6, 13)))
    return root


@pytest.mark.full
def test_strl_real_example(tmp_path, monkeypatch):
    pytest.importorskip('scipy')
    example = load_script('strl_real')
    # 10% of two or three clips a class is one, too few for the floor's
    # held-out choice: 75% keeps 2 of every class.
    monkeypatch.setitem(example.LABELS, '10%', (0.75, '_10'))
    root = tiny_real_data(tmp_path / 'data')
    out = tmp_path / 'out'
    flags = ['--data-root', str(root), '--out', str(out),
             '--pretrain-epochs', '1', '--finetune-epochs', '1',
             '--semi-epochs', '1', '--linear-epochs', '5']
    summary = example.main(flags + ['--seeds', '0'])
    for dataset in ('nw-ucla', 'penn-action'):
        runs = summary['datasets'][dataset]['seeds']['seed0']
        assert sorted(runs) == sorted(['pretrain', 'probe', 'floor',
                                       'pretrained',
                                       'scratch', 'floor_10', 'pretrained_10',
                                       'scratch_10'])
        folder = out / dataset / 'seed0'
        # The probes and reconstruction are the pre-training's own files.
        scored = folder / 'pretrain'
        assert runs['probe']['top1'] == json.loads(
            (scored / 'probe.json').read_text())['top1']
        assert runs['probe']['random_top1'] == json.loads(
            (scored / 'probe_random.json').read_text())['top1']
        assert runs['probe']['reconstruction'] == json.loads(
            (scored / 'reconstruction.json').read_text())
        preset = example.preset_for(dataset)
        for suffix, recipe in (('', preset.finetune), ('_10', preset.semi)):
            for part in ('pretrained', 'scratch'):
                report = json.loads((folder / (part + suffix) /
                                     'finetune_eval.json').read_text())
                assert runs[part + suffix]['top1'] == report['top1']
                # Each protocol fine-tunes with its own recipe.
                record = torch.load(folder / (part + suffix) / 'last.pt',
                                    weights_only=True)['run']['recipe']
                assert record['batch_size'] == recipe.batch_size
                assert record['lr'] == recipe.lr and record['epochs'] == 1
            floor = json.loads((folder / ('floor' + suffix) /
                                'raw_joint_floor.json').read_text())
            assert runs['floor' + suffix]['top1'] == floor['top1']
        # The pre-trained STRL holds the pre-training's encoder weights
        # before fine-tuning: its run record names the preset's settings.
        record = torch.load(folder / 'pretrained' / 'last.pt',
                            weights_only=True)['run']['model']
        assert record['pool_heads'] == 4 and record['channels'] == (
            64, 128, 256)
    # Further invocations (another seed, its parts split between two) read
    # the first one's runs back and the summary holds both, the gain paired
    # per seed.
    seed1 = flags + ['--seeds', '1', '--datasets', 'nw-ucla', '--labels',
                     'all', '--parts']
    summary = example.main(seed1 + ['scratch'])
    assert sorted(summary['datasets']['nw-ucla']['seeds']['seed1']) == [
        'pretrain', 'probe', 'scratch']
    summary = example.main(seed1 + ['floor', 'pretrained'])
    nw = summary['datasets']['nw-ucla']
    assert sorted(nw['seeds']) == ['seed0', 'seed1']
    gains = [r['pretrained']['top1'] - r['scratch']['top1']
             for r in nw['seeds'].values()]
    assert nw['mean']['all']['gain']['top1'] == pytest.approx(np.mean(gains))
    # Seed 1 ran no 10% fine-tuning: that protocol's means have seed 0 only.
    assert nw['mean']['10%']['gain']['n'] == 1
    assert (out / 'strl_real.rst').read_text() == example.table(summary)
    assert (out / 'strl_real_probe.rst').read_text() == (
        example.probe_table(summary))
    assert nw['probe']['gain']['n'] == 2
    sentence = (out / 'strl_real_readme.txt').read_text().strip()
    assert sentence == example.readme_sentence(summary)
    assert 'on NW-UCLA (cross-view)' in sentence and '(2 seeds;' in sentence


def test_nw_ucla_keeps_the_good_files_beside_hostile_ones(ucla, capsys):
    root, clips = ucla
    # 400 KB of nested brackets: json raises RecursionError.
    (root / 'a01_s01_e09_v01.json').write_text('[' * 400_000)
    data = NWUCLA(root, 'xview', None)
    assert sorted(m['name'] for m in data.meta) == sorted(clips)
    why = data.skipped['a01_s01_e09_v01.json']
    assert why.startswith(str(root / 'a01_s01_e09_v01.json'))
    assert 'RecursionError' in why
    assert 'skipped 1' in capsys.readouterr().out


def test_penn_action_frames_are_checked_against_the_files_own_fields(penn):
    root, videos = penn
    savemat = pytest.importorskip('scipy.io').savemat
    x = np.ones((6, 13))
    # A compressed video of 50,000 identical frames: refused from its
    # headers; one whose fields disagree with its joints: refused too.
    savemat(root / '0005.mat', dict(
        action='bowl', pose='front', x=np.ones((50_000, 13)),
        y=np.ones((50_000, 13)), visibility=np.ones((50_000, 13)), train=1,
        dimensions=np.array([270, 480, 50_000]), nframes=50_000),
        do_compression=True)
    write_video(root, 6, 'bowl', True, x, x, x)
    savemat(root / '0007.mat', dict(
        action='bowl', pose='front', x=x, y=x, visibility=x, train=1,
        dimensions=np.array([270, 480, 6]), nframes=9))
    data = PennAction(root, 'train')
    assert [m['name'] for m in data.meta] == ['0001', '0003', '0004', '0006']
    assert data.skipped['0005.mat'].endswith(
        "0005.mat: 50000 frames; expected at most 10000 (max_frames)")
    assert data.skipped['0007.mat'].endswith(
        "0007.mat: 6 frames of joints, but 'nframes' and 'dimensions' say "
        "['9', '6']")
    assert len(PennAction(root, 'train', max_frames=60_000)) == 5
