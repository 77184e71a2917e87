"""The public surface: short namespaces and the presets' numbers."""
import dataclasses

import pytest
import torch

import torch_skeleton_mae.datasets as datasets
import torch_skeleton_mae.engine as engine
import torch_skeleton_mae.nn as nn


@pytest.mark.parametrize('package,most', [(nn, 12), (engine, 22),
                                          (datasets, 12)])
def test_public_namespaces_are_short_and_complete(package, most):
    assert len(package.__all__) <= most
    assert len(set(package.__all__)) == len(package.__all__)
    for name in package.__all__:
        assert getattr(package, name) is not None


def test_paper_recipes_are_section_4_2():
    """The numbers Sec. 4.2 states, written here, not read from PAPER:
    Adam at 1.5e-4, batch 1024, 50 epochs; SGD with momentum 0.9, 5 warm-up
    epochs, 110 epochs, rate 0.1 divided by 10 at epochs 90 and 100, label
    smoothing 0.1, batch 128."""
    pretrain, finetune = engine.PAPER.pretrain, engine.PAPER.finetune
    assert (pretrain.lr, pretrain.batch_size, pretrain.epochs) == (
        1.5e-4, 1024, 50)
    assert (finetune.momentum, finetune.warmup, finetune.epochs) == (
        0.9, 5, 110)
    assert (finetune.lr, finetune.milestones) == (0.1, (90, 100))
    assert (finetune.label_smoothing, finetune.batch_size) == (0.1, 128)


def test_each_dataset_gets_its_preset():
    from torch_skeleton_mae.engine.recipes import NW_UCLA
    assert engine.preset_for(None) is engine.QUICK
    assert engine.preset_for('ntu60') is engine.PAPER
    assert engine.preset_for('penn-action') is engine.SMALL
    assert engine.preset_for('nw-ucla') is NW_UCLA
    # NW-UCLA fine-tunes over 60 epochs on all labels, over 160 augmented on
    # 10% of them (chosen on held-out training data); the rest is the small
    # sets'.
    assert NW_UCLA.semi == dataclasses.replace(
        engine.SMALL.semi, epochs=160, milestones=(120, 150), rotate=30.0,
        scale=0.2)
    assert NW_UCLA.finetune == dataclasses.replace(
        engine.SMALL.finetune, epochs=60, milestones=(45, 56))
    assert (NW_UCLA.finetune.rotate, NW_UCLA.finetune.scale) == (0.0, 0.0)
    assert (engine.SMALL.semi.rotate, engine.SMALL.semi.scale) == (0.0, 0.0)
    assert NW_UCLA.pretrain == engine.SMALL.pretrain
    # A model's settings are its constructor's: no recipe holds one.
    fields = {f.name for f in dataclasses.fields(engine.Recipes)}
    assert fields == {'pretrain', 'finetune', 'linear', 'semi'}


@pytest.mark.parametrize('change,message', [
    (dict(epochs=0), "FinetuneRecipe: 'epochs' must be positive, got 0"),
    (dict(lr=float('nan')), "'lr' must be a finite number > 0, got nan"),
    (dict(weight_decay=-1e-4), "'weight_decay' must be a finite number >= 0"),
    (dict(milestones=(30, 30)), "'milestones' must be increasing epochs"),
    (dict(warmup=-1), "'warmup' must be >= 0, got -1"),
    (dict(rotate=float('inf')), "'rotate' must be a finite number >= 0"),
    (dict(rotate_axes='xx'), "'rotate_axes' must be distinct axes of 'xyz'"),
    (dict(rotate_axes='w'), "'rotate_axes' must be distinct axes of 'xyz'"),
    (dict(rotate_axes=''), "'rotate_axes' must be distinct axes of 'xyz'"),
])
def test_recipes_check_their_values_for_python_callers(change, message):
    from torch_skeleton_mae.engine.recipes import RecipeError
    with pytest.raises(RecipeError, match=message.replace('(', r'\(')) as e:
        dataclasses.replace(engine.SMALL.finetune, **change)
    assert e.value.name == next(iter(change))
    with pytest.raises(ValueError, match="'frames' must be positive"):
        engine.LinearRecipe(frames=0)


def test_rotation_turns_about_the_recipes_axes_alone():
    from torch_skeleton_mae.engine.training import augmentation
    recipe = dataclasses.replace(engine.SMALL.finetune, rotate=90.0,
                                 rotate_axes='z')
    x = torch.randn(16, 2, 4, 5, 3)
    torch.manual_seed(0)
    turned = augmentation(recipe, 3, 0.0)(x.clone())
    assert torch.equal(turned[..., 2], x[..., 2])  # the vertical axis stays
    assert torch.allclose(turned[..., :2].norm(dim=-1),
                          x[..., :2].norm(dim=-1), atol=1e-5)
    assert not torch.allclose(turned[..., :2], x[..., :2], atol=1e-3)
    # Every axis by default: each coordinate moves.
    turned = augmentation(dataclasses.replace(recipe, rotate_axes='xyz'), 3,
                          0.0)(x.clone())
    assert not torch.allclose(turned[..., 2], x[..., 2], atol=1e-3)
