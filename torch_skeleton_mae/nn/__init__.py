r"""Layers and models of SkeletonMAE."""
from .mlp import NodeMLP
from .conv import SkeletonGCNConv
from .masking import (
    DEFAULT_MASK,
    FixedParts,
    JointEdgeMasker,
    MaskedJoints,
    MaskingStrategy,
    RandomJoints,
    RandomParts,
    masking_strategy,
)
from .encoder import (
    CONVS,
    GraphEncoder,
    JointEmbedding,
    apply_conv,
    make_conv,
    register_conv,
)
from .decoder import MAEDecoder, Reconstruction
from .loss import (
    LossTerms,
    SkeletonMAELoss,
    edge_reconstruction_error,
    scaled_cosine_error,
)
from .models import (
    STRL,
    MultiScaleTemporalConv,
    SkeletonMAE,
    SkeletonMAEOutput,
    STRLLayer,
)

__all__ = [
    'SkeletonGCNConv',
    'JointEdgeMasker',
    'MaskedJoints',
    'MaskingStrategy',
    'FixedParts',
    'RandomParts',
    'RandomJoints',
    'masking_strategy',
    'DEFAULT_MASK',
    'MAEDecoder',
    'Reconstruction',
    'SkeletonMAELoss',
    'LossTerms',
    'scaled_cosine_error',
    'edge_reconstruction_error',
    'GraphEncoder',
    'CONVS',
    'make_conv',
    'register_conv',
    'apply_conv',
    'JointEmbedding',
    'NodeMLP',
    'SkeletonMAE',
    'SkeletonMAEOutput',
    'STRL',
    'STRLLayer',
    'MultiScaleTemporalConv',
]
