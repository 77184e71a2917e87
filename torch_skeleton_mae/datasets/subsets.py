r"""Labels of any of our datasets and the deterministic per-class subsets of
the semi-supervised protocol."""
import numpy as np
from torch.utils.data import Dataset, Subset


def dataset_labels(dataset: Dataset) -> np.ndarray:
    r"""The label of every item, from :obj:`dataset.meta` (every reader of
    this package fills it) without loading any sequence; follows
    :class:`~torch.utils.data.Subset` indices.

    Returns:
        Integer array :obj:`(len(dataset),)`.
    """
    if isinstance(dataset, Subset):
        return dataset_labels(dataset.dataset)[np.asarray(dataset.indices)]
    meta = getattr(dataset, 'meta', None)
    if meta is None or len(meta) != len(dataset):
        raise TypeError(f"{type(dataset).__name__} has no per-item 'meta' "
                        f"with labels")
    return np.array([m['label'] for m in meta], dtype=np.int64)


def label_fraction_indices(labels, fraction: float,
                           seed: int = 0) -> np.ndarray:
    r"""Indices of a labelled subset for semi-supervised training: in every
    class, :obj:`max(1, round(fraction * n_c))` of its :obj:`n_c` items,
    drawn with a generator seeded by :obj:`seed` and the class, so the
    subset is the same on every machine and for every run.

    Args:
        labels (array): Labels :obj:`(N,)`.
        fraction (float): In :math:`(0, 1]`, *e.g.* :obj:`0.01` or
            :obj:`0.1`.
        seed (int, optional): (default: :obj:`0`)

    Returns:
        Sorted indices.

    Example:
        >>> labels = [0] * 50 + [1] * 30 + [2] * 20
        >>> idx = label_fraction_indices(labels, 0.1)
        >>> len(idx), sorted(set(labels[i] for i in idx))
        (10, [0, 1, 2])
    """
    if not 0 < fraction <= 1:
        raise ValueError(f"'fraction' must lie in (0, 1], got {fraction}")
    labels = np.asarray(labels)
    chosen = []
    for c in np.unique(labels):
        members = np.flatnonzero(labels == c)
        k = max(1, round(fraction * len(members)))
        rng = np.random.default_rng([seed, int(c)])
        chosen.append(rng.choice(members, k, replace=False))
    return np.sort(np.concatenate(chosen))


def label_fraction_subset(dataset: Dataset, fraction: float,
                          seed: int = 0) -> Subset:
    r"""The :func:`label_fraction_indices` subset of :obj:`dataset`."""
    return Subset(dataset, label_fraction_indices(dataset_labels(dataset),
                                                  fraction, seed).tolist())
