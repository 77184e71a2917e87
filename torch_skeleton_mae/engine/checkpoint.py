r"""Atomic checkpoints that resume exactly: weights, config, optimizer,
scheduler, gradient scaler, epoch and every random number generator."""
import os
import random
from pathlib import Path
from typing import Any, Dict, Optional, Union

import numpy as np
import torch
from torch.nn import Module

import torch_skeleton_mae
from torch_skeleton_mae.utils import (CHECKPOINT_VERSION, atomic_write,
                                      differing_settings, load_checked,
                                      read_checkpoint)

PathLike = Union[str, os.PathLike]

__all__ = [
    'save_checkpoint',
    'load_checkpoint',
    'load_weights',
    'unwrap',
    'seed_everything',
]


def seed_everything(seed: int) -> None:
    r"""Seeds Python, NumPy and PyTorch (all devices)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def rng_state() -> Dict[str, Any]:
    r"""The state of the Python, NumPy, PyTorch CPU and CUDA generators."""
    name, keys, pos, has_gauss, gauss = np.random.get_state()
    # Plain types and tensors only, so that ``weights_only`` loading works.
    state = dict(python=random.getstate(),
                 numpy=(name, torch.from_numpy(keys.astype(np.int64)), pos,
                        has_gauss, gauss),
                 torch=torch.get_rng_state())
    if torch.cuda.is_available():
        state['cuda'] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: Dict[str, Any]) -> None:
    r"""Restores what :func:`rng_state` returned."""
    random.setstate(state['python'])
    name, keys, pos, has_gauss, gauss = state['numpy']
    np.random.set_state((name, keys.numpy().astype(np.uint32), pos,
                         has_gauss, gauss))
    torch.set_rng_state(state['torch'])
    if 'cuda' in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state['cuda'])


def unwrap(model: Module) -> Module:
    r"""The module inside a
    :class:`~torch.nn.parallel.DistributedDataParallel` (or
    :func:`torch.compile`) wrapper."""
    while hasattr(model, 'module') or hasattr(model, '_orig_mod'):
        model = getattr(model, 'module', None) or model._orig_mod
    return model


def save_checkpoint(path: PathLike, model: Module, **extra: Any) -> None:
    r"""Writes :obj:`{"model": state_dict, "config": model.config,
    "version", "package_version", **extra}` atomically: to a temporary file
    in the same folder, then renamed over :obj:`path`, so that a killed run
    never leaves a truncated checkpoint.

    Args:
        path (str or PathLike): Destination.
        model (Module): Saved through :func:`unwrap`.
        **extra: Anything else :func:`torch.save` can write (epoch,
            optimizer state, RNG state, metrics, ...).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    model = unwrap(model)
    state = dict(model=model.state_dict(),
                 config=getattr(model, 'config', None),
                 version=CHECKPOINT_VERSION,
                 package_version=torch_skeleton_mae.__version__, **extra)
    with atomic_write(path) as f:
        torch.save(state, f)


def load_checkpoint(path: PathLike, model: Optional[Module] = None,
                    map_location: Union[str, torch.device] = 'cpu'
                    ) -> Dict[str, Any]:
    r"""Reads a checkpoint written by :func:`save_checkpoint` and, given a
    :obj:`model`, loads its weights after checking that the architecture
    matches.

    Args:
        path (str or PathLike): The checkpoint.
        model (Module, optional): Receives the weights.
        map_location: Where tensors are loaded. (default: :obj:`"cpu"`)

    Returns:
        The checkpoint dictionary.

    Raises:
        FileNotFoundError: if :obj:`path` does not exist.
        ValueError: if :obj:`path` is no readable checkpoint, or naming the
            differing settings, or the missing, unexpected and mis-shaped
            weights, when the checkpoint was written for another
            architecture or layout.
    """
    path = Path(path)
    state = read_checkpoint(path, map_location)
    if not isinstance(state, dict) or 'model' not in state:
        raise ValueError(f"'{path}' is not a torch_skeleton_mae checkpoint "
                         f"(no 'model' entry)")
    if model is not None:
        load_weights(model, state, source=str(path))
    return state


def load_weights(model: Module, checkpoint: Dict[str, Any],
                 source: str = 'the checkpoint') -> None:
    r"""Loads :obj:`checkpoint["model"]` into :obj:`model` through
    ``torch_skeleton_mae.utils.load_checked``: the layout must agree
    and every weight must fit; settings that change no weight's shape (a
    loss setting, the mask) may differ.

    Raises:
        ValueError: naming the layouts, or the weights and settings that
            differ."""
    model = unwrap(model)
    config = checkpoint.get('config') or {}
    expected = getattr(model, 'config', None) or {}
    if 'skeleton' in config and 'skeleton' in expected and (
            config['skeleton'] != expected['skeleton']):
        raise ValueError(f"{source} was trained on layout "
                         f"'{config['skeleton']}', the "
                         f"{type(model).__name__} has "
                         f"'{expected['skeleton']}'")
    load_checked(model, checkpoint['model'], source,
                 differing_settings(config, expected))
