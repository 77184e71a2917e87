import json
import re
from pathlib import Path
from typing import Any, Dict, Optional, Tuple

import numpy as np
import torch
from torch import Tensor

from .base import MAX_FRAMES
from .folder import SkeletonFolder

_NAME = re.compile(r'a(\d+)_s(\d+)_e(\d+)_v(\d+)$')
#: The action codes of the 10 classes (there is no a07 or a10), in label
#: order, and their names.
ACTION_CODES = (1, 2, 3, 4, 5, 6, 8, 9, 11, 12)
ACTION_NAMES = ('pick up with one hand', 'pick up with two hands',
                'drop trash', 'walk around', 'sit down', 'stand up',
                'donning', 'doffing', 'throw', 'carry')
BENCHMARKS = ('xview', 'xsub')
#: Our cross-subject split (the dataset defines none), subjects 1-5 train.
XSUB_TRAIN_SUBJECTS = (1, 2, 3, 4, 5)


def parse_nw_ucla_name(name: str) -> Dict[str, int]:
    r"""Reads action, subject, repetition and view from an NW-UCLA name such
    as :obj:`"a01_s02_e03_v01"` (with or without :obj:`.json`)."""
    match = _NAME.search(Path(name).name.removesuffix('.json'))
    if match is None:
        raise ValueError(f"'{name}' is not an NW-UCLA name "
                         f"(aAA_sSS_eEE_vVV)")
    keys = ('action', 'subject', 'repetition', 'view')
    return dict(zip(keys, map(int, match.groups())))


class NWUCLA(SkeletonFolder):
    r"""Northwestern-UCLA Multiview Action 3D (Wang et al., CVPR 2014) in
    the form CTR-GCN and its successors read, the :obj:`all_sqe` folder: one
    JSON object per clip, :obj:`aAA_sSS_eEE_vVV.json`, with
    :obj:`file_name`, :obj:`label` (1-10, the order of
    ``ACTION_CODES``) and :obj:`skeletons`, :obj:`T` frames of the 20
    Kinect v1 joints (:obj:`"kinect-v1"`) in metres, camera space.

    Benchmarks: :obj:`"xview"`, the standard cross-view protocol (views 1
    and 2 train, view 3 tests), and :obj:`"xsub"`, ours (the dataset
    defines none): subjects 1-5 train, 6-10 test. Each sequence is centred
    on the spine and turned to a canonical view
    (:class:`~torch_skeleton_mae.transforms.PreNormalize3D`) when it is
    read. A file that is not such a JSON object, whose name, label and
    action code disagree, or whose joints are not finite :obj:`(T, 20, 3)`
    is skipped and named (``skipped``).

    Args:
        root (str): The :obj:`all_sqe` folder.
        benchmark (str, optional): :obj:`"xview"` or :obj:`"xsub"`.
            (default: :obj:`"xview"`)
        split (str, optional): :obj:`"train"`, :obj:`"val"` or :obj:`None`.
            (default: :obj:`"train"`)
        normalize (bool, optional): (default: :obj:`True`)
        transform (callable, optional): Applied to each :obj:`(M, T, V, C)`.

    Shapes:
        - **item:** :obj:`(x, label)`, :obj:`x` of shape
          :obj:`(3, T, 20, 1)`, label 0-based
    """
    suffix = '.json'
    layout = 'kinect-v1'
    class_names = ACTION_NAMES

    def __init__(self, root, benchmark: str = 'xview',
                 split: Optional[str] = 'train', normalize: bool = True,
                 transform=None):
        if benchmark not in BENCHMARKS:
            raise ValueError(f"Unknown NW-UCLA benchmark '{benchmark}'; "
                             f"expected one of {BENCHMARKS}")
        self.benchmark = benchmark
        super().__init__(root, split, normalize, transform)

    def in_train_split(self, meta: Dict[str, Any]) -> bool:
        if self.benchmark == 'xview':
            return meta['view'] in (1, 2)
        return meta['subject'] in XSUB_TRAIN_SUBJECTS

    def read(self, path: Path) -> Tuple[Tensor, Dict[str, Any]]:
        try:
            clip = json.loads(path.read_text())
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise ValueError(f"{path}: not a JSON object ({error})") from None
        if not isinstance(clip, dict) or not {'label', 'skeletons'} <= set(
                clip):
            raise ValueError(f"{path}: expected a JSON object with 'label' "
                             f"and 'skeletons'")
        meta = parse_nw_ucla_name(path.name)
        label = clip['label']
        if meta['action'] not in ACTION_CODES or label != 1 + \
                ACTION_CODES.index(meta['action']):
            raise ValueError(f"{path}: label {label!r} does not match action "
                             f"a{meta['action']:02d} (labels 1-10 follow "
                             f"the action codes {ACTION_CODES})")
        frames = clip['skeletons']
        if isinstance(frames, list) and len(frames) > MAX_FRAMES:
            raise ValueError(f"{path}: {len(frames)} frames; expected at most "
                             f"{MAX_FRAMES}")
        try:
            joints = np.asarray(frames, dtype=np.float32)
        except (TypeError, ValueError):
            raise ValueError(f"{path}: 'skeletons' is not a (T, 20, 3) "
                             f"array of numbers") from None
        V = self.skeleton.num_joints
        if joints.ndim != 3 or joints.shape[0] == 0 or joints.shape[1:] != (
                V, 3):
            raise ValueError(f"{path}: 'skeletons' has shape {joints.shape}; "
                             f"expected (T >= 1, {V}, 3)")
        if not np.isfinite(joints).all():
            raise ValueError(f"{path}: 'skeletons' holds NaN or inf")
        meta['label'] = label - 1
        return torch.from_numpy(joints)[None], meta  # (1, T, V, 3)
