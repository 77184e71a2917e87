from pathlib import Path
from typing import Any, Dict, Optional, Tuple

import numpy as np
import torch
from torch import Tensor

from .base import MAX_FRAMES
from .folder import SkeletonFolder

#: The 15 classes, in label order.
PENN_ACTIONS = ('baseball_pitch', 'baseball_swing', 'bench_press', 'bowl',
                'clean_and_jerk', 'golf_swing', 'jump_rope', 'jumping_jacks',
                'pullup', 'pushup', 'situp', 'squat', 'strum_guitar',
                'tennis_forehand', 'tennis_serve')
#: Pixels per unit of the normalized coordinates: half of the usual
#: 480-pixel frame width.
HALF_WIDTH = 240.0


def _scipy_io():
    try:
        import scipy.io
    except ImportError:
        raise ImportError("PennAction reads MATLAB files with scipy: pip "
                          "install scipy (or torch_skeleton_mae[real])"
                          ) from None
    return scipy.io


def _text(value) -> str:
    # A MATLAB string as loadmat gives it: an array holding one str.
    return str(np.asarray(value).reshape(-1)[0]) if np.size(value) else ''


class PennAction(SkeletonFolder):
    r"""Penn Action (Zhang, Zhu, Derpanis, ICCV 2013) from its official
    :obj:`labels` folder: one MATLAB v5 file per video with :obj:`action`,
    :obj:`x`, :obj:`y`, :obj:`visibility` (each :obj:`T x 13`),
    :obj:`train` (1 train, -1 test) and :obj:`dimensions` (height, width,
    frames); 2D joints annotated by people, in pixels, in the
    :obj:`"penn-action"` layout. Read with ``scipy.io.loadmat``
    (scipy is optional; a clear error says to install it).

    The dataset's one split is its :obj:`train` flag (1,258 / 1,068).
    With :obj:`normalize`, pixels become units of half the frame width with
    :math:`y` pointing up, :math:`((x - w/2) / (w/2), (h/2 - y) / (w/2))`,
    and each sequence is centred on the head of its first frame
    (:class:`~torch_skeleton_mae.transforms.CenterSequence`); a joint at
    pixel :math:`(0, 0)` is absent (the all-zero frames that end two videos)
    and stays zero.

    Invisible joints keep their coordinates, the annotators' estimates of
    where the occluded joint is: zeroing them would put a fifth of all
    joints at the origin, a pose no body takes, while a pose estimator such
    as the paper's HRNet also places an occluded joint where it guesses it
    is (with a low score). :obj:`score=True` appends the visibility (0 / 1)
    as a third channel, as pyskl appends a keypoint score.

    A file that cannot be loaded, lacks a field, names an unknown action,
    holds arrays of other shapes or non-finite values, or whose frames
    disagree with its own :obj:`nframes` and :obj:`dimensions` or exceed
    :obj:`max_frames` (checked from its headers, before its arrays are
    read) is skipped and named (``skipped``).

    Args:
        root (str): The :obj:`labels` folder.
        split (str, optional): :obj:`"train"`, :obj:`"val"` (the test
            videos) or :obj:`None`. (default: :obj:`"train"`)
        score (bool, optional): Append the visibility as a channel.
            (default: :obj:`False`)
        normalize (bool, optional): (default: :obj:`True`)
        transform (callable, optional): Applied to each :obj:`(M, T, V, C)`.
        max_frames (int, optional): (default: :obj:`10000`)

    Shapes:
        - **item:** :obj:`(x, label)`, :obj:`x` of shape
          :obj:`(1, T, 13, C)`, :obj:`C = 2` (3 with :obj:`score`)
    """
    suffix = '.mat'
    layout = 'penn-action'
    class_names = PENN_ACTIONS

    def __init__(self, root, split: Optional[str] = 'train',
                 score: bool = False, normalize: bool = True,
                 transform=None, max_frames: int = MAX_FRAMES):
        _scipy_io()  # scipy is missing: say so before reading any file
        self.score, self.max_frames = score, max_frames
        super().__init__(root, split, normalize, transform)

    @property
    def pixel_noise(self) -> float:
        r"""One pixel of a 480-pixel-wide frame in the data's units."""
        return 1 / HALF_WIDTH if self.normalized else 1.0

    def in_train_split(self, meta: Dict[str, Any]) -> bool:
        return meta['train']

    def read(self, path: Path) -> Tuple[Tensor, Dict[str, Any]]:
        io = _scipy_io()
        try:
            shapes = {name: shape for name, shape, _ in io.whosmat(path)}
            frames = max([shapes[k][0] for k in ('x', 'y', 'visibility')
                          if shapes.get(k)], default=0)
            if frames <= self.max_frames:
                mat = io.loadmat(path)
        except Exception as error:  # scipy's parser fails in many ways
            raise ValueError(f"{path}: not a readable MATLAB file "
                             f"({type(error).__name__}: {error})") from None
        if frames > self.max_frames:
            raise ValueError(f"{path}: {frames} frames; expected at most "
                             f"{self.max_frames} (max_frames)")
        missing = [k for k in ('action', 'x', 'y', 'visibility', 'train',
                               'dimensions', 'nframes') if k not in mat]
        if missing:
            raise ValueError(f"{path}: fields {missing} are missing")
        action = _text(mat['action'])
        if action not in PENN_ACTIONS:
            raise ValueError(f"{path}: unknown action '{action}'; expected "
                             f"one of {PENN_ACTIONS}")
        V = self.skeleton.num_joints
        x, y, visible = (np.asarray(mat[k], np.float32)
                         for k in ('x', 'y', 'visibility'))
        if x.ndim != 2 or x.shape[0] == 0 or x.shape[1] != V or not (
                x.shape == y.shape == visible.shape):
            raise ValueError(f"{path}: 'x', 'y' and 'visibility' have shapes "
                             f"{x.shape}, {y.shape}, {visible.shape}; "
                             f"expected the same (T >= 1, {V})")
        if not (np.isfinite(x).all() and np.isfinite(y).all()):
            raise ValueError(f"{path}: 'x' or 'y' holds NaN or inf")
        flag = np.asarray(mat['train']).reshape(-1)
        if flag.size != 1 or flag[0] not in (1, -1):
            raise ValueError(f"{path}: 'train' must be 1 or -1, got "
                             f"{flag.tolist()}")
        size = np.asarray(mat['dimensions'], np.float64).reshape(-1)
        counts = [float(v) for v in np.asarray(
            mat['nframes'], np.float64).reshape(-1)] + size[2:3].tolist()
        if counts != [len(x)] * 2:
            raise ValueError(f"{path}: {len(x)} frames of joints, but "
                             f"'nframes' and 'dimensions' say "
                             f"{[f'{c:g}' for c in counts]}")
        height, width = size[:2]
        present = (x != 0) | (y != 0)
        if self.normalized:
            if not (height > 0 and width > 0):
                raise ValueError(f"{path}: 'dimensions' {height} x {width} "
                                 f"is no frame size")
            x = (x - width / 2) / (width / 2)
            y = (height / 2 - y) / (width / 2)
        channels = [x, y] + ([visible] if self.score else [])
        joints = np.stack(channels, axis=-1) * present[..., None]
        meta = dict(label=PENN_ACTIONS.index(action), action=action,
                    view=_text(mat.get('pose', '')), train=bool(flag[0] == 1))
        return torch.from_numpy(joints.astype(np.float32))[None], meta
