import functools
import json
import math
import pickle
import threading

import numpy as np
import pytest
import torch
from torch.utils.data import TensorDataset

from torch_skeleton_mae.datasets import SyntheticSkeletons
from torch_skeleton_mae.datasets.subsets import (
    dataset_labels,
    label_fraction_indices,
    label_fraction_subset,
)
from torch_skeleton_mae.engine import Trainer, TrainingDiverged
from torch_skeleton_mae.engine.checkpoint import (
    load_checkpoint,
    save_checkpoint,
)
from torch_skeleton_mae.engine.evaluation import (
    classification_report,
    train_linear_classifier,
)
from torch_skeleton_mae.engine.loader import (
    ThreadedBatchLoader,
    make_loader,
    place_batch_transform,
    reads_whole_batches,
)
from torch_skeleton_mae.engine.logger import CSVLogger
from torch_skeleton_mae.engine.precision import autocast_dtype
from torch_skeleton_mae.engine.trainer import (
    ClassificationObjective,
    MAEObjective,
)
from torch_skeleton_mae.nn import STRL, SkeletonMAE
from torch_skeleton_mae.transforms.batch import GaussianNoise

CPU = torch.device('cpu')


def test_classification_report_by_hand():
    logits = torch.tensor([
        [9., 8., 7., 6., 5., 4.],  # true 5: only in the top-6, not top-5
        [1., 9., 2., 3., 4., 5.],  # true 1: top-1
        [9., 1., 8., 0., 0., 0.],  # true 2: top-2
        [0., 0., 0., 0., 9., 0.],  # true 4: top-1
    ])
    labels = torch.tensor([5, 1, 2, 4])
    report = classification_report(logits, labels, 6)
    assert report.top1 == 0.5 and report.top5 == 0.75
    expected = torch.zeros(6, 6, dtype=torch.long)
    expected[5, 0] = expected[1, 1] = expected[2, 0] = expected[4, 4] = 1
    assert torch.equal(report.confusion, expected)
    per_class = report.per_class.tolist()
    assert math.isnan(per_class[0]) and math.isnan(per_class[3])
    assert per_class[1] == 1 and per_class[2] == 0 and per_class[5] == 0
    assert report.summary()['mean_class_acc'] == 0.5  # over 4 classes
    ce = torch.nn.functional.cross_entropy(logits, labels).item()
    assert report.loss == pytest.approx(ce)
    with pytest.raises(ValueError, match=r'Labels must lie in \[0, 3\)'):
        classification_report(logits[:, :3], labels, 3)
    assert report.one_class is None
    constant = classification_report(logits[[3, 3, 3, 3]], labels, 6)
    assert constant.one_class == 4  # every sample predicted as class 4
    # One class predicted for labels of one class is no collapse.
    assert classification_report(logits[[3, 3]], labels[[3, 3]],
                                 6).one_class is None


def test_finetune_warns_when_the_model_predicts_one_class(tmp_path):
    from torch_skeleton_mae.engine import FinetuneRecipe, RunOptions
    from torch_skeleton_mae.engine import finetune, load_data
    data = load_data(samples=40, frames=8)
    model = STRL(data.layout, data.channels, data.num_classes)
    head = model.classifier[-1]
    torch.nn.init.zeros_(head.weight)
    with torch.no_grad():
        head.bias.copy_(torch.arange(data.num_classes) == 2)
    with pytest.warns(UserWarning, match=r'predicts class 2 for every one '
                      rf'of the {len(data.val)} evaluation sequences: it '
                      r'collapsed to a constant'):
        tuned = finetune(model, data, FinetuneRecipe(
            epochs=1, batch_size=8, lr=1e-9, weight_decay=0.0, frames=8),
            tmp_path, RunOptions(workers=0))
    assert tuned.report.one_class == 2


def test_linear_classifier_folds_standardization():
    gen = torch.Generator().manual_seed(0)
    y = torch.arange(200) % 2
    # Far from the origin and badly scaled: separable only after scaling.
    x = torch.randn(200, 3, generator=gen) * torch.tensor([1e3, 1., 1.])
    x[:, 1] += 4 * y - 2 + 100
    classifier = train_linear_classifier(x, y, 2, epochs=200, lr=0.05)
    assert (classifier(x).argmax(1) == y).float().mean() > 0.95


