r"""Pre-trained weights shipped with the package, loadable by name wherever
a checkpoint path is taken:

.. code-block:: python

    from torch_skeleton_mae.nn import STRL, SkeletonMAE

    mae = SkeletonMAE.from_checkpoint('kinect-v1-pool')
    strl = STRL.from_pretrained('kinect-v1-pool', num_classes=10)

Their data, recipe and measurements: ``docs/weights.rst``."""
from pathlib import Path
from typing import Dict

#: Each shipped checkpoint by name, with its file beside this module and
#: what it is.
WEIGHTS: Dict[str, Dict[str, str]] = {
    'kinect-v1-pool': dict(
        file='kinect-v1-pool.pt',
        summary='SkeletonMAE (the paper\'s defaults, 3D joints of the 20 '
                'Kinect v1 joints) pre-trained on the pooled corpus of '
                'experiments/build_pool.py: MSRC-12, Bandai-Namco, CMU '
                'mocap and NW-UCLA\'s cross-view training views'),
}


def weights_path(name: str) -> Path:
    r"""The file of the shipped checkpoint :obj:`name` (a key of
    :data:`WEIGHTS`).

    Raises:
        KeyError: naming the shipped names, for another name.
    """
    if name not in WEIGHTS:
        raise KeyError(f"no shipped weights '{name}'; shipped: "
                       f"{sorted(WEIGHTS)}")
    return Path(__file__).parent / WEIGHTS[name]['file']
