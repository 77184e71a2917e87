import csv
import dataclasses
import importlib.util
import json
import os
import re
import statistics
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch

from torch_skeleton_mae.datasets.synthetic import ACTIONS
from torch_skeleton_mae.engine import PAPER, QUICK
from torch_skeleton_mae.engine.checkpoint import load_checkpoint
from torch_skeleton_mae.engine.cli import (
    UsageError,
    check_run_folder,
    command_line,
    data_of,
    finetune_command,
    linear_eval_command,
    parse_args,
    pretrain_command,
    recipe_of,
)
from torch_skeleton_mae.nn import STRL, SkeletonMAE
from torch_skeleton_mae.nn.models.strl import DEEP_SETTINGS
from torch_skeleton_mae.transforms import STREAMS
from torch_skeleton_mae.utils import machine

ROOT = Path(__file__).parents[1]
#: Counts as the pages spell them.
NUMBERS = {2: 'two', 3: 'three', 4: 'four', 5: 'five'}
TINY = ['--samples', '60', '--frames', '8', '--workers', '0',
        '--batch-size', '16']
LINEAR = TINY[:-2]  # linear evaluation fits on all features at once


def experiment(name):
    """The script ``experiments/<name>.py`` as a module, its folder on the
    path while it loads (it imports its siblings, as when run)."""
    spec = importlib.util.spec_from_file_location(
        name, ROOT / 'experiments' / f'{name}.py')
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(ROOT / 'experiments'))
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(ROOT / 'experiments'))
    return module


def rows(path):
    with open(path) as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope='module')
def pretrained(tmp_path_factory):
    out = tmp_path_factory.mktemp('pretrain')
    result = pretrain_command(TINY + ['--epochs', '2', '--out', str(out)])
    return out, result


def test_pretrain_end_to_end(pretrained):
    out, result = pretrained
    assert 0 <= result['probe'] <= 1 and 0 <= result['random_probe'] <= 1
    log = rows(out / 'pretrain.csv')
    assert [r['epoch'] for r in log] == ['1', '2']
    assert all(0 <= float(r['target_spread']) <= 1 and float(r['loss']) > 0
               and float(r['seq_per_s']) > 0 for r in log)
    checkpoint = load_checkpoint(out / 'last.pt')
    assert checkpoint['epoch'] == 2
    assert checkpoint['run']['data']['samples'] == 60
    assert checkpoint['run']['training_samples'] == 46
    assert checkpoint['config']['skeleton'] == 'coco'
    assert not list(out.glob('.*.tmp*'))  # written atomically
    assert list((out / 'tensorboard').glob('events.out.tfevents.*'))
    probe = json.loads((out / 'probe.json').read_text())
    assert probe['top1'] == pytest.approx(result['probe'])
    assert len(probe['per_class']) == len(ACTIONS) == 17
    assert (out / 'probe.png').stat().st_size > 0
    assert (out / 'probe.csv').read_text().count('\n') == 17
    model = STRL('coco', 2, 17).load_pretrained(out / 'last.pt')
    assert torch.equal(model.embedding.weight,
                       checkpoint['model']['embedding.weight'])


def test_pretrain_resume_at_last_epoch_does_nothing(pretrained, tmp_path):
    out, _ = pretrained
    result = pretrain_command(TINY + ['--epochs', '2', '--out', str(out),
                                      '--resume', '--no-probe'])
    assert result['history'] == []
    assert len(rows(out / 'pretrain.csv')) == 2


def test_linear_eval(pretrained, tmp_path):
    out, result = pretrained
    summary = linear_eval_command(LINEAR + [
        '--pretrained', str(out / 'last.pt'), '--out', str(tmp_path)])
    # The same features, classifier and seed as the pre-training probe.
    assert summary['top1'] == pytest.approx(result['probe'])
    assert summary['top5'] >= summary['top1']
    assert (tmp_path / 'linear_eval.png').exists()
    # A finished evaluation is never overwritten, as other runs are not.
    before = (tmp_path / 'linear_eval.json').read_bytes()
    with pytest.raises(ValueError, match=r"--out .* holds a finished linear "
                       r"evaluation \(linear_eval.json\); pass another "
                       r"--out"):
        linear_eval_command(LINEAR + [
            '--pretrained', str(out / 'last.pt'), '--out', str(tmp_path)])
    assert (tmp_path / 'linear_eval.json').read_bytes() == before


def test_linear_eval_refuses_another_layout(pretrained, tmp_path):
    out, _ = pretrained
    with pytest.raises(ValueError, match=r"built for layout 'coco' with 2 "
                       r"channels, the data has 'ntu-rgb\+d' with 3"):
        linear_eval_command(LINEAR + ['--pretrained', str(out / 'last.pt'),
                            '--layout', 'ntu-rgb+d', '--out', str(tmp_path)])


def test_finetune_semi_supervised(pretrained, tmp_path, capsys):
    out, _ = pretrained
    result = finetune_command(TINY + [
        '--pretrained', str(out / 'last.pt'), '--semi', '0.1', '--epochs',
        '2', '--eval-every', '1', '--out', str(tmp_path)])
    printed = capsys.readouterr().out
    assert 'train=17 ' in printed  # 1 of ~2.5 per class, 17 classes
    log = rows(tmp_path / 'finetune.csv')
    assert [r['epoch'] for r in log] == ['1', '2']
    assert all(r['val_top1'] != '' for r in log)
    assert float(log[-1]['val_top1']) == pytest.approx(result['top1'])
    # The semi-supervised schedule: the first 2 of its warm-up epochs.
    semi = QUICK.semi
    assert [float(r['lr']) for r in log] == pytest.approx(
        [semi.lr * epoch / semi.warmup for epoch in (1, 2)])
    assert (tmp_path / 'finetune_eval.png').exists()


@pytest.mark.parametrize('argv,message', [
    (['--epochs', '0'], '--epochs must be positive, got 0'),
    (['--eval-every', '0'], '--eval-every must be positive, got 0'),
    (['--warmup', '-3'], '--warmup must be >= 0, got -3'),
    (['--milestones', '0', '0'], '--milestones must be increasing epochs'),
    (['--milestones', '9', '7'], '--milestones must be increasing epochs'),
    (['--lr', 'inf'], '--lr must be a finite number > 0, got inf'),
    (['--lr', '0'], '--lr must be a finite number > 0, got 0.0'),
    (['--noise', '-1'], '--noise must be a finite number >= 0'),
    (['--pretrained', 'nope.pt'], '--pretrained nope.pt: no such checkpoint'),
    (['--freeze-encoder'], '--freeze-encoder keeps pre-trained encoders '
                           'fixed: it needs --pretrained'),
    (['--encoder-layers', '0'], '--encoder-layers must be positive, got 0'),
    (['--precision', 'fp8'], "invalid choice: 'fp8'"),
])
def test_bad_flags(argv, message):
    with pytest.raises(UsageError) as error:
        parse_args('finetune', argv)
    assert message in str(error.value)


