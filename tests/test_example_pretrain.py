import csv
import importlib.util
from pathlib import Path

import torch

from torch_skeleton_mae.nn import STRL

EXAMPLE = Path(__file__).parents[1] / 'examples' / 'ntu60_pretrain.py'


def test_pretrain_example_end_to_end(tmp_path):
    spec = importlib.util.spec_from_file_location('ntu60_pretrain', EXAMPLE)
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    probe, random_probe = example.main([
        '--samples', '80', '--epochs', '2', '--frames', '8', '--workers', '0',
        '--batch-size', '16', '--out', str(tmp_path)])
    assert 0.0 <= probe <= 1.0 and 0.0 <= random_probe <= 1.0
    with open(tmp_path / 'pretrain.csv') as f:
        rows = list(csv.DictReader(f))
    assert [int(r['epoch']) for r in rows] == [1, 2]
    assert all(float(r['loss']) > 0 for r in rows)
    checkpoint = torch.load(tmp_path / 'last.pt', weights_only=True)
    assert checkpoint['epoch'] == 2 and checkpoint['version'] == 1
    assert checkpoint['config']['skeleton'] == 'ntu-rgb+d'
    assert not list(tmp_path.glob('.*.tmp*'))  # written atomically
    model = STRL('ntu-rgb+d', 3, 10).load_pretrained(tmp_path / 'last.pt')
    assert torch.equal(model.embedding.lin.weight,
                       checkpoint['model']['embedding.lin.weight'])
