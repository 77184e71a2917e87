r"""Layers and models of SkeletonMAE. The building blocks behind them
(masking strategies, conv registry, loss terms, STRL's layers) live in the
submodules :mod:`~torch_skeleton_mae.nn.masking`,
:mod:`~torch_skeleton_mae.nn.encoder`, :mod:`~torch_skeleton_mae.nn.loss`,
:mod:`~torch_skeleton_mae.nn.decoder` and
:mod:`~torch_skeleton_mae.nn.models.strl`."""
from .conv import SkeletonGCNConv
from .masking import JointEdgeMasker, masking_strategy
from .encoder import GraphEncoder, JointEmbedding, register_conv
from .decoder import MAEDecoder
from .loss import SkeletonMAELoss
from .models import STRL, SkeletonMAE, SkeletonMAEOutput

__all__ = [
    'SkeletonGCNConv',
    'JointEdgeMasker',
    'masking_strategy',
    'GraphEncoder',
    'JointEmbedding',
    'register_conv',
    'MAEDecoder',
    'SkeletonMAELoss',
    'SkeletonMAE',
    'SkeletonMAEOutput',
    'STRL',
]
