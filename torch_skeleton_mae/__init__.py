r"""SkeletonMAE (Yan et al., ICCV 2023) as a PyTorch Geometric extension."""
from torch_skeleton_mae import graph, data, nn, transforms, datasets

__version__ = '0.2.0'

__all__ = ['graph', 'data', 'nn', 'transforms', 'datasets', 'visualize',
           '__version__']
