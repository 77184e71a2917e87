r"""Pictures from a pre-training run on the synthetic dataset: skeleton
sequences (PNG strip and GIF), the masked body parts and the decoder's
reconstruction, the training curves and a PCA of the encoder's features
(pre-trained and random).

    python examples/ntu60_pretrain.py               # writes runs/pretrain
    python examples/visualize.py --run runs/pretrain --out figures
"""
import argparse
from pathlib import Path

import torch
from torch.utils.data import DataLoader

from torch_skeleton_mae import visualize as viz
from torch_skeleton_mae.datasets import SyntheticSkeletons
from torch_skeleton_mae.datasets.synthetic import ACTIONS
from torch_skeleton_mae.engine.checkpoint import load_checkpoint
from torch_skeleton_mae.engine.evaluation import extract_features
from torch_skeleton_mae.nn import SkeletonMAE


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--run', type=Path, default=Path('runs/pretrain'),
                        help='folder with last.pt and the CSV logs')
    parser.add_argument('--out', type=Path, default=Path('figures'))
    parser.add_argument('--samples', type=int, default=300,
                        help='synthetic sequences for the feature plot')
    args = parser.parse_args(argv)
    checkpoint = load_checkpoint(args.run / 'last.pt')
    model = SkeletonMAE.from_checkpoint(checkpoint).eval()
    layout = model.skeleton.name
    frames = int(checkpoint.get('args', {}).get('frames', 32))
    layout_coords = model.skeleton.coords
    data = SyntheticSkeletons(args.samples, layout, frames, seed=0,
                              score=model.in_channels > layout_coords,
                              center=True)
    written = []
    solo = next(i for i in range(len(data))
                if ACTIONS[data[i][1]] != 'handshake')
    pair = next(i for i in range(len(data))
                if ACTIONS[data[i][1]] == 'handshake')
    for i in (solo, pair):
        x, y = data[i]
        name = ACTIONS[y]
        written.append(viz.plot_sequence(x, layout,
                                         args.out / f'sequence_{name}.png',
                                         title=name))
        written.append(viz.animate_sequence(x, layout,
                                            args.out / f'sequence_{name}.gif',
                                            title=name))
    x = data[solo][0].unsqueeze(0)
    with torch.no_grad():
        out = model(x, generator=torch.Generator().manual_seed(0))
    written.append(viz.plot_reconstruction(
        x[0], viz.reconstructed_joints(model, out.reconstruction)[0],
        out.joint_mask[0], layout, args.out / 'reconstruction.png'))
    logs = sorted(args.run.glob('*.csv'))
    logs = [p for p in logs if p.stem in ('pretrain', 'finetune', 'train')]
    if logs:
        written.append(viz.plot_training_curves(
            logs, args.out / 'training_curves.png'))
    loader = DataLoader(data, 100)
    torch.manual_seed(0)
    for name, encoder in (('pretrained', model),
                          ('random', SkeletonMAE(**checkpoint['config']))):
        features, labels = extract_features(encoder, loader,
                                            torch.device('cpu'))
        written.append(viz.plot_embedding(
            features, labels, args.out / f'features_{name}.png', ACTIONS,
            title=f'PCA of {name} encoder features'))
    for path in written:
        print(path)
    return written


if __name__ == '__main__':
    main()
