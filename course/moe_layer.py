"""A working DeepSeek-V3-style MoE layer that is given, not an exercise.

The routing chapter has learners write ``moe.MoELayer``; the balancing chapter trains such a
layer. So that an unfinished routing exercise never fails a balancing test (topics grade
independently), the balancing topic trains this reference layer by default. It keeps the same
contract as ``moe.MoELayer`` (constructor, attribute names, and the routing of the last
forward pass in ``last_indices`` and ``last_scores``), so the chapter can train either.
"""

from __future__ import annotations

import torch
from torch import nn

from course.moe_reference import Expert


def select_experts(
    choice: torch.Tensor, *, n_group: int, topk_group: int, top_k: int
) -> torch.Tensor:
    """Group-limited top-k: the ``top_k`` best of ``choice [T, E]`` inside the ``topk_group``
    best of ``n_group`` equal groups, a group scored by its two best entries.

    Returns the chosen expert indices ``[T, top_k]`` (int64). With one group per node, "keep 4
    groups" means "at most 4 nodes".
    """
    n_tokens, n_experts = choice.shape
    grouped = choice.view(n_tokens, n_group, n_experts // n_group)
    best_groups = grouped.topk(2, dim=-1).values.sum(dim=-1).topk(topk_group, dim=-1).indices
    keep = torch.zeros(n_tokens, n_group, dtype=torch.bool).scatter_(1, best_groups, True)
    allowed = grouped.masked_fill(~keep.unsqueeze(-1), float("-inf")).view(n_tokens, n_experts)
    return allowed.topk(top_k, dim=-1).indices


def route(
    tokens: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor,
    *,
    n_group: int,
    topk_group: int,
    top_k: int,
    routed_scaling_factor: float,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """DeepSeek-V3 routing of ``tokens [T, d]`` with router ``weight [E, d]`` and ``bias [E]``.

    Returns ``(indices [T, top_k] int64, gates [T, top_k], scores [T, E])``: the chosen experts
    (selected by ``scores + bias`` inside the ``topk_group`` best of ``n_group`` groups, a
    group scored by its two best biased scores), their gate weights (the unbiased scores of the
    chosen experts, normalised to sum to ``routed_scaling_factor``) and the sigmoid affinities.
    Gates and scores keep autograd; the bias never receives a gradient.
    """
    scores = torch.sigmoid(tokens @ weight.T)
    indices = select_experts(
        scores.detach() + bias, n_group=n_group, topk_group=topk_group, top_k=top_k
    )
    chosen = scores.gather(1, indices)
    gates = routed_scaling_factor * chosen / chosen.sum(dim=-1, keepdim=True)
    return indices, gates, scores


class MoELayer(nn.Module):
    """Shared experts for every token plus routed experts chosen by :func:`route`.

    Same constructor, attributes and behaviour as ``moe.MoELayer`` (see its docstring):
    ``gate_weight`` (parameter ``[E, d]``), ``gate_bias`` (buffer ``[E]``, selection only),
    ``experts`` (``nn.ModuleList`` of ``Expert``), ``shared`` (``Expert`` or None). After each
    forward pass, ``last_indices`` (``[T, top_k]`` int64, no gradient) and ``last_scores``
    (``[T, E]`` sigmoid affinities, attached to the autograd graph) describe its routing.
    """

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
        """``x [..., d_model]`` → the same shape; each chosen expert runs once on its tokens."""
        tokens = x.reshape(-1, x.shape[-1])
        indices, gates, scores = route(
            tokens,
            self.gate_weight,
            self.gate_bias,
            n_group=self.n_group,
            topk_group=self.topk_group,
            top_k=self.top_k,
            routed_scaling_factor=self.routed_scaling_factor,
        )
        self.last_indices, self.last_scores = indices, scores
        out = self.shared(tokens) if self.shared is not None else torch.zeros_like(tokens)
        # the T·k (token, expert) pairs sorted by expert: one contiguous run per expert
        order = torch.argsort(indices.flatten(), stable=True)
        counts = torch.bincount(indices.flatten(), minlength=len(self.experts)).tolist()
        rows = (order // self.top_k).split(counts)
        gate_of = gates.flatten()[order].split(counts)
        for expert, row, gate in zip(self.experts, rows, gate_of, strict=True):
            if len(row):
                out = out.index_add(0, row, gate[:, None] * expert(tokens[row]))
        return out.reshape(x.shape)