def test_label_fraction_indices_per_class_and_deterministic():
    labels = np.array([0] * 100 + [1] * 40 + [2] * 3)
    idx = label_fraction_indices(labels, 0.1, seed=0)
    assert np.bincount(labels[idx]).tolist() == [10, 4, 1]
    assert np.array_equal(idx, label_fraction_indices(labels, 0.1, seed=0))
    assert not np.array_equal(idx, label_fraction_indices(labels, 0.1, 1))
    assert np.all(np.diff(idx) > 0)
    one = label_fraction_indices(labels, 0.01)
    assert np.bincount(labels[one]).tolist() == [1, 1, 1]
    with pytest.raises(ValueError, match=r"'fraction' must lie in"):
        label_fraction_indices(labels, 0.0)


def test_dataset_labels_follow_subsets():
    data = SyntheticSkeletons(60, num_frames=8, split='train')
    labels = dataset_labels(data)
    assert labels.tolist() == [data[i][1] for i in range(len(data))]
    subset = label_fraction_subset(data, 0.2)
    assert dataset_labels(subset).tolist() == [y for _, y in subset]
    with pytest.raises(TypeError, match="no per-item 'meta'"):
        dataset_labels(TensorDataset(torch.zeros(3)))


def test_csv_logger_widens_header_and_truncates(tmp_path):
    logger = CSVLogger(tmp_path / 'log.csv')
    logger.log(epoch=1, loss=0.5)
    logger.log(epoch=2, loss=0.4, val_top1=0.7)
    logger.log(epoch=3, loss=0.3)
    rows = logger.rows()
    assert [r['val_top1'] for r in rows] == ['', '0.7', '']
    logger.truncate('epoch', 2)
    assert [r['epoch'] for r in logger.rows()] == ['1', '2']


def test_checkpoint_mismatch_errors(tmp_path):
    model = SkeletonMAE('coco', 3)
    save_checkpoint(tmp_path / 'a.pt', model, epoch=1)
    loaded = SkeletonMAE('coco', 3)
    state = load_checkpoint(tmp_path / 'a.pt', loaded)
    assert state['epoch'] == 1 and state['config'] == model.config
    for key, value in model.state_dict().items():
        assert torch.equal(value, loaded.state_dict()[key])
    with pytest.raises(ValueError, match=r"a\.pt was trained on layout "
                       r"'coco', the SkeletonMAE has 'ntu-rgb\+d'"):
        load_checkpoint(tmp_path / 'a.pt', SkeletonMAE('ntu-rgb+d', 3))
    with pytest.raises(ValueError, match=r"a\.pt does not fit SkeletonMAE: "
                       r"unexpected \[.*encoder\.convs\.2.*settings that "
                       r"differ \(saved vs model\): encoder_layers=3 vs 2$"):
        load_checkpoint(tmp_path / 'a.pt', SkeletonMAE('coco', 3,
                                                       encoder_layers=2))
    state['config'] = None  # no config: the weights are still compared
    torch.save(state, tmp_path / 'b.pt')
    with pytest.raises(ValueError, match=r"missing \[.*encoder\.convs\.3"):
        load_checkpoint(tmp_path / 'b.pt', SkeletonMAE('coco', 3,
                                                       encoder_layers=4))
    with pytest.raises(FileNotFoundError, match=r"'.*nope\.pt' does not"):
        load_checkpoint(tmp_path / 'nope.pt')
    torch.save({'weights': 1}, tmp_path / 'c.pt')
    with pytest.raises(ValueError, match=r"not a torch_skeleton_mae check"):
        load_checkpoint(tmp_path / 'c.pt')
    # Another format version is refused wherever a checkpoint is read.
    torch.save(dict(state, version=2, package_version='0.0.9'),
               tmp_path / 'd.pt')
    for read in (load_checkpoint, SkeletonMAE.from_checkpoint,
                 lambda path: STRL.from_pretrained(path, num_classes=5)):
        with pytest.raises(ValueError, match=r"d\.pt' was written by "
                           r"torch_skeleton_mae 0\.0\.9 \(checkpoint version "
                           r"2\); this one reads version 4$"):
            read(tmp_path / 'd.pt')


