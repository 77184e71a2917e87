r"""Layers and models of SkeletonMAE. The building blocks behind them (the
encoder and :func:`~torch_skeleton_mae.nn.encoder.on_graphs`, the GIN
layers, the loss, STRL's layers) live in the submodules
:mod:`~torch_skeleton_mae.nn.conv`, :mod:`~torch_skeleton_mae.nn.encoder`,
:mod:`~torch_skeleton_mae.nn.masking`, :mod:`~torch_skeleton_mae.nn.loss`,
:mod:`~torch_skeleton_mae.nn.decoder` and
:mod:`~torch_skeleton_mae.nn.models.strl`."""
from .conv import SkeletonGCNConv
from .masking import JointEdgeMasker
from .encoder import GraphEncoder
from .decoder import MAEDecoder
from .loss import SkeletonMAELoss
from .models import STRL, SkeletonMAE, SkeletonMAEOutput

__all__ = [
    'SkeletonGCNConv',
    'JointEdgeMasker',
    'GraphEncoder',
    'MAEDecoder',
    'SkeletonMAELoss',
    'SkeletonMAE',
    'SkeletonMAEOutput',
    'STRL',
]
