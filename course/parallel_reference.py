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
import torch

from course.moe_layer import select_experts


def group_limited_route(
    scores: np.ndarray, *, n_group: int, topk_group: int, top_k: int
) -> np.ndarray:
    """Expert indices [T, top_k] (int64) for affinities ``scores`` [T, E] (numpy in and out);
    the selection is ``course.moe_layer.select_experts``."""
    choice = torch.as_tensor(np.asarray(scores, dtype=np.float64))
    return select_experts(choice, n_group=n_group, topk_group=topk_group, top_k=top_k).numpy()


def v3_placement(n_experts: int = 256, n_nodes: int = 8, gpus_per_node: int = 8) -> np.ndarray:
    """GPU of each routed expert when ``n_experts`` are spread evenly over ``n_nodes`` nodes in
    order: expert e on GPU e // (experts per GPU), so router group g is exactly node g.
    DeepSeek-V3's training layout: 256 experts, 64-way expert parallelism over 8 nodes, 4 per GPU.
    """
    gpus = n_nodes * gpus_per_node
    return (np.arange(n_experts) // (n_experts // gpus)).astype(np.int64)
