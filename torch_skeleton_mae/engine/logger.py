r"""Metrics logs: CSV always, TensorBoard when it is installed."""
import csv
import importlib.util
import os
import sys
from pathlib import Path
from typing import Any, Dict, List, Union

from torch_skeleton_mae.utils import atomic_write


def show_progress() -> bool:
    r"""Whether to draw progress bars: only on a terminal (logged to a file,
    a bar's carriage returns pile up; the per-epoch lines remain)."""
    return sys.stderr.isatty()


class CSVLogger:
    r"""One row of metrics per call in a CSV file. A row with new keys widens
    the header (earlier rows leave those cells empty).

    Args:
        path (str or PathLike): The CSV file; appended to if it exists.
    """
    def __init__(self, path: Union[str, os.PathLike]):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)

    def rows(self) -> List[Dict[str, str]]:
        r"""The rows written so far."""
        if not self.path.exists():
            return []
        with open(self.path, newline='') as f:
            return list(csv.DictReader(f))

    def log(self, **metrics: Any) -> None:
        rows = self.rows()
        fields = list(rows[0]) if rows else []
        if rows and set(metrics) <= set(fields):
            with open(self.path, 'a', newline='') as f:
                csv.DictWriter(f, fields).writerow(metrics)
            return
        fields += [key for key in metrics if key not in fields]
        self._write(fields, rows + [metrics])

    def truncate(self, key: str, last: float) -> None:
        r"""Drops the rows whose :obj:`key` exceeds :obj:`last` (used on
        resume, so that epochs after the checkpoint are not logged twice)."""
        rows = self.rows()
        if rows:
            self._write(list(rows[0]),
                        [r for r in rows if float(r[key]) <= last])

    def _write(self, fields: List[str], rows: List[Dict[str, Any]]) -> None:
        with atomic_write(self.path, 'w') as f:
            writer = csv.DictWriter(f, fields)
            writer.writeheader()
            writer.writerows(rows)


class MetricsLogger:
    r"""Writes every call's scalar metrics to :obj:`{out}/{name}.csv` and,
    when :obj:`tensorboard` is installed, to a TensorBoard event file in
    :obj:`{out}/tensorboard`.

    Args:
        out (str or PathLike): The run's folder.
        name (str): The CSV's stem, *e.g.* :obj:`"pretrain"`.
        tensorboard (bool, optional): Use TensorBoard if installed.
            (default: :obj:`True`)
    """
    def __init__(self, out: Union[str, os.PathLike], name: str,
                 tensorboard: bool = True):
        self.csv = CSVLogger(Path(out) / f'{name}.csv')
        self.writer = None
        if tensorboard and importlib.util.find_spec('tensorboard'):
            from torch.utils.tensorboard import SummaryWriter
            self.writer = SummaryWriter(str(Path(out) / 'tensorboard'))

    def log(self, step: int, **metrics: Any) -> None:
        r"""Logs :obj:`metrics` at epoch or step :obj:`step`."""
        self.csv.log(epoch=step, **metrics)
        if self.writer is not None:
            for key, value in metrics.items():
                if isinstance(value, (int, float)):
                    self.writer.add_scalar(key, value, step)
            self.writer.flush()

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
