"""Several input streams: one STRL per stream, trained and fused."""
import dataclasses
import itertools
import json

import numpy as np
import pytest
import torch

from torch_skeleton_mae.engine import (
    QUICK,
    RunOptions,
    finetune_streams,
    load_data,
)
from torch_skeleton_mae.engine.cli import finetune_command, fuse_command
from torch_skeleton_mae.engine.evaluation import predict
from torch_skeleton_mae.engine.flags import UsageError
from torch_skeleton_mae.engine.loader import make_loader
from torch_skeleton_mae.engine.streams import choose_weights, fuse
from torch_skeleton_mae.nn import STRL, SkeletonMAE

RECIPE = dataclasses.replace(QUICK.finetune, epochs=1, frames=8,
                             batch_size=16, warmup=0, milestones=())
DATA = dict(samples=60, holdout=0.3)
OPTIONS = RunOptions(workers=0)
TINY = ['--samples', '60', '--frames', '8', '--workers', '0',
        '--batch-size', '16', '--epochs', '1']


def softmax(z):
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def test_fuse_is_the_weighted_mean_of_the_softmax_scores():
    logits = torch.randn(3, 7, 5, dtype=torch.float64)
    weights = [1.0, 0.5, 0.25]
    expected = sum(w * softmax(z) for w, z in zip(weights, logits.numpy()))
    assert np.allclose(fuse(logits, weights).numpy(), expected / 1.75)


def test_choose_weights_is_the_best_of_the_grid_nearest_equal():
    torch.manual_seed(0)
    labels = torch.randint(0, 4, (30, ))
    logits = torch.randn(3, 30, 4) + 2 * torch.nn.functional.one_hot(
        labels, 4) * torch.rand(3, 30, 1)
    probs = softmax(logits.double().numpy())
    # Every point of the grid scored by hand.
    scored = []
    for w in itertools.product(np.arange(11) / 10, repeat=3):
        if sum(w) == 0:
            continue
        fused = np.einsum('s,snk->nk', np.array(w), probs)
        scored.append(((fused.argmax(1) == labels.numpy()).sum(),
                       np.array(w) / sum(w)))
    best = max(s for s, _ in scored)
    chosen = np.array(choose_weights(logits, labels))
    right = (np.einsum('s,snk->nk', chosen, probs).argmax(1) ==
             labels.numpy()).sum()
    assert right == best and chosen.max() == 1.0
    nearest = min(((w - 1 / 3)**2).sum() for s, w in scored if s == best)
    assert np.isclose(((chosen / chosen.sum() - 1 / 3)**2).sum(), nearest)


def test_choose_weights_prefers_the_stream_that_is_right():
    # The second stream is right wherever the first is wrong, as sure of
    # itself: any weights giving it more win; of those, 0.9 : 1 is nearest
    # equal.
    labels = torch.tensor([0, 1, 1, 0])
    right = torch.nn.functional.one_hot(labels, 2).float() * 4
    chosen = choose_weights(torch.stack([4 - right, right]), labels)
    assert chosen == [0.9, 1.0]
    with pytest.raises(ValueError, match='at most 5 streams, got 6; give '
                       'the weights'):
        choose_weights(torch.zeros(6, 4, 2), labels)


def test_finetune_streams_trains_each_stream_and_fuses_on_held_out_weights(
        tmp_path, capsys):
    mae = SkeletonMAE('coco', 2)
    results, fusion = finetune_streams(
        RECIPE, tmp_path, ('joint', 'bone', 'motion'), OPTIONS,
        pretrained=dict(bone=mae), settings=dict(freeze_encoder=True,
                                                 channels=(8, 16),
                                                 strides=(2, 1)), **DATA)
    assert list(results) == fusion.streams == ['joint', 'bone', 'motion']
    assert fusion.chosen == 'held-out' and max(fusion.weights) == 1.0
    # Each run evaluated its stream of the held-out part; so did the fusion.
    for i, stream in enumerate(fusion.streams):
        report = json.loads((tmp_path / stream / 'finetune_eval.json'
                             ).read_text())
        assert report['top1'] == pytest.approx(
            fusion.held_out['per_stream'][i], abs=1e-6)
    # The test split, scored independently from each run's checkpoint.
    logits = []
    for stream in fusion.streams:
        model = STRL.from_checkpoint(tmp_path / stream / 'last.pt')
        data = load_data(frames=8, samples=60, stream=stream)
        scores, labels = predict(model, make_loader(
            data.val, 64, torch.device('cpu'), train=False),
            torch.device('cpu'))
        logits.append(scores)
    logits = torch.stack(logits)
    assert fusion.per_stream == pytest.approx(
        (logits.argmax(-1) == labels).float().mean(-1).tolist())
    fused = np.einsum('s,snk->nk', np.array(fusion.weights),
                      softmax(logits.double().numpy()))
    assert fusion.fused.top1 == pytest.approx(
        (fused.argmax(1) == labels.numpy()).mean())
    assert json.loads((tmp_path / 'fusion.json').read_text())['weights'] == (
        fusion.weights)
    # The pre-trained stream kept the frozen encoder; the others are random.
    bone = STRL.from_checkpoint(tmp_path / 'bone' / 'last.pt')
    joint = STRL.from_checkpoint(tmp_path / 'joint' / 'last.pt')
    assert torch.equal(bone.embedding.weight, mae.embedding.weight)
    assert not torch.equal(joint.embedding.weight, mae.embedding.weight)
    assert 'fusion (held-out weights' in capsys.readouterr().out


