from typing import Dict, List, Optional, Tuple

import numpy as np
import torch

from torch_skeleton_mae.graph import get_skeleton
from torch_skeleton_mae.transforms import CenterSequence
from .base import FrameStore, SkeletonSequences, normalizer

# A standing body as a kinematic tree: NTU-25 joints 0-24 plus five face
# points 25-29 (nose, left eye, right eye, left ear, right ear) for 2D
# layouts. x is the person's left, y up, z forward; meters.
_PARENT = (-1, 0, 20, 2, 20, 4, 5, 6, 20, 8, 9, 10, 0, 12, 13, 14, 0, 16, 17,
           18, 1, 22, 7, 24, 11, 3, 3, 3, 3, 3)
_OFFSET = np.array([
    (0, 0, 0), (0, .25, 0), (0, .08, 0), (0, .12, 0), (.18, -.02, 0),
    (0, -.28, 0), (0, -.25, 0), (0, -.08, 0), (-.18, -.02, 0), (0, -.28, 0),
    (0, -.25, 0), (0, -.08, 0), (.1, -.05, 0), (0, -.42, 0), (0, -.42, 0),
    (0, -.05, .12), (-.1, -.05, 0), (0, -.42, 0), (0, -.42, 0),
    (0, -.05, .12), (0, .25, 0), (-.03, -.05, 0), (.03, -.04, .02),
    (.03, -.05, 0), (-.03, -.04, .02), (0, -.02, .1), (.035, .02, .08),
    (-.035, .02, .08), (.075, 0, 0), (-.075, 0, 0)], dtype=np.float64)
_ORDER = (0, 1, 20, 2, 3, 4, 5, 6, 7, 22, 21, 8, 9, 10, 11, 24, 23, 12, 13,
          14, 15, 16, 17, 18, 19, 25, 26, 27, 28, 29)
_FEET = (15, 19)
_MIRROR = np.arange(30)  # left <-> right, for left-handed performers
for _a, _b in ((4, 8), (5, 9), (6, 10), (7, 11), (21, 23), (22, 24),
               (12, 16), (13, 17), (14, 18), (15, 19), (26, 27), (28, 29)):
    _MIRROR[_a], _MIRROR[_b] = _b, _a
# Joints that fidget at random, whatever the action.
_FIDGET_JOINTS = (1, 2, 4, 5, 8, 9, 12, 13, 16, 17)
# (joint, axis, max degrees) of a performer's static posture.
_POSTURE = ((1, 'x', 10), (1, 'z', 6), (2, 'x', 15), (4, 'z', 15),
            (8, 'z', 15), (5, 'x', 25), (9, 'x', 25), (13, 'x', 10),
            (17, 'x', 10))

# Which of the 30 body points each layout reads.
_LAYOUT_POINTS = {
    'ntu-rgb+d': tuple(range(25)),
    'nturgb+d': tuple(range(25)),
    'coco': (25, 26, 27, 28, 29, 4, 8, 5, 9, 6, 10, 12, 16, 13, 17, 14, 18),
    'openpose': (25, 20, 8, 9, 10, 4, 5, 6, 16, 17, 18, 12, 13, 14, 27, 26,
                 29, 28),
    'kinect-v1': (0, 1, 20) + tuple(range(3, 20)),
    'penn-action': (25, 4, 8, 5, 9, 6, 10, 12, 16, 13, 17, 14, 18),
}

ACTIONS = ('wave', 'raise_hand', 'clap', 'punch', 'push', 'raise_arms',
           'squat', 'sit_down', 'bow', 'pick_up', 'kick', 'side_kick', 'jump',
           'march', 'run', 'handshake', 'hug')
TWO_PERSON_ACTIONS = ('handshake', 'hug')
# Actions done once per sequence; the others repeat.
_ONE_CYCLE = ('raise_hand', 'push', 'raise_arms', 'sit_down', 'bow',
              'pick_up', 'jump', 'hug')
NUM_CAMERAS = 3

__all__ = [
    'SyntheticSkeletons',
    'ACTIONS',
    'TWO_PERSON_ACTIONS',
]


