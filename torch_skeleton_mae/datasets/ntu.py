import contextlib
import json
import os
import re
import shutil
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor
from importlib import resources
from pathlib import Path
from typing import Dict, List, Optional, Tuple, Union

import numpy as np
import torch
from tqdm.auto import tqdm

try:
    import fcntl
except ImportError:  # Windows: one process builds the cache
    fcntl = None

from torch_skeleton_mae.graph import get_skeleton
from torch_skeleton_mae.utils import atomic_write, write_json
from .base import (MAX_FRAMES, READ_ERRORS, SkeletonSequences, normalizer,
                   sequence_frames, why_skipped)

NUM_JOINTS = 25
NTU = 'ntu-rgb+d'
_NAME = re.compile(r'S(\d{3})C(\d{3})P(\d{3})R(\d{3})A(\d{3})')

# Training performers / setups of the standard benchmarks (1-based ids).
NTU60_XSUB_TRAIN = (1, 2, 4, 5, 8, 9, 13, 14, 15, 16, 17, 18, 19, 25, 27, 28,
                    31, 34, 35, 38)
NTU120_XSUB_TRAIN = NTU60_XSUB_TRAIN + (
    45, 46, 47, 49, 50, 52, 53, 54, 55, 56, 57, 58, 59, 70, 74, 78, 80, 81,
    82, 83, 84, 85, 86, 89, 91, 92, 93, 94, 95, 97, 98, 100, 103)
BENCHMARKS = ('xsub', 'xview', 'xsub120', 'xset')
#: The most body IDs a file may hold (NTU's most crowded hold a handful).
MAX_BODIES = 64


def parse_ntu_name(name: str) -> Dict[str, int]:
    r"""Reads setup, camera, performer, replication and action (1-based)
    from an NTU file name such as :obj:`"S001C002P003R002A013.skeleton"`."""
    match = _NAME.search(Path(name).name)
    if match is None:
        raise ValueError(f"'{name}' is not an NTU RGB+D name "
                         f"(SsssCcccPpppRrrrAaaa)")
    keys = ('setup', 'camera', 'performer', 'replication', 'action')
    return dict(zip(keys, map(int, match.groups())))


def in_train_split(meta: Dict[str, int], benchmark: str) -> bool:
    r"""Whether a sample (see :func:`parse_ntu_name`) is in the training part
    of :obj:`benchmark`: NTU-60 :obj:`"xsub"` / :obj:`"xview"` (cameras 2
    and 3), NTU-120 :obj:`"xsub120"` / :obj:`"xset"` (even setups)."""
    if benchmark == 'xsub':
        return meta['performer'] in NTU60_XSUB_TRAIN
    if benchmark == 'xview':
        return meta['camera'] in (2, 3)
    if benchmark == 'xsub120':
        return meta['performer'] in NTU120_XSUB_TRAIN
    if benchmark == 'xset':
        return meta['setup'] % 2 == 0
    raise ValueError(f"Unknown benchmark '{benchmark}'; expected one of "
                     f"{BENCHMARKS}")


def missing_skeletons() -> frozenset:
    r"""The official lists of samples with missing or incomplete skeletons,
    which the standard benchmarks exclude: NTU RGB+D 60's 302 names (setups
    1-17) and the 233 that NTU RGB+D 120 adds (setups 19-32), 535 in all
    (the NTU-120 list; the NTU-60 folder holds none of the added names)."""
    folder = resources.files('torch_skeleton_mae.datasets') / 'resources'
    names = set()
    for file in ('ntu60_missing_skeletons.txt',
                 'ntu120_missing_skeletons_s018_s032.txt'):
        names.update(folder.joinpath(file).read_text().split())
    return frozenset(names)


