r"""Motion that was not recorded for action recognition: mocap BVH files of
any rig, mapped onto a layout by joint names, and the Kinect v1 CSV files
of MSRC-12. Each reader returns joints in metres at a chosen frame rate,
as one sequence :obj:`(3, T, V, 1)` of a package layout."""
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from torch import Tensor

from torch_skeleton_mae.graph import get_skeleton

#: The largest frame count a reader accepts before it allocates (an hour
#: at 120 Hz; settable per call).
MAX_FRAMES = 432_000
#: The most joints a BVH hierarchy may declare.
MAX_BVH_JOINTS = 1024

JointMap = Mapping[str, Union[str, Sequence[str]]]

#: Joint maps onto :obj:`"kinect-v1"` by rig, each Kinect joint from one
#: rig joint or the mean of several. A rig joint's name means its origin,
#: :obj:`"<name>/end"` its end site.
JOINT_MAPS: Dict[str, Dict[str, Union[str, Tuple[str, ...]]]] = {
    # Bandai-Namco Research Motiondataset 1 and 2 (22 joints).
    'bandai-namco': dict(
        hip_center='Hips', spine='Spine', shoulder_center='Neck',
        head='Head', left_shoulder='UpperArm_L', left_elbow='LowerArm_L',
        left_wrist='Hand_L', left_hand='Hand_L/end',
        right_shoulder='UpperArm_R', right_elbow='LowerArm_R',
        right_wrist='Hand_R', right_hand='Hand_R/end',
        left_hip='UpperLeg_L', left_knee='LowerLeg_L', left_ankle='Foot_L',
        left_foot='Toes_L', right_hip='UpperLeg_R', right_knee='LowerLeg_R',
        right_ankle='Foot_R', right_foot='Toes_R'),
    # CMU mocap retargeted to Reallusion's CC3 rig (the iClone exports).
    'cc-base': dict(
        hip_center='CC_Base_Hip', spine='CC_Base_Spine01',
        shoulder_center='CC_Base_NeckTwist01', head='CC_Base_Head',
        left_shoulder='CC_Base_L_Upperarm', left_elbow='CC_Base_L_Forearm',
        left_wrist='CC_Base_L_Hand', left_hand='CC_Base_L_Mid1',
        right_shoulder='CC_Base_R_Upperarm', right_elbow='CC_Base_R_Forearm',
        right_wrist='CC_Base_R_Hand', right_hand='CC_Base_R_Mid1',
        left_hip='CC_Base_L_Thigh', left_knee='CC_Base_L_Calf',
        left_ankle='CC_Base_L_Foot', left_foot='CC_Base_L_ToeBase',
        right_hip='CC_Base_R_Thigh', right_knee='CC_Base_R_Calf',
        right_ankle='CC_Base_R_Foot', right_foot='CC_Base_R_ToeBase'),
}
#: The rotation of each BVH axis letter.
_AXES = {'X': 0, 'Y': 1, 'Z': 2}


@dataclass
class BVHMotion:
    r"""A BVH file's skeleton and its joints' global positions.

    Attributes:
        names (list of str): Joints in file order, each end site as
            :obj:`"<parent>/end"`.
        parents (list of int): Each joint's parent index (:obj:`-1`: root).
        positions (numpy.ndarray): Global positions :obj:`(T, J, 3)` in the
            file's units and axes.
        frame_time (float): Seconds per frame.
    """
    names: List[str]
    parents: List[int]
    positions: np.ndarray
    frame_time: float


