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
they run on the synthetic set with the quick recipe. Rows whose pre-training
settings agree share one pre-trained checkpoint. The recipe flags
(``--epochs``, ``--batch-size``, ``--frames``) change both recipes. Writes
``OUT/table<TABLE>.json`` (every row) and ``OUT/table<TABLE>.rst`` (the table
the docs include).

    python examples/ablations.py --table 4c
    python examples/ablations.py --table 4a --data gym_hrnet.pkl \
        --dataset finegym --out runs/table4a
"""
import dataclasses
import json
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from torch_skeleton_mae.engine import (ProtocolData, RunOptions, finetune,
                                       load_data, preset_for, pretrain)
from torch_skeleton_mae.engine.cli import (ArgumentParser, command_line,
                                           seed_everything, user_input)
from torch_skeleton_mae.nn import STRL, SkeletonMAE

#: A row: (label, SkeletonMAE settings or None for no pre-training, STRL
#: settings).
Row = Tuple[str, Optional[Dict[str, Any]], Dict[str, Any]]
#: STRL of M layers: the default widths and strides, the last M - 3 layers
#: repeating the widest.
STRL_LAYERS = {m: dict(channels=((64, 128, 256) + (256, ) * m)[:m],
                       strides=((2, 2, 1) + (1, ) * m)[:m])
               for m in (1, 2, 3, 4)}
REGION = dict(mask=(3, ))  # "masking body sub-region 3" (Sec. 4.4)
TABLES: Dict[str, List[Row]] = {
    '4a': [(f'L_D = {n}', dict(REGION, encoder_layers=n), {})
           for n in (1, 2, 3, 4)],
    '4c': [(f'{conv.upper()}, region {r}',
            dict(encoder=conv, mask=(r, )), {})
           for conv in ('gat', 'gcn', 'gin') for r in range(6)],
    '5a': [('random initialization', None, {})] + [
        (f'M = {m}', REGION, STRL_LAYERS[m]) for m in (1, 2, 3, 4)],
    # Our reading of the printed table: random joints at each ratio beside
    # region sets of about as many COCO joints (4, 9, 12 and 15).
    '5b': [(f'random joints {p}%', dict(mask=p / 100), {})
           for p in (30, 50, 70, 90)] + [
        (f'regions {s}', dict(mask=tuple(map(int, s.split(',')))), {})
        for s in ('3,5', '0,3,5', '1,2,3,4,5', '0,1,2,3,5')],
}


def run(table: str, out: Path, recipes: Dict[str, Any],
        splits: Dict[str, ProtocolData], options: RunOptions,
        selected: Optional[List[int]] = None) -> List[Dict]:
    r"""Runs the rows of :obj:`table` (those at the indices
    :obj:`selected`, or all) into :obj:`out` with the :obj:`"pretrain"` and
    :obj:`"finetune"` :obj:`recipes` on their data :obj:`splits`; returns
    one dict per row, also written to :obj:`out/table<table>.json`."""
    tune = splits['finetune']
    checkpoints: Dict[Tuple, Path] = {}
    rows = []
    for i, (label, pre, settings) in enumerate(TABLES[table]):
        if selected is not None and i not in selected:
            continue
        if pre is not None and tuple(pre.items()) not in checkpoints:
            seed_everything(options.seed)
            split = splits['pretrain']
            model = SkeletonMAE(split.layout, split.channels, **pre)
            checkpoints[tuple(pre.items())] = pretrain(
                model, split, recipes['pretrain'],
                out / f'pretrain{len(checkpoints)}', options).checkpoint
        seed_everything(options.seed)
        model = (STRL(tune.layout, tune.channels, tune.num_classes,
                      **settings) if pre is None else STRL.from_pretrained(
            checkpoints[tuple(pre.items())], tune.num_classes, **settings))
        report = finetune(model, tune, recipes['finetune'], out / f'row{i}',
                          options).report
        rows.append(dict(label=label, pretrain=pre, finetune=settings,
                         top1=report.top1,
                         mean_class_acc=report.summary()['mean_class_acc']))
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
        description="The paper's ablation tables 4a, 4c, 5a and 5b.")
    add = parser.add_argument
    add('--table', choices=sorted(TABLES), help='the table to run')
    add('--out', type=Path, default=None, help='default: runs/table<TABLE>')
    add('--rows', type=int, nargs='+', default=None, metavar='INDEX',
        help="only these rows, by their index (0: the table's first row)")
    add('--tables', type=Path, default=None, metavar='TABLE_JSON',
        help='only write the reST table of a table<X>.json again, beside it '
        '(after a change of its format)')
    add('--data', type=Path, help='default: the built-in synthetic set')
    add('--dataset', default='ntu60', help='the classes and splits of --data')
    add('--split', help="default: the dataset's first benchmark")
    add('--samples', type=int, help="synthetic sequences (default: "
        "load_data's)")
    for flag in ('--epochs', '--batch-size', '--frames'):
        add(flag, type=int, help="both recipes' (default: the recipes')")
    add('--workers', type=int, default=RunOptions.workers)
    add('--device', help='default: cuda if available')
    add('--seed', type=int, default=RunOptions.seed)
    args = parser.parse_args(argv)
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
    preset = preset_for(args.dataset if args.data else None)
    changes = {k: v for k, v in dict(epochs=args.epochs,
                                     batch_size=args.batch_size,
                                     frames=args.frames).items()
               if v is not None}
    recipes = {protocol: dataclasses.replace(getattr(preset, protocol),
                                             **changes)
               for protocol in ('pretrain', 'finetune')}
    with user_input():  # bad data: one line, no traceback
        splits = {protocol: load_data(
            args.data, dataset=args.dataset, split=args.split,
            frames=recipe.frames, **({} if args.samples is None else dict(
                samples=args.samples)))
            for protocol, recipe in recipes.items()}
    options = RunOptions(device=args.device, seed=args.seed,
                         workers=args.workers)
    rows = run(args.table, out, recipes, splits, options, args.rows)
    text = tables(rows)
    (out / f'table{args.table}.rst').write_text(text)
    print(f'Table {args.table}: fine-tuned accuracy (%)')
    print(text)
    return rows


if __name__ == '__main__':
    command_line(main)
