r"""One benchmark, two checkouts, side by side: runs ``benchmarks/SCRIPT``
of a base checkout (its own package and script) and of this one in turn,
``--rounds`` times each, and prints every timed case's median over the
rounds and the ratio of this checkout's time to the base's (above 1:
slower now). For a change that must not cost speed::

    git worktree add /tmp/base <revision>
    python benchmarks/compare_revisions.py --base /tmp/base --script conv.py \
        -- --graphs 1024 8192 --repeats 5

Times come from each script's ``--json`` file: ``conv.py``'s rows
(``median_ms``) and ``pretrain_step.py``'s seconds per step.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent


def timed_cases(script: str, payload: dict) -> dict:
    r"""Every timed case of one run of :obj:`script`: name to seconds."""
    if script == 'conv.py':
        return {f"{r['graphs']} graphs, {r['channels']} ch, {r['input']}":
                r['median_ms'] / 1e3 for r in payload['rows']}
    if script == 'pretrain_step.py':
        return {f'{layout}, {variant}': seconds
                for layout, result in payload['results'].items()
                for variant, seconds in result['seconds'].items()}
    raise SystemExit(f"compare_revisions.py: no reader for '{script}'; "
                     f"expected conv.py or pretrain_step.py")


def run(root: Path, script: str, args: list, out: Path) -> dict:
    # One run of root's script on root's package.
    env = dict(os.environ, PYTHONPATH=str(root))
    subprocess.run([sys.executable, str(root / 'benchmarks' / script),
                    '--json', str(out)] + args, env=env, check=True,
                   stdout=subprocess.DEVNULL, cwd=root / 'benchmarks')
    return timed_cases(script, json.loads(out.read_text()))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--base', type=Path, required=True,
                        help='the checkout to compare against')
    parser.add_argument('--script', required=True,
                        choices=['conv.py', 'pretrain_step.py'])
    parser.add_argument('--rounds', type=int, default=3)
    parser.add_argument('args', nargs='*', help="the script's own flags")
    args = parser.parse_args(argv)
    if not (args.base / 'benchmarks' / args.script).is_file():
        parser.error(f"--base {args.base}: no benchmarks/{args.script}")
    times = {'base': {}, 'new': {}}
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.rounds):  # interleaved: drift hits both alike
            for name, root in (('base', args.base), ('new', HERE.parent)):
                out = Path(tmp) / f'{name}{i}.json'
                for case, seconds in run(root, args.script, args.args,
                                         out).items():
                    times[name].setdefault(case, []).append(seconds)
    print(f'{args.script} {" ".join(args.args)}: median of {args.rounds} '
          f'rounds each; new / base time (above 1: slower now)')
    for case in times['new']:
        if case in times['base']:
            base = statistics.median(times['base'][case])
            new = statistics.median(times['new'][case])
            print(f'{case:55s} {1e3 * base:9.2f} ms {1e3 * new:9.2f} ms '
                  f'{new / base:6.3f}')


if __name__ == '__main__':
    main()