def test_autocast_dtype_by_device():
    cuda = torch.device('cuda')
    assert autocast_dtype(CPU, 'auto') is None
    assert autocast_dtype(CPU, 'fp32') is None
    assert autocast_dtype(CPU, 'bf16') == torch.bfloat16
    assert autocast_dtype(cuda, 'fp16') == torch.float16
    with pytest.raises(ValueError, match="'precision' must be one of"):
        autocast_dtype(CPU, 'fp8')


def test_bf16_autocast_trains_on_cpu(tmp_path):
    data = SyntheticSkeletons(16, 'coco', num_frames=8)
    model = SkeletonMAE('coco', 2)
    before = model.embedding.weight.detach().clone()
    trainer = Trainer(model, MAEObjective(),
                      torch.optim.Adam(model.parameters(), 1e-3),
                      make_loader(data, 8, CPU), CPU, tmp_path,
                      precision='bf16')
    history = trainer.fit(1)
    assert math.isfinite(history[0]['loss'])
    assert model.embedding.weight.dtype == torch.float32
    assert not torch.equal(before, model.embedding.weight)


def _fit(tmp_path, epochs, resume=False, interrupt_after=None,
         monkeypatch=None, workers=0, noise_on='device', threads=None):
    # Random frame windows in the (persistent) workers, noise on the device
    # or in the workers, and dropout in the model: every random stream must
    # resume exactly.
    data = SyntheticSkeletons(24, num_frames=10).sample_frames(6, train=True)
    torch.manual_seed(0)  # the same initial weights in every run
    model = STRL('ntu-rgb+d', 3, data.num_classes, channels=(32, ),
                 strides=(1, ), dropout=0.5)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, 1, 0.5)
    noise = {noise_on: GaussianNoise(0.01, 3)}
    trainer = Trainer(model, ClassificationObjective(0.1), optimizer,
                      make_loader(data, 8, CPU, num_workers=workers, seed=3,
                                  transform=noise.get('workers'),
                                  worker_threads=threads),
                      CPU, tmp_path, scheduler=scheduler, seed=3,
                      batch_transform=noise.get('device'))
    if interrupt_after is not None:
        real_save = Trainer.save

        def save_then_die(self, epoch, metrics):
            real_save(self, epoch, metrics)
            if epoch == interrupt_after:
                raise KeyboardInterrupt

        monkeypatch.setattr(Trainer, 'save', save_then_die)
    try:
        trainer.fit(epochs, resume=resume)
    except KeyboardInterrupt:
        pass
    return model


@pytest.mark.parametrize('workers,noise_on,threads', [
    (0, 'device', None), (2, 'device', True), (2, 'workers', True),
    (2, 'workers', False)])
def test_resume_is_exact(tmp_path, monkeypatch, workers, noise_on, threads):
    fit = functools.partial(_fit, workers=workers, noise_on=noise_on,
                            threads=threads)
    full = fit(tmp_path / 'full', 3)
    fit(tmp_path / 'cut', 3, interrupt_after=1, monkeypatch=monkeypatch)
    monkeypatch.undo()
    assert load_checkpoint(tmp_path / 'cut' / 'last.pt')['epoch'] == 1
    resumed = fit(tmp_path / 'cut', 3, resume=True)
    for (key, a), b in zip(full.state_dict().items(),
                           resumed.state_dict().values()):
        assert torch.equal(a, b), key
    rows = CSVLogger(tmp_path / 'cut' / 'train.csv').rows()
    assert [r['epoch'] for r in rows] == ['1', '2', '3']
    assert [float(r['lr']) for r in rows] == [0.1, 0.05, 0.025]
    full_rows = CSVLogger(tmp_path / 'full' / 'train.csv').rows()
    assert [r['loss'] for r in rows] == [r['loss'] for r in full_rows]


def _epochs(loader, epochs=(1, 2)):
    batches = []
    for epoch in epochs:
        loader.sampler.set_epoch(epoch)
        batches.append([(x.clone(), y.clone()) for x, y in loader])
    return batches


#: The two kinds of loader workers, which must give the same batches.
WORKERS = dict(threads=True, processes=False)


