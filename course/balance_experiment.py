"""A tiny Mixture-of-Experts trained three ways: no balancing, an auxiliary loss, a routing bias.

Used by chapter 6, "Keeping experts busy" (topic ``balance``). This module is not an exercise:
it is the laboratory the chapter runs, written so that every number the page shows can be
reproduced on a laptop CPU in seconds. It implements its own router and balancing rules (in
torch) and does not use the learner's answers; the chapter checks that the two agree.

The task has structure on purpose. Tokens are vectors in ``d_model`` dimensions drawn around
``n_clusters`` centres, and every cluster has its own linear map from input to target, so a
model does best when different experts learn different clusters. All clusters share a large
common offset, as real hidden states do, which at initialisation makes the router prefer the
same few experts for every token: the starting point of a collapse.

The model is one MoE layer: ``n_experts`` linear experts, a router with one centroid per expert,
sigmoid affinities ``s = sigmoid(x · centroid)``, the ``top_k`` experts chosen by ``s + bias``
(the bias moves selection only), and each chosen expert's output weighted by its unbiased
affinity. Unlike DeepSeek-V3, the chosen affinities are not renormalised to sum to one; that
keeps the toy simple and does not change the balancing rules.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace

import numpy as np
import torch

METHODS = ("none", "aux_loss", "bias")
"""The three ways of training: no balancing, the Switch auxiliary loss, the bias update."""


@dataclass(frozen=True)
class Config:
    """Sizes and knobs of the experiment (defaults: the runs in the chapter).

    Attributes:
        n_experts: routed experts N.
        top_k: experts chosen per token k.
        d_model: width of a token vector.
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
    d_model: int = 16
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


