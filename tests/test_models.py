import inspect
import re
import sys
from pathlib import Path

import pytest
import torch

from torch_geometric.nn import SAGEConv

from torch_skeleton_mae.data import to_frame_batch
from torch_skeleton_mae.nn import STRL, SkeletonMAE
from torch_skeleton_mae.engine.checkpoint import (
    load_checkpoint,
    save_checkpoint,
)
from torch_skeleton_mae.engine.trainer import direction_spread
from torch_skeleton_mae.nn.models.strl import (DEEP_SETTINGS, LITERAL_SETTINGS,
                                               MultiScaleTemporalConv,
                                               PRETRAINED)


def sequences(N=4, C=3, T=8, V=17, M=2):
    x = torch.randn(N, M, T, V, C)
    x[1, 1] = 0  # one sequence with a single person
    return x


def test_one_step_lowers_the_loss():
    torch.manual_seed(0)
    model = SkeletonMAE('coco', in_channels=3)
    x = sequences()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(5):
        out = model(x, generator=torch.Generator().manual_seed(0))
        optimizer.zero_grad()
        out.loss.backward()
        optimizer.step()
        losses.append(out.loss.item())
    assert losses[-1] < losses[0]
    assert all(p.grad is not None for p in model.encoder.parameters())


@pytest.mark.docs
def test_fidelity_page_quotes_the_model_size():
    model = SkeletonMAE('coco', 2)
    total = sum(p.numel() for p in model.parameters())
    encoder = sum(p.numel() for p in model.encoder.parameters())
    page = (Path(__file__).parents[1] / 'docs' / 'fidelity.rst').read_text()
    assert (f"``SkeletonMAE('coco', 2)`` has {total:,} parameters (encoder "
            f"{encoder:,})") in page


@pytest.mark.full
def test_pretraining_step_compiles_to_one_graph(monkeypatch):
    import torch._inductor.config
    # Random masks as in eager mode, so both see the same masks.
    monkeypatch.setattr(torch._inductor.config, 'fallback_random', True)
    model = SkeletonMAE('coco', in_channels=3, hidden_channels=16)
    x = sequences(T=4)
    # fullgraph=True raises on any graph break (data-dependent checks,
    # boolean indexing in the loss).
    compiled = torch.compile(model, fullgraph=True)
    losses, grads = [], []
    for run in (model, compiled):
        torch.manual_seed(1)
        loss = run(x).loss
        model.zero_grad()
        loss.backward()
        losses.append(loss.detach())
        grads.append([p.grad.clone() for p in model.parameters()])
    assert torch.allclose(losses[1], losses[0], atol=1e-5)
    for eager, fused in zip(*grads):
        assert torch.allclose(fused, eager, atol=1e-4)


def test_output_and_loss_mask():
    model = SkeletonMAE('coco', in_channels=3, mask=0.3, target='input')
    x = sequences()
    x[0, :, 3] = 0  # a missing frame
    out = model(x)
    assert out.reconstruction.shape == x.shape
    assert torch.equal(out.target, x)
    assert out.joint_mask.shape == (4, 2, 8, 17)
    # The same joints in every frame of a person.
    assert (out.joint_mask == out.joint_mask[:, :, :1]).all()
    assert (out.joint_mask.sum(-1) == 5).all()
    # Zero padding never counts.
    assert not out.loss_mask[1, 1].any()
    assert not out.loss_mask[0, :, 3].any()
    assert torch.equal(out.loss_mask, out.joint_mask & (x != 0).any(-1))


def test_batch_input_equals_tensor_input():
    model = SkeletonMAE('ntu-rgb+d', in_channels=3)
    x = sequences(V=25)
    a = model(x, generator=torch.Generator().manual_seed(3))
    b = model(to_frame_batch(x, 'ntu-rgb+d', drop_absent=True),
              generator=torch.Generator().manual_seed(3))
    assert torch.equal(a.joint_mask, b.joint_mask)
    assert torch.allclose(a.loss, b.loss)
    model.eval()
    assert torch.allclose(model.encode(x),
                          model.encode(to_frame_batch(x, 'ntu-rgb+d')))


