"""Mixture-of-Experts routing: from softmax top-k gating to DeepSeek-V3's group-limited router.

Topic module ``moe`` (chapter 5). A router scores every expert for every token and keeps only
``k`` of them; the layer then runs each token through its ``k`` experts (plus any always-on
shared experts) and adds up their outputs, weighted by the router's gate weights.

Inputs and outputs. The routing functions accept numpy arrays or torch tensors and return the
same kind they were given: numpy in, numpy out; torch in, torch out (on the same device, with
autograd kept for the gate weights). Expert indices are int64; gate weights have the floating
dtype of the inputs. The order of the ``k`` experts within a row is free: tests compare sets.

Exercises: replace each `raise NotImplementedError` with your implementation.
Check your work with `make grade` or `pytest tests/test_moe.py`.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from course.moe_reference import Expert

Array = np.ndarray | torch.Tensor


def softmax_topk_gate(logits: Array, k: int, *, renormalize: bool) -> tuple[Array, Array]:
    """Softmax top-k gating (Switch Transformer with k = 1; GShard and Mixtral with k = 2).

    Args:
        logits: router logits, shape ``[T, E]`` (T tokens, E experts), any float dtype.
        k: experts per token, ``1 <= k <= E``.
        renormalize: if False, the gate weight of a chosen expert is its softmax probability
            over all E experts (Switch); if True, the k probabilities are rescaled to sum to 1
            (equivalently, a softmax over the k chosen logits, as in Mixtral).

    Returns:
        ``(indices, weights)``: ``indices`` ``[T, k]`` int64, the k experts with the highest
        probability; ``weights`` ``[T, k]``, their gate weights (same float dtype as
        ``logits``). Numpy in, numpy out; torch in, torch out.
    """
    raise NotImplementedError


def sigmoid_topk_gate(logits: Array, k: int, *, scaling_factor: float) -> tuple[Array, Array]:
    """Sigmoid top-k gating with normalised weights (DeepSeek-V3's router without groups or bias).

    Each expert's affinity is ``sigmoid(logit)``, independently of the others. The k experts
    with the highest affinity are chosen, and their affinities are divided by their sum and
    multiplied by ``scaling_factor``.

    Args:
        logits: router logits, shape ``[T, E]``.
        k: experts per token, ``1 <= k <= E``.
        scaling_factor: the gate weights of a token sum to this (2.5 in DeepSeek-V3).

    Returns:
        ``(indices, weights)``: ``indices`` ``[T, k]`` int64; ``weights`` ``[T, k]``, each row
        summing to ``scaling_factor``. Numpy in, numpy out; torch in, torch out.
    """
    raise NotImplementedError


def deepseek_v3_route(
    hidden: Array,
    weight: Array,
    bias: Array,
    *,
    n_group: int,
    topk_group: int,
    top_k: int,
    routed_scaling_factor: float,
) -> tuple[Array, Array]:
    """DeepSeek-V3's router: sigmoid affinities, selection bias, group-limited top-k.

    With the affinities ``scores = sigmoid(hidden @ weight.T)`` ``[T, E]`` and the selection
    scores ``choice = scores + bias``, each token gets the ``top_k`` experts with the highest
    ``choice`` among the experts of its ``topk_group`` best groups. The E experts form
    ``n_group`` contiguous groups of ``E // n_group``, and a group's score is the sum of its two
    highest ``choice`` values. The bias steers selection only: the gate weights are the
    *unbiased* ``scores`` of the chosen experts, in proportion, scaled to sum to
    ``routed_scaling_factor``.

    Args:
        hidden: token vectors, shape ``[T, d]``.
        weight: one router vector (centroid) per expert, shape ``[E, d]``.
        bias: selection bias per expert, shape ``[E]`` (may be negative).
        n_group: number of expert groups (8 in DeepSeek-V3: one per node).
        topk_group: groups a token may use (4 in DeepSeek-V3).
        top_k: experts per token (8 in DeepSeek-V3).
        routed_scaling_factor: the gate weights of a token sum to this (2.5 in DeepSeek-V3).

    Returns:
        ``(indices, weights)``: ``indices`` ``[T, top_k]`` int64, distinct experts per row, in
        any order; ``weights`` ``[T, top_k]`` in the inputs' float dtype, each row summing to
        ``routed_scaling_factor``. Numpy in, numpy out; torch in, torch out.

    Raises:
        ValueError: if the experts do not split into ``n_group`` groups of at least two, or
            the kept groups hold fewer than ``top_k`` experts.
    """
    raise NotImplementedError


def expert_load(indices: Array, n_experts: int) -> np.ndarray:
    """How many tokens each expert receives.

    Args:
        indices: routing decisions, shape ``[T, k]`` (any integer dtype, numpy or torch), each
            row the k distinct experts of one token.
        n_experts: E, the number of experts (experts that receive no token count 0).

    Returns:
        int64 numpy array of shape ``[E]``: entry ``e`` is the number of tokens routed to
        expert ``e``; the entries sum to ``T * k``.
    """
    raise NotImplementedError


class MoELayer(nn.Module):
    """A DeepSeek-V3-style MoE layer: shared experts for every token plus routed experts.

    ``y = shared(x) + Σ_j g_j · experts[i_j](x)`` for each token ``x``, where ``(i, g)`` come
    from ``deepseek_v3_route(x, gate_weight, gate_bias, ...)``. The shared experts are stored
    as one ``Expert`` whose hidden width is ``n_shared * d_expert`` (the same function as
    ``n_shared`` separate experts added together).

    Training. Gradients reach ``gate_weight`` through the gate weights ``g`` (and the experts
    through their outputs); ``gate_bias`` is a buffer that only steers selection, so it never
    gets a gradient. After each forward pass the layer keeps the routing of that call, for
    load balancing (``balance.train_moe`` reads it): ``last_indices`` (``[T, top_k]`` int64,
    the chosen experts of the T tokens) and ``last_scores`` (``[T, n_routed]``, the sigmoid
    affinities ``sigmoid(x @ gate_weight.T)``, unbiased and attached to the autograd graph).
    """

    gate_weight: nn.Parameter
    gate_bias: torch.Tensor
    experts: nn.ModuleList
    shared: Expert | None

    def __init__(
        self,
        d_model: int,
        d_expert: int,
        n_routed: int,
        n_shared: int,
        *,
        n_group: int,
        topk_group: int,
        top_k: int,
        routed_scaling_factor: float,
    ) -> None:
        """Create the layer's parameters (float32, torch's default initialisation).

        Args:
            d_model: width of the token vectors.
            d_expert: hidden width of one expert.
            n_routed: E, the number of routed experts.
            n_shared: number of shared experts (0 for none).
            n_group, topk_group, top_k, routed_scaling_factor: the router's settings, kept
                as attributes of the same names and passed to ``deepseek_v3_route``.

        Attributes set (the tests use these names):
            ``gate_weight``: ``nn.Parameter`` ``[n_routed, d_model]``, drawn from
            N(0, 1/d_model); ``gate_bias``: buffer ``[n_routed]`` of zeros (set by load
            balancing, not by gradients); ``experts``: ``nn.ModuleList`` of ``n_routed``
            ``Expert(d_model, d_expert)``; ``shared``: ``Expert(d_model, n_shared * d_expert)``,
            or None when ``n_shared == 0``; ``last_indices`` and ``last_scores``: None until
            the first forward pass.
        """
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the layer to token vectors ``x`` of shape ``[..., d_model]`` (same shape out).

        Only the chosen experts run, each once on the batch of tokens routed to it (an expert
        that receives no token does not run). Sets ``last_indices`` and ``last_scores``.
        """
        raise NotImplementedError