def parse_bvh(text: str, source: str = '<bvh>',
              max_frames: int = MAX_FRAMES) -> BVHMotion:
    r"""Parses a BVH file's text and runs forward kinematics: each joint's
    local rotation is the product of its rotation channels in file order,
    its translation its position channels where it has them (as Blender
    reads them), else its :obj:`OFFSET`.

    Raises:
        ValueError: naming :obj:`source` and what is wrong (a malformed
            hierarchy, more than :obj:`max_frames` frames or
            :data:`MAX_BVH_JOINTS` joints, a frame count that the values do
            not match, values that are not finite numbers).
    """
    head, sep, motion = text.partition('MOTION')
    if not sep:
        raise ValueError(f'{source}: no MOTION section (not a BVH file)')
    names, parents, offsets, channels = _hierarchy(head.split(), source)
    frames, frame_time, values = _motion(motion, source, max_frames)
    width = sum(len(c) for c in channels)
    if values.size != frames * width:
        raise ValueError(f'{source}: {values.size} motion values; expected '
                         f'{frames} frames x {width} channels')
    values = values.reshape(frames, width)
    positions = np.empty((frames, len(names), 3))
    rotations = np.empty((frames, len(names), 3, 3))
    column = 0
    for j, (parent, offset, chans) in enumerate(zip(parents, offsets,
                                                    channels)):
        local = values[:, column:column + len(chans)]
        column += len(chans)
        translation = np.broadcast_to(offset, (frames, 3)).copy()
        rotation = np.broadcast_to(np.eye(3), (frames, 3, 3))
        for k, chan in enumerate(chans):
            axis = _AXES[chan[0]]
            if chan.endswith('position'):
                translation[:, axis] = local[:, k]
            else:
                rotation = rotation @ _axis_rotation(local[:, k], axis)
        if parent < 0:
            positions[:, j], rotations[:, j] = translation, rotation
        else:
            positions[:, j] = positions[:, parent] + np.einsum(
                'tij,tj->ti', rotations[:, parent], translation)
            rotations[:, j] = rotations[:, parent] @ rotation
    return BVHMotion(names, parents, positions, frame_time)


def _hierarchy(tokens: List[str], source: str):
    # The joints of a BVH HIERARCHY, read without recursion: names,
    # parents, offsets (J, 3) and channel names.
    names, parents, offsets, channels = [], [], [], []
    stack: List[int] = []
    i, pending = 0, None
    try:
        while i < len(tokens):
            token = tokens[i]
            if token in ('ROOT', 'JOINT'):
                if token == 'ROOT' and (stack or names):
                    raise ValueError('a second ROOT')
                pending = tokens[i + 1]
                i += 2
            elif token == 'End':
                pending = f'{names[stack[-1]]}/end'
                i += 2
            elif token == '{':
                if pending is None:
                    raise ValueError("'{' without a joint")
                if len(names) == MAX_BVH_JOINTS:
                    raise ValueError(f'more than {MAX_BVH_JOINTS} joints')
                names.append(pending)
                parents.append(stack[-1] if stack else -1)
                offsets.append(np.zeros(3))
                channels.append([])
                stack.append(len(names) - 1)
                pending = None
                i += 1
            elif token == '}':
                stack.pop()
                i += 1
            elif token == 'OFFSET':
                offsets[stack[-1]] = np.array(tokens[i + 1:i + 4], float)
                i += 4
            elif token == 'CHANNELS':
                count = int(tokens[i + 1])
                chans = tokens[i + 2:i + 2 + count]
                if len(chans) != count or not all(
                        len(c) > 1 and c[0] in _AXES and c[1:] in (
                            'position', 'rotation') for c in chans):
                    raise ValueError(f'bad CHANNELS {chans}')
                channels[stack[-1]] = chans
                i += 2 + count
            else:
                i += 1
    except (IndexError, ValueError) as error:
        why = str(error) or 'cut short'
        raise ValueError(f'{source}: malformed HIERARCHY ({why})') from None
    if not names or stack:
        raise ValueError(f'{source}: malformed HIERARCHY (no joint, or '
                         f'unbalanced braces)')
    if not all(np.isfinite(o).all() for o in offsets):
        raise ValueError(f'{source}: an OFFSET is not finite')
    return names, parents, np.array(offsets), channels


