r"""Fine-tuning of the SSL classifier (pre-trained SkeletonMAE encoder inside
STRL) end to end, with the paper's recipe when --data is given (SGD,
momentum 0.9, lr 0.1, 5 warm-up epochs, /10 after epochs 90 and 100, 110
epochs, batch 128, label smoothing 0.1). ``--semi 0.01`` or ``--semi 0.1``
fine-tunes on that fraction of the training labels (the semi-supervised
protocol); without --pretrained the model trains from scratch.

    python examples/ntu60_finetune.py --pretrained runs/pretrain/last.pt
    python examples/ntu60_finetune.py --pretrained runs/pretrain/last.pt \
        --semi 0.1
    torchrun --nproc_per_node=4 examples/ntu60_finetune.py --data ... \
        --pretrained ...

Flags: ``python examples/ntu60_finetune.py --help``.
"""
from torch_skeleton_mae.engine.protocols import command_line, finetune

if __name__ == '__main__':
    command_line(finetune)
