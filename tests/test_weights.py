import dataclasses

import numpy as np
import pytest
import torch

from torch_skeleton_mae.engine import QUICK, RunOptions, finetune, load_data
from torch_skeleton_mae.nn import STRL, SkeletonMAE
from torch_skeleton_mae.utils import read_checkpoint
from torch_skeleton_mae.weights import WEIGHTS, weights_path


def test_every_shipped_name_loads_by_name():
    for name in WEIGHTS:
        assert weights_path(name).is_file()
        state = read_checkpoint(name)
        mae = SkeletonMAE.from_checkpoint(name)
        for key, value in mae.state_dict().items():
            assert torch.equal(value, state['model'][key])
    pool = read_checkpoint('kinect-v1-pool')['pool']
    assert pool['windows'] == sum(s['windows']
                                  for s in pool['sources'].values())
    assert set(pool['sources']) == {'msrc12', 'bandai-namco', 'cmu',
                                    'nw-ucla'}


def test_an_unknown_name_lists_the_shipped_ones():
    with pytest.raises(FileNotFoundError, match=r"'kinect-v2' does not exist "
                       r"\(nor is it a shipped name: \['kinect-v1-pool'\]"):
        SkeletonMAE.from_checkpoint('kinect-v2')
    with pytest.raises(KeyError, match='shipped'):
        weights_path('kinect-v2')


def test_finetune_from_the_shipped_weights_on_a_kinect_npz_of_ones_own(
        tmp_path):
    """27 actions of one's own, recorded with a Kinect v1 (20 joints), in
    CTR-GCN's .npz: no dataset named; the shipped encoder fine-tuned."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((8, 12, 2 * 20 * 3)).astype(np.float32)
    y = np.eye(27)[[0, 3, 26, 5, 5, 9, 1, 2]]
    np.savez(tmp_path / 'mine.npz', x_train=x, y_train=y, x_test=x[:4],
             y_test=y[:4])
    recipe = dataclasses.replace(QUICK.finetune, epochs=1, frames=8,
                                 batch_size=4)
    data = load_data(tmp_path / 'mine.npz', layout='kinect-v1',
                     frames=recipe.frames)
    model = STRL.from_pretrained('kinect-v1-pool', data.num_classes)
    shipped = read_checkpoint('kinect-v1-pool')['model']
    encoder = model.layers[0].encoder.state_dict()
    assert all(torch.equal(value, shipped[f'encoder.{key}'])
               for key, value in encoder.items())
    result = finetune(model, data, recipe, tmp_path / 'run',
                      RunOptions(workers=0))
    assert model(data.val[0][0][None]).shape == (1, 27)
    assert 0 <= result.report.top1 <= 1


def test_the_command_line_takes_a_shipped_name(tmp_path):
    from torch_skeleton_mae.engine.cli import finetune_command
    rng = np.random.default_rng(1)
    x = rng.standard_normal((8, 12, 2 * 20 * 3)).astype(np.float32)
    y = np.eye(27)[[0, 3, 26, 5, 5, 9, 1, 2]]
    np.savez(tmp_path / 'mine.npz', x_train=x, y_train=y, x_test=x[:4],
             y_test=y[:4])
    summary = finetune_command([
        '--data', str(tmp_path / 'mine.npz'), '--layout', 'kinect-v1',
        '--pretrained', 'kinect-v1-pool', '--epochs', '1', '--frames', '8',
        '--batch-size', '4', '--workers', '0', '--out', str(tmp_path / 'r')])
    assert 0 <= summary['top1'] <= 1
