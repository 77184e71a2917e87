import importlib.util
import sys
from pathlib import Path

import pytest
import torch

pytest.importorskip('matplotlib')
from PIL import Image  # noqa: E402  (matplotlib depends on pillow)

from torch_skeleton_mae import visualize as viz  # noqa: E402
from torch_skeleton_mae.datasets import SyntheticSkeletons  # noqa: E402
from torch_skeleton_mae.engine.logger import CSVLogger  # noqa: E402
from torch_skeleton_mae.engine.cli import pretrain_command  # noqa: E402
from torch_skeleton_mae.nn import SkeletonMAE  # noqa: E402

ROOT = Path(__file__).parents[1]
HAS_TORCH_SPARSE = importlib.util.find_spec('torch_sparse') is not None


def load_example(name):
    spec = importlib.util.spec_from_file_location(name, ROOT / 'examples' /
                                                  f'{name}.py')
    module = importlib.util.module_from_spec(spec)
    # Registered like an imported module: PyG's Sequential generates its
    # forward in the namespace of the module that builds it.
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def is_image(path, fmt):
    with Image.open(path) as image:
        return image.format == fmt and image.size[0] > 100


def test_sequence_strip_and_gif(tmp_path):
    x, _ = SyntheticSkeletons(16, 'coco', num_frames=6)[15]  # handshake
    png = viz.plot_sequence(x, 'coco', tmp_path / 'a.png', num_frames=4)
    assert is_image(png, 'PNG')
    gif = viz.animate_sequence(x, 'coco', tmp_path / 'a.gif')
    with Image.open(gif) as image:
        assert image.format == 'GIF' and image.n_frames == 6
    with pytest.raises(ValueError, match=r"\(M, T, 17, C\) for layout "
                       r"'coco', got \(2, 6, 25, 3\)"):
        viz.plot_sequence(torch.zeros(2, 6, 25, 3), 'coco', tmp_path / 'b')


def test_reconstruction_curves_and_embedding(tmp_path, monkeypatch):
    real_sequence = viz._sequence
    x = torch.stack([SyntheticSkeletons(4, num_frames=8)[i][0]
                     for i in range(4)])
    model = SkeletonMAE('ntu-rgb+d', 3)
    out = model(x)
    joints = viz.reconstructed_joints(model, out.reconstruction)
    # The least-squares inverse of the linear embedding: the embedding of
    # the joints it gives is the reconstruction's projection on its range.
    W = model.embedding.weight.detach()
    projector = W @ torch.linalg.pinv(W)
    assert torch.allclose(model.embedding(joints),
                          out.reconstruction @ projector.T, atol=1e-4)
    path = viz.plot_reconstruction(x[0], joints[0], out.joint_mask[0],
                                   'ntu-rgb+d', tmp_path / 'rec.png',
                                   rescale=False)
    assert is_image(path, 'PNG')
    with pytest.raises(ValueError, match=r'has shape \(2, 8, 25, 64\), the '
                       r'input \(2, 8, 25, 3\); pass coordinates'):
        viz.plot_reconstruction(x[0], out.reconstruction[0],
                                out.joint_mask[0], 'ntu-rgb+d', tmp_path / 'r')
    # Rescaled, a reconstruction pointing the right way lands on the truth.
    rec = 0.1 * x[0]
    drawn = []
    monkeypatch.setattr(viz, '_sequence', lambda s, skeleton: drawn.append(
        s) or real_sequence(s, skeleton))
    viz.plot_reconstruction(x[0], rec, out.joint_mask[0], 'ntu-rgb+d',
                            tmp_path / 'scaled.png')
    masked = out.joint_mask[0].unsqueeze(-1).expand_as(x[0])
    assert torch.allclose(drawn[1][masked], x[0][masked], atol=1e-5)
    log = CSVLogger(tmp_path / 'pretrain.csv')
    for epoch in (1, 2, 3):
        log.log(epoch=epoch, loss=1 / epoch, lr=0.1)
    assert is_image(viz.plot_training_curves([log.path],
                                             tmp_path / 'curves.png'), 'PNG')
    features = torch.randn(40, 8)
    labels = torch.arange(40) % 4
    assert is_image(viz.plot_embedding(features, labels, tmp_path / 'e.png'),
                    'PNG')


@pytest.mark.full
def test_visualize_example_from_a_run(tmp_path):
    run = tmp_path / 'run'
    pretrain_command(['--samples', '40', '--frames', '8', '--workers', '0',
                      '--epochs', '1', '--no-probe', '--out', str(run)])
    written = load_example('visualize').main(
        ['--run', str(run), '--out', str(tmp_path / 'fig'), '--samples',
         '40'])
    names = sorted(p.name for p in written)
    assert names == sorted([
        'sequence_wave.png', 'sequence_wave.gif', 'sequence_handshake.png',
        'sequence_handshake.gif', 'reconstruction.png',
        'training_curves.png', 'features_pretrained.png',
        'features_random.png'])
    assert all(p.stat().st_size > 1000 for p in written)


def test_pyg_any_graph_example():
    example = load_example('pyg_any_graph')
    first, last = example.graph_mae(steps=20)
    assert last < 0.5 * first
    joint_mask, out = example.hand_layout()
    assert joint_mask.shape == (4, 11)
    assert out.reconstruction.shape == (4, 1, 16, 11, 64)  # embedded joints
    mask = out.joint_mask[0, 0, 0]
    assert mask.nonzero().view(-1).tolist() == [1, 2, 3, 4]  # thumb, index


@pytest.mark.docs
def test_pyg_layers_in_pyg_models_example():
    """Every use of docs/pyg.rst runs."""
    example = load_example('pyg_any_graph')
    assert example.sequential().shape == (8, 3)
    assert example.basic_gnn().shape[1] == 8
    out = example.heterogeneous()
    assert out and all(o.size(-1) == 8 for o in out.values())
    explanation = example.explain()
    assert explanation.node_mask.shape == explanation.x.shape
    assert explanation.edge_mask.shape == (explanation.edge_index.size(1), )
    sampled = example.neighbor_sampling()
    if HAS_TORCH_SPARSE:
        assert sampled and all(o.size(-1) == 8 for o in sampled)
    else:
        assert sampled is None
