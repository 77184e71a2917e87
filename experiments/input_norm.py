r"""STRL with and without a batch norm over its input channels
(``STRL(input_norm=True)``, as CTR-GCN's ``data_bn``) on NW-UCLA, scored on
the fifth of the training split that ``strl_selection.py`` holds out (the
test view is not read).

::

    OMP_NUM_THREADS=1 python experiments/input_norm.py SEED STREAM CHANGE OUT

with CHANGE ``none`` or ``input_norm`` (see ``stream_collapse.py``) writes
``OUT/result.json`` (the held-out top-1) beside the run's logs;
``input_norm.py summary DIR`` writes ``DIR/summary.json`` (see
``stream_collapse.py``) of the runs ``DIR/<stream>_<change>_seed<k>``.
"""
import json
import sys
from pathlib import Path

from torch_skeleton_mae.engine import (
    RunOptions,
    finetune,
    load_data,
    preset_for,
)

from stream_collapse import build, summary  # this folder's
from strl_selection import HOLDOUT

ROOT = Path('../shared/data/nw_ucla/all_sqe')
CHANGES = ('none', 'input_norm')


def main() -> None:
    if sys.argv[1] == 'summary':
        return summary(Path(sys.argv[2]), 'holdout_top1')
    seed, stream, change, out = (int(sys.argv[1]), sys.argv[2], sys.argv[3],
                                 Path(sys.argv[4]))
    if change not in CHANGES:
        sys.exit(f"input_norm.py: CHANGE must be one of {CHANGES}, got "
                 f"{change!r}")
    preset = preset_for('nw-ucla')
    data = load_data(ROOT, dataset='nw-ucla', frames=preset.finetune.frames,
                     stream=stream, holdout=HOLDOUT)
    result = finetune(build(data, seed, change), data, preset.finetune, out,
                      RunOptions(seed=seed, workers=0))
    (out / 'result.json').write_text(json.dumps(dict(
        holdout_top1=result.report.top1)))


if __name__ == '__main__':
    main()