def _rot(axis: str, angle: np.ndarray) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    o, z = np.ones_like(angle), np.zeros_like(angle)
    rows = {
        'x': ((o, z, z), (z, c, -s), (z, s, c)),
        'y': ((c, z, s), (z, o, z), (-s, z, c)),
        'z': ((c, -s, z), (s, c, z), (z, z, o)),
    }[axis]
    return np.stack([np.stack(r, axis=-1) for r in rows], axis=-2)


def _pulse(phase: np.ndarray) -> np.ndarray:
    """A smooth 0 -> 1 -> 0 bump per cycle."""
    return 0.5 - 0.5 * np.cos(phase)


def _joint_angles(action: str, phase: np.ndarray, amp: float
                  ) -> List[Tuple[int, str, np.ndarray]]:
    """(joint, axis, angle per frame) rotations of one action."""
    s, p, one = np.sin(phase), _pulse(phase), np.ones_like(phase)
    ramp = _pulse(phase / 2)  # 0 -> 1 once over a cycle
    up, down = np.maximum(s, 0), np.maximum(-s, 0)
    deg = np.pi / 180 * amp
    legs_bent = [(12, 'x', -90 * deg), (16, 'x', -90 * deg),
                 (13, 'x', 120 * deg), (17, 'x', 120 * deg),
                 (1, 'x', 25 * deg)]
    angles = {
        'wave': [(8, 'z', -150 * deg * one), (9, 'z', 35 * deg * s)],
        'raise_hand': [(8, 'z', -150 * deg * p), (9, 'z', 20 * deg * p)],
        'clap': [(4, 'x', -80 * deg * one), (8, 'x', -80 * deg * one),
                 (4, 'y', -35 * deg * p), (8, 'y', 35 * deg * p)],
        'punch': [(8, 'x', -85 * deg * one), (9, 'x', -100 * deg * (1 - p)),
                  (4, 'x', -40 * deg * one), (5, 'x', -100 * deg * one)],
        'push': [(4, 'x', -80 * deg * one), (8, 'x', -80 * deg * one),
                 (5, 'x', -100 * deg * (1 - p)),
                 (9, 'x', -100 * deg * (1 - p)), (1, 'x', 10 * deg * p)],
        'raise_arms': [(4, 'z', 165 * deg * p), (8, 'z', -165 * deg * p)],
        'squat': [(j, a, v * p) for j, a, v in legs_bent] +
                 [(4, 'x', -60 * deg * p), (8, 'x', -60 * deg * p)],
        'sit_down': [(j, a, v * ramp) for j, a, v in legs_bent],
        'bow': [(1, 'x', 70 * deg * p), (2, 'x', 20 * deg * p)],
        'pick_up': [(1, 'x', 75 * deg * p), (8, 'x', -40 * deg * p),
                    (12, 'x', -25 * deg * p), (16, 'x', -25 * deg * p),
                    (13, 'x', 40 * deg * p), (17, 'x', 40 * deg * p)],
        'kick': [(16, 'x', -85 * deg * p ** 2), (17, 'x', 30 * deg * p),
                 (4, 'z', 20 * deg * p)],
        'side_kick': [(16, 'z', -60 * deg * p ** 2), (1, 'z', 15 * deg * p),
                      (4, 'z', 30 * deg * p)],
        'jump': [(12, 'x', -30 * deg * p), (16, 'x', -30 * deg * p),
                 (13, 'x', 50 * deg * p), (17, 'x', 50 * deg * p),
                 (4, 'z', 70 * deg * (1 - p)), (8, 'z', -70 * deg * (1 - p))],
        'march': [(12, 'x', -60 * deg * up), (16, 'x', -60 * deg * down),
                  (13, 'x', 80 * deg * up), (17, 'x', 80 * deg * down),
                  (4, 'x', 30 * deg * s), (8, 'x', -30 * deg * s)],
        'run': [(12, 'x', -45 * deg * up), (16, 'x', -45 * deg * down),
                (13, 'x', 100 * deg * up), (17, 'x', 100 * deg * down),
                (4, 'x', 50 * deg * s), (8, 'x', -50 * deg * s),
                (5, 'x', -80 * deg * one), (9, 'x', -80 * deg * one),
                (1, 'x', 12 * deg * one)],
        'handshake': [(8, 'x', -60 * deg + 8 * deg * s),
                      (9, 'x', -20 * deg * one)],
        'hug': [(4, 'x', -75 * deg * p), (8, 'x', -75 * deg * p),
                (5, 'y', -70 * deg * p), (9, 'y', 70 * deg * p),
                (1, 'x', 10 * deg * p)],
        'idle': [(1, 'z', 3 * deg * s)],
    }
    if action not in angles:
        raise ValueError(f"Unknown action '{action}'")
    return angles[action]


