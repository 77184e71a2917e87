import pickle
from pathlib import Path
from typing import Any, Dict, List, Optional

import numpy as np
import torch
from torch import Tensor

from torch_skeleton_mae.graph import get_skeleton
from .base import FrameStore, SkeletonSequences, normalizer

_LAYOUT_BY_JOINTS = {17: 'coco', 25: 'nturgb+d', 18: 'openpose'}


#: The only callables a pyskl pickle may name, numpy's array, dtype and
#: scalar reconstruction (numpy 1 and 2 module names) and the codec that
#: protocol 2 writes bytes with. Everything else, classes and functions
#: that could run code among them, is refused before it is imported.
SAFE_PICKLE_GLOBALS = frozenset(
    (f'numpy.{core}.{module}', name)
    for core in ('core', '_core')
    for module, name in (('multiarray', '_reconstruct'),
                         ('multiarray', 'scalar'),
                         ('numeric', '_frombuffer'))) | {
    ('numpy', 'ndarray'), ('numpy', 'dtype'), ('_codecs', 'encode')}


class UnsafePickleError(pickle.UnpicklingError):
    r"""A pickle names a global that :class:`SafeUnpickler` does not
    build."""


class SafeUnpickler(pickle.Unpickler):
    r"""An unpickler of plain data: dicts, lists, tuples, strings, numbers
    and numpy arrays; a pickle naming any other global
    (:data:`SAFE_PICKLE_GLOBALS`) is refused with an
    :class:`UnsafePickleError` naming it, before it is imported."""
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in SAFE_PICKLE_GLOBALS:
            raise UnsafePickleError(
                f"it names '{module}.{name}', which a skeleton pickle never "
                f"holds (only dicts, lists, strings, numbers and numpy "
                f"arrays are read; nothing in the file was run)")
        return super().find_class(module, name)


def _read_pickle(path: Path):
    try:
        with open(path, 'rb') as f:
            return SafeUnpickler(f).load()
    except UnsafePickleError as error:
        raise ValueError(f"{path}: refused: {error}") from None
    except (pickle.UnpicklingError, EOFError, AttributeError, ImportError,
            IndexError, TypeError, ValueError, MemoryError,
            RecursionError) as error:
        raise ValueError(f"{path}: not a readable pickle "
                         f"({type(error).__name__}: {error}); is it "
                         f"truncated or another kind of file?") from None


def _label(path: Path, ann) -> int:
    label = ann['label']
    if isinstance(label, (bool, np.bool_)) or not float(label).is_integer():
        raise ValueError(f"{path}: '{ann['frame_dir']}' has label {label!r}; "
                         f"expected an integer class")
    return int(label)