def test_mask_edges():
    x = sequences()
    # A masked joint loses all its edges, so its encoding cannot depend on
    # the input at all; with the paper's setting (edges kept) it does.
    for mask_edges in (True, False):
        model = SkeletonMAE('coco', 3, mask_edges=mask_edges).eval()
        outputs = []
        model.encoder.register_forward_hook(
            lambda module, args, out: outputs.append(out))
        for _ in range(2):
            model(torch.randn(4, 2, 8, 17, 3),
                  generator=torch.Generator().manual_seed(0))
        mask = model(x, generator=torch.Generator().manual_seed(0)).joint_mask
        same = torch.allclose(outputs[0][mask], outputs[1][mask])
        assert same == mask_edges


def test_paper_defaults():
    """SkeletonMAE('coco', 2): (x, y) input, regions V3 + V5 (right arm,
    right leg) masked in every sample, the embedded joints as the target
    (Eq. 2), a GIN encoder of 3 layers, no per-joint embedding."""
    model = SkeletonMAE('coco', 2)
    x = sequences(C=2)
    out = model(x)
    expected = torch.zeros(17, dtype=torch.bool)
    expected[[8, 10, 14, 16]] = True
    assert torch.equal(out.joint_mask, expected.expand(4, 2, 8, 17))
    assert out.reconstruction.shape == out.target.shape == (4, 2, 8, 17, 64)
    assert torch.allclose(out.target, model.embedding(x))
    assert not out.target.requires_grad  # stop-gradient on the target
    assert model.encoder.conv == 'gin' and len(model.encoder.convs) == 3
    assert repr(model) == (
        "SkeletonMAE(skeleton='coco', in_channels=2, hidden_channels=64, "
        "encoder_layers=3, encoder='gin', mask=('right_arm', 'right_leg'), "
        "target='embedding', mask_edges=False, remask=True, beta=2.0)")
    assert model.embedding.bias is None  # "linearly transformed"
    assert len(inspect.signature(SkeletonMAE).parameters) <= 10


def test_direction_spread_by_hand():
    mask = torch.ones(2, dtype=torch.bool)
    same = torch.tensor([[1.0, 0.0], [3.0, 0.0]])
    opposite = torch.tensor([[1.0, 0.0], [-2.0, 0.0]])
    square = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    assert direction_spread(same, mask) == 0
    assert direction_spread(opposite, mask) == 1
    assert torch.isclose(direction_spread(square, mask), torch.tensor(0.5))
    # Only the masked rows count.
    assert direction_spread(opposite, torch.tensor([True, False])) == 0


@pytest.mark.parametrize('encoder', ['gin', 'gcn', 'gat', SAGEConv])
def test_every_encoder_trains_and_loads_into_strl(encoder):
    model = SkeletonMAE('coco', 2, encoder=encoder)
    x = sequences(C=2)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(3):
        out = model(x)
        optimizer.zero_grad()
        out.loss.backward()
        optimizer.step()
        losses.append(out.loss.item())
    assert losses[-1] < losses[0]
    for name, p in model.encoder.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name
    strl = STRL.from_pretrained(model, num_classes=5)
    for layer in strl.layers:
        for key, value in layer.encoder.state_dict().items():
            assert torch.equal(value, model.encoder.state_dict()[key]), key
    assert strl(x).shape == (4, 5)
    # The config names the conv so that a checkpoint rebuilds the model.
    rebuilt = SkeletonMAE(**model.config)
    rebuilt.load_state_dict(model.state_dict())


@pytest.mark.parametrize('pool_heads', [0, 4])
def test_strl_pools_each_persons_own_joints(pool_heads):
    """Eq. 3 pools each person's joints: a layer's output for person 0
    does not depend on person 1."""
    x = sequences(N=2)
    x2 = x.clone()
    x2[:, 1] = torch.randn_like(x2[:, 1])  # change person 1 only
    model = STRL('coco', 3, 5, pool_heads=pool_heads).eval()
    layer = model.layers[0]
    h = [model.embedding(v) for v in (x, x2)]
    present = torch.ones(2, 2, dtype=torch.bool)
    out = [layer(v, model.edge_index, present) for v in h]
    assert torch.allclose(out[0][:, 0], out[1][:, 0])
    assert not torch.allclose(out[0][:, 1], out[1][:, 1])


