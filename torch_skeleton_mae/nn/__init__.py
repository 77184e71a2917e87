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
from ..utils import moved_names

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

# Names exported here before 0.2, now in their submodules only: still
# handed out, with a DeprecationWarning, for one release.
__getattr__ = moved_names(__name__, {
    name: module for module, names in {
        'masking': ('DEFAULT_MASK', 'FixedParts', 'MaskedJoints',
                    'MaskingStrategy', 'RandomJoints', 'RandomParts'),
        'encoder': ('CONVS', 'apply_conv', 'make_conv'),
        'decoder': ('Reconstruction',),
        'loss': ('LossTerms', 'edge_reconstruction_error',
                 'scaled_cosine_error'),
        'conv:node_mlp': ('NodeMLP',),
        'models': ('MultiScaleTemporalConv', 'STRLLayer'),
    }.items() for name in names})
