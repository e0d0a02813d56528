"""Plausible wrong answers to the ``rl`` exercises (see checks/mutants/__init__.py)."""

from checks.mutants import Mutant

_GA = (
    "def group_advantages(rewards):\n"
    "    import numpy as np, torch\n"
    "    is_t = isinstance(rewards, torch.Tensor)\n"
    "    r = np.asarray(rewards.detach() if is_t else rewards, dtype=float)\n"
    "    if r.ndim != 2 or r.shape[1] < 2 or not np.isfinite(r).all():\n"
    "        raise ValueError('bad rewards')\n"
    "    m = r.mean(axis=1, keepdims=True)\n"
    "    s = r.std(axis=1, keepdims=True)\n"
)
_GA_OUT = "    return torch.as_tensor(out, dtype=torch.float32) if is_t else out\n"
_SAFE = "np.divide(r - m, s, out=np.zeros_like(r), where=s > 0)"


def _loss(
    surrogate: str,
    kl: str = "kl = torch.exp(ref - logp) - (ref - logp) - 1",
    combine: str = "per_token = torch.where(keep, surrogate - beta * kl, zero)",
    average: str = "return -(per_token.sum(1) / lengths).mean()",
    empty: str = "if bool((lengths == 0).any()): raise ValueError('empty completion')",
) -> str:
    return (
        "def grpo_loss(logp, old_logp, ref_logp, advantages, mask, *, clip_eps=0.2, beta=0.04):\n"
        "    import torch\n"
        "    if not (logp.shape == old_logp.shape == ref_logp.shape == mask.shape):\n"
        "        raise ValueError('shapes')\n"
        "    raw_logp, raw_ref = logp, ref_logp.to(logp.dtype)\n"
        "    mask = mask.to(logp.dtype)\n    lengths = mask.sum(1)\n"
        f"    {empty}\n"
        "    keep = mask > 0\n    zero = torch.zeros_like(logp)\n"
        "    logp = torch.where(keep, logp, zero)\n"
        "    old = torch.where(keep, old_logp.to(logp.dtype), zero)\n"
        "    ref = torch.where(keep, ref_logp.to(logp.dtype), zero)\n"
        "    adv = advantages.to(logp.dtype).unsqueeze(1)\n"
        "    ratio = torch.exp(logp - old)\n"
        f"    {surrogate}\n    {kl}\n    {combine}\n    {average}\n"
    )


_CLIPPED = (
    "surrogate = torch.minimum(ratio * adv, torch.clamp(ratio, 1 - clip_eps, 1 + clip_eps) * adv)"
)


def _train(body: str) -> str:
    return (
        "_right_train = train_grpo\n\n"
        "def train_grpo(config, policy=None, reward_fn=None):\n"
        "    global group_advantages\n"
        "    import dataclasses, time\n"
        "    saved = group_advantages\n"
        f"{body}"
        "    try:\n        return _right_train(config, policy, reward_fn)\n"
        "    finally:\n        group_advantages = saved\n"
    )


_FLOPS = (
    "def rl_step_flops(n_active, completions, prompt_tokens, output_tokens, *, updates=1):\n"
    "    if min(n_active, completions, prompt_tokens, output_tokens) < 0 or updates < 1:\n"
    "        raise ValueError('counts')\n"
    "    t = float(completions) * (prompt_tokens + output_tokens)\n"
)
_FLOPS_OUT = "    out['total'] = sum(out.values())\n    return out\n"
_BILL = "_right_bill = rl_bill\n\ndef rl_bill(runs, price_per_gpu_hour):\n"

