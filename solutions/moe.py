"""Mixture-of-Experts routing: from softmax top-k gating to DeepSeek-V3's group-limited router.

Topic module ``moe`` (chapter 5). A router scores every expert for every token and keeps only
``k`` of them; the layer then runs each token through its ``k`` experts (plus any always-on
shared experts) and adds up their outputs, weighted by the router's gate weights.

Inputs and outputs. The routing functions accept numpy arrays or torch tensors and return the
same kind they were given: numpy in, numpy out; torch in, torch out (on the same device, with
autograd kept for the gate weights). Expert indices are int64; gate weights have the floating
dtype of the inputs. The order of the ``k`` experts within a row is free: tests compare sets.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from course.moe_reference import Expert

Array = np.ndarray | torch.Tensor


def _as_tensor(x: Array) -> torch.Tensor:
    """A torch view of a numpy array (a copy only if it is not contiguous) or the tensor itself."""
    return x if isinstance(x, torch.Tensor) else torch.as_tensor(np.ascontiguousarray(x))


def _like(template: Array, *results: torch.Tensor) -> tuple[Array, ...]:
    """``results`` as numpy arrays when ``template`` was numpy, else as they are."""
    if isinstance(template, torch.Tensor):
        return results
    return tuple(r.detach().cpu().numpy() for r in results)


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
    probs = torch.softmax(_as_tensor(logits), dim=-1)
    weights, indices = probs.topk(k, dim=-1)
    if renormalize:
        weights = weights / weights.sum(dim=-1, keepdim=True)
    return _like(logits, indices, weights)


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
    affinity = torch.sigmoid(_as_tensor(logits))
    chosen, indices = affinity.topk(k, dim=-1)
    weights = scaling_factor * chosen / chosen.sum(dim=-1, keepdim=True)
    return _like(logits, indices, weights)


def _group_limited_topk(
    choice: torch.Tensor, *, n_group: int, topk_group: int, top_k: int
) -> torch.Tensor:
    """Indices ``[T, top_k]`` of the best ``choice`` scores ``[T, E]`` inside the best groups.

    A group's score is the sum of its two highest ``choice`` values; experts outside the
    ``topk_group`` best groups get −inf, so they can never be chosen (zero would not do: with
    negative biases, a zero would beat every expert that is allowed).
    """
    n_tokens, n_experts = choice.shape
    grouped = choice.view(n_tokens, n_group, n_experts // n_group)
    group_score = grouped.topk(2, dim=-1).values.sum(dim=-1)  # [T, n_group]
    best_groups = group_score.topk(topk_group, dim=-1).indices  # [T, topk_group]
    keep = torch.zeros_like(group_score, dtype=torch.bool).scatter_(1, best_groups, True)
    allowed = grouped.masked_fill(~keep.unsqueeze(-1), float("-inf")).view(n_tokens, n_experts)
    return allowed.topk(top_k, dim=-1).indices


def _check_grouping(n_experts: int, n_group: int, topk_group: int, top_k: int) -> None:
    """Raise ValueError unless the experts split into groups that can supply ``top_k``."""
    if n_group < 1 or n_experts % n_group or n_experts // n_group < 2:
        raise ValueError(
            f"{n_experts} experts do not split into {n_group} groups of at least 2 experts"
        )
    if not 1 <= topk_group <= n_group:
        raise ValueError(f"topk_group={topk_group} must be between 1 and n_group={n_group}")
    if not 1 <= top_k <= topk_group * (n_experts // n_group):
        raise ValueError(f"top_k={top_k} is more than the {topk_group} kept groups hold")


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
    h, w, b = _as_tensor(hidden), _as_tensor(weight), _as_tensor(bias)
    dtype = torch.promote_types(h.dtype, w.dtype)
    _check_grouping(w.shape[0], n_group, topk_group, top_k)
    scores = torch.sigmoid(h.to(dtype) @ w.to(dtype).T)  # [T, E]
    indices = _group_limited_topk(
        scores.detach() + b.to(dtype), n_group=n_group, topk_group=topk_group, top_k=top_k
    )
    chosen = scores.gather(1, indices)
    weights = routed_scaling_factor * chosen / chosen.sum(dim=-1, keepdim=True)
    return _like(hidden, indices, weights)


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
    flat = np.asarray(_as_tensor(indices).detach().cpu()).reshape(-1)
    return np.bincount(flat, minlength=n_experts).astype(np.int64)


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
        super().__init__()
        self.n_group, self.topk_group, self.top_k = n_group, topk_group, top_k
        self.routed_scaling_factor = routed_scaling_factor
        self.gate_weight = nn.Parameter(torch.randn(n_routed, d_model) / d_model**0.5)
        self.register_buffer("gate_bias", torch.zeros(n_routed))
        self.experts = nn.ModuleList(Expert(d_model, d_expert) for _ in range(n_routed))
        self.shared = Expert(d_model, n_shared * d_expert) if n_shared else None
        self.last_indices: torch.Tensor | None = None
        self.last_scores: torch.Tensor | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the layer to token vectors ``x`` of shape ``[..., d_model]`` (same shape out).

        Only the chosen experts run, each once on the batch of tokens routed to it (an expert
        that receives no token does not run). Sets ``last_indices`` and ``last_scores``.
        """
        tokens = x.reshape(-1, x.shape[-1])  # [T, d]
        indices, weights = deepseek_v3_route(
            tokens,
            self.gate_weight,
            self.gate_bias,
            n_group=self.n_group,
            topk_group=self.topk_group,
            top_k=self.top_k,
            routed_scaling_factor=self.routed_scaling_factor,
        )
        self.last_indices = indices
        self.last_scores = torch.sigmoid(tokens @ self.gate_weight.T)
        out = self.shared(tokens) if self.shared is not None else torch.zeros_like(tokens)
        for e, expert in enumerate(self.experts):
            token_ids, slot = (indices == e).nonzero(as_tuple=True)
            if token_ids.numel():
                gated = weights[token_ids, slot, None] * expert(tokens[token_ids])
                out = out.index_add(0, token_ids, gated.to(out.dtype))
        return out.reshape(x.shape)
