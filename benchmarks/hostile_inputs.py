r"""Crafted hostile files against the readers and loaders: for each case,
the seconds and the peak memory (max RSS of a fresh process) until the
package refuses it, and what it says. Each case runs in its own process
under an address-space limit, so that a regression that allocates what the
file claims fails fast instead of swapping::

    python benchmarks/hostile_inputs.py --out hostile.json
"""
import argparse
import json
import resource
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

#: Each case: a name and the code that crafts its file in the folder
#: ``root``, then, from its first import of the package on, reads it: only
#: the reading is timed, and its error is the answer.
CASES = {
    'pyskl pickle that runs code': """
        import pickle, numpy as np
        class P:
            def __reduce__(self):
                return (open, (str(root / 'planted'), 'w'))
        ann = dict(frame_dir='a', total_frames=2, label=P(),
                   keypoint=np.zeros((1, 2, 17, 2), np.float32))
        (root / 'evil.pkl').write_bytes(pickle.dumps(
            dict(split={'xsub_train': ['a']}, annotations=[ann])))
        from torch_skeleton_mae.datasets import PysklDataset
        try:
            PysklDataset(root / 'evil.pkl', 'xsub_train')
        finally:
            assert not (root / 'planted').exists(), 'the payload ran'
    """,
    'NTU .skeleton, a new body ID in each of 4,000 frames': """
        lines = ['4000']
        for t in range(4000):
            lines += ['1', f'{t} 0 1 1 1 1 0 0.1 0.2 2', '25']
            lines += ['0.1 0.2 3 1 2 3 4 0 0 0 0 2'] * 25
        path = root / 'S001C001P001R001A001.skeleton'
        path.write_text('\\n'.join(lines) + '\\n')
        from torch_skeleton_mae.datasets.ntu import read_ntu_skeleton
        read_ntu_skeleton(path)
    """,
    'NTU .skeleton, one body then 10^6 empty frames': """
        lines = ['1000000', '1', '7 0 1 1 1 1 0 0.1 0.2 2', '25']
        lines += ['0.1 0.2 3 1 2 3 4 0 0 0 0 2'] * 25 + ['0'] * 999_999
        path = root / 'S001C001P001R001A001.skeleton'
        path.write_text('\\n'.join(lines) + '\\n')
        from torch_skeleton_mae.datasets.ntu import read_ntu_skeleton
        read_ntu_skeleton(path)
    """,
    'NW-UCLA JSON of 400,000 nested brackets (beside a good clip)': """
        import json
        (root / 'a01_s01_e01_v01.json').write_text('[' * 400_000)
        (root / 'a01_s01_e02_v01.json').write_text(json.dumps(dict(
            label=1, skeletons=[[[0.1, 0.2, 3.0]] * 20] * 5)))
        from torch_skeleton_mae.datasets import NWUCLA
        data = NWUCLA(root, 'xview', None)
        assert len(data) == 1, 'the good clip was lost'
        raise ValueError(data.skipped['a01_s01_e01_v01.json'])
    """,
    '.npz of 506 bytes whose member claims 16.8 GiB': """
        import io, zipfile, numpy as np
        header = io.BytesIO()
        np.lib.format.write_array_header_1_0(header, dict(
            descr='<f4', fortran_order=False, shape=(100_000, 300, 150)))
        with zipfile.ZipFile(root / 'liar.npz', 'w') as archive:
            archive.writestr('x_train.npy', header.getvalue())
            archive.writestr('y_train.npy', header.getvalue())
        from torch_skeleton_mae.datasets import NpzSkeletonDataset
        NpzSkeletonDataset(root / 'liar.npz')
    """,
    '.npz compressed bomb (1.35 GB of zeros)': """
        import zipfile, numpy as np
        zero = np.zeros((1000, 300, 150), np.float32)  # 180 MB a chunk
        with zipfile.ZipFile(root / 'bomb.npz', 'w',
                             zipfile.ZIP_DEFLATED) as archive:
            with archive.open('x_train.npy', 'w', force_zip64=True) as f:
                np.lib.format.write_array_header_1_0(f, dict(
                    descr='<f4', fortran_order=False,
                    shape=(7500, 300, 150)))
                for _ in range(7):
                    f.write(zero.tobytes())
                f.write(zero[:500].tobytes())
            archive.writestr('y_train.npy', b'')
        del zero
        from torch_skeleton_mae.datasets import NpzSkeletonDataset
        NpzSkeletonDataset(root / 'bomb.npz')
    """,
    'Penn Action .mat of 4,000,000 frames (compressed)': """
        import numpy as np
        from scipy.io import savemat
        x = np.ones((4_000_000, 13))
        savemat(root / '0001.mat', dict(
            action='bowl', pose='front', x=x, y=x, visibility=x, train=1,
            dimensions=np.array([270, 480, 4_000_000]), nframes=4_000_000),
            do_compression=True)
        del x
        from torch_skeleton_mae.datasets import PennAction
        data = PennAction.__new__(PennAction)
        data.score, data.max_frames, data.normalized = False, 10_000, True
        from torch_skeleton_mae.graph import get_skeleton
        data.skeleton = get_skeleton('penn-action')
        data.read(root / '0001.mat')
    """,
    'checkpoint whose config says hidden_channels=12000': """
        import torch
        from torch_skeleton_mae.nn import SkeletonMAE
        mae = SkeletonMAE('coco', 2)
        torch.save(dict(model=mae.state_dict(), config=dict(
            mae.config, hidden_channels=12000)), root / 'wide.pt')
        SkeletonMAE.from_checkpoint(root / 'wide.pt')
    """,
    'checkpoint that runs os.system': """
        import os, torch
        class P:
            def __reduce__(self):
                return (os.system, ('true',))
        torch.save(dict(model=P(), config={}), root / 'evil.pt')
        from torch_skeleton_mae.nn import SkeletonMAE
        SkeletonMAE.from_checkpoint(root / 'evil.pt')
    """,
}


