import copy
import inspect
import os
from typing import Any, Dict, Optional, Sequence, Union

import torch
from torch import Tensor
from torch.nn import (
    BatchNorm2d,
    Conv2d,
    Dropout,
    Identity,
    Linear,
    MaxPool2d,
    Module,
    ModuleList,
    Parameter,
    ReLU,
    Sequential,
)
from torch_geometric.data import Batch
from torch_geometric.nn.inits import reset

from torch_skeleton_mae.data import absent_persons, as_sequence
from torch_skeleton_mae.graph import get_skeleton
from torch_skeleton_mae.nn.encoder import (
    EncoderSpec,
    JointEmbedding,
    apply_conv,
    encoder_name,
    make_encoder,
)
from torch_skeleton_mae.nn.models.skeleton_mae import SkeletonMAE
from torch_skeleton_mae.utils import (
    changed_settings,
    check_on_meta,
    constructor_config,
    checked_config,
    differing_settings,
    load_checked,
    read_checkpoint,
)

# The settings every repr shows; the others appear when not the default.
_SHOWN = ('skeleton', 'in_channels', 'num_classes', 'strl_layers',
          'freeze_encoder')


class MultiScaleTemporalConv(Module):
    r"""Multi-scale temporal convolution (CTR-GCN's, the paper's [5]): four
    branches of :obj:`out_channels // 4` outputs (convolutions of
    :obj:`kernel_size` frames with dilations 1 and 2, a max-pool, a 1x1)
    concatenated, each taking every :obj:`stride`-th frame.

    Args:
        in_channels (int): Input channels.
        out_channels (int, optional): Output channels, divisible by 4.
            (default: :obj:`in_channels`)
        kernel_size (int, optional): Frames per temporal kernel (odd).
            (default: :obj:`3`)
        stride (int, optional): Temporal stride. (default: :obj:`1`)

    Shapes:
        - **input:** :math:`(B, C_{in}, T, V)`
        - **output:** :math:`(B, C_{out}, \lceil T / \text{stride} \rceil,
          V)`
    """
    def __init__(self, in_channels: int, out_channels: Optional[int] = None,
                 kernel_size: int = 3, stride: int = 1):
        super().__init__()
        out_channels = out_channels or in_channels
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
    r"""One layer of Spatial-Temporal Representation Learning (Sec. 3.2.1).

    Spatial modeling (Eq. 3): the SkeletonMAE encoder :math:`G_E` maps every
    frame graph, its output is sum-pooled over each person's joints (Eq. 3
    as written) or, with :obj:`person_interaction=True`, over the joints of
    all persons in the frame, repeated to every joint and concatenated with
    the input; then :math:`\sigma(\mathrm{SM}(\mathbf{H}) \mathbf{W})`
    (Eq. 4), a multi-scale temporal convolution, and a 1x1 residual
    connection from the layer's input (Fig. 3b). A layer wider than the
    encoder's input first maps its input to the encoder's width
    (:obj:`reduce`); a strided layer keeps every :obj:`stride`-th frame.

    Args:
        in_channels (int): Feature size in.
        out_channels (int): Feature size out.
        encoder (Module): The (pre-trained) spatial encoder, mapping
            :obj:`encoder_channels` to :obj:`encoder_channels` per joint
            (called through
            :func:`~torch_skeleton_mae.nn.encoder.apply_conv`).
        person_interaction (bool, optional): Pool over all persons of a
            frame instead of each person's own joints.
            (default: :obj:`False`)
        kernel_size (int, optional): Frames per temporal kernel.
            (default: :obj:`3`)
        stride (int, optional): Temporal stride. (default: :obj:`1`)
        batch_norm (bool, optional): Batch-normalize :math:`\mathrm{SM}
            (\mathbf{H}) \mathbf{W}` before its activation and the
            residual connection. (default: :obj:`False`)
        num_joints (int, optional): Joints :obj:`V`; needed with
            :obj:`pool_heads`.
        pool_heads (int, optional): With :obj:`0`, Eq. 3's sum over the
            joints, the same for every joint. Otherwise each joint takes its
            own learned weighting of all joints' encoder outputs (a
            :obj:`(V, V)` matrix per head of :obj:`D_h / pool_heads`
            channels, :math:`1 / V` at initialization: Eq. 3's sum, scaled,
            so that the weights move at the rate of the others).
            (default: :obj:`0`)

    Shapes:
        - **input:** :math:`(N, M, T, V, C_{in})`, adjacency, presence
          :math:`(N, M)` (boolean)
        - **output:** :math:`(N, M, \lceil T / \text{stride} \rceil, V,
          C_{out})`
    """
    def __init__(self, in_channels: int, out_channels: int,
                 encoder: Module, person_interaction: bool = False,
                 kernel_size: int = 3, stride: int = 1,
                 batch_norm: bool = False, num_joints: Optional[int] = None,
                 pool_heads: int = 0, encoder_channels: Optional[int] = None):
        super().__init__()
        width = encoder_channels or encoder.hidden_channels
        if pool_heads and (num_joints is None or width % pool_heads):
            raise ValueError(f"'pool_heads' ({pool_heads}) needs "
                             f"'num_joints' and must divide the encoder's "
                             f"{width} channels")
        self.pool = (Parameter(torch.full((pool_heads, num_joints,
                                           num_joints), 1.0 / num_joints))
                     if pool_heads else None)
        self.encoder = encoder
        self.person_interaction = person_interaction
        self.reduce = (Identity() if in_channels == width
                       else Linear(in_channels, width))
        self.lin = Linear(in_channels + width,
                          out_channels)
        self.temporal = MultiScaleTemporalConv(out_channels, out_channels,
                                               kernel_size, stride)
        self.norm = BatchNorm2d(out_channels) if batch_norm else Identity()
        self.residual = Conv2d(in_channels, out_channels, 1, (stride, 1))
        if batch_norm:
            self.residual = Sequential(self.residual,
                                       BatchNorm2d(out_channels))

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
        g = apply_conv(self.encoder, self.reduce(h), edge_index)
        g = g * present.view(N, M, 1, 1, 1).to(g.dtype)
        if self.person_interaction:
            g = g.sum(dim=1, keepdim=True)
        if self.pool is None:
            pooled = g.sum(dim=3, keepdim=True)
        else:
            pooled = torch.einsum('hvw,nmtwhd->nmtvhd', self.pool, g.unflatten(
                -1, (self.pool.size(0), -1))).flatten(-2)
        pooled = pooled.expand(N, M, T, V, -1)
        out = self.lin(torch.cat([h, pooled], dim=-1))
        # Temporal modeling in (N * M, C, T, V) layout.
        out = torch.relu(self.norm(out.reshape(N * M, T, V, -1).permute(
            0, 3, 1, 2)))
        res = self.residual(h.reshape(N * M, T, V, C).permute(0, 3, 1, 2))
        out = torch.relu(self.temporal(out) + res)
        return out.permute(0, 2, 3, 1).reshape(N, M, out.size(2), V, -1)


