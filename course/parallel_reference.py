"""Given building blocks for the parallelism chapter: a group-limited router and V3's placement.

``group_limited_route`` picks experts the way DeepSeek-V3's router does (chapter 5 builds it as
an exercise; this copy is given so that the parallelism chapter and its tests never depend on
the learner's router): the experts are split into ``n_group`` equal groups, each group is
scored by the sum of its two highest affinities, the ``topk_group`` best groups are kept and the
``top_k`` best experts among them are chosen. With one group per node, "keep 4 groups" means
"at most 4 nodes".
"""

from __future__ import annotations

import numpy as np


def group_limited_route(
    scores: np.ndarray, *, n_group: int, topk_group: int, top_k: int
) -> np.ndarray:
    """Expert indices [T, top_k] (int64) for affinities ``scores`` [T, E]."""
    scores = np.asarray(scores, dtype=np.float64)
    tokens, experts = scores.shape
    per_group = experts // n_group
    grouped = scores.reshape(tokens, n_group, per_group)
    group_score = np.sort(grouped, axis=2)[:, :, -2:].sum(axis=2)  # [T, n_group]
    kept = np.argsort(-group_score, axis=1, kind="stable")[:, :topk_group]
    mask = np.zeros((tokens, n_group), dtype=bool)
    np.put_along_axis(mask, kept, True, axis=1)
    masked = np.where(np.repeat(mask, per_group, axis=1), scores, -np.inf)
    return np.argsort(-masked, axis=1, kind="stable")[:, :top_k].astype(np.int64)


def v3_placement(n_experts: int = 256, n_nodes: int = 8, gpus_per_node: int = 8) -> np.ndarray:
    """GPU of each routed expert when ``n_experts`` are spread evenly over ``n_nodes`` nodes in
    order: expert e on GPU e // (experts per GPU), so router group g is exactly node g.
    DeepSeek-V3's training layout: 256 experts, 64-way expert parallelism over 8 nodes, 4 per GPU.
    """
    gpus = n_nodes * gpus_per_node
    return (np.arange(n_experts) // (n_experts // gpus)).astype(np.int64)
