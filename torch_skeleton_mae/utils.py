r"""Small helpers shared by the models, the engine, the benchmarks and the
examples."""
import contextlib
import errno
import inspect
import json
import os
import pickle
import platform
import re
import tempfile
import threading
import zipfile
from pathlib import Path
from typing import (Any, Callable, Dict, Hashable, Iterator, Optional, Tuple,
                    Union)

import torch
from torch import Tensor
from torch.nn import Module


def _umask() -> int:
    # The process's umask (reading it means setting it; done once).
    mask = os.umask(0)
    os.umask(mask)
    return mask


#: The permissions of a new file: what open() would give it.
_NEW_FILE_MODE = 0o666 & ~_umask()


class DiskFull(OSError):
    r"""A write that found no space left, naming the file it left
    unchanged."""


@contextlib.contextmanager
def atomic_write(path: Union[str, os.PathLike], mode: str = 'wb'
                 ) -> Iterator[Any]:
    r"""Writes :obj:`path` whole or not at all: yields a file opened on a
    new temporary name in :obj:`path`'s folder (:func:`tempfile.mkstemp`:
    created exclusively, unpredictable, never a planted link), then
    flushes and fsyncs it, renames it over :obj:`path` and fsyncs the
    folder. On any failure the temporary file is removed and :obj:`path`
    is left as it was; a full disk is a :class:`DiskFull` naming
    :obj:`path`.

    Example:
        >>> import json, tempfile
        >>> from torch_skeleton_mae.utils import atomic_write
        >>> path = f'{tempfile.mkdtemp()}/result.json'
        >>> with atomic_write(path, 'w') as f:
        ...     json.dump({'top1': 0.9}, f)
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f'.{path.name}.', suffix='.tmp',
                               dir=path.parent)
    try:
        with os.fdopen(fd, mode, **({} if 'b' in mode else dict(
                newline='', encoding='utf-8'))) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        # mkstemp's file is private (0600): give it what open() would.
        os.chmod(tmp, _NEW_FILE_MODE)
        os.replace(tmp, path)
    except BaseException as error:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(error, OSError) and error.errno in (errno.ENOSPC,
                                                          errno.EDQUOT):
            raise DiskFull(
                error.errno, f"no space left to write '{path}' "
                f"({os.strerror(error.errno)}); it is unchanged: free some "
                f"space and run again (or resume)") from None
        raise
    with contextlib.suppress(OSError):  # not every file system can
        folder = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)


def write_json(path: Union[str, os.PathLike], value: Any) -> None:
    r"""Writes :obj:`value` as indented JSON to :obj:`path`, atomically
    (:func:`atomic_write`)."""
    with atomic_write(path, 'w') as f:
        f.write(json.dumps(value, indent=1))


#: The checkpoint format's version (4 since the models' settings are those
#: a user sets and the joint embedding is a plain linear map).
CHECKPOINT_VERSION = 4


def read_checkpoint(path: Union[str, os.PathLike],
                    map_location: Union[str, torch.device] = 'cpu') -> Any:
    r""":func:`torch.load` of :obj:`path` with :obj:`weights_only=True`,
    whose failures name the file; :obj:`path` may be the name of shipped
    weights (:data:`~torch_skeleton_mae.weights.WEIGHTS`) that is no file
    here.

    Raises:
        FileNotFoundError: if :obj:`path` is no file nor a shipped name.
        ValueError: if :obj:`path` is not a readable checkpoint (truncated,
            another kind of file, or holding more than weights) or was
            written in another format version than
            :data:`CHECKPOINT_VERSION`.
    """
    from torch_skeleton_mae.weights import WEIGHTS, weights_path
    if not Path(path).is_file() and str(path) in WEIGHTS:
        path = weights_path(str(path))
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"Checkpoint '{path}' does not exist (nor "
                                f"is it a shipped name: {sorted(WEIGHTS)})")
    try:
        state = torch.load(path, map_location=map_location,
                           weights_only=True)
    except pickle.UnpicklingError as error:
        # torch's message says how to turn the protection off; say instead
        # what was refused and why.
        refused = re.search(r'[^\n]*GLOBAL[^\n]*', str(error))
        if refused is None:
            raise ValueError(f"'{path}' is not a readable checkpoint "
                             f"(UnpicklingError); is it truncated or another "
                             f"kind of file?") from None
        raise ValueError(
            f"'{path}' was refused: it holds more than tensors and plain "
            f"values, which a checkpoint of this package never does, and "
            f"loading it could run code ({refused[0].strip()})") from None
    except (zipfile.BadZipFile, EOFError, RuntimeError, IndexError, KeyError,
            ValueError) as error:
        reason = str(error).strip().split('\n')[0][:200]
        raise ValueError(f"'{path}' is not a readable checkpoint "
                         f"({type(error).__name__}: {reason}); is it "
                         f"truncated or another kind of file?") from None
    version = state.get('version') if isinstance(state, dict) else None
    if version not in (None, CHECKPOINT_VERSION):
        raise ValueError(f"'{path}' was written by torch_skeleton_mae "
                         f"{state.get('package_version')} (checkpoint "
                         f"version {version}); this one reads version "
                         f"{CHECKPOINT_VERSION}")
    return state


def checked_config(cls: type, config: Any,
                   source: str = 'the checkpoint') -> Dict[str, Any]:
    r""":obj:`config`, a checkpoint's, once checked to be a dict of
    :obj:`cls`'s arguments.

    Raises:
        ValueError: naming :obj:`source`, if :obj:`config` is not a dict of
            :obj:`cls`'s arguments.

    Example:
        >>> from torch_skeleton_mae.nn import STRL
        >>> checked_config(STRL, dict(pool_heads=2, encoder_layers=3))
        {'pool_heads': 2, 'encoder_layers': 3}
    """
    if not isinstance(config, dict):
        raise ValueError(f"{source}: its 'config' is a "
                         f"{type(config).__name__}; expected a dict of "
                         f"{cls.__name__}'s arguments")
    unknown = sorted(set(config) - set(
        inspect.signature(cls.__init__).parameters), key=str)
    if unknown:
        raise ValueError(f"{source}: its 'config' has settings "
                         f"{cls.__name__} does not take: {unknown}")
    return config


def constructor_config(cls: type, arguments: Dict[str, Any],
                       **plain: Any) -> Dict[str, Any]:
    r"""A model's settings: the arguments of :obj:`cls.__init__` in their
    order, read from the constructor's :obj:`locals()`, with the
    :obj:`plain` values in place of objects (a layout's name for a
    :class:`~torch_skeleton_mae.graph.Skeleton`), so that checkpoints store
    them and :obj:`cls(**config)` rebuilds the model.

    Example:
        >>> from torch_skeleton_mae.nn import STRL
        >>> config = STRL('coco', 2, num_classes=5).config
        >>> list(config)[:4], config['num_classes']
        (['skeleton', 'in_channels', 'num_classes', 'hidden_channels'], 5)
    """
    names = [name for name in inspect.signature(cls.__init__).parameters
             if name != 'self']
    return {name: plain[name] if name in plain else arguments[name]
            for name in names}


def load_checked(module: Module, state: Dict[str, Tensor],
                 source: str = 'the checkpoint', hint: str = '') -> None:
    r"""Loads :obj:`state` into :obj:`module` after comparing every key and
    shape, so that a mismatch names the missing, unexpected and mis-shaped
    weights. The one checked loader of the package: settings that leave
    every shape alone (a loss setting, the mask) never stop it.

    Args:
        module (Module): Receives the weights.
        state (dict): A :obj:`state_dict`.
        source (str, optional): Named in errors, *e.g.* the file.
        hint (str, optional): Appended to errors (*e.g.* the settings that
            differ, see :func:`differing_settings`).

    Raises:
        ValueError: if the keys or shapes differ.
    """
    own = module.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    shapes = [f'{k}: {tuple(state[k].shape)} vs {tuple(own[k].shape)}'
              for k in sorted(set(state) & set(own))
              if state[k].shape != own[k].shape]
    if missing or unexpected or shapes:
        found = [f'missing {missing}'] * bool(missing) + [
            f'unexpected {unexpected}'] * bool(unexpected) + [
            f'shapes (saved vs model) {shapes}'] * bool(shapes)
        raise ValueError(f"{source} does not fit {type(module).__name__}: "
                         + '; '.join(found + [hint] * bool(hint)))
    module.load_state_dict(state)


def check_on_meta(build: Callable[[], Module], state: Dict[str, Tensor],
                  source: str = 'the checkpoint') -> None:
    r"""Checks the keys and shapes of the module :obj:`build()` makes
    against :obj:`state` with the module built on the :obj:`meta` device,
    where building allocates nothing: a config that does not match its
    weights (say, a width of 12,000 beside weights of 64) is refused at
    once, before the real module takes any memory.

    Raises:
        ValueError: as :func:`load_checked`, naming :obj:`source`.
    """
    with torch.device('meta'):
        shell = build()
    load_checked(shell, {k: v.to('meta') for k, v in state.items()}, source)


def differing_settings(saved: Dict[str, Any], own: Dict[str, Any]) -> str:
    r"""The settings of :obj:`own` that :obj:`saved` holds with another
    value, as text for :func:`load_checked`'s :obj:`hint` (empty if none).

    Example:
        >>> from torch_skeleton_mae.utils import differing_settings
        >>> differing_settings(dict(a=1, b=2), dict(a=1, b=3, c=4))
        'settings that differ (saved vs model): b=2 vs 3'
    """
    differs = [f'{key}={saved[key]!r} vs {value!r}'
               for key, value in own.items()
               if key in saved and saved[key] != value]
    return ('settings that differ (saved vs model): ' + ', '.join(differs)
            if differs else '')


def read_pretrained(source: Any, cls: type) -> Tuple[str, Optional[Dict[
        str, Any]], Dict[str, Tensor]]:
    r"""The name, checked config (:obj:`None` if none) and weights of a
    pre-trained :obj:`cls`: a model, a checkpoint dict (its :obj:`"config"`
    and :obj:`"model"`, or a bare :obj:`state_dict`), the path of one or a
    shipped name (:data:`~torch_skeleton_mae.weights.WEIGHTS`). The one place
    a model reads a checkpoint.

    Raises:
        ValueError: naming the source, for anything else or a bad config.
    """
    name = 'the pre-trained model' if isinstance(source, Module) else (
        'the checkpoint')
    if isinstance(source, (str, os.PathLike)):
        name, source = f"'{source}'", read_checkpoint(source)
    if isinstance(source, Module):
        return name, getattr(source, 'config', None), source.state_dict()
    if not isinstance(source, dict):
        raise ValueError(f'{name} holds a {type(source).__name__}, not a '
                         f'checkpoint dict or state_dict')
    config = source.get('config')
    return (name, None if config is None else checked_config(
        cls, config, name), source.get('model', source))


class ConfiguredModel(Module):
    r"""Base of the package's models, which keep their constructor's
    arguments in :obj:`config`: a checkpoint holding :obj:`"model"` and
    :obj:`"config"` rebuilds them, and two models that behave differently
    never print the same."""
    config: Dict[str, Any]

    @classmethod
    def from_checkpoint(cls, source: Any) -> Module:
        r"""The model a checkpoint holds (a dict holding :obj:`"model"` and
        :obj:`"config"`, *e.g.* a run's :obj:`last.pt`, the path of one, or
        a shipped name of :data:`~torch_skeleton_mae.weights.WEIGHTS`): built
        from its config with its weights, every key and shape checked before
        the model is built.

        Raises:
            ValueError: if :obj:`source` has no config of this class, was
                trained with an encoder module of its own, or its weights do
                not fit.

        Example:
            >>> from torch_skeleton_mae.nn import STRL
            >>> strl = STRL('coco', 2, num_classes=5, channels=(8, 16),
            ...             strides=(2, 1))
            >>> state = dict(model=strl.state_dict(), config=strl.config)
            >>> STRL.from_checkpoint(state).config['channels']
            (8, 16)
        """
        name, config, state = read_pretrained(source, cls)
        if config is None or 'config' in state:  # no 'model' beside it
            raise ValueError(f"{name} holds no 'config' and 'model': it is "
                             f"not a {cls.__name__} checkpoint")
        if config.get('encoder', '') is None:
            raise ValueError(f"{name} was trained with an encoder of its "
                             f"own, which its config cannot rebuild: build "
                             f"{cls.__name__} with it and load its 'model' "
                             f"weights")
        check_on_meta(lambda: cls(**config), state, name)
        model = cls(**config)
        load_checked(model, state, name)
        return model

    def __repr__(self) -> str:
        settings = ', '.join(f'{k}={v!r}' for k, v in self.config.items())
        return f'{type(self).__name__}({settings})'


class ScratchBuffer:
    r"""A buffer reused from call to call, one per thread (loader threads
    read batches side by side), made again by :obj:`make` when the
    :obj:`key` it was made for (*e.g.* shape, dtype and device) changes.
    Reusing it saves the page faults of fresh memory, which cost as much as
    filling it. It is not pickled: a copy starts empty.

    Example:
        >>> import numpy as np
        >>> from torch_skeleton_mae.utils import ScratchBuffer
        >>> scratch = ScratchBuffer()
        >>> a = scratch.get((2, 3), lambda: np.empty((2, 3)))
        >>> a is scratch.get((2, 3), lambda: np.empty((2, 3)))
        True
    """
    def __init__(self):
        self._local = threading.local()

    def get(self, key: Hashable, make: Callable[[], Any]) -> Any:
        r"""This thread's buffer for :obj:`key`, made by :obj:`make()` if
        this thread's last call asked for another key."""
        local = self._local
        if getattr(local, 'key', None) != key:
            local.buffer, local.key = make(), key
        return local.buffer

    def __getstate__(self) -> dict:
        return {}

    def __setstate__(self, state: dict) -> None:
        self.__init__()


def cpu_model() -> str:
    r"""The CPU's model name (from ``/proc/cpuinfo`` where there is one)."""
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> str:
    r"""A one-line description of the machine and library versions: where
    a measurement ran. The CPU kernels PyTorch picks (its capability, e.g.
    AVX512) change floating-point results, so training runs are repeatable
    on one machine and thread count, not across machines."""
    import torch_geometric
    return (f'{cpu_model()} ({platform.machine()}, '
            f'{torch.backends.cpu.get_cpu_capability()}), '
            f'{torch.get_num_threads()} threads, torch {torch.__version__}, '
            f'torch_geometric {torch_geometric.__version__}, '
            f'python {platform.python_version()}')