def read_ntu_skeleton(path: Union[str, os.PathLike],
                      return_tracking: bool = False,
                      max_frames: int = MAX_FRAMES,
                      max_bodies: int = MAX_BODIES):
    r"""Parses one raw NTU RGB+D :obj:`.skeleton` file (the layout of the
    official :obj:`read_skeleton_file.m`).

    Args:
        path (str): The file.
        return_tracking (bool, optional): Also return every joint's tracking
            state. (default: :obj:`False`)
        max_frames (int, optional): Refuse a file declaring more frames.
            (default: :data:`~torch_skeleton_mae.datasets.base.MAX_FRAMES`)
        max_bodies (int, optional): Refuse a file with more body IDs.
            (default: :data:`MAX_BODIES`)

    Returns:
        A float32 array :obj:`(M, T, 25, 3)` of xyz joints, one row per body
        ID in order of first appearance, zeros where a body is absent (and
        :obj:`(M, T, 25)` tracking states if asked). A file with no body has
        :obj:`M = 0`.

    Raises:
        ValueError: naming the file and line on a truncated or malformed
            file, a joint count other than 25, NaN / inf coordinates, or
            more frames or body IDs than the limits.
    """
    path = Path(path)
    try:
        lines = path.read_text().split('\n')
    except UnicodeDecodeError:
        raise ValueError(f"{path}: not a text file (a binary or damaged "
                         f".skeleton file)") from None
    cursor = 0

    def take(what: str, count: Optional[int] = None) -> List[str]:
        nonlocal cursor
        if cursor >= len(lines) or not lines[cursor].strip():
            raise ValueError(f"{path}: truncated at line {cursor + 1}, "
                             f"expected {what}")
        fields = lines[cursor].split()
        if count is not None and len(fields) != count:
            raise ValueError(f"{path}:{cursor + 1}: expected {what} "
                             f"({count} values), got {len(fields)}")
        cursor += 1
        return fields

    def integer(what: str) -> int:
        fields = take(what, 1)
        try:
            return int(fields[0])
        except ValueError:
            raise ValueError(f"{path}:{cursor}: expected {what}, got "
                             f"'{fields[0]}'") from None

    num_frames = integer('the frame count')
    if not 0 <= num_frames <= max_frames:
        raise ValueError(f"{path}:1: {num_frames} frames; expected 0 to "
                         f"{max_frames} (max_frames)")
    bodies: Dict[str, int] = {}
    frames: List[Tuple[int, int, np.ndarray]] = []
    for t in range(num_frames):
        for _ in range(integer(f'the body count of frame {t}')):
            body_id = take('a body line', 10)[0]
            joints = integer('the joint count')
            if joints != NUM_JOINTS:
                raise ValueError(f"{path}:{cursor}: expected {NUM_JOINTS} "
                                 f"joints, got {joints}")
            rows = [take(f'joint {v} of frame {t}', 12)
                    for v in range(NUM_JOINTS)]
            try:
                values = np.array(rows, dtype=np.float64)
            except ValueError:
                raise ValueError(f"{path}:{cursor - NUM_JOINTS + 1}: joint "
                                 f"values are not numbers") from None
            if not np.isfinite(values).all():
                raise ValueError(f"{path}: frame {t} holds NaN or inf "
                                 f"coordinates")
            m = bodies.setdefault(body_id, len(bodies))
            if len(bodies) > max_bodies:
                raise ValueError(f"{path}: more than {max_bodies} body IDs "
                                 f"by frame {t} (max_bodies)")
            frames.append((m, t, values))
    joints = np.zeros((len(bodies), num_frames, NUM_JOINTS, 3), np.float32)
    tracking = np.zeros((len(bodies), num_frames, NUM_JOINTS), np.int8)
    for m, t, values in frames:
        joints[m, t] = values[:, :3]
        tracking[m, t] = values[:, 11]
    return (joints, tracking) if return_tracking else joints


def select_bodies(joints: np.ndarray, max_bodies: int = 2) -> np.ndarray:
    r"""Keeps the :obj:`max_bodies` bodies with the largest motion (the sum
    over joints and coordinates of the variance over the frames where the
    body is present), in their original order, zero-padded to
    :obj:`max_bodies`: the standard NTU preprocessing.

    Args:
        joints (np.ndarray): :obj:`(M, T, V, C)`.

    Returns:
        :obj:`(max_bodies, T, V, C)`.
    """
    M = joints.shape[0]
    if M > max_bodies:
        motion = []
        for body in joints:
            present = (body != 0).any(axis=(1, 2))
            motion.append(body[present].var(axis=0).sum()
                          if present.sum() > 1 else 0.0)
        keep = np.sort(np.argsort(motion)[::-1][:max_bodies])
        joints = joints[keep]
    out = np.zeros((max_bodies, ) + joints.shape[1:], joints.dtype)
    out[:len(joints)] = joints
    return out


def _parse(path: str) -> Tuple[Optional[np.ndarray], str]:
    # ((M, T, V, C) joints, '') or (None, why the file was skipped): one bad
    # file must not cost the others. NumPy only: torch in forked workers can
    # deadlock on the parent's thread pool.
    try:
        joints = read_ntu_skeleton(path)
    except READ_ERRORS as error:
        return None, why_skipped(path, error)
    if joints.shape[0] == 0:
        return None, ''
    return select_bodies(joints), ''