def _animate(rng: np.random.Generator, action: str, T: int,
             scale: np.ndarray, speed: float) -> np.ndarray:
    """Forward kinematics of one person: (T, 30, 3) points."""
    t = np.arange(T) / T
    start = rng.uniform(0, 0.25)  # timing jitter: actions start late
    warp = np.clip((t - start) / (1 - start), 0, 1) ** rng.uniform(0.8, 1.25)
    cycles = speed * (1 if action in _ONE_CYCLE else
                      3 if action == 'run' else 2)
    phase = 2 * np.pi * cycles * warp + rng.uniform(-0.3, 0.3)
    local = np.broadcast_to(np.eye(3), (T, 30, 3, 3)).copy()
    rotations = _joint_angles(action, phase, rng.uniform(0.6, 1.3))
    # A personal posture: static offsets of the spine, arms and knees.
    for joint, axis, limit in _POSTURE:
        rotations.append((joint, axis, np.full(T, rng.uniform(-limit, limit)
                                               * np.pi / 180)))
    for joint in rng.choice(_FIDGET_JOINTS, size=4, replace=False):
        freq, amp = rng.uniform(0.5, 3), rng.uniform(0, 40) * np.pi / 180
        rotations.append((joint, 'xyz'[rng.integers(3)],
                          amp * np.sin(2 * np.pi * freq * t +
                                       rng.uniform(0, 2 * np.pi))))
    for joint, axis, angle in rotations:
        local[:, joint] = local[:, joint] @ _rot(axis, angle)
    world_rot = np.empty_like(local)
    pos = np.zeros((T, 30, 3))
    offset = _OFFSET * scale[:, None]
    for j in _ORDER:
        parent = _PARENT[j]
        if parent < 0:
            world_rot[:, j] = local[:, j]
            continue
        pos[:, j] = pos[:, parent] + world_rot[:, parent] @ offset[j]
        world_rot[:, j] = world_rot[:, parent] @ local[:, j]
    if rng.random() < 0.5:  # left-handed: the mirror image
        pos = pos[:, _MIRROR] * np.array([-1.0, 1.0, 1.0])
    pos[..., 1] -= pos[:, _FEET, 1].min(axis=1, keepdims=True)  # on the floor
    if action == 'jump':
        pos[..., 1] += 0.35 * np.clip(np.sin(phase), 0, None)[:, None] ** 2
    return pos


