r"""The benchmarks by name: classes, split names, layout and recipe preset,
written once. :func:`~torch_skeleton_mae.engine.load_data`, the command
line's :obj:`--dataset` and :func:`~torch_skeleton_mae.engine.preset_for`
read them; :func:`~torch_skeleton_mae.datasets.register_dataset` adds one of
your own."""
from dataclasses import dataclass
from typing import Dict, Optional, Sequence, Tuple

from torch_skeleton_mae.graph import known_skeletons


@dataclass(frozen=True)
class DatasetInfo:
    r"""What a benchmark fixes.

    Args:
        name (str): Its name, *e.g.* :obj:`"nw-ucla"`.
        num_classes (int): Action classes.
        benchmarks (tuple of str): Its split names, the default first
            (:obj:`("none",)` for a single official split).
        layout (str, optional): The skeleton layout of its joints
            (default: the reader's).
        class_names (tuple of str, optional): The classes' names in label
            order (default: the reader's, if any).
        preset (str, optional): The key of its recipes in
            :data:`~torch_skeleton_mae.engine.recipes.PRESETS`.
            (default: :obj:`"paper"`)
    """
    name: str
    num_classes: int
    benchmarks: Tuple[str, ...] = ('none', )
    layout: Optional[str] = None
    class_names: Optional[Tuple[str, ...]] = None
    preset: str = 'paper'


#: Every known benchmark by name.
DATASETS: Dict[str, DatasetInfo] = {}


def register_dataset(name: str, num_classes: int,
                     benchmarks: Sequence[str] = ('none', ),
                     layout: Optional[str] = None,
                     class_names: Optional[Sequence[str]] = None,
                     preset: str = 'paper') -> DatasetInfo:
    r"""Registers a benchmark (arguments as :class:`DatasetInfo`'s), so that
    :obj:`load_data(path, dataset=name)` and :obj:`--dataset name` know its
    classes, splits, layout and recipes.

    Example:
        >>> from torch_skeleton_mae.datasets import register_dataset
        >>> info = register_dataset('my-kinect', 27, layout='kinect-v1',
        ...                         preset='small')
        >>> info.num_classes, info.benchmarks
        (27, ('none',))

    Raises:
        ValueError: on a name taken by a built-in benchmark, an unknown
            layout, fewer than 2 classes, no split name, or class names
            that are not :obj:`num_classes` long.
    """
    if name in _BUILT_IN:
        raise ValueError(f"register_dataset: '{name}' is a built-in "
                         f"benchmark; choose another name")
    if layout is not None and layout not in known_skeletons():
        raise ValueError(f"register_dataset: unknown layout '{layout}'; "
                         f"register it first (graph.register_skeleton) or "
                         f"use one of {sorted(known_skeletons())}")
    if num_classes < 2 or not benchmarks:
        raise ValueError(f"register_dataset: '{name}' needs 2 classes or "
                         f"more and a split name, got {num_classes} and "
                         f"{list(benchmarks)}")
    if class_names is not None and len(class_names) != num_classes:
        raise ValueError(f"register_dataset: {len(class_names)} class names "
                         f"for {num_classes} classes")
    info = DatasetInfo(name, num_classes, tuple(benchmarks), layout,
                       None if class_names is None else tuple(class_names),
                       preset)
    DATASETS[name] = info
    return info


_BUILT_IN = {info.name: info for info in (
    DatasetInfo('ntu60', 60, ('xsub', 'xview')),
    DatasetInfo('ntu120', 120, ('xsub', 'xset')),
    DatasetInfo('finegym', 99),
    DatasetInfo('diving48', 48),
    DatasetInfo('nw-ucla', 10, ('xview', 'xsub'), preset='nw-ucla'),
    DatasetInfo('penn-action', 15, preset='small'),
)}
DATASETS.update(_BUILT_IN)