def _motion(motion: str, source: str, max_frames: int
            ) -> Tuple[int, float, np.ndarray]:
    # Frames, frame time and the values of a BVH MOTION section; the frame
    # count is checked before the values are read.
    lines = motion.lstrip().split('\n', 2)
    try:
        if not (lines[0].startswith('Frames:')
                and lines[1].startswith('Frame Time:')):
            raise ValueError
        frames = int(lines[0].split(':')[1])
        frame_time = float(lines[1].split(':')[1])
    except (IndexError, ValueError):
        raise ValueError(f"{source}: MOTION needs 'Frames:' and 'Frame "
                         f"Time:' lines") from None
    if not 1 <= frames <= max_frames:
        raise ValueError(f'{source}: {frames} frames; expected 1 to '
                         f'{max_frames} (max_frames)')
    if not (np.isfinite(frame_time) and frame_time > 0):
        raise ValueError(f'{source}: frame time {frame_time}; expected > 0')
    try:
        values = np.array(lines[2].split() if len(lines) > 2 else [], float)
    except ValueError:
        raise ValueError(f'{source}: motion values that are not '
                         f'numbers') from None
    if not np.isfinite(values).all():
        raise ValueError(f'{source}: motion values that are not finite')
    return frames, frame_time, values


def _axis_rotation(degrees: np.ndarray, axis: int) -> np.ndarray:
    # Rotations (T, 3, 3) by `degrees` about one coordinate axis.
    angle = np.deg2rad(degrees)
    cos, sin = np.cos(angle), np.sin(angle)
    out = np.zeros(angle.shape + (3, 3))
    i, j = (axis + 1) % 3, (axis + 2) % 3  # right-handed: i -> j
    out[:, axis, axis] = 1
    out[:, i, i] = out[:, j, j] = cos
    out[:, j, i], out[:, i, j] = sin, -sin
    return out


def map_joints(names: Sequence[str], positions: np.ndarray,
               joint_map: JointMap, layout: str = 'kinect-v1',
               source: str = '<motion>') -> np.ndarray:
    r"""The joints of :obj:`layout` :obj:`(T, V, 3)` from a rig's named
    joints :obj:`(T, J, 3)`: each layout joint is the rig joint
    :obj:`joint_map` names for it, or the mean of several.

    Raises:
        ValueError: naming :obj:`source` and the layout joints that
            :obj:`joint_map` lacks or whose rig joints are absent.
    """
    skeleton = get_skeleton(layout)
    index = {name: i for i, name in enumerate(names)}
    missing = [joint for joint in skeleton.joint_names
               if joint not in joint_map]
    if missing:
        raise ValueError(f'{source}: the joint map has no {missing} of '
                         f"layout '{layout}'")
    out = np.empty(positions.shape[:1] + (skeleton.num_joints, 3))
    for v, joint in enumerate(skeleton.joint_names):
        wanted = joint_map[joint]
        wanted = (wanted,) if isinstance(wanted, str) else tuple(wanted)
        absent = [name for name in wanted if name not in index]
        if absent or not wanted:
            raise ValueError(f"{source}: no joint {absent} in the rig for "
                             f"'{joint}' (its joints: {list(names)[:8]}...)")
        out[:, v] = positions[:, [index[name] for name in wanted]].mean(1)
    return out


def bone_proportions(joints: np.ndarray, layout: str = 'kinect-v1'
                     ) -> np.ndarray:
    r"""The proportions of a layout's bones in frames :obj:`joints`
    :obj:`(N, V, 3)`: each bone's median share of its frame's summed bone
    lengths, the shares rescaled to sum to 1, :obj:`(num_bones,)` in the
    order of the layout's bones."""
    bones = np.array(get_skeleton(layout).bones)
    lengths = np.linalg.norm(joints[:, bones[:, 0]] - joints[:, bones[:, 1]],
                             axis=-1)
    total = lengths.sum(axis=1, keepdims=True)
    keep = total[:, 0] > 1e-6
    shares = np.median(lengths[keep] / total[keep], axis=0)
    return shares / shares.sum()