def test_fuse_command_given_weights_and_refusals(tmp_path, capsys):
    for stream in ('joint', 'motion'):
        finetune_command(TINY + ['--stream', stream, '--out',
                                 str(tmp_path / stream)])
    runs = [str(tmp_path / 'joint'), str(tmp_path / 'motion')]
    summary = fuse_command(runs + ['--weights', '1,0.5', '--out',
                                   str(tmp_path / 'fused')])
    assert summary['chosen'] == 'given' and summary['weights'] == [1.0, 0.5]
    assert (tmp_path / 'fused' / 'fusion.json').is_file()
    assert fuse_command(runs)['chosen'] == 'equal'
    with pytest.raises(UsageError, match=r"'weights' must be 2 non-negative"):
        fuse_command(runs + ['--weights', '1'])
    with pytest.raises(UsageError, match=r'no fine-tuning run here'):
        fuse_command([str(tmp_path)])
    finetune_command(TINY + ['--samples', '80', '--out',
                             str(tmp_path / 'other')])
    with pytest.raises(UsageError, match=r"differs from .*joint: "
                       r"samples=80 vs 60"):
        fuse_command(runs[:1] + [str(tmp_path / 'other')])


def test_finetune_streams_flags_and_refusals(tmp_path, monkeypatch):
    with pytest.raises(UsageError, match='give one of them'):
        finetune_command(TINY + ['--stream', 'bone', '--streams', 'all'])
    with pytest.raises(UsageError, match=r'--streams: must be .all. or '
                       r'distinct ones of joint,bone,motion,bone_motion, '
                       r'got joint,joint'):
        finetune_command(TINY + ['--streams', 'joint,joint'])
    with pytest.raises(UsageError, match=r'with \{stream\} in the path'):
        finetune_command(TINY + ['--streams', 'all', '--pretrained',
                                 'kinect-v1-pool'])
    mae = SkeletonMAE('coco', 2)
    torch.save(dict(model=mae.state_dict(), config=mae.config),
               tmp_path / 'pre_joint.pt')
    with pytest.raises(UsageError, match=r'--pretrained .*pre_bone.pt: no '
                       r'such checkpoint'):
        finetune_command(TINY + ['--streams', 'joint,bone', '--pretrained',
                                 str(tmp_path / 'pre_{stream}.pt')])
    with pytest.raises(ValueError, match="'pretrained' names streams not "
                       r"trained: \['motion'\]"):
        finetune_streams(RECIPE, tmp_path, ('joint', ),
                         pretrained=dict(motion='x'))
    monkeypatch.setenv('WORLD_SIZE', '2')
    with pytest.raises(ValueError, match='under torchrun, fine-tune each '
                       'stream on its own'):
        finetune_streams(RECIPE, tmp_path)


def test_finetune_command_streams_end_to_end(tmp_path):
    summary = finetune_command(TINY + ['--streams', 'joint,bone_motion',
                                       '--out', str(tmp_path)])
    assert summary['streams'] == ['joint', 'bone_motion']
    assert summary['chosen'] == 'equal' and summary['weights'] == [1., 1.]
    assert set(summary['history']) == {'joint', 'bone_motion'}
    for stream in ('joint', 'bone_motion'):
        assert (tmp_path / stream / 'last.pt').is_file()
    with pytest.raises(UsageError, match='holds an earlier finetune run'):
        finetune_command(TINY + ['--streams', 'bone,joint', '--out',
                                 str(tmp_path)])