class TinyMoE(torch.nn.Module):
    """One MoE layer: linear experts, sigmoid router, top-k selection on affinity + bias."""

    def __init__(self, config: Config, generator: torch.Generator) -> None:
        super().__init__()
        n, d = config.n_experts, config.d_model
        self.top_k = config.top_k
        self.centroids = torch.nn.Parameter(0.1 * torch.randn(n, d, generator=generator))
        self.experts = torch.nn.Parameter(torch.randn(n, d, d, generator=generator) / d**0.5)
        self.register_buffer("bias", torch.zeros(n))

    def route(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Affinities ``[T, N]`` in (0, 1) and the chosen experts ``[T, k]`` (int64).

        The bias is added for the choice only; the affinities returned are unbiased.
        """
        affinity = torch.sigmoid(x @ self.centroids.T)
        chosen = torch.topk(affinity.detach() + self.bias, self.top_k, dim=1).indices
        return affinity, chosen

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Output ``[T, d]``, affinities ``[T, N]`` and chosen experts ``[T, k]`` for ``x [T, d]``."""
        affinity, chosen = self.route(x)
        gate = affinity.gather(1, chosen)  # [T, k], unbiased affinities of the chosen experts
        every_expert = torch.einsum("td,nod->tno", x, self.experts)  # [T, N, d]
        picked = every_expert.gather(1, chosen[..., None].expand(-1, -1, x.shape[1]))
        return (gate[..., None] * picked).sum(dim=1), affinity, chosen


def expert_load(chosen: torch.Tensor, n_experts: int) -> torch.Tensor:
    """Tokens sent to each expert ``[N]`` (float32) from the choices ``[T, k]``."""
    return torch.bincount(chosen.flatten(), minlength=n_experts).to(torch.float32)


def switch_aux_loss(affinity: torch.Tensor, chosen: torch.Tensor) -> torch.Tensor:
    """N · Σᵢ fᵢ · Pᵢ: fᵢ the share of the T·k choices, Pᵢ the mean normalised affinity.

    Only Pᵢ carries a gradient; fᵢ counts discrete choices. 1.0 for a balanced router.
    """
    n_experts = affinity.shape[1]
    share = expert_load(chosen, n_experts) / chosen.numel()
    mean_prob = (affinity / affinity.sum(dim=1, keepdim=True)).mean(dim=0)
    return n_experts * (share * mean_prob).sum()


def bias_step(bias: torch.Tensor, load: torch.Tensor, gamma: float) -> torch.Tensor:
    """The auxiliary-loss-free update: bᵢ + γ · sign(mean load − loadᵢ) (a new tensor)."""
    return bias + gamma * torch.sign(load.mean() - load)


def load_ratio(load: torch.Tensor | np.ndarray) -> float:
    """Max load / mean load: 1.0 when balanced, N when every token goes to one expert."""
    load = np.asarray(load, dtype=np.float64)
    return float(load.max() / load.mean())


def overflow_share(load: np.ndarray, capacity_factor: float) -> float:
    """The share of token-slots beyond each expert's capacity (dropped, if nothing reroutes them).

    An expert's capacity is ``capacity_factor`` × its fair share, mean(load).
    """
    load = np.asarray(load, dtype=np.float64)
    capacity = capacity_factor * load.mean()
    return float(np.clip(load - capacity, 0.0, None).sum() / load.sum())


@dataclass
class Run:
    """What one training run leaves behind (arrays are numpy, one entry per step or expert).

    Attributes:
        method: one of ``METHODS``.
        config: the configuration it ran with.
        load_ratio: max/mean load of each training batch ``[steps]``.
        task_loss: mean squared error of each training batch ``[steps]``.
        eval_load: tokens per expert on the evaluation batch ``[N]``.
        eval_task_loss: mean squared error on the evaluation batch.
        routing: share of each cluster's choices going to each expert ``[C, N]`` (rows sum to 1).
        final_bias: the routing bias at the end ``[N]`` (zeros unless ``method == "bias"``).
        seconds: wall-clock time of the training loop.
    """

    method: str
    config: Config
    load_ratio: np.ndarray
    task_loss: np.ndarray
    eval_load: np.ndarray
    eval_task_loss: float
    routing: np.ndarray
    final_bias: np.ndarray
    seconds: float = field(default=0.0)


@contextmanager
def _deterministic_cpu() -> Iterator[None]:
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


def train(method: str, config: Config = Config()) -> Run:
    """Train the tiny MoE with one balancing ``method`` and return its curves and final routing."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, not {method!r}")
    with _deterministic_cpu():
        task = make_task(config)
        model = TinyMoE(config, torch.Generator().manual_seed(config.seed + 1))
        optimiser = torch.optim.Adam(model.parameters(), lr=config.learning_rate)
        batches = torch.Generator().manual_seed(config.seed + 2)
        ratios, losses = np.empty(config.steps), np.empty(config.steps)
        start = time.perf_counter()
        for step in range(config.steps):
            x, y, _ = task.sample(config.tokens_per_step, batches)
            out, affinity, chosen = model(x)
            task_loss = torch.mean((out - y) ** 2)
            loss = task_loss
            if method == "aux_loss":
                loss = loss + config.aux_coef * switch_aux_loss(affinity, chosen)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            load = expert_load(chosen, config.n_experts)
            if method == "bias":
                model.bias = bias_step(model.bias, load, config.bias_step)
            ratios[step], losses[step] = load_ratio(load), task_loss.item()
        seconds = time.perf_counter() - start
        with torch.no_grad():
            x, y, cluster = task.sample(config.eval_tokens, torch.Generator().manual_seed(10**6))
            out, _, chosen = model(x)
            eval_loss = torch.mean((out - y) ** 2).item()
            counts = torch.zeros(config.n_clusters, config.n_experts)
            counts.index_put_(
                (cluster.repeat_interleave(config.top_k), chosen.flatten()),
                torch.ones(chosen.numel()),
                accumulate=True,
            )
    return Run(
        method=method,
        config=config,
        load_ratio=ratios,
        task_loss=losses,
        eval_load=counts.sum(dim=0).numpy().astype(np.float64),
        eval_task_loss=eval_loss,
        routing=(counts / counts.sum(dim=1, keepdim=True)).numpy().astype(np.float64),
        final_bias=model.bias.numpy().astype(np.float64),
        seconds=seconds,
    )


def train_all(config: Config = Config()) -> dict[str, Run]:
    """The three runs of the chapter, keyed by method."""
    return {method: train(method, config) for method in METHODS}


def aux_sweep(coefficients: tuple[float, ...], config: Config = Config()) -> list[Run]:
    """Runs of the auxiliary-loss method, one per coefficient."""
    return [train("aux_loss", replace(config, aux_coef=c)) for c in coefficients]
