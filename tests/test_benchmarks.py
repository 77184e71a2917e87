import json
import re
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).parents[1] / 'benchmarks'
# Benchmark results the docs include (written by the scripts' --json).
MEASURED = Path(__file__).parents[1] / 'docs' / 'measured'
sys.path.insert(0, str(BENCHMARKS))

LAST_LINE = re.compile(r'^speedup_vs_stock_pyg=\d+\.\d+ slowdown_vs_dense='
                       r'\d+\.\d+ peak_mem_ratio_vs_stock_pyg=\d+\.\d+$')


@pytest.mark.full
@pytest.mark.parametrize('name', ['pretrain_step', 'finetune_step'])
def test_step_benchmark_smoke(name, capsys, tmp_path):
    module = __import__(name)
    results = module.main(['--smoke', '--json', str(tmp_path / 'r.json')])
    lines = capsys.readouterr().out.strip().splitlines()
    assert LAST_LINE.match(lines[-1]), lines[-1]
    assert set(results) == {'coco', 'ntu-rgb+d'}
    assert (tmp_path / 'r.json').stat().st_size > 0


@pytest.mark.full
def test_conv_and_data_loading_benchmarks_smoke(capsys):
    rows = __import__('conv').main(['--smoke'])
    inputs = {r['input'] for r in rows}
    assert {'stock GINConv (flat Batch)', 'DenseGINConv (dense path)',
            'torch.sparse CSR', 'edge_index (flat Batch)'} <= inputs
    rows = __import__('data_loading').main(['--smoke'])
    assert [r['dataset'] for r in rows] == [
        'synthetic ntu-rgb+d', 'synthetic coco', 'NTU RGB+D (memory-mapped)']
    assert all(r['first_batch_ms'] > 0 and r['epoch_samples_per_s'] > 0
               and r['steady_samples_per_s'] > 0 for r in rows)


@pytest.mark.full
def test_batch_cost_benchmark_times_the_parts_in_a_worker():
    rows = __import__('batch_cost').main(['--smoke'])
    assert [r['measured'] for r in rows] == [
        'read_batch', 'noise draws', 'present joints', 'GaussianNoise',
        'worker total']
    for where in ('thread_ms', 'process_ms'):
        ms = {r['measured']: r[where] for r in rows}
        assert all(v > 0 for v in ms.values())
        assert ms['worker total'] == pytest.approx(
            ms['read_batch'] + ms['GaussianNoise'], abs=0.02)


@pytest.mark.full
def test_end_to_end_benchmark_smoke(capsys, tmp_path):
    out = tmp_path / 'e2e.json'
    rates = __import__('end_to_end').main(['--smoke', '--json', str(out)])
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert re.fullmatch(r'input_pipeline_seq_per_s=\d+\.\d '
                        r'step_seq_per_s=\d+\.\d '
                        r'end_to_end_seq_per_s=\d+\.\d', last), last
    assert set(rates) == {'input_pipeline', 'input_pipeline_processes',
                          'step', 'end_to_end'}
    assert all(v > 0 for v in rates.values())
    payload = json.loads(out.read_text())
    assert payload['command'] == (f'python benchmarks/end_to_end.py --smoke '
                                  f'--json {out}')
    assert [r['measured'] for r in payload['rows']] == list(rates)
    table = out.with_suffix('.rst').read_text()
    assert '   * - input_pipeline\n' in table and payload['command'] in table


@pytest.mark.docs
@pytest.mark.parametrize('path', sorted(MEASURED.glob('*.json')),
                         ids=lambda p: p.stem)
def test_measured_tables_in_the_docs_are_their_results(path):
    from common import rst_table
    assert path.with_suffix('.rst').read_text() == rst_table(
        json.loads(path.read_text()))


def test_reference_models_compute_what_ours_computes():
    import torch
    from common import reference_model
    from torch_skeleton_mae.nn import STRL, SkeletonMAE

    x = torch.randn(2, 2, 4, 17, 3)
    mae = SkeletonMAE('coco', 3)
    expected = mae(x, generator=torch.Generator().manual_seed(1)).loss
    for kind in ('stock', 'dense'):
        ref = reference_model(mae, kind)
        loss = ref(x, generator=torch.Generator().manual_seed(1)).loss
        assert torch.allclose(loss, expected, atol=1e-5)
    strl = STRL('coco', 3, 5).eval()
    for kind in ('stock', 'dense'):
        assert torch.allclose(reference_model(strl, kind).eval()(x), strl(x),
                              atol=1e-4)


@pytest.mark.full
def test_time_to_accuracy_smoke(capsys, tmp_path):
    out = tmp_path / 'tta.json'
    result = __import__('time_to_accuracy').main(['--smoke', '--json',
                                                  str(out)])
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert re.fullmatch(r'minutes_to_target=(none|\d+\.\d) '
                        r'best_top1=\d\.\d{4}', last), last
    assert [row['epoch'] for row in result['epochs']] == [1, 2]
    minutes = [row['minutes'] for row in result['epochs']]
    assert 0 < minutes[0] < minutes[1]
    assert json.loads(out.read_text())['best_top1'] == result['best_top1']


@pytest.mark.full
def test_compare_revisions_times_both_checkouts_case_by_case(capsys):
    root = Path(__file__).resolve().parents[1]
    __import__('compare_revisions').main([
        '--base', str(root), '--script', 'conv.py', '--rounds', '1', '--',
        '--smoke'])
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith('conv.py --smoke: median of 1 rounds each')
    cases = [line for line in lines[1:] if 'DenseGINConv (dense path)' in line]
    assert len(cases) == 1 and cases[0].endswith(tuple('0123456789'))
    with pytest.raises(SystemExit, match='no reader for'):
        __import__('compare_revisions').timed_cases('end_to_end.py', {})