@pytest.mark.parametrize('argv,message', [
    (['--split', 'xset'], "split 'xset' is not one of ['xsub', 'xview'] of "
                          "the synthetic set"),
    (['--data', 'missing.pkl'], 'missing.pkl: no such file or folder'),
    (['--semi', '1.5'], '--semi must lie in (0, 1], got 1.5'),
    (['--holdout', '0'], '--holdout must lie in (0, 1), got 0'),
])
def test_bad_data_flags(argv, message):
    # Checked where Python callers' arguments are: by load_data.
    with pytest.raises(UsageError) as error:
        data_of(parse_args('finetune', argv))
    assert message in str(error.value)


def test_bad_flags_need_data_and_checkpoint(tmp_path):
    data = tmp_path / 'ntu120.pkl'
    data.write_bytes(b'')
    with pytest.raises(UsageError, match=r"split 'xview' is not one of "
                                         r"\['xsub', 'xset'\] of dataset "
                                         r"'ntu120'"):
        data_of(parse_args('finetune', ['--data', str(data), '--dataset',
                                        'ntu120', '--split', 'xview']))
    with pytest.raises(UsageError, match='needs --pretrained'):
        parse_args('linear', [])
    for out in (data, data / 'run'):
        with pytest.raises(UsageError, match=f'--out {out}: {data} is a '
                                             f'file; expected a folder'):
            check_run_folder(parse_args('pretrain', ['--out', str(out)]))


def run_command(program, argv, monkeypatch, capsys):
    """A command-line program's exit status and stderr."""
    monkeypatch.setattr('sys.argv', ['prog.py'] + argv)
    with pytest.raises(SystemExit) as done:
        command_line(program)
    return done.value.code, capsys.readouterr().err


@pytest.mark.parametrize('argv,message', [
    (['--device', 'foo'], "device 'foo' is not a device; expected e.g. "
                          "'cpu'"),
    (['--device', 'cuda'], "device 'cuda': no CUDA device is available"),
    (['--samples', '1'], 'the training split of 1 synthetic sequences '
                         '(xsub) is empty; use more samples'),
    (['--mask', '1.5'], r"A masking ratio must lie in (0, 1] and mask at "
                        r"least one of the 17 joints, got 1.5"),
    (['--mask', 'right_arm,tail'], "Layout 'coco' has no part 'tail'"),
    (['--encoder', 'nope'], "Unknown graph convolution 'nope'"),
    (['--epochs', 'x'], "argument --epochs: invalid int value: 'x'"),
])
def test_user_errors_are_one_line_with_status_2(argv, message, tmp_path,
                                                monkeypatch, capsys):
    if argv[:2] == ['--device', 'cuda'] and torch.cuda.is_available():
        pytest.skip('this machine has a GPU')
    code, err = run_command(pretrain_command, TINY + argv + ['--out', str(
        tmp_path / 'run')], monkeypatch, capsys)
    assert code == 2
    assert err.count('\n') == 1 and err.startswith('prog.py: error: '), err
    assert message in err, err


def test_corrupt_checkpoint_is_one_line(tmp_path, monkeypatch, capsys):
    bad = tmp_path / 'random.pt'
    bad.write_bytes(bytes(range(256)) * 4)
    code, err = run_command(
        finetune_command,
        TINY + ['--pretrained', str(bad), '--out', str(tmp_path / 'r')],
        monkeypatch, capsys)
    assert code == 2 and err.count('\n') == 1
    assert f"'{bad}' is not a readable checkpoint" in err
    # Weights without a config: the file is named, not taken for a flag.
    bare = tmp_path / 'bare.pt'
    torch.save(SkeletonMAE('coco', 2).state_dict(), bare)
    for command, flags, message in (
            (finetune_command, TINY, 'carries no config'),
            (linear_eval_command, LINEAR, "holds no 'config'")):
        code, err = run_command(command, flags + [
            '--pretrained', str(bare), '--out', str(tmp_path / 'b')],
            monkeypatch, capsys)
        assert code == 2 and f"error: '{bare}' {message}" in err, err


class _RunsCode:
    def __reduce__(self):
        return (os.system, ('true', ))


def test_an_unsafe_checkpoint_is_refused_saying_why(tmp_path, monkeypatch,
                                                    capsys):
    evil = tmp_path / 'evil.pt'
    torch.save(dict(model=_RunsCode(), config={}), evil)
    for command, flags in ((finetune_command, TINY),
                           (linear_eval_command, LINEAR)):
        code, err = run_command(command, flags + [
            '--pretrained', str(evil), '--out', str(tmp_path / 'e')],
            monkeypatch, capsys)
        assert code == 2 and err.count('\n') == 1, err
        assert (f"'{evil}' was refused: it holds more than tensors and plain "
                f"values, which a checkpoint of this package never does, and "
                f"loading it could run code (Trying to load unsupported "
                f"GLOBAL") in err, err
        assert 'weights_only' not in err


def test_run_folders_are_never_overwritten(pretrained, tmp_path, capsys):
    out, _ = pretrained
    before = (out / 'last.pt').read_bytes(), (out / 'pretrain.csv').read_text()
    with pytest.raises(UsageError, match=r'holds an earlier pretrain run '
                       r'\(last.pt\); pass --resume to continue it, or '
                       r'another --out'):
        pretrain_command(TINY + ['--out', str(out)])
    # Resuming with flags that change the result is refused, naming them.
    with pytest.raises(UsageError, match=r"--frames 4 \(the run has 8\); "
                       r"--lr 0.01 \(the run has 0.001\)"):
        pretrain_command(TINY + ['--out', str(out), '--resume', '--lr', '0.01',
                         '--frames', '4'])
    # The data is part of the run's record too.
    with pytest.raises(UsageError, match=r"--stream 'bone' \(the run has "
                                         r"'joint'\)"):
        pretrain_command(TINY + ['--out', str(out), '--resume', '--stream',
                                 'bone'])
    after = (out / 'last.pt').read_bytes(), (out / 'pretrain.csv').read_text()
    assert after == before
    with pytest.raises(UsageError, match=r'--resume: .*last.pt does not '
                       r'exist; start the run without --resume'):
        pretrain_command(TINY + ['--out', str(tmp_path / 'new'), '--resume'])
    # Flags that only change where and how fast it runs are fine.
    history = pretrain_command(TINY + [
        '--out', str(out), '--resume', '--epochs', '2', '--workers', '0',
        '--eval-every', '3', '--no-probe'])['history']
    assert history == []  # already at its last epoch