@pytest.mark.parametrize('kind', WORKERS)
def test_loader_batches_depend_on_seed_epoch_and_step_only(kind):
    data = SyntheticSkeletons(20, 'coco', num_frames=12).sample_frames(
        5, train=True)
    alone = _epochs(make_loader(data, 4, CPU, seed=7))
    # Persistent worker processes or worker threads give the very same
    # batches, in every epoch.
    workers = make_loader(data, 4, CPU, num_workers=2, seed=7,
                          worker_threads=WORKERS[kind])
    if WORKERS[kind]:
        assert isinstance(workers, ThreadedBatchLoader)
    else:
        assert workers.persistent_workers
    for mine, theirs in zip(alone, _epochs(workers)):
        assert len(mine) == len(theirs) == 5
        for (a, y), (b, z) in zip(mine, theirs):
            assert torch.equal(a, b) and torch.equal(y, z)
    # Another epoch: another order and other frame windows.
    assert not torch.equal(alone[0][0][0], alone[1][0][0])
    # Reading a batch leaves the global generator alone.
    state = torch.get_rng_state()
    _epochs(make_loader(data, 4, CPU, seed=7))
    assert torch.equal(state, torch.get_rng_state())


@pytest.mark.parametrize('kind', WORKERS)
def test_loader_transform_runs_in_the_workers_from_the_batch_seed(kind):
    data = SyntheticSkeletons(20, 'coco', num_frames=12).sample_frames(
        5, train=True)
    noise = GaussianNoise(0.5, 2)
    plain = _epochs(make_loader(data, 4, CPU, seed=7))
    alone = _epochs(make_loader(data, 4, CPU, seed=7, transform=noise))
    workers = _epochs(make_loader(data, 4, CPU, num_workers=2, seed=7,
                                  transform=noise,
                                  worker_threads=WORKERS[kind]))
    sampler = make_loader(data, 4, CPU, seed=7).sampler
    sampler.set_epoch(2)  # the second of _epochs
    keys = list(sampler)
    for step, ((a, y), (b, z), (c, _)) in enumerate(
            zip(alone[1], workers[1], plain[1])):
        assert torch.equal(a, b) and torch.equal(y, z)
        # The noise continues the batch's own generator after the read.
        generator = torch.Generator().manual_seed(keys[step].seed)
        read, _ = data.read_batch(keys[step].indices, generator)
        assert torch.equal(read, c)
        assert torch.equal(a, noise(read, generator))
        assert not torch.equal(a, c)
    assert place_batch_transform(noise, CPU) == (noise, None)
    assert place_batch_transform(noise, torch.device('cuda')) == (None, noise)


def test_loader_workers_are_threads_where_the_dataset_reads_whole_batches():
    data = SyntheticSkeletons(12, 'coco', num_frames=6)
    subset = label_fraction_subset(data, 0.5)
    for dataset in (data, subset):
        assert reads_whole_batches(dataset)
        loader = make_loader(dataset, 2, CPU, num_workers=2)
        assert isinstance(loader, ThreadedBatchLoader)
        assert repr(loader) == (f'ThreadedBatchLoader({len(loader)} '
                                f'batches, num_workers=2)')
    assert isinstance(make_loader(data, 2, CPU, num_workers=0),
                      torch.utils.data.DataLoader)
    # Items read one at a time from the global generators: processes.
    tensors = TensorDataset(torch.zeros(6, 3, 4, 17, 1), torch.zeros(6))
    augmented = SyntheticSkeletons(6, 'coco', num_frames=6,
                                   transform=lambda x: x + torch.rand(1))
    for dataset in (tensors, augmented):
        assert not reads_whole_batches(dataset)
        loader = make_loader(dataset, 2, CPU, num_workers=2)
        assert isinstance(loader, torch.utils.data.DataLoader)
        with pytest.raises(ValueError, match=r'worker threads read datasets '
                           r'that read whole batches .* use worker processes'):
            make_loader(dataset, 2, CPU, num_workers=2, worker_threads=True)


def _reader_threads():
    return [t for t in threading.enumerate() if t.name.startswith(
        'batch-reader')]


