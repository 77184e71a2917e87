r"""Skeleton topology as PyG graphs."""
from .skeleton import (Skeleton, get_skeleton, known_skeletons,
                       register_skeleton)

__all__ = [
    'Skeleton',
    'get_skeleton',
    'register_skeleton',
    'known_skeletons',
]
