"""GRPO and the bill for reinforcement learning.

Topic module ``rl`` (chapter 11, "R1: reasoning from reinforcement learning, and its bill").
DeepSeek-R1 was made from DeepSeek-V3-Base by reinforcement learning with GRPO (Group Relative
Policy Optimization, from DeepSeekMath). These exercises build GRPO's three pieces, train a
tiny policy with them on a task whose answers a function checks (``course.rl_task``), and
count where the compute of an RL step goes for a V3-sized policy.

Conventions. A batch holds B prompts with G completions each (a *group*), N = B · G
completions in all, each at most T tokens long. Rewards come as ``[B, G]``; per-token
quantities as ``[N, T]``, with completions of the same prompt next to each other (row
i · G + j is completion j of prompt i). A mask ``[N, T]`` is 1.0 on generated tokens (the end
token included) and 0.0 on padding.
"""

from __future__ import annotations

import copy
from collections.abc import Callable

import numpy as np
import torch

from course import rl_task as task
from course.rl_task import Config

Array = np.ndarray | torch.Tensor


def group_advantages(rewards: Array) -> Array:
    """GRPO's advantages: each reward minus its group's mean, over its group's standard deviation.

    The standard deviation is the population one (divide by G, not G − 1). A group whose
    rewards are all equal carries no signal: its advantages are 0.0 (not NaN).

    Args:
        rewards: float ``[B, G]``, one row per prompt, G ≥ 2 completions per row.

    Returns:
        float ``[B, G]``, the same kind as the input (numpy in, numpy out; torch in, torch
        out). Each row of a group that is not constant has mean 0 and population standard
        deviation 1.

    Raises:
        ValueError: if ``rewards`` is not 2-D, a group has fewer than 2 completions, or a
            reward is not finite.
    """
    is_torch = isinstance(rewards, torch.Tensor)
    r = rewards.detach().double() if is_torch else torch.as_tensor(np.asarray(rewards, float))
    if r.ndim != 2:
        raise ValueError(f"rewards must be [B, G], got shape {tuple(r.shape)}")
    if r.shape[1] < 2:
        raise ValueError(f"a group needs at least 2 completions to compare, got G = {r.shape[1]}")
    if not torch.isfinite(r).all():
        raise ValueError("rewards must be finite numbers")
    centred = r - r.mean(dim=1, keepdim=True)
    std = centred.pow(2).mean(dim=1, keepdim=True).sqrt()
    out = torch.where(std > 0, centred / torch.where(std > 0, std, 1.0), 0.0)
    if is_torch:
        return out.to(rewards.dtype if rewards.is_floating_point() else torch.float32)
    return out.numpy()


