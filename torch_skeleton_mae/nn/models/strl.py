import copy
import os
from typing import Any, Dict, Sequence, Union

import torch
from torch import Tensor
from torch.nn import (BatchNorm1d, BatchNorm2d, Conv2d, Dropout, Identity,
                      Linear, MaxPool2d, Module, ModuleList, Parameter, ReLU,
                      Sequential)
from torch_geometric.data import Batch
from torch_geometric.nn.inits import reset

from torch_skeleton_mae.data import absent_persons, as_sequence
from torch_skeleton_mae.graph import get_skeleton
from torch_skeleton_mae.nn.encoder import ConvSpec, GraphEncoder, on_graphs
from torch_skeleton_mae.nn.models.skeleton_mae import SkeletonMAE
from torch_skeleton_mae.utils import (ConfiguredModel, check_on_meta,
                                      constructor_config, differing_settings,
                                      load_checked, read_pretrained)

#: Frames of STRL's temporal position embedding, the most a sequence has.
MAX_FRAMES = 300


class MultiScaleTemporalConv(Module):
    r"""Multi-scale temporal convolution (CTR-GCN's, the paper's [5]): four
    branches of :obj:`out_channels // 4` outputs (:obj:`kernel_size` frames
    at dilations 1 and 2, a max-pool, a 1x1), each strided, concatenated.

    Args:
        in_channels (int): Input channels.
        out_channels (int): Output channels, divisible by 4.
        kernel_size (int, optional): Frames per temporal kernel (odd).
            (default: :obj:`3`)
        stride (int, optional): Temporal stride. (default: :obj:`1`)

    Shapes:
        - **input:** :math:`(B, C_{in}, T, V)`
        - **output:** :math:`(B, C_{out}, \lceil T / \text{stride} \rceil,
          V)`
    """
    def __init__(self, in_channels: int, out_channels: int,
                 kernel_size: int = 3, stride: int = 1):
        super().__init__()
        if out_channels % 4 != 0:
            raise ValueError(f"'out_channels' must be divisible by 4, got "
                             f"{out_channels}")
        if kernel_size < 1 or kernel_size % 2 == 0:
            raise ValueError(f"'kernel_size' must be odd and positive, got "
                             f"{kernel_size}")
        width = out_channels // 4
        step = (stride, 1)

        def reduce():
            return [Conv2d(in_channels, width, 1), BatchNorm2d(width), ReLU()]

        self.branches = ModuleList([
            Sequential(*reduce(),
                       Conv2d(width, width, (kernel_size, 1), step,
                              padding=((kernel_size - 1) * d // 2, 0),
                              dilation=(d, 1)), BatchNorm2d(width))
            for d in (1, 2)
        ] + [
            Sequential(*reduce(), MaxPool2d((3, 1), step, (1, 0)),
                       BatchNorm2d(width)),
            Sequential(Conv2d(in_channels, width, 1, step),
                       BatchNorm2d(width)),
        ])

    def reset_parameters(self):
        r"""Resets all learnable parameters (and batch-norm statistics)."""
        reset(self.branches)

    def forward(self, x: Tensor) -> Tensor:
        return torch.cat([branch(x) for branch in self.branches], dim=1)


class STRLLayer(Module):
    r"""One layer of Spatial-Temporal Representation Learning (Sec. 3.2.1):
    the SkeletonMAE encoder :math:`G_E` on every frame graph, its output
    pooled over each person's joints (Eq. 3's sum, or with :obj:`pool_heads`
    a learned weighting per joint) and concatenated to every joint's input,
    :math:`\sigma(\mathrm{SM}(\mathbf{H}) \mathbf{W})` (Eq. 4), a multi-scale
    temporal convolution and a 1x1 residual from the input (Fig. 3b). A
    layer wider than the encoder first maps its input to the encoder's
    width.

    Args:
        in_channels (int): Feature size in.
        out_channels (int): Feature size out.
        encoder (Module): The spatial encoder, :obj:`encoder_channels` per
            joint in and out.
        encoder_channels (int): Its width :math:`D_h`.
        num_joints (int): Joints :obj:`V`.
        kernel_size (int, optional): Frames per temporal kernel.
            (default: :obj:`3`)
        stride (int, optional): Temporal stride. (default: :obj:`1`)
        batch_norm (bool, optional): Batch-normalize :math:`\mathrm{SM}
            (\mathbf{H}) \mathbf{W}` and the residual. (default: :obj:`False`)
        pool_heads (int, optional): :obj:`0`: Eq. 3's sum over the joints.
            Otherwise each joint's own learned weighting of all joints (a
            :obj:`(V, V)` matrix per head of :obj:`D_h / pool_heads`
            channels, :math:`1 / V` at first: Eq. 3's sum, scaled).
            (default: :obj:`0`)

    Shapes:
        - **input:** :math:`(N, M, T, V, C_{in})`, one graph's
          :obj:`edge_index`, presence :math:`(N, M)` (boolean)
        - **output:** :math:`(N, M, \lceil T / \text{stride} \rceil, V,
          C_{out})`
    """
    def __init__(self, in_channels: int, out_channels: int, encoder: Module,
                 encoder_channels: int, num_joints: int, kernel_size: int = 3,
                 stride: int = 1, batch_norm: bool = False,
                 pool_heads: int = 0):
        super().__init__()
        if pool_heads and encoder_channels % pool_heads:
            raise ValueError(f"'pool_heads' ({pool_heads}) must divide the "
                             f"encoder's {encoder_channels} channels")
        self.pool = (Parameter(torch.full((pool_heads, num_joints,
                                           num_joints), 1.0 / num_joints))
                     if pool_heads else None)
        self.encoder = encoder
        self.reduce = (Identity() if in_channels == encoder_channels
                       else Linear(in_channels, encoder_channels))
        self.lin = Linear(in_channels + encoder_channels, out_channels)
        self.temporal = MultiScaleTemporalConv(out_channels, out_channels,
                                               kernel_size, stride)
        self.norm = BatchNorm2d(out_channels) if batch_norm else Identity()
        self.residual = Sequential(
            Conv2d(in_channels, out_channels, 1, (stride, 1)),
            BatchNorm2d(out_channels) if batch_norm else Identity())

    def reset_parameters(self):
        r"""Resets all learnable parameters (and batch-norm statistics)."""
        for module in (self.encoder, self.reduce, self.lin, self.norm,
                       self.temporal, self.residual):
            reset(module)
        if self.pool is not None:
            torch.nn.init.constant_(self.pool, 1.0 / self.pool.size(-1))

    def forward(self, h: Tensor, edge_index: Tensor,
                present: Tensor) -> Tensor:
        N, M, T, V, C = h.shape
        g = on_graphs(self.encoder, self.reduce(h), edge_index)
        g = g * present.view(N, M, 1, 1, 1).to(g.dtype)
        if self.pool is None:
            pooled = g.sum(dim=3, keepdim=True).expand(N, M, T, V, -1)
        else:
            pooled = torch.einsum('hvw,nmtwhd->nmtvhd', self.pool, g.unflatten(
                -1, (self.pool.size(0), -1))).flatten(-2)
        out = self.lin(torch.cat([h, pooled], dim=-1))
        # Temporal modeling in (N * M, C, T, V) layout.
        out = torch.relu(self.norm(out.view(N * M, T, V, -1).permute(
            0, 3, 1, 2)))
        res = self.residual(h.reshape(N * M, T, V, C).permute(0, 3, 1, 2))
        out = torch.relu(self.temporal(out) + res)
        return out.permute(0, 2, 3, 1).reshape(N, M, out.size(2), V, -1)


class STRL(ConfiguredModel):
    r"""The Skeleton Sequence Learning (SSL) classifier of Yan et al. (ICCV
    2023, Sec. 3.2): a learnable temporal position embedding, :math:`M`
    :class:`~torch_skeleton_mae.nn.models.strl.STRLLayer` blocks, each with
    its own copy of the SkeletonMAE encoder (:meth:`load_pretrained` fills
    them all), pooling over frames, joints and persons, and an MLP
    classifier. With :obj:`freeze_encoder=True` the embedding and the
    encoders keep their weights and batch-norm statistics.

    The paper gives :math:`M = 3` and leaves widths, strides, kernels and
    normalization to its unavailable supplementary. The defaults reached
    90.3% on NW-UCLA (chosen on its training views, ``docs/protocols.rst``);
    the paper's text read literally is
    :data:`~torch_skeleton_mae.nn.models.strl.LITERAL_SETTINGS`
    (``docs/fidelity.rst``).

    Args:
        skeleton (Skeleton or str): The layout.
        in_channels (int): Channels per joint :obj:`C`.
        num_classes (int): Action classes.
        hidden_channels (int, optional): :math:`D`, as in the pre-trained
            SkeletonMAE. (default: :obj:`64`)
        encoder_layers (int, optional): Layers :math:`L_D` of each encoder.
            (default: :obj:`3`)
        encoder (str, type or Module, optional): As in
            :class:`~torch_skeleton_mae.nn.SkeletonMAE`. (default:
            :obj:`"gin"`)
        channels (sequence of int, optional): Each layer's output width
            (divisible by 4). (default: :obj:`(64, 128, 256)`)
        strides (sequence of int, optional): Each layer's temporal stride.
            (default: :obj:`(2, 2, 1)`)
        temporal_kernel (int, optional): Frames per kernel of the
            multi-scale temporal convolutions. (default: :obj:`5`)
        batch_norm (bool, optional): See
            :class:`~torch_skeleton_mae.nn.models.strl.STRLLayer`.
            (default: :obj:`True`)
        pool_heads (int, optional): See
            :class:`~torch_skeleton_mae.nn.models.strl.STRLLayer`.
            (default: :obj:`4`)
        dropout (float, optional): Dropout before the classifier's last
            layer. (default: :obj:`0.`)
        input_norm (bool, optional): Batch-normalize each input channel
            (over all joints, frames and persons) before the embedding, as
            CTR-GCN's ``data_bn`` normalizes its inputs; a stream of small
            values (bone motion) learns faster with it. (default:
            :obj:`False`)
        freeze_encoder (bool, optional): Freeze embedding and encoders.
            (default: :obj:`False`)

    Shapes:
        - **input:** :math:`(N, M, T, V, C)` or a frame
          :class:`~torch_geometric.data.Batch`, at most
          :data:`~torch_skeleton_mae.nn.models.strl.MAX_FRAMES` frames
        - **output:** logits :math:`(N, \text{num\_classes})`

    Example:
        >>> import torch
        >>> from torch_skeleton_mae.nn import STRL, SkeletonMAE
        >>> mae = SkeletonMAE('coco', in_channels=2)
        >>> model = STRL.from_pretrained(mae, num_classes=60)
        >>> model(torch.randn(2, 2, 16, 17, 2)).shape
        torch.Size([2, 60])
    """
    def __init__(self, skeleton, in_channels: int, num_classes: int,
                 hidden_channels: int = 64, encoder_layers: int = 3,
                 encoder: Union[ConvSpec, Module] = 'gin',
                 channels: Sequence[int] = (64, 128, 256),
                 strides: Sequence[int] = (2, 2, 1),
                 temporal_kernel: int = 5, batch_norm: bool = True,
                 pool_heads: int = 4, dropout: float = 0.0,
                 input_norm: bool = False, freeze_encoder: bool = False):
        super().__init__()
        self.skeleton = get_skeleton(skeleton)
        channels, strides = tuple(channels), tuple(strides)
        if not channels or len(strides) != len(channels):
            raise ValueError(f"'channels' and 'strides' need one entry per "
                             f"layer, got {channels} and {strides}")
        if any(c % 4 for c in channels):
            raise ValueError(f"'channels' must be divisible by 4 (the four "
                             f"temporal branches), got {channels}")
        self.in_channels = in_channels
        self.num_classes = num_classes
        V = self.skeleton.num_joints
        self.input_norm = (BatchNorm1d(in_channels) if input_norm
                           else Identity())
        self.embedding = Linear(in_channels, hidden_channels, bias=False)
        self.temporal_embedding = Parameter(
            torch.zeros(MAX_FRAMES, 1, hidden_channels))
        widths = (hidden_channels, ) + channels
        self.layers = ModuleList([
            STRLLayer(widths[i], widths[i + 1],
                      copy.deepcopy(encoder) if isinstance(encoder, Module)
                      else GraphEncoder(hidden_channels, hidden_channels,
                                        encoder_layers, encoder),
                      hidden_channels, V, temporal_kernel, strides[i],
                      batch_norm, pool_heads)
            for i in range(len(channels))
        ])
        encoder_module = self.layers[0].encoder
        self.config = constructor_config(
            STRL, locals(), skeleton=self.skeleton.name,
            encoder=encoder_module.conv if isinstance(
                encoder_module, GraphEncoder) else None,
            channels=channels, strides=strides)
        self.classifier = Sequential(
            Linear(widths[-1], widths[-1]), ReLU(), Dropout(dropout),
            Linear(widths[-1], num_classes))
        self.register_buffer('edge_index', self.skeleton.edge_index(),
                             persistent=False)
        self.freeze_encoder = freeze_encoder
        if freeze_encoder:
            for module in self.pretrained_modules():
                module.requires_grad_(False)

    def reset_parameters(self):
        r"""Resets all learnable parameters and batch-norm statistics, as at
        construction."""
        for module in (self.input_norm, self.embedding, self.layers,
                       self.classifier):
            reset(module)
        torch.nn.init.zeros_(self.temporal_embedding)

    def pretrained_modules(self):
        r"""The modules :meth:`load_pretrained` fills: the embedding and every
        layer's encoder."""
        return [self.embedding] + [layer.encoder for layer in self.layers]

    def train(self, mode: bool = True) -> 'STRL':
        r"""Training mode, except that frozen encoders stay in evaluation
        mode (their batch-norm statistics do not move)."""
        super().train(mode)
        if self.freeze_encoder:
            for module in self.pretrained_modules():
                module.eval()
        return self

    def forward(self, x: Union[Tensor, Batch]) -> Tensor:
        x = as_sequence(x, self.skeleton, self.in_channels)
        T = x.size(2)
        if T > MAX_FRAMES:
            raise ValueError(f"Sequences have {T} frames; STRL takes at most "
                             f"{MAX_FRAMES}")
        present = ~absent_persons(x)  # (N, M)
        x = self.input_norm(x.reshape(-1, x.size(-1))).view_as(x)
        h = self.embedding(x)  # (N, M, T, V, D)
        h = h + self.temporal_embedding[:T]
        for layer in self.layers:
            h = layer(h, self.edge_index, present)
        # Mean over frames and joints, then over the persons present.
        h = h.mean(dim=(2, 3))
        weight = present.to(h.dtype).unsqueeze(-1)
        h = (h * weight).sum(dim=1) / weight.sum(dim=1).clamp(min=1)
        return self.classifier(h)

    @classmethod
    def from_pretrained(cls, source: Union[Module, Dict[str, Any], str,
                                           os.PathLike],
                        num_classes: int, **settings: Any) -> 'STRL':
        r"""An STRL with a pre-trained SkeletonMAE's settings
        (:data:`~torch_skeleton_mae.nn.models.strl.PRETRAINED`) and weights
        (:meth:`load_pretrained`).

        Args:
            source: A :class:`~torch_skeleton_mae.nn.SkeletonMAE` or its
                checkpoint, as
                :meth:`~torch_skeleton_mae.utils.ConfiguredModel.from_checkpoint`
                takes it.
            num_classes (int): Action classes.
            **settings: STRL's own, *e.g.* :obj:`dropout`.

        Raises:
            ValueError: if :obj:`settings` names one that comes from the
                pre-trained model, or :obj:`source` has no config.
        """
        name, config, state = read_pretrained(source, SkeletonMAE)
        if config is None:
            raise ValueError(f"{name} carries no config (a bare state_dict); "
                             f"build STRL with its settings and call "
                             f"load_pretrained")
        inherited = {key: config[key] for key in PRETRAINED}
        clash = sorted(set(settings) & set(inherited))
        if clash:
            given = ', '.join(f'{k}={inherited[k]!r}' for k in clash)
            raise ValueError(f"{clash} come from the pre-trained model "
                             f"({given}); build STRL directly to change "
                             f"them")
        if inherited['encoder'] is None:  # a module of one's own
            if not isinstance(source, Module):
                raise ValueError(f"{name} was trained with an encoder of its "
                                 f"own, which its config cannot rebuild: pass "
                                 f"the SkeletonMAE itself, or build STRL "
                                 f"with that module and call load_pretrained")
            inherited['encoder'] = source.encoder
        elif not isinstance(source, Module):
            check_on_meta(lambda: SkeletonMAE(**config), state, name)
        model = cls(num_classes=num_classes, **inherited, **settings)
        return model.load_pretrained(dict(model=state, config=config))

    def load_pretrained(self, source: Union[Module, Dict[str, Any], str,
                                            os.PathLike]) -> 'STRL':
        r"""Copies a pre-trained SkeletonMAE's embedding and encoder into this
        model's embedding and every layer's encoder.

        Args:
            source: As :meth:`from_pretrained` takes it, or a bare
                :obj:`state_dict`.

        Raises:
            ValueError: naming what differs when the checkpoint's layout or
                weights do not fit this model.
        """
        _, config, state = read_pretrained(source, SkeletonMAE)
        if config is not None and config['skeleton'] != self.skeleton.name:
            raise ValueError(f"The checkpoint was pre-trained on layout "
                             f"'{config['skeleton']}' but this model uses "
                             f"'{self.skeleton.name}'")
        # The pre-trained settings under this model's names, for errors.
        hint = '' if config is None else differing_settings(
            {key: config[key] for key in PRETRAINED}, self.config)
        for prefix, module in [('embedding.', self.embedding)] + [
                ('encoder.', layer.encoder) for layer in self.layers]:
            part = {k[len(prefix):]: v for k, v in state.items()
                    if k.startswith(prefix)}
            load_checked(module, part, f"the pre-trained '{prefix}*'", hint)
        return self


#: STRL as the paper's text reads literally, three layers at :math:`D`
#: without strides, normalization or learned pooling (Eq. 3's sum).
LITERAL_SETTINGS = dict(channels=(64, 64, 64), strides=(1, 1, 1),
                        temporal_kernel=3, batch_norm=False, pool_heads=0)

#: A deeper STRL, six layers (each of the defaults' widths twice). On
#: NW-UCLA it scored no more than the defaults, at twice the parameters
#: and time (``docs/protocols.rst``).
DEEP_SETTINGS = dict(channels=(64, 64, 128, 128, 256, 256),
                     strides=(2, 1, 2, 1, 1, 1))

#: The settings STRL takes from a pre-trained SkeletonMAE.
PRETRAINED = ('skeleton', 'in_channels', 'hidden_channels', 'encoder_layers',
              'encoder')
