"""Built-in skeleton layouts, as data: one table per layout, 0-based joints.

Each table gives ``joint_names``, ``bones`` (undirected pairs), ``center``
(the joint that hop distances are measured from, and that centring uses),
``parts``: the six body regions SkeletonMAE masks, in the paper's order
head, torso, left arm, right arm, left leg, right leg (Fig. 2d), and the
facts of the layout's usual data: ``coords``, its coordinate channels (3 for
the xyz of NTU's Kinect joints, 2 for the xy of COCO / OpenPose poses, whose
files may add a confidence score), and ``view_axes``, the bones pyskl's
``PreNormalize3D`` turns onto +z and +x (3D layouts only).
"""

_NTU_BONES_1BASED = (
    (1, 2), (2, 21), (3, 21), (4, 3), (5, 21), (6, 5), (7, 6), (8, 7),
    (9, 21), (10, 9), (11, 10), (12, 11), (13, 1), (14, 13), (15, 14),
    (16, 15), (17, 1), (18, 17), (19, 18), (20, 19), (22, 23), (23, 8),
    (24, 25), (25, 12))

# pyskl / mmaction2 attach both hand joints of each side to the hand joint.
_PYSKL_HAND_BONES_1BASED = ((22, 8), (23, 8), (24, 12), (25, 12))


def _zero_based(pairs):
    return tuple((i - 1, j - 1) for i, j in pairs)


NTU_RGBD = dict(
    joint_names=(
        'spine_base', 'spine_mid', 'neck', 'head', 'left_shoulder',
        'left_elbow', 'left_wrist', 'left_hand', 'right_shoulder',
        'right_elbow', 'right_wrist', 'right_hand', 'left_hip', 'left_knee',
        'left_ankle', 'left_foot', 'right_hip', 'right_knee', 'right_ankle',
        'right_foot', 'spine_shoulder', 'left_hand_tip', 'left_thumb',
        'right_hand_tip', 'right_thumb'),
    bones=_zero_based(_NTU_BONES_1BASED),
    center=20,
    # Mirrors the COCO-17 regions of the paper: shoulders and hips belong to
    # the torso, arms start at the elbow, legs at the knee.
    parts=dict(
        head=(2, 3),
        torso=(0, 1, 4, 8, 12, 16, 20),
        left_arm=(5, 6, 7, 21, 22),
        right_arm=(9, 10, 11, 23, 24),
        left_leg=(13, 14, 15),
        right_leg=(17, 18, 19),
    ),
    coords=3,
    # The spine (base to middle) onto +z, the shoulders (right to left)
    # onto +x.
    view_axes=((0, 1), (8, 4)),
)

NTURGBD_PYSKL = dict(
    NTU_RGBD,
    bones=_zero_based(_NTU_BONES_1BASED[:20] + _PYSKL_HAND_BONES_1BASED),
)

COCO = dict(
    joint_names=(
        'nose', 'left_eye', 'right_eye', 'left_ear', 'right_ear',
        'left_shoulder', 'right_shoulder', 'left_elbow', 'right_elbow',
        'left_wrist', 'right_wrist', 'left_hip', 'right_hip', 'left_knee',
        'right_knee', 'left_ankle', 'right_ankle'),
    bones=((15, 13), (13, 11), (16, 14), (14, 12), (11, 5), (12, 6), (9, 7),
           (7, 5), (10, 8), (8, 6), (5, 0), (6, 0), (1, 0), (3, 1), (2, 0),
           (4, 2)),
    center=0,
    parts=dict(  # the paper's Fig. 2d
        head=(0, 1, 2, 3, 4),
        torso=(5, 6, 11, 12),
        left_arm=(7, 9),
        right_arm=(8, 10),
        left_leg=(13, 15),
        right_leg=(14, 16),
    ),
    coords=2,
)

OPENPOSE = dict(  # the Kinetics-skeleton layout of ST-GCN
    joint_names=(
        'nose', 'neck', 'right_shoulder', 'right_elbow', 'right_wrist',
        'left_shoulder', 'left_elbow', 'left_wrist', 'right_hip',
        'right_knee', 'right_ankle', 'left_hip', 'left_knee', 'left_ankle',
        'right_eye', 'left_eye', 'right_ear', 'left_ear'),
    bones=((4, 3), (3, 2), (7, 6), (6, 5), (13, 12), (12, 11), (10, 9),
           (9, 8), (11, 5), (8, 2), (5, 1), (2, 1), (0, 1), (15, 0), (14, 0),
           (17, 15), (16, 14)),
    center=1,
    parts=dict(
        head=(0, 14, 15, 16, 17),
        torso=(1, 2, 5, 8, 11),
        left_arm=(6, 7),
        right_arm=(3, 4),
        left_leg=(12, 13),
        right_leg=(9, 10),
    ),
    coords=2,
)

KINECT_V1 = dict(  # the 20 joints of the Kinect v1 SDK (NW-UCLA, MSR 3D)
    joint_names=(
        'hip_center', 'spine', 'shoulder_center', 'head', 'left_shoulder',
        'left_elbow', 'left_wrist', 'left_hand', 'right_shoulder',
        'right_elbow', 'right_wrist', 'right_hand', 'left_hip', 'left_knee',
        'left_ankle', 'left_foot', 'right_hip', 'right_knee', 'right_ankle',
        'right_foot'),
    # CTR-GCN's graph/ucla.py, 0-based.
    bones=((0, 1), (1, 2), (2, 3), (2, 4), (4, 5), (5, 6), (6, 7), (2, 8),
           (8, 9), (9, 10), (10, 11), (0, 12), (12, 13), (13, 14), (14, 15),
           (0, 16), (16, 17), (17, 18), (18, 19)),
    center=1,
    # The regions of the NTU layout, joint for joint.
    parts=dict(
        head=(2, 3),
        torso=(0, 1, 4, 8, 12, 16),
        left_arm=(5, 6, 7),
        right_arm=(9, 10, 11),
        left_leg=(13, 14, 15),
        right_leg=(17, 18, 19),
    ),
    coords=3,
    # The spine (hip center to spine) onto +z, the shoulders (right to left)
    # onto +x.
    view_axes=((0, 1), (8, 4)),
)

PENN_ACTION = dict(  # COCO-17 without eyes and ears
    joint_names=(
        'head', 'left_shoulder', 'right_shoulder', 'left_elbow',
        'right_elbow', 'left_wrist', 'right_wrist', 'left_hip', 'right_hip',
        'left_knee', 'right_knee', 'left_ankle', 'right_ankle'),
    bones=((11, 9), (9, 7), (12, 10), (10, 8), (7, 1), (8, 2), (5, 3),
           (3, 1), (6, 4), (4, 2), (1, 0), (2, 0)),
    center=0,
    parts=dict(  # the COCO regions of the paper's Fig. 2d
        head=(0, ),
        torso=(1, 2, 7, 8),
        left_arm=(3, 5),
        right_arm=(4, 6),
        left_leg=(9, 11),
        right_leg=(10, 12),
    ),
    coords=2,
)

BUILTIN_LAYOUTS = {
    'ntu-rgb+d': NTU_RGBD,
    'nturgb+d': NTURGBD_PYSKL,
    'coco': COCO,
    'openpose': OPENPOSE,
    'kinect-v1': KINECT_V1,
    'penn-action': PENN_ACTION,
}