class STRL(Module):
    r"""The Skeleton Sequence Learning (SSL) classifier of Yan et al. (ICCV
    2023, Sec. 3.2): the pre-trained SkeletonMAE embedding and encoder inside
    :obj:`strl_layers` (the paper's :math:`M = 3`)
    :class:`~torch_skeleton_mae.nn.models.strl.STRLLayer` blocks, a learnable
    temporal position embedding, pooling over frames, joints and persons, and
    an MLP classifier.

    Every layer holds its own copy of the encoder; :meth:`load_pretrained`
    copies a SkeletonMAE's weights into all of them. With
    :obj:`freeze_encoder=True` (linear-evaluation style) the embedding and
    the encoders keep their weights and batch-norm statistics.

    The defaults are the paper's text read literally (every layer at
    :math:`D`, Eq. 3's sum over the joints). The text leaves widths,
    strides, kernels and normalization to its unavailable supplementary;
    the settings that made STRL fit real data are the small real sets'
    preset's, :data:`~torch_skeleton_mae.engine.recipes.SMALL` (its
    :obj:`strl`).

    Args:
        skeleton (Skeleton or str): The layout.
        in_channels (int): Channels per joint :obj:`C`.
        num_classes (int): Action classes.
        hidden_channels (int, optional): :math:`D`, as in the pre-trained
            SkeletonMAE. (default: :obj:`64`)
        strl_layers (int, optional): STRL layers :math:`M`.
            (default: :obj:`3`)
        encoder_layers (int, optional): GIN layers :math:`L_D` of each
            encoder. (default: :obj:`3`)
        encoder (str, callable or Module, optional): The encoders'
            convolution, or an encoder module that every layer copies, as in
            :class:`~torch_skeleton_mae.nn.SkeletonMAE`. (default:
            :obj:`"gin"`)
        person_interaction (bool, optional): Sum-pool the spatial
            modelling over all persons of a frame instead of each person
            (Eq. 3), see :class:`~torch_skeleton_mae.nn.models.strl.STRLLayer`.
            (default: :obj:`False`)
        channels (sequence of int, optional): Each layer's output width
            (divisible by 4); :obj:`None` keeps every layer at
            :obj:`hidden_channels`. (default: :obj:`None`)
        strides (sequence of int, optional): Each layer's temporal stride;
            :obj:`None` strides none. (default: :obj:`None`)
        temporal_kernel (int, optional): Frames per kernel of the
            multi-scale temporal convolutions. (default: :obj:`3`)
        batch_norm (bool, optional): Batch normalization in every layer,
            see :class:`~torch_skeleton_mae.nn.models.strl.STRLLayer`.
            (default: :obj:`False`)
        pool_heads (int, optional): Learned per-joint pooling in place of
            Eq. 3's sum, see
            :class:`~torch_skeleton_mae.nn.models.strl.STRLLayer`. (default:
            :obj:`0`)
        max_frames (int, optional): Length of the temporal position
            embedding. (default: :obj:`300`)
        dropout (float, optional): Dropout before the classifier's last
            layer. (default: :obj:`0.`)
        joint_embedding (bool, optional): As in
            :class:`~torch_skeleton_mae.nn.SkeletonMAE`. (default:
            :obj:`False`)
        embedding_bias (bool, optional): As in
            :class:`~torch_skeleton_mae.nn.SkeletonMAE`. (default:
            :obj:`False`)
        act (str, optional): Encoder activation. (default: :obj:`"prelu"`)
        norm (str, optional): Encoder normalization.
            (default: :obj:`"batch"`)
        freeze_encoder (bool, optional): Freeze embedding and encoders.
            (default: :obj:`False`)

    Shapes:
        - **input:** :math:`(N, C, T, V, M)` or a frame
          :class:`~torch_geometric.data.Batch`
        - **output:** logits :math:`(N, \text{num\_classes})`

    Example:
        >>> import torch
        >>> from torch_skeleton_mae.nn import STRL, SkeletonMAE
        >>> mae = SkeletonMAE('coco', in_channels=2)
        >>> model = STRL('coco', in_channels=2, num_classes=60)
        >>> model = model.load_pretrained(mae)
        >>> model(torch.randn(2, 2, 16, 17, 2)).shape
        torch.Size([2, 60])
    """
    def __init__(self, skeleton, in_channels: int, num_classes: int,
                 hidden_channels: int = 64, strl_layers: int = 3,
                 encoder_layers: int = 3, encoder: EncoderSpec = 'gin',
                 person_interaction: bool = False,
                 channels: Optional[Sequence[int]] = None,
                 strides: Optional[Sequence[int]] = None,
                 temporal_kernel: int = 3, batch_norm: bool = False,
                 pool_heads: int = 0,
                 max_frames: int = 300,
                 dropout: float = 0.0, joint_embedding: bool = False,
                 embedding_bias: bool = False,
                 act: str = 'prelu', norm: Optional[str] = 'batch',
                 freeze_encoder: bool = False):
        super().__init__()
        self.skeleton = get_skeleton(skeleton)
        if strl_layers < 1:
            raise ValueError(f"'strl_layers' must be >= 1, got {strl_layers}")
        widths = tuple(channels or (hidden_channels, ) * strl_layers)
        steps = tuple(strides or (1, ) * strl_layers)
        for name, values in (('channels', widths), ('strides', steps)):
            if len(values) != strl_layers:
                raise ValueError(f"'{name}' needs one entry per layer "
                                 f"('strl_layers' = {strl_layers}), got "
                                 f"{values}")
        self.in_channels = in_channels
        self.num_classes = num_classes
        self.embedding = JointEmbedding(in_channels, hidden_channels,
                                        self.skeleton.num_joints,
                                        positional=joint_embedding,
                                        bias=embedding_bias)
        self.temporal_embedding = Parameter(
            torch.zeros(max_frames, 1, hidden_channels))
        widths = (hidden_channels, ) + widths
        self.layers = ModuleList([
            STRLLayer(widths[i], widths[i + 1],
                      make_encoder(copy.deepcopy(encoder), hidden_channels,
                                   encoder_layers, act=act, norm=norm),
                      person_interaction, temporal_kernel, steps[i],
                      batch_norm, self.skeleton.num_joints, pool_heads,
                      hidden_channels)
            for i in range(strl_layers)
        ])
        self.config = constructor_config(
            STRL, locals(), skeleton=self.skeleton.name,
            encoder=encoder_name(self.layers[0].encoder))
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
        r"""Resets all learnable parameters (and batch-norm statistics):
        a randomly initialized STRL again; the temporal position embedding
        is zeros, as at construction."""
        for module in (self.embedding, self.layers, self.classifier):
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
        if self.freeze_encoder:  # keep frozen batch-norm statistics
            for module in self.pretrained_modules():
                module.eval()
        return self

    def forward(self, x: Union[Tensor, Batch]) -> Tensor:
        x = as_sequence(x, self.skeleton)
        T = x.size(2)
        if x.size(1) != self.in_channels:
            raise ValueError(f"The model takes {self.in_channels} channels "
                             f"per joint, the batch has {x.size(1)} (shape "
                             f"{tuple(x.shape)})")
        if T > self.temporal_embedding.size(0):
            raise ValueError(f"Sequences have {T} frames but 'max_frames' "
                             f"is {self.temporal_embedding.size(0)}")
        present = ~absent_persons(x)  # (N, M)
        h = self.embedding(x.permute(0, 4, 2, 3, 1))  # (N, M, T, V, D)
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
        r"""An STRL built with a pre-trained SkeletonMAE's layout, channels
        and encoder settings
        (:data:`~torch_skeleton_mae.nn.models.strl.PRETRAINED_SETTINGS`) and
        holding its weights (:meth:`load_pretrained`).

        Args:
            source: A :class:`~torch_skeleton_mae.nn.SkeletonMAE`, a
                checkpoint dict holding its :obj:`"model"` and
                :obj:`"config"`, or the path of one.
            num_classes (int): Action classes.
            **settings: STRL's own settings (:obj:`strl_layers`,
                :obj:`person_interaction`, :obj:`max_frames`,
                :obj:`dropout`, :obj:`freeze_encoder`).

        Raises:
            ValueError: if :obj:`settings` names one that comes from the
                pre-trained model, or :obj:`source` has no config.

        Example:
            >>> from torch_skeleton_mae.nn import STRL, SkeletonMAE
            >>> mae = SkeletonMAE('coco', 2, encoder_layers=2)
            >>> model = STRL.from_pretrained(mae, num_classes=10,
            ...                              strl_layers=1)
            >>> model.config['encoder_layers'], len(model.layers)
            (2, 1)
        """
        config, state = _pretrained(source)
        if config is None:
            where = (f"'{source}'" if isinstance(source, (str, os.PathLike))
                     else 'the pre-trained source')
            raise ValueError(f"{where} carries no config (a bare "
                             f"state_dict); build STRL with its settings and "
                             f"call load_pretrained")
        inherited = {name: config[name] for name in PRETRAINED_SETTINGS}
        if inherited['encoder'] is None:  # a module of one's own
            if not isinstance(source, Module):
                raise ValueError("The checkpoint was trained with an encoder "
                                 "module of its own, which its config cannot "
                                 "rebuild: pass the SkeletonMAE itself, or "
                                 "build STRL with that module and call "
                                 "load_pretrained")
            inherited['encoder'] = source.encoder
        clash = sorted(set(settings) & set(inherited))
        if clash:
            given = ', '.join(f'{k}={inherited[k]!r}' for k in clash)
            raise ValueError(f"{clash} come from the pre-trained model "
                             f"({given}); build STRL directly to change "
                             f"them")
        if not isinstance(source, Module):
            where = (f"'{source}'" if isinstance(source, (str, os.PathLike))
                     else 'the checkpoint')
            check_on_meta(lambda: SkeletonMAE(**config), state, where)
        model = cls(num_classes=num_classes, **inherited, **settings)
        return model.load_pretrained(dict(model=state, config=config))

    def load_pretrained(self, source: Union[Module, Dict[str, Any], str,
                                            os.PathLike]) -> 'STRL':
        r"""Copies a pre-trained SkeletonMAE's embedding and encoder into this
        model's embedding and every layer's encoder.

        Args:
            source: A :class:`~torch_skeleton_mae.nn.SkeletonMAE`, its
                :obj:`state_dict`, a checkpoint dict holding one under
                :obj:`"model"` (and its :obj:`"config"`), or the path of
                such a checkpoint.

        Raises:
            ValueError: naming what differs when the checkpoint's layout or
                weights do not fit this model.
        """
        config, state = _pretrained(source)
        if config is not None and config.get('skeleton') not in (
                None, self.skeleton.name):
            raise ValueError(f"The checkpoint was pre-trained on layout "
                             f"'{config['skeleton']}' but this model uses "
                             f"'{self.skeleton.name}'")
        # The pre-trained settings under this model's names, for errors.
        hint = '' if config is None else differing_settings(
            {name: config.get(name) for name in PRETRAINED_SETTINGS},
            self.config)
        for prefix, module in [('embedding.', self.embedding)] + [
                ('encoder.', layer.encoder) for layer in self.layers]:
            part = {k[len(prefix):]: v for k, v in state.items()
                    if k.startswith(prefix)}
            load_checked(module, part, f"the pre-trained '{prefix}*'", hint)
        return self

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}('{self.skeleton.name}', "
                f"in_channels={self.in_channels}, "
                f"num_classes={self.num_classes}, "
                f"strl_layers={len(self.layers)}, "
                f"freeze_encoder={self.freeze_encoder}"
                f"{changed_settings(STRL, self.config, _SHOWN)})")


def _pretrained(source) -> tuple:
    # (config or None, state_dict) of a SkeletonMAE, checkpoint or path.
    where = 'the checkpoint'
    if isinstance(source, (str, os.PathLike)):
        where, source = f"'{source}'", read_checkpoint(source)
    if isinstance(source, Module):
        return getattr(source, 'config', None), source.state_dict()
    if not isinstance(source, dict):
        raise ValueError(f'{where} holds a {type(source).__name__}, not a '
                         f'checkpoint dict or state_dict')
    config = source.get('config')
    return (config and checked_config(SkeletonMAE, config, where),
            source.get('model', source))


def _arguments(cls: type) -> list:
    return list(inspect.signature(cls.__init__).parameters)


#: The settings that STRL takes from a pre-trained SkeletonMAE, the arguments
#: the two models share (the layout, the embedding and the encoder's).
PRETRAINED_SETTINGS = tuple(name for name in _arguments(STRL)[1:]
                            if name in _arguments(SkeletonMAE))
