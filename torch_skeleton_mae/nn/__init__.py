r"""Layers and models of SkeletonMAE."""
from .mlp import NodeMLP
from .conv import SkeletonGCNConv
from .masking import JointEdgeMasker, MaskedJoints
from .encoder import GINEncoder, JointEmbedding
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
    'MAEDecoder',
    'Reconstruction',
    'SkeletonMAELoss',
    'LossTerms',
    'scaled_cosine_error',
    'edge_reconstruction_error',
    'GINEncoder',
    'JointEmbedding',
    'NodeMLP',
    'SkeletonMAE',
    'SkeletonMAEOutput',
    'STRL',
    'STRLLayer',
    'MultiScaleTemporalConv',
]