class PysklDataset(SkeletonSequences):
    r"""A pyskl / mmaction2 skeleton pickle: :obj:`dict(split={name:
    [frame_dir, ...]}, annotations=[...])`, each annotation with
    :obj:`frame_dir`, :obj:`total_frames`, :obj:`label` (0-based) and
    :obj:`keypoint` :obj:`(M, T, V, C)`; 2D files add :obj:`keypoint_score`
    :obj:`(M, T, V)`. This is the format of the paper's data
    (``ntu60_hrnet.pkl``, ``ntu120_hrnet.pkl``, ``gym_hrnet.pkl``,
    ``diving48_hrnet.pkl``), whose input is the :math:`(x, y)` coordinates
    alone (Sec. 3.1.1); :obj:`score=True` appends the score as a channel.

    Args:
        path (str): The pickle.
        split (str, optional): A key of its :obj:`split` dict, *e.g.*
            :obj:`"xsub_train"`; :obj:`None` for every annotation.
        layout (str, optional): Defaults by joint count: 17 :obj:`"coco"`,
            25 :obj:`"nturgb+d"`, 18 :obj:`"openpose"`.
        max_persons (int, optional): :obj:`M` of every item (more are cut,
            fewer zero-padded). (default: :obj:`2`)
        num_classes (int, optional): Defaults to the largest label + 1.
        score (bool, optional): Append :obj:`keypoint_score` as a channel
            (:obj:`C = 3`). (default: :obj:`False`)
        normalize (bool, optional): Center every sequence (and align the
            view of 3D ones) once, when the dataset is built
            (:func:`~torch_skeleton_mae.datasets.base.normalizer`).
            (default: :obj:`True`)
        transform (callable, optional): Applied to each :obj:`(M, T, V, C)`.

    Every annotation is checked when the dataset is built: one without
    frames, with the wrong joint count or coordinate channels, with NaN or
    inf keypoints, or (with :obj:`score=True`) without a matching
    :obj:`keypoint_score` is skipped, counted by reason in
    :attr:`skipped` and named in a printed summary; a label that is not an
    integer in :obj:`[0, num_classes)` is an error.

    Shapes:
        - **item:** :obj:`(x, label)`, :obj:`x` of shape :obj:`(M, T, V, C)`
          (see :class:`~torch_skeleton_mae.datasets.SkeletonSequences`)
    """
    def __init__(self, path, split: Optional[str] = None,
                 layout: Optional[str] = None, max_persons: int = 2,
                 num_classes: Optional[int] = None, score: bool = False,
                 normalize: bool = True, transform=None):
        self.path = Path(path)
        annotations = self._split(split)
        if layout is None:
            shape = np.shape(annotations[0].get('keypoint'))
            V = shape[2] if len(shape) == 4 else None
            if V not in _LAYOUT_BY_JOINTS:
                raise ValueError(f"{self.path}: no default layout for "
                                 f"keypoints of shape {shape}; pass "
                                 f"'layout'")
            layout = _LAYOUT_BY_JOINTS[V]
        self.skeleton = get_skeleton(layout)
        self.score = score
        #: Annotations left out by reason, :obj:`{reason: [frame_dir]}`.
        self.skipped: Dict[str, List[str]] = {}
        usable = []
        for i, ann in enumerate(annotations):
            reason = self._problem(ann)
            if reason is None:
                usable.append(ann)
            else:
                name = str(ann.get('frame_dir', f'annotation {i}'))
                self.skipped.setdefault(reason, []).append(name)
        if self.skipped:
            print(f"{self.path} ({split or 'all'}): skipped "
                  f"{sum(map(len, self.skipped.values()))} of "
                  f"{len(annotations)} annotations: " + '; '.join(
                      f"{len(names)} {reason} (e.g. '{names[0]}')"
                      for reason, names in self.skipped.items()))
        if not usable:
            raise ValueError(f"{self.path}: no usable annotation in split "
                             f"'{split}'")
        labels = [_label(self.path, a) for a in usable]
        self.num_classes = num_classes or max(labels) + 1
        bad = [(a['frame_dir'], y) for a, y in zip(usable, labels)
               if not 0 <= y < self.num_classes]
        if bad:
            raise ValueError(f"{self.path}: label {bad[0][1]} of "
                             f"'{bad[0][0]}' is out of range "
                             f"[0, {self.num_classes})")
        self.max_persons = max_persons
        self.transform = transform
        self.meta = [dict(name=a['frame_dir'], label=y)
                     for a, y in zip(usable, labels)]
        prepare = normalizer(self.skeleton) if normalize else None
        store = FrameStore()
        for ann in usable:
            x = self._sequence(ann)
            store.add(prepare(x) if prepare else x)
        self.store(*store.arrays(), np.array(labels, np.int64))

    def _split(self, split: Optional[str]) -> List[Dict[str, Any]]:
        # The pickle's annotations of `split` (all of them for None).
        data = _read_pickle(self.path)
        for key in ('split', 'annotations'):
            if not isinstance(data, dict) or key not in data:
                raise ValueError(f"{self.path}: expected a pyskl pickle, a "
                                 f"dict with 'split' and 'annotations'; "
                                 f"'{key}' is missing")
        annotations = data['annotations']
        if split is not None:
            if split not in data['split']:
                raise ValueError(f"{self.path}: no split '{split}'; it has "
                                 f"{sorted(data['split'])}")
            wanted = set(data['split'][split])
            annotations = [a for a in annotations
                           if a.get('frame_dir') in wanted]
        if not annotations:
            raise ValueError(f"{self.path}: split '{split}' is empty")
        return annotations

    def _sequence(self, ann) -> Tensor:
        r"""An annotation as :obj:`(max_persons, T, V, C)`."""
        keypoint = np.asarray(ann['keypoint'], dtype=np.float32)
        if self.score:
            score = np.asarray(ann['keypoint_score'], np.float32)[..., None]
            keypoint = np.concatenate([keypoint, score], axis=-1)
        M, T, V, C = keypoint.shape
        x = np.zeros((self.max_persons, T, V, C), np.float32)
        x[:min(M, self.max_persons)] = keypoint[:self.max_persons]
        return torch.from_numpy(x)

    def _problem(self, ann) -> Optional[str]:
        r"""Why an annotation cannot be used, or :obj:`None`."""
        if not isinstance(ann, dict) or 'frame_dir' not in ann:
            return 'without frame_dir'
        if 'keypoint' not in ann or 'label' not in ann:
            return 'without keypoint or label'
        keypoint = np.asarray(ann['keypoint'])
        V, coords = self.skeleton.num_joints, self.skeleton.coords
        if keypoint.ndim != 4 or keypoint.shape[2:] != (V, coords):
            return (f'with keypoint shapes other than (M, T, {V}, {coords}) '
                    f'of layout {self.skeleton.name}')
        if keypoint.shape[0] == 0 or keypoint.shape[1] == 0:
            return 'without persons or frames'
        if not np.isfinite(keypoint).all():
            return 'with NaN or inf keypoints'
        if self.score:
            if 'keypoint_score' not in ann:
                return 'without keypoint_score'
            score = np.asarray(ann['keypoint_score'])
            if score.shape != keypoint.shape[:3]:
                return 'with keypoint_score shapes unlike their keypoint'
            if not np.isfinite(score).all():
                return 'with NaN or inf keypoint_score'
        return None

    @property
    def pixel_noise(self) -> float:
        r"""Std of the training noise in the data's units, 1 pixel for 2D
        poses (the paper's "pixel noise", Sec. 4.1, whose size it does not
        give), none for 3D joints."""
        return 1.0 if self.skeleton.coords == 2 else 0.0
