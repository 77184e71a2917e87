r"""Has pre-training learned more than a guess? A SkeletonMAE's masked-joint
objective (Eq. 2) on held-out sequences beside the same objective of
predictors that learn nothing: each masked joint at its mean position, the
mirrored joint of the other side, and the nearest unmasked joint."""
from typing import Dict, Optional

import torch
from torch import Tensor
from torch.utils.data import DataLoader

from torch_skeleton_mae.graph import Skeleton

#: The trivial predictors, in the order they are reported.
BASELINES = ('joint_mean', 'mirrored_limb', 'nearest_joint')
_SIDES = (('left_arm', 'right_arm'), ('left_leg', 'right_leg'))
_TORSO = 'torso'


@torch.no_grad()
def joint_means(loader: DataLoader, num_joints: int) -> Tensor:
    r"""Each joint's mean over its present (non-zero) occurrences in
    :obj:`loader`'s :obj:`(N, M, T, V, C)` batches, :obj:`(V, C)`."""
    total, count = None, torch.zeros(num_joints)
    for x, _ in loader:
        x = x.float()  # (N, M, T, V, C)
        present = (x != 0).any(dim=-1, keepdim=True)
        part = (x * present).sum(dim=(0, 1, 2))
        total = part if total is None else total + part
        count += present.sum(dim=(0, 1, 2, 4)).float()
    return total / count.clamp(min=1)[:, None]


def mirror_index(skeleton: Skeleton) -> Tensor:
    r"""Each joint's counterpart on the other side of the body (the
    :obj:`left_arm` / :obj:`right_arm` and :obj:`left_leg` / :obj:`right_leg`
    parts, joint for joint in their order), itself for the head and torso,
    :obj:`(V,)`."""
    index = torch.arange(skeleton.num_joints)
    for left, right in _SIDES:
        a, b = skeleton.parts[left], skeleton.parts[right]
        if len(a) != len(b):
            raise ValueError(f"Layout '{skeleton.name}': parts '{left}' and "
                             f"'{right}' differ in length; no mirror")
        index[list(a)], index[list(b)] = torch.tensor(b), torch.tensor(a)
    return index


def mirrored_limb(joints: Tensor, masked: Tensor,
                  skeleton: Skeleton) -> Tensor:
    r"""Every joint as its counterpart (:func:`mirror_index`) reflected in
    the first coordinate (left-right after
    :class:`~torch_skeleton_mae.transforms.PreNormalize3D`, the image's
    horizontal in 2D) about the frame's torso centre.

    Args:
        joints (Tensor): :obj:`(N, M, T, V, C)`.
        masked (Tensor): Boolean :obj:`(N, M, 1, V)`; a masked joint whose
            counterpart is masked too is refused.

    Returns:
        :obj:`(N, M, T, V, C)`.
    """
    index = mirror_index(skeleton).to(joints.device)
    if (masked & masked[..., index]).any() or (
            masked & (index == torch.arange(len(index),
                                            device=index.device))).any():
        raise ValueError('the mirrored-limb predictor needs every masked '
                         'joint to be a limb joint whose counterpart is not '
                         'masked')
    torso = list(skeleton.parts[_TORSO])
    center = joints[..., torso, 0].mean(dim=-1, keepdim=True)  # (N,M,T,1)
    out = joints[..., index, :].clone()
    out[..., 0] = 2 * center - out[..., 0]
    return out


def nearest_joint(joints: Tensor, masked: Tensor,
                  skeleton: Skeleton) -> Tensor:
    r"""Every masked joint at the position of the nearest unmasked joint
    along the bones (the lowest-numbered one on a tie), unmasked joints
    as they are.

    Args:
        joints (Tensor): :obj:`(N, M, T, V, C)`.
        masked (Tensor): Boolean :obj:`(N, M, 1, V)`.

    Returns:
        :obj:`(N, M, T, V, C)`.
    """
    V = skeleton.num_joints
    adjacency = skeleton.adjacency(self_loops=False).bool().to(
        joints.device)  # [target, source]
    # Lower-numbered sources win: weight them higher.
    rank = torch.arange(V, 0, -1, device=joints.device)
    out, filled = joints.clone(), ~masked
    for _ in range(V - 1):  # the bones connect every joint
        choice = adjacency & filled[..., None, :]  # (N, M, 1, V, V)
        source = (choice * rank).argmax(dim=-1)  # (N, M, 1, V)
        new = choice.any(dim=-1) & ~filled
        gathered = out.gather(3, source[..., None].expand(
            *out.shape[:3], V, out.size(-1)))
        out = torch.where(new[..., None], gathered, out)
        filled = filled | new
    return out


@torch.no_grad()
def reconstruction_baselines(model, loader: DataLoader, device: torch.device,
                             means: Tensor, seed: int = 0
                             ) -> Dict[str, Optional[float]]:
    r"""The masked-joint objective (Eq. 2, the model's :math:`\beta`) of a
    :class:`~torch_skeleton_mae.nn.SkeletonMAE` over every sequence of
    :obj:`loader`, in evaluation mode with masks drawn from :obj:`seed`,
    beside that of each ``BASELINES`` predictor for the same masked
    joints, scored as the model's reconstruction is (its target,
    :meth:`~torch_skeleton_mae.nn.SkeletonMAE.target_of`, of the predicted
    joints). Lower is better; a model that does not beat them has learned
    nothing about the masked joints.

    Args:
        model (SkeletonMAE): The model.
        loader (DataLoader): Batches :obj:`(x, y)`, :obj:`x` of shape
            :obj:`(N, M, T, V, C)`.
        device (torch.device): Where to compute.
        means (Tensor): Each joint's mean :obj:`(V, C)` (from the
            training set: :func:`joint_means`).
        seed (int, optional): Seed of the masks. (default: :obj:`0`)

    Returns:
        :obj:`{"model": ..., "joint_mean": ..., ...}`; the mirrored limb is
        :obj:`None` when some masked joint has no unmasked counterpart.
    """
    model.eval()
    skeleton, beta = model.skeleton, model.criterion.beta
    generator = torch.Generator(device).manual_seed(seed)
    sums = dict.fromkeys(('model', ) + BASELINES, 0.0)
    count = 0
    for x, _ in loader:
        x = x.to(device).float()
        out = model(x, generator)
        target, mask, joints = out.target, out.loss_mask, x
        masked = out.joint_mask[:, :, :1]  # (N, M, 1, V)
        guesses = dict(joint_mean=means.to(device).expand_as(joints),
                       nearest_joint=nearest_joint(joints, masked, skeleton))
        try:
            guesses['mirrored_limb'] = mirrored_limb(joints, masked,
                                                     skeleton)
        except ValueError:
            sums['mirrored_limb'] = None
        predictions = dict(model=out.reconstruction, **{
            k: model.target_of(v) for k, v in guesses.items()})
        for name, pred in predictions.items():
            if sums[name] is None:
                continue
            cosine = torch.nn.functional.cosine_similarity(
                pred.float(), target.float(), dim=-1)
            sums[name] += float(((1 - cosine).pow(beta) * mask).sum())
        count += int(mask.sum())
    return {k: None if v is None else v / max(count, 1)
            for k, v in sums.items()}