def test_strl_defaults_are_the_settings_of_90_3_and_literal_is_one_dict():
    """STRL(layout, C, n) and STRL.from_pretrained(ckpt, n) build the STRL
    that reached 90.3 on NW-UCLA; the paper's literal one is
    LITERAL_SETTINGS away."""
    reached = dict(channels=(64, 128, 256), strides=(2, 2, 1),
                   temporal_kernel=5, batch_norm=True, pool_heads=4)
    for model in (STRL('coco', 2, 5),
                  STRL.from_pretrained(SkeletonMAE('coco', 2), 5)):
        assert {k: model.config[k] for k in reached} == reached
    literal = STRL('coco', 2, 5, **LITERAL_SETTINGS)
    assert [layer.lin.out_features for layer in literal.layers] == [64] * 3
    assert all(layer.pool is None for layer in literal.layers)
    deep = STRL('coco', 2, 5, **DEEP_SETTINGS)
    assert [(layer.lin.out_features, layer.residual[0].stride[0])
            for layer in deep.layers] == [(64, 2), (64, 1), (128, 2),
                                          (128, 1), (256, 1), (256, 1)]
    assert deep(torch.randn(2, 1, 16, 17, 2)).shape == (2, 5)


def test_bad_input():
    model = SkeletonMAE('coco', in_channels=3)
    with pytest.raises(ValueError, match=r"takes 3 channels per joint, the "
                                         r"batch has 2"):
        model(torch.randn(2, 1, 8, 17, 2))
    with pytest.raises(ValueError, match=r"takes 3 channels per joint"):
        STRL('coco', 3, num_classes=2)(torch.randn(2, 1, 8, 17, 2))
    x = sequences()
    x[0, 0, 0, 0, 0] = float('nan')
    with pytest.raises(ValueError, match='1 NaN or inf'):
        to_frame_batch(x, 'coco')  # data comes in; the model does not look
    with pytest.raises(ValueError, match="V = 17 joints of layout 'coco'"):
        model(torch.randn(2, 1, 8, 25, 3))
    with pytest.raises(ValueError, match="holds layout 'ntu-rgb\\+d' but the "
                                         "model expects 'coco'"):
        model(to_frame_batch(torch.randn(1, 1, 2, 25, 3), 'ntu-rgb+d'))


def test_strl_output_and_loading(tmp_path):
    mae = SkeletonMAE('coco', in_channels=3)
    model = STRL('coco', in_channels=3, num_classes=5)
    x = sequences()
    assert model(x).shape == (4, 5)
    assert model(to_frame_batch(x, 'coco')).shape == (4, 5)

    before = model.layers[0].encoder.convs[0].nn.lins[0].weight.clone()
    path = tmp_path / 'mae.pt'
    torch.save({'model': mae.state_dict(), 'config': mae.config}, path)
    model.load_pretrained(path)
    expected = mae.encoder.state_dict()
    for layer in model.layers:
        for key, value in layer.encoder.state_dict().items():
            assert torch.equal(value, expected[key]), key
    assert not torch.equal(before, expected['convs.0.nn.lins.0.weight'])
    assert torch.equal(model.embedding.weight, mae.embedding.weight)


def test_strl_mismatched_checkpoint():
    model = STRL('coco', in_channels=3, num_classes=5)
    with pytest.raises(ValueError, match="pre-trained on layout 'ntu-rgb\\+d'"
                                         " but this model uses 'coco'"):
        model.load_pretrained(SkeletonMAE('ntu-rgb+d', 3))
    with pytest.raises(ValueError, match=re.escape(
            "the pre-trained 'embedding.*' does not fit Linear: "
            "shapes (saved vs model) ['weight: (64, 2) vs (64, 3)']; "
            "settings that differ (saved vs model): in_channels=2 vs 3")):
        model.load_pretrained(SkeletonMAE('coco', 2))
    with pytest.raises(ValueError, match=r"missing \['acts.2.weight'"):
        model.load_pretrained(
            SkeletonMAE('coco', 3, encoder_layers=2).state_dict())