MUTANTS = [
    Mutant("rl", "group_advantages", "not normalized: reward minus the group mean only",
           _GA + "    out = r - m\n" + _GA_OUT),
    Mutant("rl", "group_advantages", "sign flipped: group mean minus reward",
           _GA + f"    out = -{_SAFE}\n" + _GA_OUT),
    Mutant("rl", "group_advantages", "mean over the whole batch instead of each group",
           _GA + "    m = r.mean()\n    s = np.sqrt(((r - m) ** 2).mean(axis=1, keepdims=True))\n"
           f"    out = {_SAFE}\n" + _GA_OUT),
    Mutant("rl", "group_advantages", "standard deviation over the whole batch",
           _GA + "    s = np.full_like(s, r.std())\n" + f"    out = {_SAFE}\n" + _GA_OUT),
    Mutant("rl", "group_advantages", "Bessel's correction (divide by G − 1)",
           _GA + "    s = r.std(axis=1, ddof=1, keepdims=True)\n" + f"    out = {_SAFE}\n" + _GA_OUT),
    Mutant("rl", "group_advantages", "a constant group divides by zero (NaN)",
           _GA + "    with np.errstate(all='ignore'):\n        out = (r - m) / s\n" + _GA_OUT),
    Mutant("rl", "group_advantages", "a group of one accepted (advantage 0)",
           _GA.replace("r.shape[1] < 2", "r.shape[1] < 1") + f"    out = {_SAFE}\n" + _GA_OUT),
    Mutant("rl", "grpo_loss", "no clip", _loss("surrogate = ratio * adv")),
    Mutant("rl", "grpo_loss", "max instead of min",
           _loss(_CLIPPED.replace("torch.minimum", "torch.maximum"))),
    Mutant("rl", "grpo_loss", "clipped term only, no min",
           _loss("surrogate = torch.clamp(ratio, 1 - clip_eps, 1 + clip_eps) * adv")),
    Mutant("rl", "grpo_loss", "clip on the upper side only",
           _loss("surrogate = torch.minimum(ratio * adv, torch.clamp(ratio, max=1 + clip_eps) * adv)")),
    Mutant("rl", "grpo_loss", "KL estimator with the log-ratio the wrong way round",
           _loss(_CLIPPED, kl="kl = torch.exp(logp - ref) - (logp - ref) - 1")),
    Mutant("rl", "grpo_loss", "KL penalty added instead of subtracted",
           _loss(_CLIPPED, combine="per_token = torch.where(keep, surrogate + beta * kl, zero)")),
    Mutant("rl", "grpo_loss", "KL not masked",
           _loss(_CLIPPED, kl="kl = torch.exp(raw_ref - raw_logp) - (raw_ref - raw_logp) - 1",
                 combine="per_token = torch.where(keep, surrogate, zero) - beta * kl")),
    Mutant("rl", "grpo_loss", "token-level mean over all generated tokens",
           _loss(_CLIPPED, average="return -(per_token.sum() / mask.sum())")),
    Mutant("rl", "grpo_loss", "mean over every position, padding included",
           _loss(_CLIPPED, average="return -(per_token.mean(1)).mean()")),
    Mutant("rl", "grpo_loss", "objective returned instead of the loss",
           _loss(_CLIPPED, average="return (per_token.sum(1) / lengths).mean()")),
    Mutant("rl", "grpo_loss", "ratio computed from a detached logp",
           _loss("ratio = torch.exp(logp.detach() - old)\n    " + _CLIPPED)),
    Mutant("rl", "grpo_loss", "an empty completion accepted",
           _loss(_CLIPPED, empty="lengths = lengths.clamp(min=1)")),
    Mutant("rl", "train_grpo", "raw rewards used as advantages",
           _train("    group_advantages = lambda r: r\n")),
    Mutant("rl", "train_grpo", "advantages negated in the loop",
           _train("    group_advantages = lambda r: -saved(r)\n")),
    Mutant("rl", "train_grpo", "a fresh policy trained instead of the one passed in",
           "_right_train = train_grpo\n\n"
           "def train_grpo(config, policy=None, reward_fn=None):\n"
           "    return _right_train(config, None, reward_fn)\n"),
    Mutant("rl", "train_grpo", "sampling not seeded from the config",
           "_right_train = train_grpo\n\n"
           "def train_grpo(config, policy=None, reward_fn=None):\n"
           "    import dataclasses, time\n"
           "    return _right_train(dataclasses.replace(config, seed=time.perf_counter_ns() % 997), policy, reward_fn)\n"),
    Mutant("rl", "train_grpo", "a failing reward function scores 0",
           "_right_train = train_grpo\n\n"
           "def train_grpo(config, policy=None, reward_fn=None):\n"
           "    def safe(p, c):\n"
           "        try:\n            return reward_fn(p, c)\n"
           "        except Exception:\n            return 0.0\n"
           "    return _right_train(config, policy, None if reward_fn is None else safe)\n"),
    Mutant("rl", "rl_step_flops", "2·N for the update instead of 6·N",
           _FLOPS + "    out = {'rollout': 2.0 * n_active * t, 'reference': 2.0 * n_active * t, 'update': 2.0 * n_active * t * updates}\n" + _FLOPS_OUT),
    Mutant("rl", "rl_step_flops", "output tokens only",
           _FLOPS + "    t = float(completions) * output_tokens\n"
           "    out = {'rollout': 2.0 * n_active * t, 'reference': 2.0 * n_active * t, 'update': 6.0 * n_active * t * updates}\n" + _FLOPS_OUT),
    Mutant("rl", "rl_step_flops", "the number of updates ignored",
           _FLOPS + "    out = {'rollout': 2.0 * n_active * t, 'reference': 2.0 * n_active * t, 'update': 6.0 * n_active * t}\n" + _FLOPS_OUT),
    Mutant("rl", "rl_step_flops", "the reference forward not counted",
           _FLOPS + "    out = {'rollout': 2.0 * n_active * t, 'reference': 0.0, 'update': 6.0 * n_active * t * updates}\n" + _FLOPS_OUT),
    Mutant("rl", "rl_bill", "GPUs plus hours instead of times",
           _BILL + "    r = _right_bill(runs, price_per_gpu_hour)\n"
           "    h = {k: float(sum(v)) if isinstance(v, tuple) else float(v) for k, v in runs.items()}\n"
           "    return {'gpu_hours': h, 'total_gpu_hours': sum(h.values()), 'usd': sum(h.values()) * price_per_gpu_hour}\n"),
    Mutant("rl", "rl_bill", "a run given as GPU-hours left out",
           _BILL + "    r = _right_bill({k: v for k, v in runs.items() if isinstance(v, tuple)} or runs, price_per_gpu_hour)\n"
           "    return r\n"),
    Mutant("rl", "rl_bill", "dollars per GPU-hour forgotten",
           _BILL + "    r = _right_bill(runs, price_per_gpu_hour)\n    return dict(r, usd=r['total_gpu_hours'])\n"),
    Mutant("rl", "rl_bill", "no check of the input",
           _BILL + "    if not runs: return {'gpu_hours': {}, 'total_gpu_hours': 0.0, 'usd': 0.0}\n"
           "    h = {k: float(v[0] * v[1]) if isinstance(v, tuple) else float(v) for k, v in runs.items()}\n"
           "    return {'gpu_hours': h, 'total_gpu_hours': sum(h.values()), 'usd': sum(h.values()) * price_per_gpu_hour}\n"),
]  # fmt: skip
