r"""Times the three test tiers, one after the other, each in a process of its
own, and writes their summaries and slowest tests to ``OUT`` (the evidence of
``docs/installation.rst``: the default tier under three minutes on 2 cores).

    python benchmarks/test_tiers.py --out docs/measured/test_tiers.txt
"""
import argparse
import subprocess
import sys
import time
from pathlib import Path

from common import machine

ROOT = Path(__file__).parents[1]
#: The tiers: pytest's marker expression of each.
TIERS = {'default': None, 'full': 'full', 'docs': 'docs'}


def run_tier(marker):
    r"""Runs one tier; returns its wall time and pytest's last lines."""
    command = [sys.executable, '-m', 'pytest', '-q', '-p', 'no:cacheprovider',
               '--durations=5']
    if marker is not None:
        command += ['-m', marker]
    begin = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - begin
    tail = done.stdout.strip().split('\n')
    start = next((i for i, line in enumerate(tail) if 'slowest' in line), -1)
    if done.returncode != 0:
        raise SystemExit(f'the {marker or "default"} tier failed:\n'
                         + '\n'.join(tail[-30:]))
    return seconds, tail[start:]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--out', type=Path, required=True)
    args = parser.parse_args(argv)
    lines = [f'python benchmarks/test_tiers.py --out {args.out}',
             f'machine: {machine()}', '']
    for name, marker in TIERS.items():
        seconds, summary = run_tier(marker)
        flag = '' if marker is None else f' -m {marker}'
        lines += [f'== python -m pytest -q{flag}: {seconds:.0f} s wall ==']
        lines += summary + ['']
        print(lines[-len(summary) - 2], flush=True)
    args.out.write_text('\n'.join(lines))


if __name__ == '__main__':
    main()