def test_strl_from_pretrained_takes_the_encoder_settings(tmp_path):
    mae = SkeletonMAE('penn-action', 3, hidden_channels=32, encoder_layers=2,
                      encoder='gcn', beta=3.0)
    path = tmp_path / 'mae.pt'
    torch.save({'model': mae.state_dict(), 'config': mae.config}, path)
    model = STRL.from_pretrained(path, num_classes=7, channels=(32, ),
                                 strides=(1, ), dropout=0.5)
    config = model.config
    for name in PRETRAINED:
        assert config[name] == mae.config[name], name
    assert (config['num_classes'], config['channels'],
            config['dropout']) == (7, (32, ), 0.5)
    assert torch.equal(model.layers[0].encoder.convs[1].lin.weight,
                       mae.encoder.convs[1].lin.weight)
    with pytest.raises(ValueError, match=r"\['encoder_layers'\] come from "
                                         r"the pre-trained model "
                                         r"\(encoder_layers=2\)"):
        STRL.from_pretrained(mae, 7, encoder_layers=3)
    with pytest.raises(ValueError, match='^the checkpoint carries no config'):
        STRL.from_pretrained(mae.state_dict(), 7)


def test_config_is_the_constructor_arguments():
    for cls, args in ((SkeletonMAE, ('coco', 2)), (STRL, ('coco', 2, 5))):
        model = cls(*args)
        names = list(inspect.signature(cls.__init__).parameters)[1:]
        assert list(model.config) == names
        assert cls(**model.config).config == model.config


def test_checkpoints_load_across_loss_settings_not_across_shapes(tmp_path):
    mae = SkeletonMAE('coco', 2)
    save_checkpoint(tmp_path / 'a.pt', mae)
    # A loss setting and the mask change no weight: the weights load.
    other = SkeletonMAE('coco', 2, beta=3.0, mask=0.5)
    load_checkpoint(tmp_path / 'a.pt', other)
    assert all(torch.equal(a, b) for a, b in zip(mae.state_dict().values(),
                                                 other.state_dict().values()))
    with pytest.raises(ValueError, match=re.escape(
            "settings that differ (saved vs model): hidden_channels=64 vs "
            "32")):
        load_checkpoint(tmp_path / 'a.pt', SkeletonMAE('coco', 2, 32))
    with pytest.raises(ValueError, match="trained on layout 'coco', the "
                                         "SkeletonMAE has 'penn-action'"):
        load_checkpoint(tmp_path / 'a.pt', SkeletonMAE('penn-action', 2))


@pytest.mark.parametrize('frozen', [True, False])
def test_strl_freezing(frozen):
    model = STRL('coco', 3, num_classes=5, freeze_encoder=frozen)
    model.load_pretrained(SkeletonMAE('coco', 3))
    model.train()
    encoder_state = {k: v.clone() for k, v in
                     model.layers[1].encoder.state_dict().items()}
    head = model.classifier[0].weight.clone()
    optimizer = torch.optim.SGD(
        [p for p in model.parameters() if p.requires_grad], lr=0.1)
    loss = torch.nn.functional.cross_entropy(model(sequences()),
                                             torch.tensor([0, 1, 2, 3]))
    loss.backward()
    optimizer.step()
    unchanged = all(torch.equal(v, model.layers[1].encoder.state_dict()[k])
                    for k, v in encoder_state.items())
    assert unchanged == frozen  # weights and batch-norm statistics
    assert not torch.equal(head, model.classifier[0].weight)
    assert repr(model).endswith(f'freeze_encoder={frozen})')