def test_paper_defaults_with_data(tmp_path):
    data = tmp_path / 'ntu60.pkl'
    data.write_bytes(b'')
    for protocol in ('pretrain', 'finetune', 'linear'):
        args = parse_args(protocol, ['--data', str(data), '--random-init']
                          if protocol == 'linear' else ['--data', str(data)])
        assert recipe_of(args) == getattr(PAPER, protocol)
    args = parse_args('finetune', ['--semi', '0.1'])
    assert recipe_of(args) == QUICK.semi
    # A flag changes its field alone.
    args = parse_args('finetune', ['--data', str(data), '--milestones', '3',
                                   '4', '--momentum', '0.5'])
    assert recipe_of(args) == dataclasses.replace(
        PAPER.finetune, milestones=(3, 4), momentum=0.5)


def _torchrun(script, *args, cwd):
    env = dict(os.environ, OMP_NUM_THREADS='1')
    return subprocess.run(
        [sys.executable, '-m', 'torch.distributed.run', '--standalone',
         '--nproc_per_node=2', str(script), *args], cwd=cwd, env=env,
        capture_output=True, text=True, timeout=300)


@pytest.mark.full
def test_ddp_two_gloo_processes_keep_replicas_in_sync(tmp_path):
    script = tmp_path / 'worker.py'
    script.write_text(textwrap.dedent('''
        import sys, torch
        from torch_skeleton_mae.datasets import SyntheticSkeletons
        from torch_skeleton_mae.engine import Trainer
        from torch_skeleton_mae.engine.distributed import (
            cleanup_distributed,
            init_distributed,
        )
        from torch_skeleton_mae.engine.loader import make_loader
        from torch_skeleton_mae.engine.trainer import MAEObjective
        from torch_skeleton_mae.nn import SkeletonMAE
        context, device = init_distributed()
        torch.manual_seed(0)
        data = SyntheticSkeletons(32, 'coco', num_frames=8)
        model = SkeletonMAE('coco', 2)
        loader = make_loader(data, 8, device, context=context)
        seen = [i for key in loader.sampler for i in key.indices]
        trainer = Trainer(model, MAEObjective(),
                          torch.optim.Adam(model.parameters(), 1e-3), loader,
                          device, sys.argv[1], context=context)
        trainer.fit(2)
        torch.save(dict(state=model.state_dict(), seen=seen),
                   f'{sys.argv[1]}/rank{context.rank}.pt')
        cleanup_distributed()
    '''))
    done = _torchrun(script, str(tmp_path), cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    ranks = [torch.load(tmp_path / f'rank{r}.pt') for r in (0, 1)]
    assert sorted(ranks[0]['seen'] + ranks[1]['seen']) == list(range(32))
    for key, value in ranks[0]['state'].items():
        if value.is_floating_point() and 'running' not in key:
            assert torch.equal(value, ranks[1]['state'][key]), key
    assert [r['epoch'] for r in rows(tmp_path / 'train.csv')] == ['1', '2']
    checkpoint = load_checkpoint(tmp_path / 'last.pt')
    assert checkpoint['world_size'] == 2 and len(checkpoint['rng']) == 2


@pytest.mark.full
def test_torchrun_launches_the_example(tmp_path):
    done = _torchrun(ROOT / 'examples' / 'ntu60_pretrain.py', *TINY,
                     '--epochs', '1', '--no-probe', '--no-finetune', '--out',
                     str(tmp_path), cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.count('pre-training done') == 1  # rank 0 only
    assert 'processes=2' in done.stdout
    assert len(rows(tmp_path / 'pretrain.csv')) == 1
    model = SkeletonMAE('coco', 2)
    load_checkpoint(tmp_path / 'last.pt', model)


@pytest.mark.full
def test_main_command_reports_strl_beside_its_floor(tmp_path):
    """The README's main command as it is, beside the numbers the README
    quotes from docs/evidence/main_command.json: a change of the code under
    it that moves them must write that file again (3 points allow for
    another CPU's arithmetic)."""
    done = subprocess.run(
        [sys.executable, str(ROOT / 'examples' / 'ntu60_pretrain.py'),
         '--out', str(tmp_path)], cwd=tmp_path,
        capture_output=True, text=True, timeout=1200)
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads((tmp_path / 'summary.json').read_text())
    assert set(summary) == {'probe', 'random_probe', 'reconstruction',
                            'strl', 'floor', 'seconds'}
    # Each number is its run's own report.
    for key, report in (('probe', 'probe.json'),
                        ('strl', 'finetune/finetune_eval.json'),
                        ('floor', 'floor/raw_joint_floor.json')):
        assert summary[key] == json.loads(
            (tmp_path / report).read_text())['top1']
    record = torch.load(tmp_path / 'finetune' / 'last.pt',
                        weights_only=True)['run']['model']
    assert record['pool_heads'] == 4  # STRL's default, the one of 90.3
    assert (f"STRL fine-tuned from this pre-training: top-1 "
            f"{100 * summary['strl']:.1f}%; a linear classifier on the raw "
            f"joints: {100 * summary['floor']:.1f}%") in done.stdout
    quoted = json.loads((ROOT / 'docs' / 'evidence' /
                         'main_command.json').read_text())
    for key in ('strl', 'floor', 'probe', 'random_probe'):
        assert abs(summary[key] - quoted[key]) <= 0.03, (
            f"{key}: {summary[key]:.3f} now, {quoted[key]:.3f} in "
            f"docs/evidence/main_command.json; run the main command again "
            f"and copy its summary.json there")


@pytest.mark.full
def test_minimal_example_trains_in_a_plain_loop():
    script = ROOT / 'examples' / 'pretrain_minimal.py'
    source = script.read_text()
    assert len(source.splitlines()) <= 90 and 'out.loss.backward()' in source
    done = subprocess.run([sys.executable, str(script)], capture_output=True,
                          text=True, timeout=900, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    losses = [float(line.split()[-1]) for line in done.stdout.splitlines()
              if line.startswith('pre-training epoch')]
    assert len(losses) == 5 and losses[-1] < losses[0]
    assert re.search(r'STRL top-1: \d+\.\d% on 167 test sequences '
                     r'\(17 actions\)', done.stdout)


def test_synthetic_2d_input_is_xy_and_score_on_request():
    from torch_skeleton_mae.engine.cli import data_of
    tiny = ['--layout', 'coco', '--samples', '20', '--frames', '4']
    data = data_of(parse_args('pretrain', tiny))
    assert (data.layout, data.channels) == ('coco', 2)  # the paper's (x, y)
    assert data.pixel_noise == 0.01
    data = data_of(parse_args('pretrain', tiny + ['--score']))
    assert (data.layout, data.channels) == ('coco', 3)
    train = data.train
    raw = train.generate(int(train.indices[0]))[0]  # (M, T, V, C)
    x = train[0][0]
    # Centering moves the coordinates, never the score.
    assert torch.equal(x[..., 2], torch.from_numpy(raw[..., 2]))


@pytest.mark.full
def test_learning_evidence_example(tmp_path):
    example = experiment('learning_evidence')
    configs = ['paper preset', '+ score channel']
    evidence = example.main(['--seeds', '1', '--semi', '0.5',
                             '--configs', *configs, '--out', str(tmp_path)]
                            + TINY + ['--epochs', '1', '--finetune-epochs',
                                      '2', '--finetune-milestones', '1'])
    assert list(evidence['configs']) == configs
    # --epochs reaches both programs, --finetune-* fine-tuning only.
    seed1 = tmp_path / 'paper_preset' / 'seed1'
    assert len(rows(seed1 / 'pretrain' / 'pretrain.csv')) == 1
    assert len(rows(seed1 / 'finetune' / 'finetune.csv')) == 2
    assert (evidence['finetune_recipe']['epochs'],
            evidence['finetune_recipe']['milestones']) == (2, [1])
    assert evidence['pretrain_recipe']['epochs'] == 1
    assert json.loads((tmp_path / 'evidence.json').read_text()) == evidence
    rst = (tmp_path / 'evidence.rst').read_text()
    # Results hold on one machine (its CPU kernels), so the table says which.
    assert evidence['machine'] == machine()
    assert f'Run on {machine()}.' in rst
    for name, config in evidence['configs'].items():
        assert f'   * - {example.label(name)}' in rst
        runs = config['runs']
        assert [r['seed'] for r in runs] == [1]
        gains = [r['pretrained'] - r['scratch'] for r in runs]
        assert config['gain']['runs'] == pytest.approx(gains)
        assert config['wins'] == sum(g > 0 for g in gains)
    # The table reports the runs' own evaluation files.
    run = evidence['configs']['paper preset']['runs'][0]
    report = tmp_path / 'paper_preset' / 'seed1' / 'finetune' / (
        'finetune_eval.json')
    assert run['pretrained'] == json.loads(report.read_text())['top1']
    # Each configuration's scratch baseline is its own architecture: the
    # score channel makes a 3-channel STRL.
    scratch = sorted(p.name for p in (tmp_path / 'scratch').iterdir())
    assert scratch == ['1', '1_score_True']
    checkpoint = torch.load(tmp_path / 'scratch' / '1_score_True' /
                            'last.pt', weights_only=True)
    assert checkpoint['config']['in_channels'] == 3
    noise = evidence['noise']
    assert noise['repeat'][0] == noise['repeat'][1]  # deterministic
    assert len(noise['finetune_seeds']['runs']) == 1


@pytest.mark.full
def test_learning_evidence_jobs_give_the_same_results(tmp_path):
    example = experiment('learning_evidence')
    argv = ['--seeds', '1', '2', '--semi', '0.5', '--configs',
            'paper preset', '+ input target'] + TINY + ['--epochs', '1']
    one = example.main(argv + ['--out', str(tmp_path / 'one')])
    two = example.main(argv + ['--jobs', '2', '--out', str(tmp_path / 'two')])
    # Every run, scratch baselines and the noise runs included.
    assert two == one
    assert len(one['noise']['finetune_seeds']['runs']) == 2
    with pytest.raises(UsageError, match='--jobs must be positive, got 0'):
        example.main(argv + ['--jobs', '0'])


@pytest.mark.full
def test_ablations_example(tmp_path):
    spec = importlib.util.spec_from_file_location(
        'ablations', ROOT / 'examples' / 'ablations.py')
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    assert [r[1] for r in example.TABLES['4c'][:2]] == [
        dict(encoder='gat', mask=(0, )),
        dict(encoder='gat', mask=(1, ))]
    assert len(example.TABLES['4c']) == 18
    rows = example.main(['--table', '5a', '--out', str(tmp_path)] + TINY +
                        ['--epochs', '1'])
    assert [r['label'] for r in rows] == [
        'random initialization', 'M = 1', 'M = 2', 'M = 3', 'M = 4']
    # One pre-training serves the four pre-trained rows.
    assert sorted(p.name for p in tmp_path.glob('pretrain*')) == ['pretrain0']
    pretrained = load_checkpoint(tmp_path / 'pretrain0' / 'last.pt')
    assert pretrained['config']['mask'] == ('right_arm', )  # region V3
    for i, row in enumerate(rows):
        report = json.loads((tmp_path / f'row{i}' / 'finetune_eval.json')
                            .read_text())
        assert row['top1'] == report['top1']
        config = load_checkpoint(tmp_path / f'row{i}' / 'last.pt')['config']
        assert len(config['channels']) == (3 if i == 0 else i)
    # JSON holds the settings' tuples as lists.
    assert json.loads((tmp_path / 'table5a.json').read_text()) == json.loads(
        json.dumps(rows))
    rst = (tmp_path / 'table5a.rst').read_text()
    assert rst == example.tables(rows)
    assert (f"   * - M = 2\n     - {100 * rows[2]['top1']:.1f}\n"
            f"     - {100 * rows[2]['mean_class_acc']:.1f}\n") in rst
    # A part of a table: its rows keep their folders, row<index>.
    part = tmp_path / 'part'
    some = example.main(['--table', '5a', '--rows', '2', '--out', str(part)]
                        + TINY + ['--epochs', '1'])
    assert [r['label'] for r in some] == ['M = 2']
    assert sorted(p.name for p in part.glob('row*')) == ['row2']
    # Mistakes name the flag and what it expects.
    with pytest.raises(UsageError, match=r'--rows of table 5a must lie in '
                       r'0-4, got \[5\]'):
        example.main(['--table', '5a', '--rows', '5'])
    with pytest.raises(UsageError, match='--table is required'):
        example.main([])
    with pytest.raises(UsageError, match="--tables: no file '.*missing.json'"):
        example.main(['--tables', str(tmp_path / 'missing.json')])


def test_without_matplotlib_one_hint_and_csv_reports(tmp_path, monkeypatch,
                                                     capsys):
    from torch_skeleton_mae.engine import training
    training._no_matplotlib.cache_clear()
    monkeypatch.setitem(sys.modules, 'matplotlib', None)  # import fails
    pretrain_command(TINY + ['--epochs', '1', '--out', str(tmp_path)])
    out = capsys.readouterr().out
    assert out.count('matplotlib is not installed (pip install matplotlib)'
                     ) == 1
    assert (tmp_path / 'probe.csv').exists()
    assert (tmp_path / 'probe_random.csv').exists()
    assert not (tmp_path / 'probe.png').exists()


@pytest.mark.docs
def test_quoted_numbers_come_from_result_files():
    """README quotes the main command's numbers from the summary it wrote
    (committed in docs/evidence), and the results page includes the
    evidence scripts' own tables, STRL on real data first."""
    evidence = ROOT / 'docs' / 'evidence'
    readme = ' '.join((ROOT / 'README.md').read_text().split())
    main = json.loads((evidence / 'main_command.json').read_text())
    assert (f"fine-tunes STRL from the pre-training to "
            f"{100 * main['strl']:.1f}% top-1, against "
            f"{100 * main['floor']:.1f}% for a linear classifier on the raw "
            f"joints") in readme
    assert (f"linear probe top-1 of {100 * main['probe']:.1f}% for the "
            f"pre-trained encoder against {100 * main['random_probe']:.1f}% "
            f"for a randomly initialized one") in readme
    assert f"summary.json`; {main['seconds']:.0f} s measured" in readme
    results = (ROOT / 'docs' / 'results.rst').read_text()
    names = re.findall(r'\.\. include:: evidence/(\w+)\.rst', results)
    assert 'main' in names
    strl = experiment('strl_real')
    folder = evidence / 'strl_real'
    summary = json.loads((folder / 'strl_real.json').read_text())
    includes = re.findall(r'\.\. include:: evidence/([\w/]+)\.rst', results)
    assert includes[:4] == ['strl_real/strl_real', 'strl_real/strl_real_probe',
                            'strl_real_small40/strl_real',
                            'strl_real_aug60/strl_real']
    assert (folder / 'strl_real.rst').read_text() == strl.table(summary)
    for earlier in ('strl_real_small40', 'strl_real_aug60'):
        earlier = evidence / earlier
        before = json.loads((earlier / 'strl_real.json').read_text())
        assert (earlier / 'strl_real.rst').read_text() == strl.table(before)
        before = before['datasets']['nw-ucla']['mean']['all']['pretrained']
        assert (f"{100 * before['top1']:.1f} +- {100 * before['std']:.1f}% "
                f"pre-trained over {before['n']} seeds") in readme
    assert (folder / 'strl_real_probe.rst').read_text() == (
        strl.probe_table(summary))
    assert strl.readme_sentence(summary) in readme
    new = summary['datasets']['nw-ucla']['mean']['all']['pretrained']
    assert (f"scores {100 * new['top1']:.1f} pre-trained on the test split"
            in ' '.join(results.split()))
    # The paper preset's pre-training, run again on a second machine, is
    # the same to the last digit (the page says so; fine-tuning is not).
    first, again = (
        [run['pretrain_loss'] for run in json.loads(
            (evidence / f'{name}.json').read_text())['configs'][
                'paper preset']['runs']]
        for name in ('main', 'random_regions'))
    assert first == again
    # The converged recipe's table repeats the centred-target table's
    # pre-training, on the same kind of VM, and its noise runs are the
    # 120-epoch runs quoted below.
    converged, centred = (json.loads((evidence / f'{name}.json').read_text())
                          for name in ('converged', 'centred'))
    for config in ('paper preset', '+ centred target'):
        assert ([run['pretrain_loss'] for run in
                 converged['configs'][config]['runs']] ==
                [run['pretrain_loss'] for run in
                 centred['configs'][config]['runs']])
    assert converged['finetune_flags'] == [
        '--semi', '0.1', '--eval-every', '100000']  # the default recipe
    # Its ten seeds' paired gain, pooled from both invocations' files.
    gains = [100 * gain for name in ('converged', 'converged_seeds5_9')
             for gain in json.loads((evidence / f'{name}.json').read_text())[
                 'configs']['paper preset']['gain']['runs']]
    stderr = statistics.stdev(gains) / len(gains) ** 0.5
    assert (f'the preset wins {sum(g > 0 for g in gains)} of {len(gains)} '
            f'with a paired gain of {statistics.mean(gains):.1f} +- '
            f'{statistics.stdev(gains):.1f} points; the standard error of '
            f'that mean is {stderr:.1f}') in ' '.join(results.split())
    # The long pre-training runs' target spread, from their own logs.
    for name, epochs in (('literal', (1, 20, 50)),
                         ('stop_gradient', (1, 20))):
        with open(evidence / f'long_pretrain_{name}.csv') as f:
            log = list(csv.DictReader(f))
        quoted = ', '.join(
            f"epoch {e}: {float(log[e - 1]['target_spread']):.3f}"
            for e in epochs)
        assert f'(``long_pretrain_{name}.csv``) {quoted}' in ' '.join(
            results.split())
    # The longer fine-tuning's runs, from their own reports.
    tops = [json.loads((evidence / f'finetune120_seed{seed}.json')
                       .read_text())['top1'] for seed in range(5)]
    assert converged['noise']['finetune_seeds']['runs'] == tops
    quoted = ', '.join(f'{100 * t:.1f}' for t in tops)
    assert f'(``finetune120_seed*.json``) {quoted}' in ' '.join(
        results.split())
    ranges = []
    for epochs in (60, 120):
        last = []
        for seed in range(5):
            with open(evidence / f'finetune{epochs}_seed{seed}.csv') as f:
                last.append(100 * float(list(csv.DictReader(f))[-1][
                    'train_top1']))
        ranges.append(f'{min(last):.0f}-{max(last):.0f}% after {epochs}')
    assert (f'{ranges[0]} epochs, {ranges[1]}.') in ' '.join(results.split())
    scripts = {}
    for script, folder in (('learning_evidence', 'experiments'),
                           ('ablations', 'examples')):
        spec = importlib.util.spec_from_file_location(
            script, ROOT / folder / f'{script}.py')
        scripts[script] = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(scripts[script])
    for name in names:
        table = json.loads((evidence / f'{name}.json').read_text())
        # The committed table is the script's rendering of its own results:
        # table<X> of the ablations script, the rest of the evidence one.
        script = ('ablations' if name.startswith('table') else
                  'learning_evidence')
        assert (evidence / f'{name}.rst').read_text() == (
            scripts[script].tables(table))


def test_module_command_line():
    def run(*argv):
        return subprocess.run([sys.executable, '-m', 'torch_skeleton_mae',
                               *argv], capture_output=True, text=True,
                              cwd=ROOT, timeout=120)
    done = run()
    assert done.returncode == 2 and done.stderr.count('\n') == 1
    assert 'python -m torch_skeleton_mae {pretrain,finetune,linear,fuse}' in (
        done.stderr)
    done = run('finetune', '--epochs', 'x')
    assert done.returncode == 2
    assert done.stderr == ('python -m torch_skeleton_mae finetune: error: '
                           "argument --epochs: invalid int value: 'x'\n")


def test_python_api_refuses_what_does_not_fit(tmp_path):
    from torch_skeleton_mae.engine import (
        RunOptions,
        SetupError,
        load_data,
        pretrain,
    )
    data = load_data(samples=40, frames=8)
    recipe = dataclasses.replace(QUICK.pretrain, epochs=1, frames=8,
                                 batch_size=16)
    options = RunOptions(workers=0)
    with pytest.raises(SetupError, match=r'the recipe has frames=32, the '
                                         r'data 8'):
        pretrain(SkeletonMAE('coco', 2), data, QUICK.pretrain, tmp_path,
                 options)
    with pytest.raises(SetupError, match="built for layout 'coco' with 3 "
                                         "channels, the data has 'coco' "
                                         "with 2"):
        pretrain(SkeletonMAE('coco', 3), data, recipe, tmp_path, options)
    with pytest.raises(SetupError, match=r"rotate=10 turns 3D joints"):
        pretrain(SkeletonMAE('coco', 2), data, dataclasses.replace(
            recipe, rotate=10.0), tmp_path, options)
    assert not any(tmp_path.iterdir())  # refused before writing anything
    pretrain(SkeletonMAE('coco', 2), data, recipe, tmp_path, options)
    with pytest.raises(SetupError, match=r'holds an earlier pretrain run '
                       r"\(last.pt\); pass 'options.resume' to continue it"):
        pretrain(SkeletonMAE('coco', 2), data, recipe, tmp_path, options)
    resumed = RunOptions(workers=0, resume=True)
    with pytest.raises(SetupError, match=r"'options.resume': these settings "
                       r"differ from the run in .*: 'model.beta' 3.0 \(the "
                       r"run has 2.0\); 'recipe.lr' 0.01 \(the run has "
                       r"0.001\)"):
        pretrain(SkeletonMAE('coco', 2, beta=3.0), data,
                 dataclasses.replace(recipe, lr=0.01), tmp_path, resumed)
    with pytest.raises(SetupError, match=r"'data.samples' 80 \(the run has "
                       r"40\); 'training_samples' \d+ \(the run has "
                       rf"{len(data.train)}\)"):
        pretrain(SkeletonMAE('coco', 2), load_data(samples=80, frames=8),
                 recipe, tmp_path, resumed)
    # More epochs resume; the first is not run again.
    more = pretrain(SkeletonMAE('coco', 2), data,
                    dataclasses.replace(recipe, epochs=2), tmp_path, resumed)
    assert [round(h['lr'], 6) for h in more.history] == [recipe.lr]
    assert load_checkpoint(more.checkpoint)['epoch'] == 2


@pytest.mark.docs
def test_strl_selection_table_is_the_scripts_rendering_of_its_files():
    """The protocols page includes the selection table as the selection
    script renders the committed summaries."""
    selection = experiment('strl_selection')
    folder = ROOT / 'docs' / 'evidence' / 'strl_selection'
    page = (ROOT / 'docs' / 'protocols.rst').read_text()
    for split, name in (('views', 'strl_selection'),
                        ('holdout', 'strl_selection_holdout'),
                        ('test', 'strl_selection_test')):
        assert (folder / f'{name}.rst').read_text() == selection.table(
            folder, split)
        assert f'.. include:: evidence/strl_selection/{name}.rst' in page
    # The held-out means the page quotes are the summaries' means.
    page = ' '.join(page.split())
    quoted = {'pooled_60': '(``pooled_60``, {})', 'pooled': '(``pooled``, {})',
              'pooled_aug': '(``pooled_aug``, {})',
              'semi_aug160': '(``semi_aug160``, {})',
              'semi_aug': '80-epoch recipe ({})',
              'semi_aug_lr': '(``semi_aug_lr``, {})',
              'deep': '(``deep``, {};', 'deep10': '(``deep10``, {};',
              'wide': '(``wide``, {})',
              'ema': '(``ema``, {};', 'no_smoothing': '(``no_smoothing``, {})',
              'pooled_x5': '(``pooled_x5``, {};'}
    for name, text in quoted.items():
        runs = [json.loads(p.read_text())['holdout_top1'] for p in [
            folder / f'{name}.holdout.json'] + sorted(
                folder.glob(f'{name}.holdout.seed*.json'))]
        assert text.format(f'{100 * sum(runs) / len(runs):.1f}') in page
    last = json.loads((folder / 'ema.holdout.json').read_text())[
        'last_weights_holdout_top1']
    assert f"its own run's last weights, {100 * last:.1f})" in page
    views = {'minmax': "``MinMaxSTRL``) scored {} on view 2",
             'minmax_rot60': '(``minmax_rot60``), {},',
             'pooled_60': 'against {} for ``pooled_60`` with neither'}
    for name, text in views.items():
        top1 = json.loads((folder / f'{name}.json').read_text())['view2_top1']
        assert text.format(f'{100 * top1:.1f}') in page
    tested = [json.loads(p.read_text())['test_top1'] for p in [
        folder / 'deep.test.json'] + sorted(folder.glob('deep.test.seed*'))]
    assert (f"``deep`` scored {100 * sum(tested) / len(tested):.1f} on the "
            f"test view (mean of {NUMBERS[len(tested)]} seeds)") in page


@pytest.mark.docs
def test_streams_evidence_backs_the_results_page():
    """The streams table is the evidence script's rendering of its summary,
    and the held-out weights' claims hold in every seed's files."""
    streams_evidence = experiment('streams_evidence')
    folder = ROOT / 'docs' / 'evidence' / 'streams'
    summary = json.loads((folder / 'streams.json').read_text())
    assert (folder / 'streams.rst').read_text() == streams_evidence.table(
        summary)
    mean = summary['mean']
    # Chosen weights do no better than equal ones; the 4/5 runs do worse.
    assert (mean['fusion_held_out_runs']['top1']
            < mean['fusion_held_out']['top1'] < mean['fusion']['top1'])
    leads, weights = [], []
    for runs in summary['seeds'].values():
        if 'fusion_held_out_runs' not in runs:  # the joint stream's seeds
            continue
        chosen = runs['fusion_held_out_runs']
        assert runs['fusion_held_out']['weights'] == chosen['weights']
        weights += chosen['weights']
        leads.append(chosen['held_out']['fused']
                     - max(chosen['held_out']['per_stream']))
    assert len(leads) == 3 and 0.4 <= min(weights) and max(weights) == 1
    assert 0.04 <= min(leads) and max(leads) <= 0.07
    page = ' '.join((ROOT / 'docs' / 'results.rst').read_text().split())
    assert ('The three seeds chose different weights, each stream\'s '
            'between 0.4 and 1') in page
    assert 'led the best stream by 4 to 7 points' in page


def checked_summary(folder: Path, key: str) -> dict:
    """:obj:`folder/summary.json` (``stream_collapse.summary``), checked
    against the :obj:`key` of every run's ``result.json`` it names."""
    summary = json.loads((folder / 'summary.json').read_text())
    for name, runs in summary.items():
        assert runs['seeds'] == {k: json.loads((
            folder / f'{name}_seed{k}' / 'result.json').read_text())[key]
            for k in runs['seeds']}
    return summary


@pytest.mark.docs
def test_penn_streams_evidence_backs_the_results_page():
    """Penn Action's streams table is the script's rendering of its summary;
    the page's claims on the collapsed run and the fusion hold in the
    files."""
    streams_evidence = experiment('streams_evidence')
    folder = ROOT / 'docs' / 'evidence' / 'streams_penn'
    summary = json.loads((folder / 'streams.json').read_text())
    assert (folder / 'streams.rst').read_text() == streams_evidence.table(
        summary)
    mean, seeds = summary['mean'], summary['seeds']
    assert mean['joint']['n'] == 5 and mean['fusion']['n'] == 3
    # One run below its floor: seed 2's bone motion, one class predicted.
    below = [(seed, s) for seed, runs in seeds.items() for s in STREAMS
             if s in runs and runs[s]['top1'] < runs['floor']['top1']]
    assert below == [('seed2', 'bone_motion')]
    confusion = np.loadtxt(folder / 'seed2' / 'bone_motion' /
                           'finetune_eval.csv', delimiter=',')
    assert np.count_nonzero(confusion.sum(axis=0)) == 1
    for runs in seeds.values():
        if 'fusion' in runs:
            fused = runs['fusion']['fused']['top1']
            assert fused > max(runs[s]['top1'] for s in STREAMS)
            assert fused > 0.979  # UNIK
    collapse = json.loads((folder / 'collapse' / 'measures.json').read_text())
    live = collapse['live_hidden_units']
    dead = live['runs/streams_penn/seed2/bone_motion']['sequences']
    trained = [v for run, v in live.items() if run != (
        'runs/streams_penn/seed2/bone_motion') and v['sequences'] == 1]
    assert len(trained) == len(live) - 2  # both collapsed runs are listed
    assert 12 <= min(round(100 * v['units_per_sequence']) for v in trained)
    assert max(round(100 * v['units_per_sequence']) for v in trained) <= 16
    page = ' '.join((ROOT / 'docs' / 'results.rst').read_text().split())
    tested = int(confusion.sum())
    assert (f'{round(dead * tested)} of the {tested:,} test sequences make '
            'any of them positive') in page
    std = collapse['input_std']
    assert (f"its standard deviation {std['bone_motion']:.3f} against "
            f"{std['joint']:.2f} for the joints") in page
    fusion = seeds['seed2']['fusion']['fused']['top1']
    assert f"seed 2's four-stream fusion scored {100 * fusion:.1f}" in page
    changed = checked_summary(folder / 'collapse', 'top1')
    normed = changed['input_norm']['seeds']
    assert changed['none']['seeds']['0'] < mean['floor']['top1']
    assert (f"``data_bn``, scored {100 * normed['0']:.1f}; the gradient norm "
            f"clipped at 10 scored {100 * changed['clip']['seeds']['0']:.1f}"
            ) in page
    assert (f"seeds 1 and 2 scored {100 * normed['1']:.1f} and "
            f"{100 * normed['2']:.1f}") in page
    assert min(normed.values()) > mean['joint']['top1'] > max(
        runs['bone_motion']['top1'] for runs in seeds.values()
        if 'bone_motion' in runs)
    held = checked_summary(ROOT / 'docs' / 'evidence' / 'input_norm',
                           'holdout_top1')
    joint = {change: held[f'joint_{change}']
             for change in ('input_norm', 'none')}
    assert sorted(joint['input_norm']['seeds']) == ['0', '1', '2']
    pairs = ', '.join(
        f"{100 * joint['input_norm']['seeds'][k]:.1f} against "
        f"{100 * joint['none']['seeds'][k]:.1f}" for k in ('0', '1', '2'))
    assert (f"{100 * joint['input_norm']['mean']:.1f} on average over three "
            f"seeds against {100 * joint['none']['mean']:.1f} without it "
            f"({pairs})") in page
    assert joint['input_norm']['mean'] < joint['none']['mean']
    for stream in ('bone', 'bone_motion'):
        with_norm, without = (held[f'{stream}_{change}']['seeds']['0']
                              for change in ('input_norm', 'none'))
        assert (f'scored {100 * with_norm:.1f} against {100 * without:.1f}'
                in page)
    assert "So STRL's default stays without it" in page
    assert not STRL('coco', 2, 5).config['input_norm']
    curves = {}
    for change in ('input_norm', 'none'):
        with open(ROOT / 'docs' / 'evidence' / 'input_norm' /
                  f'bone_motion_{change}_seed0' / 'finetune.csv') as f:
            curves[change] = {int(r['epoch']): float(r['val_top1'])
                              for r in csv.DictReader(f) if r['val_top1']}
    leads = [curves['input_norm'][e] - curves['none'][e]
             for e in curves['none'] if e <= 35]
    assert round(100 * min(leads)) == 20 and round(100 * max(leads)) == 50
    assert curves['none'][45] >= curves['input_norm'][45]
    assert 'the unchanged one catches up by epoch 45 of 60' in page


@pytest.mark.docs
@pytest.mark.parametrize('name', ['time_to_accuracy',
                                  'time_to_accuracy_small'])
def test_results_page_quotes_the_time_to_accuracy_files(name):
    measured = json.loads((ROOT / 'docs' / 'evidence' /
                           f'{name}.json').read_text())
    results = ' '.join((ROOT / 'docs' / 'results.rst').read_text().split())
    assert (f"STRL first reached {100 * measured['target']:.1f}%" in results
            and f"after {measured['minutes_to_target']:.1f} minutes of "
                f"training, and its best epoch scored "
                f"{100 * measured['best_top1']:.1f}%" in results)


def test_flags_are_made_from_the_python_arguments():
    import inspect as inspect_
    from torch_skeleton_mae.engine import RunOptions
    from torch_skeleton_mae.engine.cli import settings_of
    from torch_skeleton_mae.engine.flags import (
        SETTINGS,
        build_parser,
        documented_arguments,
    )
    helps = {a.dest: a.help for a in build_parser('finetune')._actions}
    # Help from the docstring, default from the signature: one place each.
    assert helps['encoder_layers'] == ('Layers L_D of each encoder. '
                                       '(default: 3)')
    assert documented_arguments(STRL)['encoder_layers'] == helps[
        'encoder_layers']
    assert helps['workers'] == documented_arguments(RunOptions)['workers']
    for protocol, parts in SETTINGS.items():
        for owner, names in parts:
            assert set(names) <= set(inspect_.signature(owner).parameters)
    # Unset flags pass nothing: the constructors' defaults apply.
    args = parse_args('pretrain', ['--encoder-layers', '2', '--no-remask',
                                   '--mask', '3,right_leg'])
    assert settings_of(args, SkeletonMAE) == dict(
        encoder_layers=2, remask=False, mask=('3', 'right_leg'))
    assert parse_args('pretrain', ['--mask', '0.5']).mask == 0.5
    assert settings_of(args, RunOptions) == {}
    with pytest.raises(UsageError, match='--workers must be >= 0, got -1'):
        parse_args('pretrain', ['--workers', '-1'])
    with pytest.raises(UsageError, match='--dropout must be >= 0, got -0.5'):
        parse_args('finetune', ['--dropout', '-0.5'])
    # A sequence of ints is one flag of several values.
    deep = parse_args('finetune', ['--channels', '64', '64', '128', '128',
                                   '256', '256', '--strides', '2', '1', '2',
                                   '1', '1', '1'])
    model = STRL('coco', 2, 5, **settings_of(deep, STRL))
    assert {k: model.config[k] for k in DEEP_SETTINGS} == DEEP_SETTINGS
    with pytest.raises(UsageError, match='--strides must be positive, got 0'):
        parse_args('finetune', ['--strides', '2', '0'])


def test_a_model_error_names_the_flag(tmp_path):
    pretrain_command(TINY + ['--epochs', '1', '--no-probe', '--out',
                             str(tmp_path / 'pre')])
    with pytest.raises(UsageError, match=r"\[--encoder\] come from the "
                                         r"pre-trained model"):
        finetune_command(TINY + ['--epochs', '1', '--encoder', 'gcn',
                                 '--pretrained', str(tmp_path / 'pre' /
                                                     'last.pt'),
                                 '--out', str(tmp_path / 'tune')])


def test_a_full_disk_is_one_line_and_the_run_resumes(tmp_path, monkeypatch,
                                                     capsys):
    import errno
    import torch_skeleton_mae.utils as utils
    out = tmp_path / 'run'
    pretrain_command(TINY + ['--epochs', '1', '--out', str(out)])
    before = (out / 'last.pt').read_bytes()
    fsync = utils.os.fsync

    def full(fd):
        if os.fstat(fd).st_size > 10_000:  # the checkpoint, not the log
            raise OSError(errno.ENOSPC, 'No space left on device')
        fsync(fd)
    monkeypatch.setattr(utils.os, 'fsync', full)
    code, err = run_command(pretrain_command, TINY + [
        '--epochs', '2', '--resume', '--out', str(out)], monkeypatch, capsys)
    assert code == 1 and err.count('\n') == 1, err
    assert f"error: no space left to write '{out / 'last.pt'}'" in err
    assert (out / 'last.pt').read_bytes() == before
    assert not [p for p in out.iterdir() if p.name.endswith('.tmp')]
    monkeypatch.setattr(utils.os, 'fsync', fsync)  # space freed
    pretrain_command(TINY + ['--epochs', '2', '--resume', '--out', str(out)])
    assert [r['epoch'] for r in rows(out / 'pretrain.csv')] == ['1', '2']


@pytest.mark.docs
def test_pool_evidence_is_quoted_from_its_files():
    """The model card's tables and the README's sentence on the pooled
    pre-training are what experiments/pool_evidence.py wrote."""
    pool = experiment('pool_evidence')
    readme = ' '.join((ROOT / 'README.md').read_text().split())
    for name in ('pool', 'pool_rt', 'pool_2d'):
        folder = ROOT / 'docs' / 'evidence' / name
        summary = json.loads((folder / 'pool_evidence.json').read_text())
        assert (folder / 'pool_evidence.rst').read_text() == pool.table(
            summary)
        if name != 'pool_rt':
            assert pool.readme_sentence(summary) in readme
    folder = ROOT / 'docs' / 'evidence' / 'pool'
    card = (ROOT / 'docs' / 'weights.rst').read_text()
    assert '.. include:: evidence/pool/pool_card.rst' in card
    assert (folder / 'pool_card.rst').read_text() == pool.card(
        ROOT / 'torch_skeleton_mae' / 'weights' / 'kinect-v1-pool.pt')
