r"""Small helpers shared by the models, the engine, the benchmarks and the
examples."""
import os
import pickle
import platform
import zipfile
from pathlib import Path
from typing import Any, Union

import torch


def read_checkpoint(path: Union[str, os.PathLike],
                    map_location: Union[str, torch.device] = 'cpu') -> Any:
    r""":func:`torch.load` of :obj:`path` with :obj:`weights_only=True`,
    whose failures name the file.

    Raises:
        FileNotFoundError: if :obj:`path` is no file.
        ValueError: if :obj:`path` is not a readable checkpoint (truncated,
            another kind of file, or holding more than weights).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"Checkpoint '{path}' does not exist")
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except (pickle.UnpicklingError, zipfile.BadZipFile, EOFError,
            RuntimeError, IndexError, KeyError, ValueError) as error:
        reason = str(error).strip().split('\n')[0][:200]
        raise ValueError(f"'{path}' is not a readable checkpoint "
                         f"({type(error).__name__}: {reason}); is it "
                         f"truncated or another kind of file?") from None


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
