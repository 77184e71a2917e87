r"""SkeletonMAE pre-training and STRL action-recognition models."""
from .skeleton_mae import SkeletonMAE, SkeletonMAEOutput
from .strl import STRL, MultiScaleTemporalConv, STRLLayer

__all__ = [
    'SkeletonMAE',
    'SkeletonMAEOutput',
    'STRL',
    'STRLLayer',
    'MultiScaleTemporalConv',
]
