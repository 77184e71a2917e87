r"""SkeletonMAE pre-training, then linear probes of the pre-trained and of a
randomly initialized encoder.

Without --data it runs on the built-in synthetic dataset (about two minutes
on a 2-core CPU); with --data it reads NTU RGB+D 60 (a pyskl pickle such as
``ntu60_hrnet.pkl``, a CTR-GCN .npz or a folder of raw .skeleton files) with
the paper's recipe. ``--dataset ntu120|finegym|diving48`` selects another
benchmark. Several GPUs::

    python examples/ntu60_pretrain.py
    python examples/ntu60_pretrain.py --data ntu60_hrnet.pkl --split xsub
    torchrun --nproc_per_node=4 examples/ntu60_pretrain.py --data ...

Flags: ``python examples/ntu60_pretrain.py --help``.
"""
from torch_skeleton_mae.engine.protocols import command_line, pretrain

if __name__ == '__main__':
    command_line(pretrain)
