r"""A training step reads nothing back from the device: every conversion of
a tensor to a Python value (or a data-dependent shape) would make the host
wait for the GPU. On the CPU these calls cost nothing, but they are the same
calls, so recording them here finds every one a GPU step would make."""
import pytest
import torch
from torch import Tensor
from torch.overrides import TorchFunctionMode

from torch_skeleton_mae.datasets import SyntheticSkeletons
from torch_skeleton_mae.engine import Trainer
from torch_skeleton_mae.engine.loader import make_loader
from torch_skeleton_mae.engine.trainer import (
    ClassificationObjective,
    MAEObjective,
)
from torch_skeleton_mae.nn import STRL, SkeletonMAE
from torch_skeleton_mae.transforms.batch import GaussianNoise

#: Conversions of a tensor to a Python value.
TO_HOST = {Tensor.item, Tensor.tolist, Tensor.numpy, Tensor.__bool__,
           Tensor.__int__, Tensor.__float__, Tensor.__index__}
#: Results whose shape depends on the data.
DATA_SHAPED = {torch.nonzero, Tensor.nonzero, torch.masked_select,
               Tensor.masked_select, torch.unique, Tensor.unique,
               torch.argwhere}


class HostReads(TorchFunctionMode):
    r"""Records every call that reads a tensor's values on the host, except
    those on :obj:`ignored` tensors."""
    def __init__(self, ignored=()):
        super().__init__()
        self.ignored = {id(t) for t in ignored}
        self.calls = []

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        subject = args[0] if args else None
        if func in TO_HOST or func in DATA_SHAPED or (
                func is Tensor.__getitem__ and _boolean_index(args[1])):
            if id(subject) not in self.ignored:
                self.calls.append(getattr(func, '__name__', str(func)))
        return func(*args, **kwargs)


def _boolean_index(index) -> bool:
    parts = index if isinstance(index, tuple) else (index, )
    return any(isinstance(p, Tensor) and p.dtype == torch.bool
               for p in parts)


def test_recorder_sees_every_kind_of_read():
    x = torch.randn(4)
    with HostReads() as reads:
        bool(x.sum() > 0), int(x[0]), float(x[1]), x.max().item()
        x.tolist(), x.nonzero(), x[x > 0]
    assert reads.calls == ['__bool__', '__int__', '__float__', 'item',
                           'tolist', 'nonzero', '__getitem__']


def optimizer_counters(optimizer):
    # Adam keeps its step counts on the host by design (PyTorch's choice
    # unless capturable=True): reading them waits on nothing.
    return [state['step'] for state in optimizer.state.values()
            if isinstance(state.get('step'), Tensor)]


#: Every supported setting that changes what a step computes: the
#: encoders of Table 4c and edge masking (the masked joints' edges dropped
#: from the encoder's graph).
SETTINGS = [dict(), dict(encoder='gcn'), dict(encoder='gat'),
            dict(mask_edges=True), dict(encoder='gcn', mask_edges=True),
            dict(encoder='gat', mask_edges=True)]


@pytest.mark.parametrize('settings', SETTINGS, ids=lambda s: '-'.join(
    f'{k}={v}' for k, v in s.items()) or 'paper')
@pytest.mark.parametrize('kind', ['SkeletonMAE', 'STRL'])
def test_training_step_reads_nothing_from_the_device(tmp_path, kind,
                                                     settings):
    torch.manual_seed(0)
    data = SyntheticSkeletons(8, 'coco', num_frames=8)
    if kind == 'SkeletonMAE':
        model = SkeletonMAE('coco', 2, **settings)
        objective = MAEObjective()
        optimizer = torch.optim.Adam(model.parameters(), 1e-3)
    else:
        if settings.get('mask_edges'):
            pytest.skip('STRL masks nothing')
        model = STRL('coco', 2, num_classes=data.num_classes, **settings)
        objective = ClassificationObjective(0.1)
        optimizer = torch.optim.SGD(model.parameters(), 0.1, momentum=0.9,
                                    weight_decay=5e-4)
    cpu = torch.device('cpu')
    trainer = Trainer(model, objective, optimizer, make_loader(data, 4, cpu),
                      cpu, tmp_path,
                      batch_transform=GaussianNoise(0.01, 2))
    x, y = next(iter(trainer.loader))
    trainer.model.train()
    trainer.step(x, y, 1, 0)  # checks the skeleton graph once
    before = [p.detach().clone() for p in model.parameters()]
    with HostReads(optimizer_counters(optimizer)) as reads:
        loss, metrics = trainer.step(x, y, 1, 1)
    assert reads.calls == []
    # The step did train: a finite loss, and the weights moved.
    assert torch.isfinite(loss) and set(metrics)
    assert any(not torch.equal(a, p) for a, p in zip(before,
                                                     model.parameters()))
