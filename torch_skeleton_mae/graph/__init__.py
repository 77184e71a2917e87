r"""Skeleton topology as PyG graphs."""
from .skeleton import (
    CENTRIFUGAL,
    CENTRIPETAL,
    ROOT,
    Skeleton,
    get_skeleton,
    known_skeletons,
    register_skeleton,
)

__all__ = [
    'Skeleton',
    'get_skeleton',
    'register_skeleton',
    'known_skeletons',
    'ROOT',
    'CENTRIPETAL',
    'CENTRIFUGAL',
]
