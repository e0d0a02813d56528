"""The laboratory of chapter 6 ("Keeping experts busy"): a small task on which routers collapse.

This module is not an exercise. It holds what the chapter's training runs need besides the
learner's own code: the synthetic task, the configuration of the runs, a freshly initialised
MoE layer (the reference ``course.moe_layer.MoELayer``, so that the balancing topic never
depends on the routing topic's answers), a fixed evaluation batch, and two read-outs of a
trained layer. The training loop itself is the exercise ``balance.train_moe``.

The task has structure on purpose. Tokens are vectors in ``d_model`` dimensions drawn around
``n_clusters`` centres, and every cluster has its own linear map from input to target, so a
model does best when different experts learn different clusters. All clusters share a large
common offset, as real hidden states do, which at initialisation makes the router prefer the
same few experts for every token: the starting point of a collapse.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from course.moe_layer import MoELayer

METHODS = ("none", "aux_loss", "bias")
"""The three ways of training: no balancing, the Switch auxiliary loss, the bias update."""

EVAL_SEED = 10**6
"""Seed of the fixed evaluation batch (different from every training seed)."""


@dataclass(frozen=True)
class Config:
    """Sizes and knobs of the experiment (defaults: the runs in the chapter).

    Attributes:
        n_experts: routed experts N.
        top_k: experts chosen per token k.
        n_group: expert groups of the router (``topk_group`` of them kept per token).
        topk_group: groups a token may use.
        routed_scaling_factor: the gate weights of a token sum to this.
        d_model: width of a token vector.
        d_expert: hidden width of one expert.
        n_shared: shared experts (0: none, so every token depends on its routed experts).
        router_init: the router's initial weights are scaled by this (small: the affinities
            start near 0.5 instead of saturated, as in a router initialised with a small std).
        n_clusters: clusters of the synthetic task, each with its own target map.
        offset: length of the offset shared by every cluster centre.
        cluster_radius: distance of each centre from the shared offset.
        noise: standard deviation of a token around its centre (per coordinate).
        tokens_per_step: tokens in one training batch T.
        steps: optimiser steps.
        learning_rate: Adam learning rate.
        aux_coef: coefficient of the Switch auxiliary loss (method ``"aux_loss"``).
        bias_step: the bias update speed γ (method ``"bias"``).
        eval_tokens: tokens in the fixed evaluation batch.
        seed: seed of the task, the initial weights and the batches.
    """

    n_experts: int = 8
    top_k: int = 2
    n_group: int = 1
    topk_group: int = 1
    routed_scaling_factor: float = 1.0
    d_model: int = 16
    d_expert: int = 16
    n_shared: int = 0
    router_init: float = 0.1
    n_clusters: int = 16
    offset: float = 8.0
    cluster_radius: float = 2.0
    noise: float = 0.5
    tokens_per_step: int = 512
    steps: int = 300
    learning_rate: float = 0.01
    aux_coef: float = 0.3
    bias_step: float = 0.01
    eval_tokens: int = 8192
    seed: int = 0


@dataclass(frozen=True)
class Task:
    """The synthetic task: cluster centres ``[C, d]`` and target maps ``[C, d, d]`` (float32)."""

    centres: torch.Tensor
    maps: torch.Tensor
    noise: float

    def sample(self, n_tokens: int, generator: torch.Generator) -> tuple[torch.Tensor, ...]:
        """Draw ``n_tokens`` tokens: inputs ``x [T, d]``, targets ``y [T, d]``, clusters ``[T]``."""
        cluster = torch.randint(0, len(self.centres), (n_tokens,), generator=generator)
        x = self.centres[cluster] + self.noise * torch.randn(
            n_tokens, self.centres.shape[1], generator=generator
        )
        y = torch.einsum("tij,tj->ti", self.maps[cluster], x)
        return x, y, cluster


def make_task(config: Config) -> Task:
    """The clusters and their target maps, drawn from ``config.seed``."""
    generator = torch.Generator().manual_seed(config.seed)
    d = config.d_model
    spread = torch.randn(config.n_clusters, d, generator=generator)
    spread = config.cluster_radius * spread / spread.norm(dim=1, keepdim=True)
    shared = torch.randn(d, generator=generator)
    centres = spread + config.offset * shared / shared.norm()
    maps = torch.randn(config.n_clusters, d, d, generator=generator) / d**0.5
    return Task(centres=centres, maps=maps, noise=config.noise)


def overflow_share(load: np.ndarray, capacity_factor: float) -> float:
    """The share of token-slots beyond each expert's capacity (dropped, if nothing reroutes them).

    An expert's capacity is ``capacity_factor`` × its fair share, mean(load).
    """
    load = np.asarray(load, dtype=np.float64)
    capacity = capacity_factor * load.mean()
    return float(np.clip(load - capacity, 0.0, None).sum() / load.sum())


def make_layer(config: Config, layer_class: type[nn.Module] = MoELayer) -> nn.Module:
    """A freshly initialised MoE layer for ``config``, its weights drawn from ``config.seed``.

    ``layer_class`` is the reference layer by default; the chapter also passes the learner's
    ``moe.MoELayer``, which creates its weights in the same order and so starts identical.
    """
    torch.manual_seed(config.seed + 1)
    return new_layer(layer_class, config)


def new_layer(layer_class: type[nn.Module], config: Config) -> nn.Module:
    """``layer_class`` (``moe.MoELayer`` or the reference) built with ``config``'s sizes.

    Its weights come from torch's global generator (seed it first); the router's weights are
    then scaled by ``config.router_init``.
    """
    layer = layer_class(
        config.d_model,
        config.d_expert,
        config.n_experts,
        config.n_shared,
        n_group=config.n_group,
        topk_group=config.topk_group,
        top_k=config.top_k,
        routed_scaling_factor=config.routed_scaling_factor,
    )
    with torch.no_grad():
        layer.gate_weight.mul_(config.router_init)
    return layer


def eval_batch(config: Config) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The fixed evaluation batch: inputs ``[T, d]``, targets ``[T, d]`` and clusters ``[T]``."""
    return make_task(config).sample(config.eval_tokens, torch.Generator().manual_seed(EVAL_SEED))


def routing_by_cluster(layer: nn.Module, config: Config) -> np.ndarray:
    """Share of each cluster's choices going to each expert on the evaluation batch ``[C, N]``.

    ``layer`` follows ``moe.MoELayer``'s contract (``last_indices`` after a forward pass).
    Rows sum to 1; with k choices per token one expert gets at most 1/k of a row.
    """
    x, _, cluster = eval_batch(config)
    with torch.no_grad():
        layer(x)
    chosen = layer.last_indices
    counts = torch.zeros(config.n_clusters, config.n_experts, dtype=torch.float64)
    counts.index_put_(
        (cluster.repeat_interleave(chosen.shape[1]), chosen.flatten()),
        torch.ones(chosen.numel(), dtype=torch.float64),
        accumulate=True,
    )
    return (counts / counts.sum(dim=1, keepdim=True)).numpy()


@contextmanager
def deterministic_cpu() -> Iterator[None]:
    """One thread and deterministic kernels, restored afterwards (same numbers everywhere)."""
    threads = torch.get_num_threads()
    deterministic = torch.are_deterministic_algorithms_enabled()
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    try:
        yield
    finally:
        torch.set_num_threads(threads)
        torch.use_deterministic_algorithms(deterministic)
