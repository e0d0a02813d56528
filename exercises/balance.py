"""Load balancing for Mixture-of-Experts routers: the losses, the bias update, a metric, training.

Topic module ``balance`` (chapter 6, "Keeping experts busy"). A router sends each of T tokens
to k of N experts. These functions measure how evenly it does so (max/mean load), implement
the three balancing rules of the chapter (the Switch Transformer's auxiliary loss, DeepSeek-V3's
sequence-wise loss, DeepSeek-V3's auxiliary-loss-free bias update) and use them to train a
small MoE layer (``train_moe``).

Inputs and outputs. The losses and the bias update accept numpy arrays or torch tensors and
return the same kind they were given: numpy in, numpy out (a float for a loss); torch in,
torch out, with the autograd graph kept, so a loss can be added to a training loss. Arrays are
never modified in place.

Exercises: replace each `raise NotImplementedError` with your implementation.
Check your work with `make grade` or `pytest tests/test_balance.py`.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from course import balance_experiment as lab
from course.balance_experiment import Config

Array = np.ndarray | torch.Tensor


def switch_loss(probs: Array, chosen: Array) -> Array | float:
    """The Switch Transformer load-balancing loss N · Σᵢ fᵢ · Pᵢ (without its coefficient).

    fᵢ is the share of all T · k routing choices that went to expert i (experts nobody chose
    count 0); Pᵢ is the router probability of expert i averaged over the T tokens.

    Args:
        probs: float ``[T, N]``, router probabilities (rows sum to 1).
        chosen: int ``[T, k]``, the k distinct experts each token was sent to (k = 1 for a
            top-1 router).

    Returns:
        The loss: 1.0 for a perfectly balanced router (fᵢ = Pᵢ = 1/N), for any k, because fᵢ
        is the share of the T · k choices; N when one expert takes every token with
        probability 1 (top-1). Numpy in, a float out; torch in, a 0-d tensor out that keeps
        the autograd graph of ``probs`` (fᵢ counts choices and carries no gradient).
    """
    raise NotImplementedError


def sequence_balance_loss(scores: Array, chosen: Array, alpha: float = 1e-4) -> Array | float:
    """DeepSeek-V3's complementary sequence-wise balance loss for one sequence.

    With N routed experts, K chosen per token and T tokens in the sequence (V3 report §2.1.2):
    fᵢ = N / (K · T) · (tokens of the sequence that chose i), s'ₜᵢ = sₜᵢ / Σⱼ sₜⱼ,
    Pᵢ = (1/T) Σₜ s'ₜᵢ, and the loss is α · Σᵢ fᵢ · Pᵢ.

    Args:
        scores: float ``[T, N]`` of positive affinities sₜᵢ (sigmoid outputs, rows do not sum
            to 1).
        chosen: int ``[T, K]``, the experts each token was sent to.
        alpha: the balance factor α (DeepSeek-V3 uses 0.0001).

    Returns:
        The loss: α for a perfectly balanced sequence (fᵢ = 1, Pᵢ = 1/N), up to α · N / K when
        K experts take every token and all the affinity. Numpy in, a float out; torch in, a
        0-d tensor out that keeps the autograd graph of ``scores``.
    """
    raise NotImplementedError


def bias_update(bias: Array, load: Array, gamma: float) -> Array:
    """One step of DeepSeek-V3's auxiliary-loss-free balancing: bᵢ + γ · sign(mean load − loadᵢ).

    Args:
        bias: float ``[N]``, the routing bias added to affinities for selection only.
        load: ``[N]``, tokens each expert received in the last step (counts or shares).
        gamma: the bias update speed γ (DeepSeek-V3 uses 0.001).

    Returns:
        A new float array ``[N]`` (``bias`` is not modified): under-loaded experts gain γ,
        over-loaded ones lose γ, an expert with exactly the mean load keeps its bias. Numpy
        in, numpy out; torch in, torch out (with ``bias``'s dtype).
    """
    raise NotImplementedError


def max_load_ratio(load: Array) -> float:
    """The balance metric max load / mean load.

    Args:
        load: ``[N]`` tokens per expert (at least one positive), numpy or torch.

    Returns:
        A float ≥ 1: 1.0 when every expert has the same load, N when one expert has it all.
        With one expert per device, it is how much longer a step takes than a balanced one.
    """
    raise NotImplementedError


def train_moe(
    method: str, config: Config | None = None, layer: nn.Module | None = None
) -> dict[str, np.ndarray | float]:
    """Train one MoE layer on the chapter's task, balancing its load with ``method``.

    The layer takes ``config.steps`` Adam steps (learning rate ``config.learning_rate``, on its
    parameters), one per batch of ``config.tokens_per_step`` tokens; the batches are
    ``course.balance_experiment.make_task(config).sample(T, generator)`` with one
    ``torch.Generator`` seeded with ``config.seed + 2`` for all of them. A batch's task loss is
    the mean squared error of the layer's output against its targets; what each step minimises
    and what it changes depend on ``method``:

    - ``"none"``: the task loss alone.
    - ``"aux_loss"``: the task loss plus ``config.aux_coef × switch_loss(P, chosen)``, with
      P the layer's scores normalised per token (each row divided by its sum), so that the
      gradient reaches the router through P.
    - ``"bias"``: the task loss alone; after each step the layer's ``gate_bias`` is
      ``bias_update(gate_bias, load, config.bias_step)`` of that batch's load (it moves
      selection only).

    Args:
        method: ``"none"``, ``"aux_loss"`` or ``"bias"``.
        config: sizes and knobs (``course.balance_experiment.Config``; default ``Config()``).
        layer: the layer to train, in place; it follows ``moe.MoELayer``'s contract: after a
            forward pass, ``last_indices [T, k]`` and ``last_scores [T, N]`` (sigmoid
            affinities, in the autograd graph) hold its routing, and ``gate_bias [N]`` is the
            selection bias. Default: ``course.balance_experiment.make_layer(config)``, the
            reference layer, initialised from ``config.seed``.

    Returns:
        A dict: ``"load_ratio"`` (``[steps]``, max/mean load of each training batch),
        ``"task_loss"`` (``[steps]``, each batch's task loss before its update),
        ``"eval_load"`` (``[N]``, tokens per expert on the fixed evaluation batch
        ``course.balance_experiment.eval_batch(config)`` after training),
        ``"eval_task_loss"`` (float, the task loss there) and ``"final_bias"`` (``[N]``,
        the layer's ``gate_bias`` at the end); numpy float64 arrays. The same config and the
        same initial layer give the same numbers: the run uses one torch thread and
        deterministic kernels (``course.balance_experiment.deterministic_cpu()``).

    Raises:
        ValueError: for an unknown ``method``.
    """
    raise NotImplementedError