class SyntheticSkeletons(SkeletonSequences):
    r"""A built-in, procedurally animated skeleton-action dataset: no
    download, deterministic from :obj:`seed`, in any built-in layout.

    Seventeen actions (:obj:`ACTIONS`) are animated by forward kinematics
    of a 30-point body, in confusable pairs: wave / raise hand, punch /
    push, squat / sit down, bow / pick up, kick / side kick, march / run,
    raise arms / jump, clap, and the two-person handshake / hug. Each sample
    has its performer's limb lengths (40 performers), a random speed,
    amplitude, phase and start time, a personal static posture (spine, arm
    and knee angles), a random side (left-handed performers mirror the
    action), random fidgeting of four joints, sensor noise, a small sway,
    one of three camera yaws (-45, 0, 45 degrees: cross-view splits mean
    something) plus the performer's own facing (+-29 degrees) and a random
    pitch, sometimes an idle bystander as second person, and occasionally
    missing (all-zero) frames. A randomly initialized encoder does not solve
    it: its linear probe reaches about 64% (chance 5.9%, see the docs'
    results page).
    The 3D layouts (NTU, Kinect v1) hold xyz joints, the 2D ones (COCO,
    OpenPose, Penn Action) xy (the paper's input), plus a random confidence
    score channel with :obj:`score=True`.

    The sequences are generated once, when the dataset is built (a few
    milliseconds each), and are identical for the same :obj:`seed`,
    whatever :obj:`num_samples` is.

    Args:
        num_samples (int): Number of sequences.
        layout (str, optional): :obj:`"ntu-rgb+d"`, :obj:`"nturgb+d"`,
            :obj:`"kinect-v1"`, :obj:`"coco"`, :obj:`"openpose"` or
            :obj:`"penn-action"`. (default: :obj:`"ntu-rgb+d"`)
        num_frames (int, optional): Frames :obj:`T`. (default: :obj:`64`)
        seed (int, optional): Seed of everything. (default: :obj:`0`)
        split (str, optional): :obj:`None` (all), :obj:`"train"` or
            :obj:`"val"` of :obj:`benchmark`. (default: :obj:`None`)
        benchmark (str, optional): :obj:`"xsub"` (performers 1-28 train) or
            :obj:`"xview"` (cameras 2 and 3 train). (default: :obj:`"xsub"`)
        noise (float, optional): Std of the sensor noise in meters.
            (default: :obj:`0.03`)
        score (bool, optional): Append a confidence score to 2D joints.
            (default: :obj:`False`)
        center (bool, optional): Center every sequence
            (:class:`~torch_skeleton_mae.transforms.CenterSequence`) when it
            is generated. (default: :obj:`False`)
        normalize (bool, optional): Preprocess every sequence as the readers
            preprocess real data
            (:func:`~torch_skeleton_mae.datasets.base.normalizer`: centering,
            and a canonical view for 3D layouts, which removes the camera yaw),
            to pre-train beside a real dataset.
            (default: :obj:`False`)
        max_persons (int, optional): :obj:`M`, 2 or 1 (the first person
            only, as in single-person datasets). (default: :obj:`2`)
        transform (callable, optional): Applied to each :obj:`(M, T, V, C)`
            tensor.

    Shapes:
        - **item:** :obj:`(x, label)`, :obj:`x` of shape :obj:`(M, T, V, C)`
          (see :class:`~torch_skeleton_mae.datasets.SkeletonSequences`)

    Example:
        >>> from torch_skeleton_mae.datasets import SyntheticSkeletons
        >>> data = SyntheticSkeletons(20, layout='coco', num_frames=32)
        >>> x, label = data[0]
        >>> tuple(x.shape), data.num_classes
        ((2, 32, 17, 2), 17)
    """
    num_classes = len(ACTIONS)
    num_performers = 40
    #: Std of the training noise matching the paper's "pixel noise", 1 cm
    #: (about 0.6% of a body's height, as 1 px is of a 200 px tall person).
    pixel_noise = 0.01

    def __init__(self, num_samples: int, layout: str = 'ntu-rgb+d',
                 num_frames: int = 64, seed: int = 0,
                 split: Optional[str] = None, benchmark: str = 'xsub',
                 noise: float = 0.03, score: bool = False,
                 center: bool = False, normalize: bool = False,
                 max_persons: int = 2, transform=None):
        if layout not in _LAYOUT_POINTS:
            raise ValueError(f"SyntheticSkeletons supports layouts "
                             f"{sorted(_LAYOUT_POINTS)}, got '{layout}'")
        if split not in (None, 'train', 'val'):
            raise ValueError(f"'split' must be None, 'train' or 'val', got "
                             f"'{split}'")
        if benchmark not in ('xsub', 'xview'):
            raise ValueError(f"'benchmark' must be 'xsub' or 'xview', got "
                             f"'{benchmark}'")
        if max_persons not in (1, 2):
            raise ValueError(f"'max_persons' must be 1 or 2, got "
                             f"{max_persons}")
        if num_frames < 2:
            raise ValueError(f"'num_frames' must be >= 2, got {num_frames}")
        self.skeleton = get_skeleton(layout)
        self.score = score and self.skeleton.coords == 2
        #: Frames of every generated sequence.
        self.sequence_length = num_frames
        self.seed = seed
        self.noise = noise
        self.max_persons = max_persons
        self.transform = transform
        # Per-index draws: sample i is the same whatever num_samples is.
        labels = np.arange(num_samples) % self.num_classes
        draws = np.array([np.random.default_rng([seed, 0, i]).integers(
            1, [self.num_performers + 1, NUM_CAMERAS + 1])
            for i in range(num_samples)], dtype=np.int64).reshape(-1, 2)
        performers, cameras = draws[:, 0], draws[:, 1]
        self._scales = 1 + 0.08 * np.random.default_rng(
            [seed, 1]).standard_normal((self.num_performers + 1, 30))
        self._heights = np.random.default_rng([seed, 2]).uniform(
            0.85, 1.15, self.num_performers + 1)
        index = np.arange(num_samples)
        if split is not None:
            train = (performers <= 28 if benchmark == 'xsub' else
                     cameras >= 2)
            index = index[train if split == 'train' else ~train]
        self.indices = index
        self._labels = labels
        self.performers = performers
        self.cameras = cameras
        self.meta: List[Dict[str, int]] = [
            dict(index=int(i), performer=int(performers[i]),
                 camera=int(cameras[i]), label=int(labels[i]))
            for i in index
        ]
        prepare = (normalizer(self.skeleton) if normalize else
                   CenterSequence(self.skeleton) if center else None)
        store = FrameStore(trim=False)
        for i in index:
            x = torch.from_numpy(self.generate(int(i))[0])  # (M, T, V, C)
            store.add(prepare(x) if prepare else x)
        self.store(*store.arrays(), labels[index])

    def generate(self, index: int) -> Tuple[np.ndarray, int]:
        r"""Builds sample :obj:`index` (of the whole set, before any split)
        as a numpy array :obj:`(M, T, V, C)` and its label."""
        label = int(self._labels[index])
        action = ACTIONS[label]
        rng = np.random.default_rng([self.seed, 3, index])
        T = self.sequence_length
        performer = self.performers[index]
        scale = self._scales[performer] * self._heights[performer]
        speed = rng.uniform(0.7, 1.4)
        persons = [_animate(rng, action, T, scale, speed)]
        two = action in TWO_PERSON_ACTIONS
        if two or rng.random() < 0.25:
            other = self._scales[rng.integers(1, self.num_performers + 1)]
            persons.append(_animate(rng, action if two else 'idle', T, other,
                                    speed))
        # Place the persons: the second faces the first for interactions.
        placed = []
        for m, pos in enumerate(persons):
            if m == 1 and two:  # face the first person, an arm apart
                pos = pos @ _rot('y', np.array(np.pi)).T + [
                    0, 0, 0.55 if action == 'hug' else 1.1]
            elif m == 1:  # a bystander to one side
                pos = pos + [rng.choice([-1.2, 1.2]), 0, 0.5]
            sway = 0.02 * np.sin(2 * np.pi * rng.uniform(0.2, 1) *
                                 np.arange(T) / T)[:, None, None]
            placed.append(pos + sway * np.array([1, 0, 0]))
        body = np.stack(placed)  # (M, T, 30, 3)
        yaw = ((self.cameras[index] - 2) * np.pi / 4 +
               rng.uniform(-0.5, 0.5))  # the performer's facing
        pitch = rng.uniform(-0.2, 0.2)
        body = body @ (_rot('y', np.array(yaw)) @ _rot('x', np.array(pitch))).T
        body = body + np.array([rng.uniform(-0.3, 0.3), 0,
                                rng.uniform(2.5, 3.5)])
        body = body + self.noise * rng.standard_normal(body.shape)
        points = body[:, :, _LAYOUT_POINTS[self.skeleton.name]]
        if self.skeleton.coords == 2:
            score = rng.uniform(0.6, 1.0, points.shape[:-1] + (1, ))
            points = points[..., :2]
            if self.score:
                points = np.concatenate([points, score], axis=-1)
        out = np.zeros((self.max_persons, ) + points.shape[1:], np.float32)
        out[:len(points)] = points[:self.max_persons]
        missing = rng.random(T) < 0.03  # dropped sensor frames
        out[:, missing] = 0
        return out, label

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}({len(self)}, "
                f"layout='{self.skeleton.name}', "
                f"num_frames={self.sequence_length})")