def grpo_loss(
    logp: torch.Tensor,
    old_logp: torch.Tensor,
    ref_logp: torch.Tensor,
    advantages: torch.Tensor,
    mask: torch.Tensor,
    *,
    clip_eps: float = 0.2,
    beta: float = 0.04,
) -> torch.Tensor:
    """GRPO's loss (the negative of its objective) for a batch of completions, per token.

    For token t of completion i, with ratio ρ = exp(logp − old_logp) and advantage Aᵢ:
    objective = min(ρ · Aᵢ, clip(ρ, 1 − ε, 1 + ε) · Aᵢ) − β · KL, where the KL penalty to the
    reference policy is the unbiased estimator exp(ref_logp − logp) − (ref_logp − logp) − 1
    (zero where the policies agree, never negative). The objective is averaged over each
    completion's generated tokens (the mask), then over the completions: every completion
    weighs the same, whatever its length, as in DeepSeekMath. The loss is minus that.

    Args:
        logp: float ``[N, T]``, log-probabilities of the completion tokens under the policy
            being trained (in the autograd graph).
        old_logp: float ``[N, T]``, the same under the policy that sampled the completions
            (no gradient).
        ref_logp: float ``[N, T]``, the same under the frozen reference policy (no gradient).
        advantages: float ``[N]``, one per completion.
        mask: ``[N, T]``, 1 on generated tokens, 0 on padding.
        clip_eps: ε, the clip range of the ratio.
        beta: β, the weight of the KL penalty.

    Returns:
        A 0-d tensor in the graph of ``logp``. Padding never changes it, whatever the values
        there.

    Raises:
        ValueError: if the shapes differ, or a completion has no generated token.
    """
    if not (logp.shape == old_logp.shape == ref_logp.shape == mask.shape) or logp.ndim != 2:
        raise ValueError(
            f"logp, old_logp, ref_logp and mask must share one [N, T] shape, got "
            f"{[tuple(x.shape) for x in (logp, old_logp, ref_logp, mask)]}"
        )
    if advantages.shape != logp.shape[:1]:
        raise ValueError(
            f"advantages must be [N] = [{logp.shape[0]}], got {tuple(advantages.shape)}"
        )
    mask = mask.to(logp.dtype)
    lengths = mask.sum(dim=1)
    if bool((lengths == 0).any()):
        raise ValueError("a completion has no generated tokens: its mask row is all zero")
    keep = mask > 0
    zero = torch.zeros_like(logp)
    logp = torch.where(keep, logp, zero)  # padding may hold anything, even inf
    old = torch.where(keep, old_logp.detach().to(logp.dtype), zero)
    ref = torch.where(keep, ref_logp.detach().to(logp.dtype), zero)
    adv = advantages.detach().to(logp.dtype).unsqueeze(1)
    ratio = torch.exp(logp - old)
    surrogate = torch.minimum(ratio * adv, torch.clamp(ratio, 1 - clip_eps, 1 + clip_eps) * adv)
    log_ref_ratio = ref - logp
    kl = torch.exp(log_ref_ratio) - log_ref_ratio - 1
    per_token = torch.where(keep, surrogate - beta * kl, zero)
    per_completion = per_token.sum(dim=1) / lengths
    return -per_completion.mean()


def train_grpo(
    config: Config,
    policy: torch.nn.Module | None = None,
    reward_fn: Callable[[list[int], list[int]], float] | None = None,
) -> dict:
    """Train a policy on the toy task of ``course.rl_task`` with GRPO; return what happened.

    Each step: draw ``config.prompts_per_step`` prompts (``task.sample_prompts``), sample
    ``config.group_size`` completions of each with the current policy (``task.generate``, at
    ``config.temperature``), score them (``task.rewards``, with ``config.format_reward``), turn
    the rewards into advantages per group (``group_advantages``), then take
    ``config.updates_per_step`` Adam steps on ``grpo_loss`` (ε = ``config.clip_eps``,
    β = ``config.beta``), with the log-probabilities of the sampling policy held fixed and a
    frozen copy of the starting policy as the reference. Seed torch and the sampling from
    ``config.seed`` and use one thread, so the same config gives the same numbers.

    Args:
        config: the run's sizes and knobs.
        policy: the policy to train in place (``task.make_policy(config)`` when None).
        reward_fn: ``reward_fn(prompt_tokens, completion_tokens)`` → float, passed on to
            ``task.rewards`` (None: the task's own rule-based reward). If it raises, the
            ValueError of ``task.rewards`` propagates. A reward that is the same for every
            completion gives zero advantages: training then never moves the policy from the
            reference, and nothing becomes NaN.

    Returns:
        A dict: ``"reward"`` float ``[steps]`` (mean reward of each step's samples),
        ``"accuracy"`` float ``[steps]`` (share of each step's samples that are right),
        ``"eval_before"`` and ``"eval_after"`` (``task.evaluate`` of the policy before and
        after training: greedy accuracy and reward on every prompt).
    """
    torch.set_num_threads(1)
    torch.manual_seed(config.seed)
    generator = torch.Generator().manual_seed(config.seed)
    policy = task.make_policy(config) if policy is None else policy
    reference = copy.deepcopy(policy).requires_grad_(False)
    optimizer = torch.optim.Adam(policy.parameters(), lr=config.learning_rate)
    before = task.evaluate(policy, config)
    history = {"reward": [], "accuracy": []}
    g = config.group_size
    for _ in range(config.steps):
        prompts = task.sample_prompts(config, config.prompts_per_step, generator)
        prompts = prompts.repeat_interleave(g, dim=0)
        completions, mask = task.generate(
            policy, prompts, generator, temperature=config.temperature
        )
        scores = task.rewards(prompts, completions, reward_fn, config.format_reward)
        advantages = group_advantages(scores.view(-1, g)).reshape(-1)
        with torch.no_grad():
            old_logp = task.token_logprobs(policy, prompts, completions)
            ref_logp = task.token_logprobs(reference, prompts, completions)
        for _ in range(config.updates_per_step):
            logp = task.token_logprobs(policy, prompts, completions)
            loss = grpo_loss(
                logp,
                old_logp,
                ref_logp,
                advantages,
                mask,
                clip_eps=config.clip_eps,
                beta=config.beta,
            )
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        history["reward"].append(float(scores.mean()))
        history["accuracy"].append(float((scores == 1.0).float().mean()))
    return {
        "reward": np.array(history["reward"]),
        "accuracy": np.array(history["accuracy"]),
        "eval_before": before,
        "eval_after": task.evaluate(policy, config),
    }