def test_strl_reset_parameters_draws_every_parameter_again():
    model = STRL('coco', 2, 5, input_norm=True)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(1.0)
    model.train()
    model(torch.randn(4, 2, 8, 17, 2))  # moves the batch-norm statistics
    shifted = {k: v.clone() for k, v in model.state_dict().items()}
    model.reset_parameters()
    for name, value in model.named_parameters():
        if name == 'temporal_embedding':
            assert torch.equal(value, torch.zeros_like(value))
        else:
            assert not torch.equal(value, shifted[name]), name
    norms = [m for m in model.modules()
             if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    assert norms and all(
        torch.equal(m.running_mean, torch.zeros_like(m.running_mean))
        and torch.equal(m.running_var, torch.ones_like(m.running_var))
        for m in norms)


def test_strl_repr_shows_its_settings():
    assert repr(STRL('coco', 2, 5, dropout=0.5, pool_heads=0)) == (
        "STRL(skeleton='coco', in_channels=2, num_classes=5, "
        "hidden_channels=64, encoder_layers=3, encoder='gin', "
        "channels=(64, 128, 256), strides=(2, 2, 1), temporal_kernel=5, "
        "batch_norm=True, pool_heads=0, dropout=0.5, input_norm=False, "
        "freeze_encoder=False)")


def test_strl_widths_strides_and_every_new_setting_train():
    """channels / strides / temporal_kernel / batch_norm / pool_heads: exact
    shapes per layer, and every parameter gets a finite, non-zero
    gradient."""
    torch.manual_seed(0)
    model = STRL('coco', 2, 5, hidden_channels=16, channels=(16, 32, 48),
                 strides=(2, 2, 1), temporal_kernel=5, batch_norm=True,
                 pool_heads=4, input_norm=True)
    x = sequences(C=2, T=9)
    shapes = []
    for layer in model.layers:
        layer.register_forward_hook(
            lambda m, i, out: shapes.append(tuple(out.shape)))
    logits = model(x)
    assert logits.shape == (4, 5)
    # (N, M, ceil(T / stride), V, C_out), T = 9 -> 5 -> 3 -> 3
    assert shapes == [(4, 2, 5, 17, 16), (4, 2, 3, 17, 32),
                      (4, 2, 3, 17, 48)]
    assert model.classifier[0].in_features == 48
    logits.square().sum().backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
        assert p.grad.abs().sum() > 0, name


def test_strl_input_norm_makes_training_blind_to_each_channels_scale():
    """input_norm: in training mode, each input channel scaled and shifted
    (a stream of small values) gives the same logits; without it, not."""
    x = sequences(C=2, T=9)
    x[1, 1] = torch.randn_like(x[1, 1])  # every person present
    scale, shift = torch.tensor([30.0, 0.2]), torch.tensor([5.0, -1.0])
    for input_norm in (True, False):
        torch.manual_seed(0)
        model = STRL('coco', 2, 5, input_norm=input_norm).train()
        same = torch.allclose(model(x), model(x * scale + shift),
                              atol=1e-4)
        assert same == input_norm
    assert isinstance(STRL('coco', 2, 5).input_norm, torch.nn.Identity)


def test_strl_layer_pool_is_a_per_joint_weighting_of_the_encoder_output():
    """pool_heads: joint v of head k takes sum_w P[k, v, w] g[w] of the
    encoder output g; all-ones weights give Eq. 3's sum over the joints."""
    torch.manual_seed(0)
    one = dict(channels=(64, ), strides=(1, ))
    ours = STRL('coco', 3, 5, pool_heads=2, **one).eval()
    paper = STRL('coco', 3, 5, pool_heads=0, **one).eval()
    state = {k: v for k, v in ours.state_dict().items()
             if not k.endswith('.pool')}
    paper.load_state_dict(state)
    layer, x = ours.layers[0], torch.randn(4, 2, 8, 17, 3)  # all present
    with torch.no_grad():
        layer.pool.fill_(1.0)
    assert torch.allclose(ours(x), paper(x), atol=1e-5)

    seen = {}
    layer.encoder.register_forward_hook(
        lambda m, i, out: seen.__setitem__('g', out))
    layer.lin.register_forward_hook(
        lambda m, i, out: seen.__setitem__('lin_in', i[0]))
    weights = torch.randn(2, 17, 17)
    with torch.no_grad():
        layer.pool.copy_(weights)
    ours(x)
    g = seen['g'].unflatten(-1, (2, 32))  # (N, M, T, V, heads, 32)
    expected = torch.stack([
        torch.einsum('vw,nmtwd->nmtvd', weights[k], g[..., k, :])
        for k in range(2)], dim=-2).flatten(-2)
    assert torch.allclose(seen['lin_in'][..., 64:], expected, atol=1e-4)


def test_strl_settings_are_checked():
    with pytest.raises(ValueError, match=r"'channels' and 'strides' need one "
                       r"entry per layer, got \(\) and \(\)"):
        STRL('coco', 2, 5, channels=(), strides=())
    for build in (lambda: STRL('coco', 2, 5, encoder_layers=0),
                  lambda: SkeletonMAE('coco', 2, encoder_layers=0)):
        with pytest.raises(ValueError, match="'encoder_layers' must be >= 1, "
                                             "got 0"):
            build()
    with pytest.raises(ValueError, match=r"got \(64, 128\) and \(2, 2, 1\)"):
        STRL('coco', 2, 5, channels=(64, 128))
    with pytest.raises(ValueError, match=r"'pool_heads' \(3\) must divide"):
        STRL('coco', 2, 5, pool_heads=3)
    with pytest.raises(ValueError, match="'kernel_size' must be odd"):
        STRL('coco', 2, 5, temporal_kernel=4)
    with pytest.raises(ValueError, match=r"'channels' must be divisible by "
                                         r"4 \(the four temporal branches\), "
                                         r"got \(64, 30, 64\)"):
        STRL('coco', 2, 5, channels=(64, 30, 64))
    with pytest.raises(ValueError, match="'out_channels' must be divisible "
                                         "by 4, got 30"):
        MultiScaleTemporalConv(8, 30)


def test_wide_strl_loads_a_pretraining_of_its_settings_only(tmp_path):
    settings = dict(channels=(32, 64, 96), strides=(2, 2, 1),
                    temporal_kernel=5, batch_norm=True, pool_heads=4)
    mae = SkeletonMAE('coco', 2, hidden_channels=32)
    path = tmp_path / 'mae.pt'
    torch.save({'model': mae.state_dict(), 'config': mae.config}, path)
    model = STRL.from_pretrained(path, num_classes=5, **settings)
    for layer in model.layers:
        assert torch.equal(layer.encoder.convs[2].nn.lins[1].weight,
                           mae.encoder.convs[2].nn.lins[1].weight)
    assert model(sequences(C=2)).shape == (4, 5)
    other = STRL('coco', 2, 5, hidden_channels=64, **settings)
    with pytest.raises(ValueError, match=r"settings that differ \(saved vs "
                                         r"model\): hidden_channels=32 vs "
                                         r"64"):
        other.load_pretrained(path)


def test_a_checkpoint_names_a_conv_but_never_imports_it(tmp_path,
                                                        monkeypatch):
    """A config naming a module of one's own (or os.system) is refused
    without importing or calling anything; PyG's convs rebuild; a class of
    one's own leaves the config without a name."""
    (tmp_path / 'planted.py').write_text(
        "import pathlib\npathlib.Path(__file__).with_suffix('.ran')"
        ".write_text('imported')\nclass Conv:\n    pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    config = SkeletonMAE('coco', 2).config
    for name in ('planted.Conv', 'os.system', 'planted'):
        with pytest.raises(ValueError, match=re.escape(
                f"Unknown graph convolution '{name}'")):
            SkeletonMAE(**{**config, 'encoder': name})
    assert 'planted' not in sys.modules
    assert not (tmp_path / 'planted.ran').exists()

    pyg = SkeletonMAE('coco', 2, encoder=SAGEConv)
    assert pyg.config['encoder'] == 'SAGEConv'
    assert isinstance(SkeletonMAE(**pyg.config).encoder.convs[0], SAGEConv)

    class MyConv(SAGEConv):
        pass

    assert SkeletonMAE('coco', 2, encoder=MyConv).config['encoder'] is None


def test_skeleton_mae_from_checkpoint_round_trips(tmp_path):
    torch.manual_seed(0)
    mae = SkeletonMAE('penn-action', 3, hidden_channels=16, encoder_layers=2,
                      encoder='gcn', remask=False)
    path = tmp_path / 'mae.pt'
    torch.save({'model': mae.state_dict(), 'config': mae.config}, path)
    for source in (path, {'model': mae.state_dict(), 'config': mae.config}):
        again = SkeletonMAE.from_checkpoint(source)
        assert again.config == mae.config
        state = again.state_dict()
        assert all(torch.equal(v, state[k])
                   for k, v in mae.state_dict().items())
    x = torch.randn(2, 1, 4, 13, 3)
    mae.eval(), again.eval()
    assert torch.equal(mae.encode(x), again.encode(x))
    with pytest.raises(ValueError, match="holds no 'config' and 'model'"):
        SkeletonMAE.from_checkpoint({'model': mae.state_dict()})
    broken = {'model': {k: v for k, v in mae.state_dict().items()
                        if 'decoder' not in k}, 'config': mae.config}
    with pytest.raises(ValueError, match=r"the checkpoint does not fit "
                                         r"SkeletonMAE: missing \['decoder"):
        SkeletonMAE.from_checkpoint(broken)


def test_encoder_may_be_a_module_of_ones_own():
    from torch_geometric.nn.models import GIN
    from torch_skeleton_mae.nn import GraphEncoder
    torch.manual_seed(0)
    x = torch.randn(2, 1, 4, 17, 2)
    # A ready GraphEncoder computes what the name builds, weights alike.
    named = SkeletonMAE('coco', 2, hidden_channels=16).eval()
    given = SkeletonMAE('coco', 2, hidden_channels=16,
                        encoder=GraphEncoder(16, 16, 3)).eval()
    given.load_state_dict(named.state_dict())
    assert given.config == named.config
    assert torch.equal(given.encode(x), named.encode(x))
    # PyG's GIN takes the frame graphs as one block-diagonal graph.
    mae = SkeletonMAE('coco', 2, hidden_channels=16, mask_edges=True,
                      encoder=GIN(16, 16, num_layers=2))
    assert mae.config['encoder'] is None and 'encoder=None' in repr(mae)
    with pytest.raises(ValueError, match='GIN runs on the edges of a '
                       'block-diagonal graph'):
        mae(x)
    mae.mask_edges = False
    mae(x).loss.backward()
    assert all(p.grad is not None for p in mae.encoder.parameters())
    strl = STRL.from_pretrained(mae, num_classes=5, channels=(16, 32),
                                strides=(1, 1))
    assert all(isinstance(layer.encoder, GIN) for layer in strl.layers)
    assert strl.layers[0].encoder is not strl.layers[1].encoder
    for layer in strl.layers:
        assert torch.equal(layer.encoder.convs[1].nn.lins[0].weight,
                           mae.encoder.convs[1].nn.lins[0].weight)
    assert strl(x).shape == (2, 5)
    checkpoint = {'model': mae.state_dict(), 'config': mae.config}
    for load in (lambda: SkeletonMAE.from_checkpoint(checkpoint),
                 lambda: STRL.from_pretrained(checkpoint, num_classes=5)):
        with pytest.raises(ValueError, match='trained with an encoder of its '
                                             'own'):
            load()


def test_a_config_that_does_not_fit_its_weights_is_refused_unbuilt(tmp_path):
    import time
    mae = SkeletonMAE('coco', 2)
    path = tmp_path / 'wide.pt'
    torch.save(dict(model=mae.state_dict(),
                    config=dict(mae.config, hidden_channels=12000)), path)
    for load in (lambda: SkeletonMAE.from_checkpoint(path),
                 lambda: STRL.from_pretrained(path, 10)):
        start = time.perf_counter()
        with pytest.raises(ValueError, match=r"wide.pt' does not fit "
                           r"SkeletonMAE: shapes \(saved vs model\) "
                           r".*\(64, 64\) vs \(12000, 12000\)"):
            load()
        # Built on the meta device: a real one would take 31 s and 4 GB.
        assert time.perf_counter() - start < 1.0


@pytest.mark.parametrize('config,message', [
    ([1, 2], r"its 'config' is a list; expected a dict of SkeletonMAE's "
             r"arguments"),
    ({'skeleton': 'coco', 'bogus': 3},
     r"its 'config' has settings SkeletonMAE does not take: \['bogus'\]"),
])
def test_a_malformed_config_is_one_clear_error(tmp_path, config, message):
    path = tmp_path / 'odd.pt'
    torch.save(dict(model=SkeletonMAE('coco', 2).state_dict(),
                    config=config), path)
    for load in (lambda: SkeletonMAE.from_checkpoint(path),
                 lambda: STRL.from_pretrained(path, 10)):
        with pytest.raises(ValueError, match="odd.pt': " + message):
            load()