def test_threaded_loader_stops_cleanly_and_raises_the_workers_error():
    threads = torch.get_num_threads()
    data = SyntheticSkeletons(40, 'coco', num_frames=6)
    loader = make_loader(data, 4, CPU, num_workers=2)
    batches = iter(loader)
    next(batches)
    batches.close()  # a pass broken off: no thread outlives it
    assert not _reader_threads()
    assert len(list(loader)) == len(loader) == 10  # the next pass is whole
    assert torch.get_num_threads() == threads  # threads of its own are 1

    class Broken(SyntheticSkeletons):
        def read_batch(self, indices, generator=None):
            if 13 in indices:
                raise ValueError('sample 13 is broken')
            return super().read_batch(indices, generator)

    broken = Broken(40, 'coco', num_frames=6)
    with pytest.raises(ValueError, match='sample 13 is broken'):
        for _ in make_loader(broken, 4, CPU, train=False, num_workers=2):
            pass
    assert not _reader_threads()


def test_reads_in_several_threads_at_once_equal_reads_one_at_a_time():
    # Each thread gathers into its own buffer (and draws the noise into
    # its own): a shared one would mix the batches of two threads.
    data = SyntheticSkeletons(64, 'coco', num_frames=20).sample_frames(
        8, train=True)
    noise = GaussianNoise(0.5, 2)
    keys = [(list(range(i, i + 16)), i) for i in range(0, 48, 2)]

    def read(key):
        generator = torch.Generator().manual_seed(key[1])
        x, _ = data.read_batch(key[0], generator)
        return noise(x, generator)

    expected = [read(key) for key in keys]
    results = {}

    def worker(part):
        for _ in range(5):
            for i in part:
                results.setdefault(i, []).append(read(keys[i]))

    pool = [threading.Thread(target=worker, args=(range(j, len(keys), 2),))
            for j in range(2)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    for i, x in enumerate(expected):
        assert all(torch.equal(x, again) for again in results[i]), i
    # A copy of the dataset or transform (as spawned workers get) carries
    # no buffer of this process along.
    assert pickle.loads(pickle.dumps(noise))._draws.get(1, lambda: 'new') \
        == 'new'


def test_batch_reader_seeds_other_datasets_per_batch():
    class Noisy(torch.utils.data.Dataset):
        def __len__(self):
            return 6

        def __getitem__(self, i):
            return torch.rand(3) + np.random.rand() + i, i

    loader = make_loader(Noisy(), 3, CPU, train=False)
    first, again = _epochs(loader, (1, 1))
    assert torch.equal(first[0][0], again[0][0])
    assert first[0][0].shape == (3, 3) and first[1][1].tolist() == [3, 4, 5]
    # Through a Subset, our datasets still read whole batches.
    data = SyntheticSkeletons(10, 'coco', num_frames=6)
    subset = label_fraction_subset(data, 0.5)
    x, y = next(iter(make_loader(subset, 4, CPU, train=False)))
    assert torch.equal(x, data.read_batch(subset.indices[:4])[0])


def test_resume_from_weights_only_checkpoint_is_refused(tmp_path):
    model = STRL('ntu-rgb+d', 3, 10, channels=(32, ), strides=(1, ))
    save_checkpoint(tmp_path / 'w.pt', model)
    trainer = Trainer(model, ClassificationObjective(),
                      torch.optim.SGD(model.parameters(), 0.1),
                      make_loader(SyntheticSkeletons(8, num_frames=8), 4,
                                  CPU), CPU, tmp_path)
    with pytest.raises(ValueError, match='no optimizer state'):
        trainer.fit(2, resume=tmp_path / 'w.pt')


def test_extract_features_pools_present_joints_only():
    from torch_skeleton_mae.engine.evaluation import extract_features

    class Identity(torch.nn.Module):
        def encode(self, x):
            return x - 5.0  # every encoding, padding included, is non-zero

    x = torch.zeros(2, 2, 3, 2, 1)  # (N, M, T, V, C)
    x[0, 0, :, :, 0] = torch.tensor([1., 2.])  # person 1 only
    x[1, 1, 0, 0, 0] = 4.0  # one joint of person 2 in one frame
    loader = [(x, torch.tensor([0, 1]))]
    features, labels = extract_features(Identity(), loader, CPU)
    assert features.tolist() == [[1.5 - 5, 2 - 5], [4 - 5, 4 - 5]]
    assert labels.tolist() == [0, 1]
    features, _ = extract_features(Identity(), loader, CPU, per_joint=True)
    # (mean of joint 0, of joint 1, max of joint 0, of joint 1); a joint
    # never present pools to 0 in both.
    assert features.tolist() == [[1 - 5, 2 - 5, 1 - 5, 2 - 5],
                                 [4 - 5, 0, 4 - 5, 0]]


@pytest.mark.parametrize('check_every,steps,calls', [(1, '1-1', 3),
                                                     (16, '1-2', 4)])
def test_non_finite_loss_stops_training_and_keeps_the_last_good_epoch(
        tmp_path, check_every, steps, calls):
    data = SyntheticSkeletons(16, 'coco', num_frames=8)
    model = SkeletonMAE('coco', 2)

    class DivergesInEpoch2:  # 2 steps an epoch; the third step is bad
        calls = 0

        def __call__(self, model, x, y):
            self.calls += 1
            loss, metrics = MAEObjective()(model, x, y)
            return (loss * float('nan') if self.calls == 3 else loss), metrics

    objective = DivergesInEpoch2()
    trainer = Trainer(model, objective,
                      torch.optim.Adam(model.parameters(), 1e-3),
                      make_loader(data, 8, CPU), CPU, tmp_path,
                      check_every=check_every)
    with pytest.raises(TrainingDiverged, match=rf'not finite \(nan on this '
                       rf'process\) in epoch 2, steps {steps}: training '
                       rf'stopped; .*last.pt keeps epoch 1'):
        trainer.fit(3)
    # It stopped at the first check after the bad step.
    assert objective.calls == calls
    saved = load_checkpoint(tmp_path / 'last.pt', SkeletonMAE('coco', 2))
    assert saved['epoch'] == 1
    assert all(torch.isfinite(v).all() for v in saved['model'].values()
               if v.is_floating_point())
    assert len(CSVLogger(tmp_path / 'train.csv').rows()) == 1


def test_diverged_run_is_one_line_with_status_1(monkeypatch, capsys):
    from torch_skeleton_mae.engine.cli import command_line

    def program():
        raise TrainingDiverged('the loss is not finite at epoch 2, step 1')

    monkeypatch.setattr('sys.argv', ['prog.py'])
    with pytest.raises(SystemExit) as done:
        command_line(program)
    assert done.value.code == 1
    assert capsys.readouterr().err == (
        'prog.py: training diverged: the loss is not finite at epoch 2, '
        'step 1\n')


def test_tuned_linear_probe_chooses_the_decay_on_the_held_out_part():
    from torch_skeleton_mae.engine.evaluation import (linear_probe,
                                                      tuned_linear_probe)
    gen = torch.Generator().manual_seed(0)
    y = torch.arange(120) % 3
    x = torch.randn(120, 20, generator=gen)
    x[:, 0] += 3.0 * y  # one informative feature among noise
    val = (torch.randn(60, 20, generator=gen), torch.arange(60) % 3)
    val[0][:, 0] += 3.0 * val[1]
    held = torch.arange(0, 120, 5)
    rest = torch.tensor([i for i in range(120) if i % 5])
    decays = (1e-4, 1.0, 100.0)
    report, chosen = tuned_linear_probe((x, y), val, 3, decays, held,
                                        epochs=100, lr=0.05)
    # The independent reference: score each decay on the held-out part.
    scores = [linear_probe((x[rest], y[rest]), (x[held], y[held]), 3,
                           weight_decay=d, epochs=100, lr=0.05).top1
              for d in decays]
    assert chosen == decays[int(np.argmax(scores))]
    refit = linear_probe((x, y), val, 3, weight_decay=chosen, epochs=100,
                         lr=0.05)
    assert report.top1 == refit.top1 and report.top1 > 0.6


def test_load_data_reads_the_classes_of_data_of_ones_own(tmp_path):
    """A CTR-GCN .npz of 27 actions recorded with a Kinect v1 (20 joints):
    no dataset named, its classes are the one-hot width; given, fixed."""
    from torch_skeleton_mae.engine import load_data
    rng = np.random.default_rng(0)
    x = rng.standard_normal((6, 10, 2 * 20 * 3)).astype(np.float32)
    y = np.eye(27)[[0, 3, 26, 5, 5, 9]]
    np.savez(tmp_path / 'mine.npz', x_train=x, y_train=y, x_test=x[:3],
             y_test=y[:3])
    data = load_data(tmp_path / 'mine.npz', layout='kinect-v1', frames=8)
    assert (data.num_classes, data.layout, data.channels) == (
        27, 'kinect-v1', 3)
    assert len(data.train) == 6 and len(data.val) == 3
    assert data.train[2][1] == 26 and data.train[0][0].shape == (2, 8, 20, 3)
    given = load_data(tmp_path / 'mine.npz', layout='kinect-v1', frames=8,
                      num_classes=30)
    assert given.num_classes == 30
    with pytest.raises(ValueError, match="dataset 'ntu60' fixes the "
                                         "classes"):
        load_data(tmp_path / 'mine.npz', dataset='ntu60', num_classes=27)
    with pytest.raises(ValueError, match="beyond 20 classes"):
        load_data(tmp_path / 'mine.npz', layout='kinect-v1', num_classes=20)


def test_raw_joint_floor_flattens_the_joints(tmp_path):
    from torch.utils.data import DataLoader

    from torch_skeleton_mae.engine import (LinearRecipe, load_data,
                                           raw_joint_floor)
    from torch_skeleton_mae.engine.evaluation import raw_joint_features
    data = load_data(frames=4, samples=80)
    loader = DataLoader(data.val, batch_size=16)
    features, labels = raw_joint_features(loader)
    x = torch.stack([data.val[i][0] for i in range(len(data.val))])
    assert torch.equal(features, x.flatten(1))
    assert features.shape == (len(data.val), 2 * 4 * 17 * 2)
    assert labels.tolist() == [data.val[i][1] for i in range(len(data.val))]
    report = raw_joint_floor(data, LinearRecipe(frames=4, epochs=20),
                             tmp_path)
    saved = json.loads((tmp_path / 'raw_joint_floor.json').read_text())
    assert saved['top1'] == report.top1
    assert saved['weight_decay'] in (1e-4, 1e-3, 1e-2, 1e-1)
    with pytest.raises(ValueError, match='the recipe has frames=8, the '
                                         'data 4'):
        raw_joint_floor(data, LinearRecipe(frames=8), tmp_path)
    # One labelled sequence of a class leaves none to fit beside the held
    # one: refused, the class named.
    few = load_data(frames=4, samples=80, semi=0.01)
    with pytest.raises(ValueError, match='needs 2 training sequences of '
                                         'every class; class 0 has 1'):
        raw_joint_floor(few, LinearRecipe(frames=4, epochs=20), tmp_path)


def test_a_dataset_and_layout_of_ones_own_train_end_to_end(tmp_path):
    """A layout and a benchmark registered in a few lines: load_data reads
    its classes, names and layout from the registry, preset_for its
    recipes, and pre-training and fine-tuning run on it."""
    from torch_skeleton_mae.datasets import register_dataset
    from torch_skeleton_mae.datasets.registry import DATASETS
    from torch_skeleton_mae.engine import (SMALL, FinetuneRecipe,
                                           PretrainRecipe, RunOptions,
                                           finetune, load_data, preset_for,
                                           pretrain)
    from torch_skeleton_mae.graph import register_skeleton
    from torch_skeleton_mae.nn import STRL, SkeletonMAE
    register_skeleton('test-six', [f'j{i}' for i in range(6)],
                      bones=[(0, 1), (1, 2), (2, 3), (1, 4), (4, 5)],
                      center=1, parts={'core': [0, 1], 'left': [2, 3],
                                       'right': [4, 5]}, overwrite=True)
    register_dataset('test-six-set', 3, layout='test-six',
                     class_names=['a', 'b', 'c'], preset='small')
    try:
        x = np.random.default_rng(0).standard_normal(
            (12, 10, 2 * 6 * 3)).astype(np.float32)
        y = np.arange(12) % 3
        np.savez(tmp_path / 'six.npz', x_train=x, y_train=y, x_test=x[:6],
                 y_test=y[:6])
        assert preset_for('test-six-set') is SMALL
        data = load_data(tmp_path / 'six.npz', dataset='test-six-set',
                         frames=8)
        assert (data.layout, data.num_classes, list(data.names)) == (
            'test-six', 3, ['a', 'b', 'c'])
        assert data.train[0][0].shape == (2, 8, 6, 3)
        options = RunOptions(workers=0)
        mae = SkeletonMAE(data.layout, data.channels, mask=['left'])
        done = pretrain(mae, data, PretrainRecipe(
            epochs=1, batch_size=4, lr=1e-3, weight_decay=0.0, frames=8),
            tmp_path / 'pretrain', options)
        strl = STRL.from_pretrained(done.checkpoint, data.num_classes)
        tuned = finetune(strl, data, FinetuneRecipe(
            epochs=1, batch_size=4, lr=0.01, weight_decay=0.0, frames=8),
            tmp_path / 'finetune', options)
        assert len(tuned.history) == 1 and 0 <= tuned.report.top1 <= 1
        assert tuned.report.confusion.shape == (3, 3)
        with pytest.raises(ValueError, match="'ntu60' is a built-in"):
            register_dataset('ntu60', 3)
        with pytest.raises(ValueError, match="unknown layout 'nothing'"):
            register_dataset('other', 3, layout='nothing')
        register_dataset('test-six-set', 3, preset='fast')
        with pytest.raises(ValueError, match="dataset 'test-six-set' names "
                                             "preset 'fast'; expected one"):
            preset_for('test-six-set')
    finally:
        DATASETS.pop('test-six-set')


@pytest.mark.parametrize('stream', ['bone', 'motion', 'bone_motion'])
def test_load_data_streams_are_the_transforms_of_the_joints(stream):
    from torch_skeleton_mae import transforms as T
    from torch_skeleton_mae.engine import load_data
    joints = load_data(samples=40, frames=8)
    data = load_data(samples=40, frames=8, stream=stream)
    assert data.settings['stream'] == stream
    parts = ([T.JointToBone('coco')] if 'bone' in stream else []) + (
        [T.ToMotion('coco')] if 'motion' in stream else [])
    for i in range(3):  # evaluation items: frames at segment middles
        expected = T.Compose(parts)(joints.val[i][0])
        assert torch.equal(data.val[i][0], expected)
    assert not torch.equal(data.val[0][0], joints.val[0][0])
    with pytest.raises(ValueError, match=r"'stream' must be one of "
                                         r"\['joint', 'bone'"):
        load_data(samples=40, frames=8, stream='angle')


def test_a_full_disk_leaves_the_checkpoint_and_no_temporary_file(
        tmp_path, monkeypatch):
    import errno
    import os
    import torch_skeleton_mae.utils as utils
    model = torch.nn.Linear(3, 2)
    path = tmp_path / 'last.pt'
    save_checkpoint(path, model, epoch=1)
    before = path.read_bytes()
    # A link planted where the old, predictable temporary name was.
    victim = tmp_path / 'victim'
    victim.write_text('keep')
    (tmp_path / f'.last.pt.tmp{os.getpid()}').symlink_to(victim)

    def full(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    monkeypatch.setattr(utils.os, 'fsync', full)
    with pytest.raises(OSError, match=r"no space left to write '.*last.pt' "
                       r"\(No space left on device\); it is unchanged"):
        save_checkpoint(path, model, epoch=2)
    monkeypatch.undo()
    assert path.read_bytes() == before and victim.read_text() == 'keep'
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        f'.last.pt.tmp{os.getpid()}', 'last.pt', 'victim']
    assert load_checkpoint(path)['epoch'] == 1
    # Space freed: the next write goes through.
    save_checkpoint(path, model, epoch=2)
    assert load_checkpoint(path)['epoch'] == 2
    assert victim.read_text() == 'keep'


def test_an_encoder_of_ones_own_with_batch_norms_round_trips(tmp_path):
    # Its keys ('norms.0.running_mean', ...) load as saved: the loader
    # renames nothing.
    class Mine(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.lins = torch.nn.ModuleList([torch.nn.Linear(4, 4)])
            self.norms = torch.nn.ModuleList([torch.nn.BatchNorm1d(4)])

    model = Mine()
    model.norms[0].running_mean.fill_(0.5)
    save_checkpoint(tmp_path / 'mine.pt', model)
    again = Mine()
    load_checkpoint(tmp_path / 'mine.pt', again)
    for key, value in model.state_dict().items():
        assert torch.equal(again.state_dict()[key], value), key
