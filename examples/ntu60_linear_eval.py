r"""Linear evaluation of a pre-trained SkeletonMAE encoder (frozen encoder,
linear classifier on pooled features); reports top-1, top-5, per-class
accuracy and a confusion matrix.

    python examples/ntu60_linear_eval.py --pretrained runs/pretrain/last.pt
    python examples/ntu60_linear_eval.py --random-init          # baseline
    python examples/ntu60_linear_eval.py --data ntu60_hrnet.pkl \
        --pretrained runs/pretrain/last.pt

Flags: ``python examples/ntu60_linear_eval.py --help``.
"""
from torch_skeleton_mae.engine.protocols import command_line, linear_eval

if __name__ == '__main__':
    command_line(linear_eval)