def retarget(joints: np.ndarray, proportions: np.ndarray,
             layout: str = 'kinect-v1') -> np.ndarray:
    r"""Joints :obj:`(T, V, 3)` with every bone's direction kept and its
    length set to :obj:`proportions` (see :func:`bone_proportions`) of the
    frame's summed bone lengths, built outwards from the layout's centre
    joint: a rig's joint placement (where its head, shoulders or hands sit
    on the bones) made that of another sensor's. A bone of zero length
    (a hand that is the wrist) takes the direction of the bone before it."""
    skeleton = get_skeleton(layout)
    bones = np.array(skeleton.bones)
    lengths = np.linalg.norm(joints[:, bones[:, 0]] - joints[:, bones[:, 1]],
                             axis=-1)
    scale = lengths.sum(axis=1, keepdims=True)  # (T, 1)
    out = np.zeros_like(joints)
    out[:, skeleton.center] = joints[:, skeleton.center]
    incoming = {skeleton.center: None}
    frontier = [skeleton.center]
    while frontier:
        parent = frontier.pop(0)
        for b, (i, j) in enumerate(skeleton.bones):
            if parent not in (i, j) or (j if parent == i else i) in incoming:
                continue
            child = j if parent == i else i
            step = joints[:, child] - joints[:, parent]
            norm = np.linalg.norm(step, axis=-1, keepdims=True)
            grand = incoming[parent]
            before = (joints[:, parent] - joints[:, grand] if grand is not None
                      else step)
            step = np.where(norm > 1e-6, step, before)
            norm = np.linalg.norm(step, axis=-1, keepdims=True)
            out[:, child] = out[:, parent] + step / np.maximum(
                norm, 1e-9) * proportions[b] * scale
            incoming[child] = parent
            frontier.append(child)
    return out


#: The joints of each 2D layout that the Kinect v1 body has, in the 2D
#: layout's order (COCO's face has no Kinect joint, so COCO is not here).
KINECT_TO_2D = {
    'penn-action': ('head', 'left_shoulder', 'right_shoulder', 'left_elbow',
                    'right_elbow', 'left_wrist', 'right_wrist', 'left_hip',
                    'right_hip', 'left_knee', 'right_knee', 'left_ankle',
                    'right_ankle'),
}


def project(x: Tensor, layout: str, generator: torch.Generator,
            yaw: float = 180.0, pitch: float = 20.0,
            height: Tuple[float, float] = (0.6, 1.6)) -> Tensor:
    r"""A 3D :obj:`"kinect-v1"` sequence seen through one random pinhole
    camera, as the 2D joints of :obj:`layout` (a key of
    :data:`KINECT_TO_2D`) in the units of the 2D readers (half a frame's
    width, :math:`y` up): the camera turns about the vertical by up to
    :obj:`yaw` degrees and tilts by up to :obj:`pitch`, and stands where
    the body's first frame is :obj:`height` (a random fraction in that
    range) frame half-widths tall, or farther where the body comes
    nearer than half that distance. :obj:`x` must be normalized as the
    readers do (:class:`~torch_skeleton_mae.transforms.PreNormalize3D`:
    :math:`z` up).

    Shapes:
        - **input:** :obj:`(1, T, 20, 3)`
        - **output:** :obj:`(1, T, V', 2)`, zeros where :obj:`x` is absent
    """
    if layout not in KINECT_TO_2D:
        raise ValueError(f"project: no 2D layout '{layout}' of the Kinect v1 "
                         f"joints; expected one of {sorted(KINECT_TO_2D)}")
    names = get_skeleton('kinect-v1').joint_names
    joints = x[0][:, [names.index(n) for n in KINECT_TO_2D[layout]]]
    present = (joints != 0).any(dim=-1)  # (T, V')
    u = torch.rand(3, generator=generator, dtype=torch.float64) * 2 - 1
    turn = _axis_rotation(np.array([u[0].item() * yaw]), 2)[0]
    tilt = _axis_rotation(np.array([u[1].item() * pitch]), 0)[0]
    camera = torch.from_numpy(tilt @ turn).to(joints.dtype)
    # Camera coordinates: x right, y up, z away from the camera (along +y
    # of the body's frame after the turn and tilt).
    points = joints @ camera.T  # (T, V', 3)
    first = points[0][present[0]] if present[0].any() else points[0]
    tall = float(first[:, 2].max() - first[:, 2].min()) or 1.0
    focal = 1.0  # half-widths per unit of x / depth
    size = height[0] + (u[2].item() + 1) / 2 * (height[1] - height[0])
    distance = focal * tall / size
    depth = points[..., 1] + distance - float(first[:, 1].mean())
    # A body that walks towards the camera stays at least half the distance
    # in front of it.
    nearest = float(depth[present].min()) if present.any() else distance
    depth = depth + max(0.0, distance / 2 - nearest)
    out = torch.stack([focal * points[..., 0] / depth,
                       focal * points[..., 2] / depth], dim=-1)
    return (out * present[..., None])[None]