def run(name: str, code: str, limit_gb: float) -> dict:
    r"""The case in a fresh process: seconds and peak memory of reading the
    crafted file, and the error it ended with."""
    craft, _, read = textwrap.dedent(code).partition('\nfrom torch_skeleton')
    read = 'from torch_skeleton' + read
    script = f"""
import json, resource, sys, time
from pathlib import Path
root = Path(sys.argv[1])
{craft}
import torch_skeleton_mae.datasets, torch_skeleton_mae.nn
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.perf_counter()
try:
{textwrap.indent(read, '    ')}
    answer = 'accepted'
except Exception as error:
    answer = f'{{type(error).__name__}}: {{error}}'
print(json.dumps(dict(
    seconds=time.perf_counter() - start,
    peak_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    peak_before_mb=before / 1024, answer=answer[:400])))
"""
    limit = int(limit_gb * 2 ** 30)
    with tempfile.TemporaryDirectory() as root:
        done = subprocess.run(
            [sys.executable, '-c', script, root], capture_output=True,
            text=True, timeout=600, preexec_fn=lambda: resource.setrlimit(
                resource.RLIMIT_AS, (limit, limit)))
    if done.returncode:
        return dict(answer=f'crashed: {done.stderr.strip()[-300:]}')
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--limit-gb', type=float, default=4.0,
                        help='address-space limit of each case (GB)')
    parser.add_argument('--out', type=Path)
    args = parser.parse_args()
    results = {}
    for name, code in CASES.items():
        results[name] = result = run(name, code, args.limit_gb)
        print(f"{name}: {result.get('seconds', float('nan')):.2f} s, peak "
              f"{result.get('peak_mb', float('nan')):.0f} MB (before "
              f"reading {result.get('peak_before_mb', float('nan')):.0f} MB)"
              f"\n    {result['answer']}", flush=True)
    if args.out:
        args.out.write_text(json.dumps(results, indent=1))


if __name__ == '__main__':
    main()
