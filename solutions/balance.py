"""Load balancing for Mixture-of-Experts routers: the losses, the bias update and a metric.

Topic module ``balance`` (chapter 6, "Keeping experts busy"). A router sends each of T tokens
to k of N experts. These functions measure how evenly it does so (the shares fᵢ, the mean
probabilities Pᵢ, max/mean load), and implement the three balancing rules of the chapter: the
Switch Transformer's auxiliary loss, DeepSeek-V3's sequence-wise loss, and DeepSeek-V3's
auxiliary-loss-free bias update. Everything is numpy; arrays are never modified in place.
"""

from __future__ import annotations

import numpy as np


def expert_fractions(chosen: np.ndarray, n_experts: int) -> np.ndarray:
    """The share fᵢ of all routing choices that went to each expert.

    Args:
        chosen: int array ``[T, k]``: row t holds the k distinct experts chosen for token t
            (k = 1 for a top-1 router).
        n_experts: the number of experts N (experts that got no token count as 0).

    Returns:
        float64 array ``[N]``: fᵢ = (number of rows that contain i) / (T · k). The shares sum
        to 1; a perfectly balanced router gives 1/N each.
    """
    counts = np.bincount(np.asarray(chosen).ravel(), minlength=n_experts)
    return counts / np.asarray(chosen).size


def mean_probabilities(probs: np.ndarray) -> np.ndarray:
    """The router probability Pᵢ of each expert, averaged over the tokens.

    Args:
        probs: float array ``[T, N]``: row t is token t's probability over the N experts
            (each row sums to 1).

    Returns:
        float64 array ``[N]``: Pᵢ = (1/T) Σₜ probs[t, i]. Sums to 1.
    """
    return np.asarray(probs, dtype=np.float64).mean(axis=0)


def switch_loss(probs: np.ndarray, chosen: np.ndarray) -> float:
    """The Switch Transformer load-balancing loss N · Σᵢ fᵢ · Pᵢ (without its coefficient).

    Args:
        probs: float array ``[T, N]``, router probabilities (rows sum to 1).
        chosen: int array ``[T, k]``, the experts each token was sent to.

    Returns:
        The loss, a float: 1.0 for a perfectly balanced router (fᵢ = Pᵢ = 1/N), for any k,
        because fᵢ is the share of the T · k choices; N when one expert takes every token
        with probability 1 (top-1).
    """
    n_experts = np.shape(probs)[1]
    shares = expert_fractions(chosen, n_experts)
    return float(n_experts * np.sum(shares * mean_probabilities(probs)))


def sequence_balance_loss(scores: np.ndarray, chosen: np.ndarray, alpha: float = 1e-4) -> float:
    """DeepSeek-V3's complementary sequence-wise balance loss for one sequence.

    With N routed experts, K chosen per token and T tokens in the sequence (V3 report §2.1.2):
    fᵢ = N / (K · T) · (tokens of the sequence that chose i), s'ₜᵢ = sₜᵢ / Σⱼ sₜⱼ,
    Pᵢ = (1/T) Σₜ s'ₜᵢ, and the loss is α · Σᵢ fᵢ · Pᵢ.

    Args:
        scores: float array ``[T, N]`` of positive affinities sₜᵢ (sigmoid outputs, rows do
            not sum to 1).
        chosen: int array ``[T, K]``, the experts each token was sent to.
        alpha: the balance factor α (DeepSeek-V3 uses 0.0001).

    Returns:
        The loss, a float: α for a perfectly balanced sequence (fᵢ = 1, Pᵢ = 1/N), up to
        α · N / K when K experts take every token and all the affinity.
    """
    scores = np.asarray(scores, dtype=np.float64)
    n_tokens, n_experts = scores.shape
    k = np.shape(chosen)[1]
    counts = np.bincount(np.asarray(chosen).ravel(), minlength=n_experts)
    f = n_experts / (k * n_tokens) * counts
    p = (scores / scores.sum(axis=1, keepdims=True)).mean(axis=0)
    return float(alpha * np.sum(f * p))


def bias_update(bias: np.ndarray, load: np.ndarray, gamma: float) -> np.ndarray:
    """One step of DeepSeek-V3's auxiliary-loss-free balancing: bᵢ + γ · sign(mean load − loadᵢ).

    Args:
        bias: float array ``[N]``, the routing bias added to affinities for selection only.
        load: array ``[N]``, tokens each expert received in the last step (counts or shares).
        gamma: the bias update speed γ (DeepSeek-V3 uses 0.001).

    Returns:
        A new float array ``[N]`` (``bias`` is not modified): under-loaded experts gain γ,
        over-loaded ones lose γ, an expert with exactly the mean load keeps its bias.
    """
    load = np.asarray(load, dtype=np.float64)
    return np.asarray(bias) + gamma * np.sign(load.mean() - load)


def max_load_ratio(load: np.ndarray) -> float:
    """The balance metric max load / mean load.

    Args:
        load: array ``[N]`` of tokens per expert (at least one positive).

    Returns:
        A float ≥ 1: 1.0 when every expert has the same load, N when one expert has it all.
        With one expert per device, it is how much longer a step takes than a balanced one.
    """
    load = np.asarray(load, dtype=np.float64)
    return float(load.max() / load.mean())