def guess_joint_map(names: Sequence[str]) -> Optional[str]:
    r"""The key of :data:`JOINT_MAPS` whose rig joints all occur in
    :obj:`names`, or :obj:`None`."""
    present = set(names)
    for key, joint_map in JOINT_MAPS.items():
        wanted = {n for v in joint_map.values()
                  for n in ((v,) if isinstance(v, str) else v)}
        if wanted <= present:
            return key
    return None


def resample(joints: np.ndarray, times: np.ndarray, fps: float
             ) -> np.ndarray:
    r"""Joints :obj:`(T, ...)` at seconds :obj:`times` :obj:`(T,)`
    (increasing), linearly interpolated at :obj:`fps` from the first time
    to the last: :obj:`(T', ...)`."""
    grid = np.arange(times[0], times[-1] + 0.5 / fps, 1.0 / fps)
    grid = grid[grid <= times[-1] + 1e-9]
    flat = joints.reshape(len(joints), -1)
    out = np.stack([np.interp(grid, times, flat[:, k])
                    for k in range(flat.shape[1])], axis=1)
    return out.reshape((len(grid),) + joints.shape[1:])


def _as_sequence(joints: np.ndarray) -> Tensor:
    # (T, V, 3) -> (1, T, V, 3) float32.
    return torch.from_numpy(np.ascontiguousarray(joints[None], np.float32))


def bvh_sequence(text: str, source: str = '<bvh>',
                 joint_map: Union[str, JointMap, None] = None,
                 layout: str = 'kinect-v1', fps: float = 30.0,
                 units: float = 0.01, max_frames: int = MAX_FRAMES,
                 proportions: Optional[np.ndarray] = None) -> Tensor:
    r"""A BVH file's text as one sequence of :obj:`layout`, in metres, at
    :obj:`fps`, in the file's axes (the readers' normalization turns every
    sequence to one canonical view).

    Args:
        text (str): The file's text.
        source (str, optional): Its name, for errors.
        joint_map (str or dict, optional): A key of :data:`JOINT_MAPS` or a
            map of your own (see :func:`map_joints`); :obj:`None` guesses
            the rig (:func:`guess_joint_map`).
        layout (str, optional): (default: :obj:`"kinect-v1"`)
        fps (float, optional): Frames per second of the output.
        units (float, optional): Metres per file unit. (default: centimetres)
        max_frames (int, optional): Refuse longer files before reading them.
        proportions (numpy.ndarray, optional): Set the bones to these
            proportions (:func:`retarget`), *e.g.* a Kinect's
            (:func:`bone_proportions` of its frames).

    Shapes:
        - **output:** :obj:`(3, T, V, 1)`

    Raises:
        ValueError: naming :obj:`source` (see :func:`parse_bvh` and
            :func:`map_joints`), or an unknown rig.
    """
    motion = parse_bvh(text, source, max_frames)
    if joint_map is None:
        joint_map = guess_joint_map(motion.names)
        if joint_map is None:
            raise ValueError(f'{source}: a rig of no known joint map; pass '
                             f'joint_map (its joints: {motion.names[:8]}...)')
    if isinstance(joint_map, str):
        if joint_map not in JOINT_MAPS:
            raise ValueError(f"unknown joint map '{joint_map}'; expected one "
                             f"of {sorted(JOINT_MAPS)} or a dict")
        joint_map = JOINT_MAPS[joint_map]
    joints = map_joints(motion.names, motion.positions, joint_map, layout,
                        source) * units
    if proportions is not None:
        joints = retarget(joints, proportions, layout)
    times = np.arange(len(joints)) * motion.frame_time
    return _as_sequence(resample(joints, times, fps))


