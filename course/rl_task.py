"""The laboratory of chapter 11 (R1 and reinforcement learning): a policy, a task and its reward.

This module is not an exercise. It holds what the chapter's GRPO runs need besides the
learner's own code: a toy task whose answers a function can check, a tiny autoregressive
policy that writes answers token by token, sampling, per-token log-probabilities, the
rule-based reward and a greedy evaluation. The GRPO pieces (advantages, the clipped
objective, the training loop) are the exercises of ``rl``.

The task. A prompt is ``a + b =`` with two digits a and b (0 to ``config.max_operand``); the
answer is the decimal digits of a + b followed by the end token, so a sum of 10 or more takes
three tokens and a smaller one two. A completion has at most ``MAX_NEW`` tokens; what follows
an end token is padding, outside the mask of generated tokens. The reward is 1 for the right
answer, ``config.format_reward`` for a well-formed wrong one (one or two digits, no leading
zero, then the end token) and 0 otherwise, rule-based as in DeepSeek-R1-Zero's accuracy and
format rewards.

Tokens: the digits 0–9 are the tokens 0–9; ``PLUS`` = 10, ``EQUALS`` = 11, ``EOS`` = 12 (the
end token) and ``PAD`` = 13, which fills the context after the end and is never generated.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

PLUS, EQUALS, EOS, PAD = 10, 11, 12, 13
N_OUT = 13
"""Tokens the policy can write: ten digits, ``+``, ``=`` and the end token."""
N_TOKENS = 14
"""Tokens the policy can read: the above and the padding token."""
PROMPT_LEN = 4
MAX_NEW = 3
"""Most tokens in a completion (two digits and the end token)."""
EVAL_SEED = 10**6


@dataclass(frozen=True)
class Config:
    """Sizes and knobs of a GRPO run on the toy task (defaults: the chapter's demonstration).

    Attributes:
        max_operand: the operands a and b range over 0..max_operand.
        d_embed: width of a token's embedding.
        hidden: hidden width of the policy's MLP.
        prompts_per_step: distinct prompts B in one RL step.
        group_size: completions G sampled per prompt (the GRPO group).
        steps: RL steps (each: sample, score, then ``updates_per_step`` gradient steps).
        updates_per_step: gradient steps on each batch of samples (μ in DeepSeekMath; with
            more than one the policy drifts from the sampling policy and the clip matters).
        learning_rate: Adam learning rate.
        clip_eps: the clip range ε of the policy ratio.
        beta: coefficient β of the KL penalty to the reference policy.
        format_reward: reward of a well-formed wrong answer (a right one scores 1).
        temperature: sampling temperature of the rollouts.
        seed: seed of the initial weights, the prompts and the sampling.
    """

    max_operand: int = 6
    d_embed: int = 16
    hidden: int = 128
    prompts_per_step: int = 64
    group_size: int = 8
    steps: int = 500
    updates_per_step: int = 2
    learning_rate: float = 2e-3
    clip_eps: float = 0.2
    beta: float = 0.04
    format_reward: float = 0.1
    temperature: float = 1.0
    seed: int = 0


# The graded test's run (and benchmarks/bench_rl.py's): sums of digits 0–2 (nine prompts), a
# narrower policy and 15 steps of 16 prompts at a higher learning rate; a few hundredths of a
# CPU-second, so that a batch of submissions can afford it.
GRADED = Config(max_operand=2, hidden=32, prompts_per_step=16, steps=15, learning_rate=3e-2)


class TinyPolicy(nn.Module):
    """A tiny language model: the whole context, one embedding per position, through an MLP.

    ``forward(context)`` takes int ``[N, PROMPT_LEN + MAX_NEW]`` token ids, padded with
    ``PAD`` after the last real token, and returns float ``[N, N_OUT]`` logits of the next
    token. Every position has its own embedding table, so the model knows where each token is.
    """

    def __init__(self, d_embed: int = 16, hidden: int = 128) -> None:
        super().__init__()
        length = PROMPT_LEN + MAX_NEW
        self.embed = nn.Parameter(torch.randn(length, N_TOKENS, d_embed) * 0.5)
        self.mlp = nn.Sequential(
            nn.Linear(length * d_embed, hidden), nn.Tanh(), nn.Linear(hidden, N_OUT)
        )

    def forward(self, context: torch.Tensor) -> torch.Tensor:
        """Next-token logits ``[N, N_OUT]`` for contexts ``[N, PROMPT_LEN + MAX_NEW]``."""
        positions = torch.arange(context.shape[1])
        vectors = self.embed[positions, context]  # [N, L, d]
        return self.mlp(vectors.flatten(1))


def make_policy(config: Config) -> TinyPolicy:
    """A freshly initialised policy, the same for the same ``config.seed``."""
    with torch.random.fork_rng():
        torch.manual_seed(config.seed)
        return TinyPolicy(config.d_embed, config.hidden)


def all_prompts(config: Config) -> torch.Tensor:
    """Every prompt of the task, int ``[(max_operand + 1)², PROMPT_LEN]``, in order of (a, b)."""
    digits = torch.arange(config.max_operand + 1)
    a, b = torch.meshgrid(digits, digits, indexing="ij")
    a, b = a.flatten(), b.flatten()
    return torch.stack([a, torch.full_like(a, PLUS), b, torch.full_like(a, EQUALS)], dim=1)


def sample_prompts(config: Config, n: int, generator: torch.Generator) -> torch.Tensor:
    """``n`` prompts drawn uniformly with replacement, int ``[n, PROMPT_LEN]``."""
    prompts = all_prompts(config)
    return prompts[torch.randint(len(prompts), (n,), generator=generator)]


def _context(prompts: torch.Tensor, completions: torch.Tensor, upto: int) -> torch.Tensor:
    """Prompts followed by the first ``upto`` completion tokens, padded to the full length."""
    n = prompts.shape[0]
    pad = torch.full((n, MAX_NEW - upto), PAD, dtype=torch.long)
    return torch.cat([prompts, completions[:, :upto], pad], dim=1)


def generate(
    policy: nn.Module,
    prompts: torch.Tensor,
    generator: torch.Generator | None = None,
    *,
    temperature: float = 1.0,
    greedy: bool = False,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Completions written token by token (no gradient), and the mask of generated tokens.

    Args:
        policy: maps contexts ``[N, PROMPT_LEN + MAX_NEW]`` to logits ``[N, N_OUT]``.
        prompts: int ``[N, PROMPT_LEN]``.
        generator: the random source of the sampling (ignored when ``greedy``).
        temperature: divides the logits before sampling.
        greedy: take the most likely token instead of sampling.

    Returns:
        ``(completions, mask)``: int ``[N, MAX_NEW]`` tokens, ``PAD`` after an end token, and
        float ``[N, MAX_NEW]``, 1.0 on each generated token (the end token included), 0.0 on
        padding.
    """
    n = prompts.shape[0]
    completions = torch.full((n, MAX_NEW), PAD, dtype=torch.long)
    done = torch.zeros(n, dtype=torch.bool)
    mask = torch.zeros(n, MAX_NEW)
    with torch.no_grad():
        for t in range(MAX_NEW):
            logits = policy(_context(prompts, completions, t))
            if greedy:
                token = logits.argmax(dim=1)
            else:
                probs = torch.softmax(logits / temperature, dim=1)
                token = torch.multinomial(probs, 1, generator=generator).squeeze(1)
            completions[:, t] = torch.where(done, torch.full_like(token, PAD), token)
            mask[:, t] = (~done).float()
            done = done | (token == EOS)
    return completions, mask


def token_logprobs(
    policy: nn.Module, prompts: torch.Tensor, completions: torch.Tensor
) -> torch.Tensor:
    """log π(token | context) of every completion token, float ``[N, MAX_NEW]``.

    Padding positions get 0.0 (their value does not matter: the mask removes them). Keeps the
    autograd graph of ``policy``, so the result can be differentiated.
    """
    n = prompts.shape[0]
    contexts = torch.cat([_context(prompts, completions, t) for t in range(MAX_NEW)], dim=0)
    logp = torch.log_softmax(policy(contexts), dim=1).view(MAX_NEW, n, N_OUT)
    target = completions.T.clamp(max=N_OUT - 1)  # [MAX_NEW, N]; PAD is read as a dummy
    picked = logp.gather(2, target.unsqueeze(2)).squeeze(2).T  # [N, MAX_NEW]
    return torch.where(completions == PAD, torch.zeros_like(picked), picked)


def answer_tokens(a: int, b: int) -> list[int]:
    """The right completion of ``a + b =``: the digits of the sum, then ``EOS``."""
    return [int(c) for c in str(a + b)] + [EOS]


def reward(prompt: list[int], completion: list[int], format_reward: float = 0.1) -> float:
    """The rule-based reward of one completion (token lists; padding is ignored).

    1.0 if the completion is the digits of a + b then ``EOS``; ``format_reward`` if it is one
    or two digits (no leading zero) then ``EOS`` but the wrong number; 0.0 otherwise (no end
    token, a symbol where a digit belongs, an empty answer).
    """
    tokens = [t for t in completion if t != PAD]
    if tokens == answer_tokens(prompt[0], prompt[2]):
        return 1.0
    digits = tokens[:-1]
    well_formed = (
        len(tokens) >= 2
        and tokens[-1] == EOS
        and all(0 <= t <= 9 for t in digits)
        and not (len(digits) > 1 and digits[0] == 0)
    )
    return format_reward if well_formed else 0.0


def rewards(
    prompts: torch.Tensor,
    completions: torch.Tensor,
    reward_fn: Callable[[list[int], list[int]], float] | None = None,
    format_reward: float = 0.1,
) -> torch.Tensor:
    """The reward of each completion, float ``[N]``.

    ``reward_fn(prompt_tokens, completion_tokens)`` defaults to :func:`reward`. An exception
    that it raises is re-raised as a ValueError that names the completion; a reward that is
    not a finite number is a ValueError too.
    """
    fn = reward_fn or (lambda p, c: reward(p, c, format_reward))
    out = []
    for prompt, completion in zip(prompts.tolist(), completions.tolist(), strict=True):
        try:
            value = float(fn(prompt, completion))
        except Exception as error:  # any failure of a reward function is reported
            raise ValueError(
                f"the reward function raised {type(error).__name__} ({error}) on prompt "
                f"{prompt}, completion {completion}"
            ) from error
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError(f"the reward function returned {value} on completion {completion}")
        out.append(value)
    return torch.tensor(out)


def evaluate(policy: nn.Module, config: Config) -> dict[str, float]:
    """Greedy answers to every prompt of the task: ``accuracy`` and mean ``reward``."""
    prompts = all_prompts(config)
    completions, _ = generate(policy, prompts, greedy=True)
    scores = rewards(prompts, completions, format_reward=config.format_reward)
    return {
        "accuracy": float((scores == 1.0).float().mean()),
        "reward": float(scores.mean()),
    }


def chance_accuracy(config: Config) -> float:
    """Accuracy of a policy that answers a well-formed number uniformly from 0 to 99."""
    del config
    return 1 / 100
