r"""SkeletonMAE in a plain PyTorch loop, the way PyG's
``examples/autoencoder.py`` trains a GAE: pre-train on unlabelled sequences
(forward, ``loss.backward()``, step), then fine-tune STRL from the
pre-trained encoder and score it on held-out sequences. The built-in
synthetic set stands in for your data: any dataset of ``(x, label)`` items
with ``x`` of shape ``(M, T, V, C)`` works the same way::

    python examples/pretrain_minimal.py

The engine (``torch_skeleton_mae.engine``) adds what a long run needs:
mixed precision, checkpoints, exact resume, DDP, the paper's recipes.
"""
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader

from torch_skeleton_mae.datasets import SyntheticSkeletons
from torch_skeleton_mae.nn import STRL, SkeletonMAE

torch.manual_seed(0)
# COCO-17 (x, y) joints, the paper's 2D input: (M, T, V, C) = (2, 32, 17, 2).
kwargs = dict(layout='coco', num_frames=32, normalize=True)
train = SyntheticSkeletons(600, split='train', **kwargs)
test = SyntheticSkeletons(600, split='val', **kwargs)
loader = DataLoader(train, batch_size=32, shuffle=True)

# 1. Pre-training: SkeletonMAE masks body regions and reconstructs them.
model = SkeletonMAE('coco', in_channels=2)  # the paper's settings
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
for epoch in range(1, 6):
    model.train()
    total = 0.0
    for x, _ in loader:  # labels unused
        optimizer.zero_grad()
        out = model(x)  # x: (N, M, T, V, C)
        out.loss.backward()
        optimizer.step()
        total += float(out.loss) * len(x)
    print(f'pre-training epoch {epoch}: loss {total / len(train):.4f}')

# 2. Fine-tuning: STRL with the pre-trained encoder inside every layer.
classifier = STRL.from_pretrained(model, num_classes=train.num_classes)
optimizer = torch.optim.SGD(classifier.parameters(), lr=0.05, momentum=0.9,
                            weight_decay=5e-4)
for epoch in range(1, 11):
    classifier.train()
    for x, y in loader:
        optimizer.zero_grad()
        loss = F.cross_entropy(classifier(x), y)  # logits: (N, classes)
        loss.backward()
        optimizer.step()
    print(f'fine-tuning epoch {epoch}: loss {float(loss):.4f}')


@torch.no_grad()
def accuracy(dataset) -> float:
    classifier.eval()
    hits = sum(int((classifier(x).argmax(-1) == y).sum())
               for x, y in DataLoader(dataset, batch_size=128))
    return hits / len(dataset)


print(f'STRL top-1: {100 * accuracy(test):.1f}% on {len(test)} test '
      f'sequences ({train.num_classes} actions)')