#: The columns of MSRC-12's rows, a time stamp in microseconds and then
#: 20 Kinect v1 joints of (x, y, z, confidence), x, y, z in metres.
MSRC12_COLUMNS = 1 + 20 * 4


def msrc12_sequence(text: str, source: str = '<csv>', fps: float = 30.0,
                    max_frames: int = MAX_FRAMES) -> Tensor:
    r"""An MSRC-12 gesture file (Fothergill et al., CHI 2012), a CSV of
    space-separated rows, each a microsecond time stamp and the 20 Kinect v1
    joints' :obj:`x, y, z, confidence`, as one :obj:`"kinect-v1"` sequence
    in metres at :obj:`fps`: the leading rows without a skeleton are
    dropped, as the dataset's own :obj:`load_file.m` does, and the rest
    interpolated on their time stamps.

    Shapes:
        - **output:** :obj:`(3, T, 20, 1)`

    Raises:
        ValueError: naming :obj:`source`: rows of another width, values that
            are not finite numbers, more than :obj:`max_frames` rows, no
            skeleton, or time stamps that do not increase.
    """
    rows = text.count('\n') + 1
    if rows > max_frames:
        raise ValueError(f'{source}: {rows} rows; expected at most '
                         f'{max_frames} (max_frames)')
    try:
        values = np.array(text.split(), float)
    except ValueError:
        raise ValueError(f'{source}: values that are not numbers') from None
    if values.size == 0 or values.size % MSRC12_COLUMNS:
        raise ValueError(f'{source}: {values.size} values; expected rows of '
                         f'{MSRC12_COLUMNS} (a time stamp and 20 joints x '
                         f'x, y, z, confidence)')
    values = values.reshape(-1, MSRC12_COLUMNS)
    if not np.isfinite(values).all():
        raise ValueError(f'{source}: values that are not finite')
    joints = values[:, 1:].reshape(-1, 20, 4)[..., :3]
    present = np.abs(joints).sum(axis=(1, 2)) > 1e-10
    if not present.any():
        raise ValueError(f'{source}: no row holds a skeleton')
    first = int(present.argmax())
    times, joints = values[first:, 0] * 1e-6, joints[first:]
    if np.any(np.diff(times) <= 0):
        raise ValueError(f'{source}: time stamps that do not increase')
    return _as_sequence(resample(joints, times, fps))


def read_bvh(path, **kwargs) -> Tensor:
    r"""A BVH file as one sequence (:func:`bvh_sequence`'s arguments).

    Shapes:
        - **output:** :obj:`(3, T, V, 1)`
    """
    path = Path(path)
    return bvh_sequence(path.read_text(errors='replace'), str(path),
                        **kwargs)


def read_msrc12(path, **kwargs) -> Tensor:
    r"""An MSRC-12 CSV file as one sequence (:func:`msrc12_sequence`'s
    arguments).

    Shapes:
        - **output:** :obj:`(3, T, 20, 1)`
    """
    path = Path(path)
    return msrc12_sequence(path.read_text(errors='replace'), str(path),
                           **kwargs)
