r"""The paper's ablations (Sec. 4.4) as commands: each row pre-trains
SkeletonMAE and fine-tunes STRL with the row's setting, and the script prints
the table of fine-tuned accuracies.

* ``4a``: encoder GIN layers L_D = 1, 2, 3, 4 (masking region V3).
* ``4c``: encoder backbone GAT, GCN, GIN x masked region V0 ... V5.
* ``5a``: STRL layers M = 1, 2, 3, 4, and STRL from random initialization.
* ``5b``: random joint masking at 30 / 50 / 70 / 90% beside body-region
  masking of about as many joints.

The paper runs them on FineGym (``--data gym_hrnet.pkl --dataset finegym``,
the paper's recipe) and reports the mean class accuracy; without ``--data``
they run on the synthetic set with the quick settings. Rows whose
pre-training flags agree share one pre-trained checkpoint. Every further
flag goes to both programs (e.g. ``--epochs``, ``--device cuda``). Writes
``OUT/table<TABLE>.json`` (every row) and ``OUT/table<TABLE>.rst`` (the table
the docs include).

    python examples/ablations.py --table 4c
    python examples/ablations.py --table 4a --data gym_hrnet.pkl \
        --dataset finegym --out runs/table4a
"""
import json
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from torch_skeleton_mae.engine.protocols import (
    ArgumentParser,
    command_line,
    finetune_command,
    pretrain_command,
)

#: A row: (label, pre-training flags or None for no pre-training,
#: fine-tuning flags).
Row = Tuple[str, List[str], List[str]]
REGION = ['--mask', 'parts:3']  # "masking body sub-region 3" (Sec. 4.4)
TABLES: Dict[str, List[Row]] = {
    '4a': [(f'L_D = {n}', REGION + ['--encoder-layers', str(n)], [])
           for n in (1, 2, 3, 4)],
    '4c': [(f'{conv.upper()}, region {r}',
            ['--encoder', conv, '--mask', f'parts:{r}'], [])
           for conv in ('gat', 'gcn', 'gin') for r in range(6)],
    '5a': [('random initialization', None, [])] + [
        (f'M = {m}', REGION, ['--strl-layers', str(m)])
        for m in (1, 2, 3, 4)],
    # Our reading of the printed table: random joints at each ratio beside
    # region sets of about as many COCO joints (4, 9, 12 and 15).
    '5b': [(f'random joints {p}%', ['--mask', f'random-joints:{p / 100}'], [])
           for p in (30, 50, 70, 90)] + [
        (f'regions {s}', ['--mask', f'parts:{s}'], [])
        for s in ('3,5', '0,3,5', '1,2,3,4,5', '0,1,2,3,5')],
}


def run(table: str, out: Path, extra: List[str],
        selected: Optional[List[int]] = None) -> List[Dict]:
    r"""Runs the rows of :obj:`table` (those at the indices
    :obj:`selected`, or all) into :obj:`out`; returns one dict per row,
    also written to :obj:`out/table<table>.json`."""
    checkpoints: Dict[Tuple[str, ...], Path] = {}
    rows = []
    for i, (label, pre, tune) in enumerate(TABLES[table]):
        if selected is not None and i not in selected:
            continue
        flags = list(tune)
        if pre is not None:
            key = tuple(pre)
            if key not in checkpoints:
                folder = out / f'pretrain{len(checkpoints)}'
                pretrain_command(extra + pre + ['--no-probe', '--out', str(folder)])
                checkpoints[key] = folder / 'last.pt'
            flags += ['--pretrained', str(checkpoints[key])]
        result = finetune_command(extra + flags + ['--out', str(out / f'row{i}')])
        rows.append(dict(label=label, pretrain=pre, finetune=tune,
                         top1=result['top1'],
                         mean_class_acc=result['mean_class_acc']))
        # Kept after every row: a long run that stops loses less.
        (out / f'table{table}.json').write_text(json.dumps(rows, indent=1))
    return rows


def tables(rows: List[Dict]) -> str:
    r"""The reST table of an ablation's :obj:`rows` (what the docs
    include)."""
    lines = ['.. list-table::', '   :header-rows: 1', '',
             '   * - Row', '     - Top-1', '     - Mean class accuracy']
    for row in rows:
        lines += [f"   * - {row['label']}",
                  f"     - {100 * row['top1']:.1f}",
                  f"     - {100 * row['mean_class_acc']:.1f}"]
    return '\n'.join(lines) + '\n'


def main(argv=None):
    parser = ArgumentParser(
        description="The paper's ablation tables 4a, 4c, 5a and 5b; other "
        "flags go to the pre-training and fine-tuning programs.")
    parser.add_argument('--table', choices=sorted(TABLES),
                        help='the table to run')
    parser.add_argument('--out', type=Path, default=None,
                        help='default: runs/table<TABLE>')
    parser.add_argument('--rows', type=int, nargs='+', default=None,
                        metavar='INDEX',
                        help="only these rows, by their index (0: the "
                        "table's first row)")
    parser.add_argument('--tables', type=Path, default=None,
                        metavar='TABLE_JSON',
                        help='only write the reST table of a table<X>.json '
                        'again, beside it (after a change of its format)')
    args, extra = parser.parse_known_args(argv)
    if args.tables is not None:
        if not args.tables.is_file():
            parser.error(f"--tables: no file '{args.tables}'")
        text = tables(json.loads(args.tables.read_text()))
        args.tables.with_suffix('.rst').write_text(text)
        print(text)
        return None
    if args.table is None:
        parser.error('--table is required (or --tables TABLE_JSON)')
    size = len(TABLES[args.table])
    if args.rows is not None and not all(0 <= i < size for i in args.rows):
        parser.error(f'--rows of table {args.table} must lie in 0-{size - 1}, '
                     f'got {args.rows}')
    out = args.out or Path(f'runs/table{args.table}')
    rows = run(args.table, out, extra, args.rows)
    text = tables(rows)
    (out / f'table{args.table}.rst').write_text(text)
    print(f'Table {args.table}: fine-tuned accuracy (%)')
    print(text)
    return rows


if __name__ == '__main__':
    command_line(main)
