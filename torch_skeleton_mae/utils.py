r"""Small helpers shared by the models and the engine."""
import os
import pickle
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