def _listing(root: Path) -> Dict[str, List[int]]:
    r"""Every :obj:`.skeleton` file below :obj:`root`: relative path ->
    size in bytes and modification time in nanoseconds (what the cache was
    built from: an edited file of the same size is noticed too)."""
    return {str(f.relative_to(root)): [(st := f.stat()).st_size,
                                       st.st_mtime_ns]
            for f in sorted(root.rglob('*.skeleton'))}


@contextlib.contextmanager
def _locked(path: Path):
    # Holds an exclusive lock on `path` (created) inside the block: the
    # processes of a torchrun job build the cache once, the others wait.
    with open(path, 'a') as f:
        if fcntl is not None:
            fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            if fcntl is not None:
                fcntl.flock(f, fcntl.LOCK_UN)


def _write_npy(path: Path, raw: Path, shape: Tuple[int, ...]) -> None:
    r"""Writes the float32 bytes of :obj:`raw` as the array :obj:`shape`
    into the :obj:`.npy` file :obj:`path`, atomically."""
    with atomic_write(path) as out, open(raw, 'rb') as data:
        np.lib.format.write_array_header_1_0(out, dict(
            descr='<f4', fortran_order=False, shape=shape))
        shutil.copyfileobj(data, out, 1 << 24)


class NTURGBD(SkeletonSequences):
    r"""NTU RGB+D 60 / 120 from the raw :obj:`.skeleton` files.

    The first use parses every file of :obj:`root` in parallel (with a
    progress bar) into :obj:`cache_dir`, preprocessed once (the two most
    moving bodies, centering and view alignment): the frames of every
    sequence, from its first to its last non-empty frame, in one float32
    array :obj:`(F, 3, 25, 2)` read back memory-mapped, and an index of
    names, lengths, the files it was built from and what was skipped.
    Files on the official missing-skeleton list, files with no body at all
    and unreadable files (truncated, binary, malformed; the reason names the
    line) are skipped, counted by reason in :obj:`skipped` and named in a
    printed summary; the good files are kept. More than two bodies keep the
    two that move most
    (:func:`~torch_skeleton_mae.datasets.ntu.select_bodies`). When files are
    added to or removed from :obj:`root` later, the cache is built again.

    Args:
        root (str): Folder of :obj:`.skeleton` files (searched recursively).
        benchmark (str, optional): :obj:`"xsub"`, :obj:`"xview"` (NTU-60),
            :obj:`"xsub120"`, :obj:`"xset"` (NTU-120). (default: :obj:`"xsub"`)
        split (str, optional): :obj:`"train"`, :obj:`"val"` or :obj:`None`
            for all. (default: :obj:`"train"`)
        cache_dir (str, optional): Where the parsed arrays go.
            (default: :obj:`root/.torch_skeleton_mae`)
        num_workers (int, optional): Parsing processes. (default: :obj:`2`)
        normalize (bool, optional): Apply
            :class:`~torch_skeleton_mae.transforms.PreNormalize3D` (center
            and view alignment) when the cache is built. (default:
            :obj:`True`)
        transform (callable, optional): Applied to each :obj:`(M, T, V, C)`.

    Shapes:
        - **item:** :obj:`(x, label)`, :obj:`x` of shape :obj:`(3, T, 25, 2)`
          (see :class:`SkeletonSequences`), label 0-based
    """
    num_joints = NUM_JOINTS

    def __init__(self, root, benchmark: str = 'xsub',
                 split: Optional[str] = 'train', cache_dir=None,
                 num_workers: int = 2, normalize: bool = True,
                 transform=None):
        if benchmark not in BENCHMARKS:
            raise ValueError(f"Unknown benchmark '{benchmark}'; expected one "
                             f"of {BENCHMARKS}")
        if split not in ('train', 'val', None):
            raise ValueError(f"'split' must be 'train', 'val' or None, got "
                             f"'{split}'")
        self.root = Path(root)
        if not self.root.is_dir():
            raise FileNotFoundError(f"NTU RGB+D folder '{root}' does not "
                                    f"exist")
        self.skeleton = get_skeleton(NTU)
        self.transform = transform
        #: Whether the cached sequences are centered and aligned.
        self.normalized = normalize
        cache = Path(cache_dir) if cache_dir else (self.root /
                                                   '.torch_skeleton_mae')
        stem = _stem(normalize)
        index_path = cache / f'index_{stem}.json'
        cache.mkdir(parents=True, exist_ok=True)
        with _locked(cache / '.lock'):
            index = (json.loads(index_path.read_text())
                     if index_path.exists() else None)
            if index is None or index.get('sources') != _listing(self.root):
                if index is not None:
                    print(f'NTU RGB+D: the files below {self.root} changed '
                          f'since its cache was built; parsing them again')
                self.preprocess(self.root, cache, num_workers, normalize)
                index = json.loads(index_path.read_text())
        self.skipped = index['skipped']
        frames = np.load(cache / f'frames_{stem}.npy',
                         mmap_mode='r' if index['names'] else None)
        lengths = np.array(index['lengths'], dtype=np.int64)
        offsets = np.cumsum(lengths) - lengths
        self.meta, rows = [], []
        for row, name in enumerate(index['names']):
            meta = dict(parse_ntu_name(name), name=name)
            meta['label'] = meta['action'] - 1
            if split is None or in_train_split(meta, benchmark) == (
                    split == 'train'):
                self.meta.append(meta)
                rows.append(row)
        self.store(frames, offsets[rows], lengths[rows],
                   np.array([m['label'] for m in self.meta], np.int64))
        self.num_classes = 120 if benchmark in ('xsub120', 'xset') else 60

    @staticmethod
    def preprocess(root: Path, cache: Path, num_workers: int = 2,
                   normalize: bool = True) -> Dict[str, List[str]]:
        r"""Parses every :obj:`.skeleton` file below :obj:`root` once into
        :obj:`cache`; returns and stores what was skipped, by reason
        (:obj:`{"missing_skeleton_list": [...], "no_body": [...],
        "unreadable": {name: why}}`)."""
        sources = _listing(root)
        if not sources:
            raise FileNotFoundError(f"No .skeleton files below '{root}'")
        excluded = missing_skeletons()
        skipped = {'missing_skeleton_list': [], 'no_body': [],
                   'unreadable': {}}
        todo = []
        for relative in sources:
            name = Path(relative).name.split('.')[0]
            try:
                parse_ntu_name(name)
            except ValueError as error:
                skipped['unreadable'][name] = str(error)
                continue
            if name in excluded:
                skipped['missing_skeleton_list'].append(name)
            else:
                todo.append(root / relative)
        cache.mkdir(parents=True, exist_ok=True)
        stem = _stem(normalize)
        handle, raw = tempfile.mkstemp(prefix=f'.frames_{stem}.', dir=cache)
        raw = Path(raw)
        names, lengths = [], []
        prepare = normalizer(NTU) if normalize else None
        try:
            with os.fdopen(handle, 'wb') as out, ProcessPoolExecutor(
                    max(1, num_workers)) as pool:
                results = pool.map(_parse, map(str, todo), chunksize=16)
                for f, (joints, error) in tqdm(
                        zip(todo, results), total=len(todo),
                        desc='parsing .skeleton files',
                        disable=not sys.stderr.isatty()):
                    name = f.name.split('.')[0]
                    if error:
                        skipped['unreadable'][name] = error
                    elif joints is None:
                        skipped['no_body'].append(name)
                    else:
                        x = torch.from_numpy(joints)  # (M, T, V, C)
                        frames = sequence_frames(prepare(x) if prepare else x)
                        out.write(frames.tobytes())
                        names.append(name)
                        lengths.append(len(frames))
            _write_npy(cache / f'frames_{stem}.npy', raw,
                       (sum(lengths), 2, NUM_JOINTS, 3))
        finally:
            raw.unlink(missing_ok=True)
        write_json(cache / f'index_{stem}.json', dict(
            names=names, lengths=lengths, skipped=skipped, sources=sources))
        unreadable = skipped['unreadable']
        print(f"NTU RGB+D: parsed {len(names)} of {len(sources)} files; "
              f"skipped {len(skipped['missing_skeleton_list'])} on the "
              f"missing-skeleton list, {len(skipped['no_body'])} with no "
              f"body and {len(unreadable)} unreadable" + ''.join(
                  f"\n  {name}: {why}" for name, why in unreadable.items()))
        return skipped


def _stem(normalize: bool) -> str:
    # Names the cache files of a preprocessing and of this cache format
    # (v2: frames (F, M, V, C)).
    return ('normalized' if normalize else 'raw') + '_v2'