def rl_step_flops(
    n_active: float,
    completions: int,
    prompt_tokens: float,
    output_tokens: float,
    *,
    updates: int = 1,
) -> dict[str, float]:
    """FLOPs of one GRPO step for a policy with ``n_active`` parameters used per token.

    Counts matrix products only (attention's own FLOPs are left out): a forward pass costs
    2 · n_active FLOPs per token, a forward and backward pass 6 · n_active. Every completion is
    a sequence of ``prompt_tokens + output_tokens`` tokens, and the step

    - ``"rollout"``: generates it (the prompt read once, each output token produced by a
      forward pass): 2 · n_active per token of the sequence;
    - ``"reference"``: scores it with the frozen reference policy, one forward pass;
    - ``"update"``: trains on it, a forward and backward pass per gradient step, ``updates``
      times. (The sampling policy's log-probabilities come with the rollout.)

    Args:
        n_active: parameters used per token (activated parameters for an MoE).
        completions: completions in the step, B · G.
        prompt_tokens: tokens of one prompt (average).
        output_tokens: tokens of one completion (average).
        updates: gradient steps per batch of samples (μ).

    Returns:
        A dict of FLOPs: ``"rollout"``, ``"reference"``, ``"update"`` and their ``"total"``.

    Raises:
        ValueError: if a count is negative or ``updates`` is below 1.
    """
    if min(n_active, completions, prompt_tokens, output_tokens) < 0 or updates < 1:
        raise ValueError("counts must be non-negative and updates at least 1")
    tokens = float(completions) * (prompt_tokens + output_tokens)
    out = {
        "rollout": 2.0 * n_active * tokens,
        "reference": 2.0 * n_active * tokens,
        "update": 6.0 * n_active * tokens * updates,
    }
    out["total"] = sum(out.values())
    return out


def rl_bill(runs: dict[str, float | tuple[float, float]], price_per_gpu_hour: float) -> dict:
    """GPU-hours and dollars of a sequence of runs, each as GPUs × hours or as GPU-hours.

    Args:
        runs: stage name → ``(gpus, hours)`` for a run on a number of GPUs for a time, or a
            number of GPU-hours when only that is given.
        price_per_gpu_hour: USD per GPU-hour (an assumed rental price).

    Returns:
        ``{"gpu_hours": {stage: GPU-hours}, "total_gpu_hours": float, "usd": float}``.

    Raises:
        ValueError: for no runs, a negative count or a negative price.
    """
    if not runs:
        raise ValueError("no runs to add up")
    if price_per_gpu_hour < 0:
        raise ValueError(f"a negative price: {price_per_gpu_hour}")
    hours = {}
    for name, run in runs.items():
        parts = run if isinstance(run, tuple) else (run,)
        if any(float(x) < 0 for x in parts):
            raise ValueError(f"run {name!r} has a negative count: {run}")
        hours[name] = float(np.prod([float(x) for x in parts]))
    total = sum(hours.values())
    return {"gpu_hours": hours, "total_gpu_hours": total, "usd": total * price_per_gpu_hour}
