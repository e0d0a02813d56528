"""Plausible wrong answers to the ``cost`` exercises (see checks/mutants/__init__.py)."""

from checks.mutants import Mutant

MUTANTS = [
    Mutant("cost", "training_flops", "2·N·D: forward pass only",
           "def training_flops(active_params, tokens, attention_flops_per_token=0.0):\n"
           "    return tokens * (2 * active_params + attention_flops_per_token)\n"),
    Mutant("cost", "training_flops", "total instead of active parameters (671B hard-wired)",
           "def training_flops(active_params, tokens, attention_flops_per_token=0.0):\n"
           "    n = 671e9 if active_params == 37e9 else active_params\n"
           "    return tokens * (6 * n + attention_flops_per_token)\n"),
    Mutant("cost", "training_flops", "attention FLOPs added once, not per token",
           "def training_flops(active_params, tokens, attention_flops_per_token=0.0):\n"
           "    return 6 * active_params * tokens + attention_flops_per_token\n"),
    Mutant("cost", "gpu_hours", "GPU-seconds, not GPU-hours",
           "def gpu_hours(flops, peak_tflops, utilization):\n"
           "    return flops / (peak_tflops * 1e12 * utilization)\n"),
    Mutant("cost", "gpu_hours", "peak read as FLOP/s, not TFLOP/s",
           "def gpu_hours(flops, peak_tflops, utilization):\n"
           "    return flops / (peak_tflops * utilization) / 3600\n"),
    Mutant("cost", "gpu_hours", "multiplied by the utilization",
           "def gpu_hours(flops, peak_tflops, utilization):\n"
           "    return flops * utilization / (peak_tflops * 1e12) / 3600\n"),
    Mutant("cost", "compute_cost", "priced per GPU-second",
           "def compute_cost(flops, peak_tflops, utilization, usd_per_gpu_hour):\n"
           "    return flops / (peak_tflops * 1e12 * utilization) * usd_per_gpu_hour\n"),
    Mutant("cost", "compute_cost", "utilization forgotten",
           "def compute_cost(flops, peak_tflops, utilization, usd_per_gpu_hour):\n"
           "    return gpu_hours(flops, peak_tflops, 1.0) * usd_per_gpu_hour\n"),
    Mutant("cost", "compute_cost", "Python floats only: no broadcasting",
           "def compute_cost(flops, peak_tflops, utilization, usd_per_gpu_hour):\n"
           "    u, p = float(np.ravel(utilization)[0]), float(np.ravel(usd_per_gpu_hour)[0])\n"
           "    return flops / (peak_tflops * 1e12 * u) / 3600 * p\n"),
    Mutant("cost", "implied_utilization", "a percentage, not a fraction",
           "def implied_utilization(flops, gpu_hours, peak_tflops):\n"
           "    return 100 * flops / (gpu_hours * 3600 * peak_tflops * 1e12)\n"),
    Mutant("cost", "implied_utilization", "hours not converted to seconds",
           "def implied_utilization(flops, gpu_hours, peak_tflops):\n"
           "    return flops / (gpu_hours * peak_tflops * 1e12)\n"),
    Mutant("cost", "implied_utilization", "peak read as FLOP/s",
           "def implied_utilization(flops, gpu_hours, peak_tflops):\n"
           "    return flops / (gpu_hours * 3600 * peak_tflops)\n"),
    Mutant("cost", "implied_utilization", "inverted",
           "def implied_utilization(flops, gpu_hours, peak_tflops):\n"
           "    return gpu_hours * 3600 * peak_tflops * 1e12 / flops\n"),
    Mutant("cost", "wall_clock_days", "hours, not days",
           "def wall_clock_days(gpu_hours, n_gpus):\n    return gpu_hours / n_gpus\n"),
    Mutant("cost", "wall_clock_days", "GPU count ignored",
           "def wall_clock_days(gpu_hours, n_gpus):\n    return gpu_hours / 24\n"),
    Mutant("cost", "wall_clock_days", "8-GPU nodes counted instead of GPUs",
           "def wall_clock_days(gpu_hours, n_gpus):\n    return gpu_hours / (n_gpus / 8) / 24\n"),
    Mutant("cost", "cost_ratio_factors", "utilization factor not inverted",
           "_right = cost_ratio_factors\n"
           "def cost_ratio_factors(active_params, tokens, utilization, peak_tflops, usd_per_gpu_hour):\n"
           "    f = _right(active_params, tokens, utilization, peak_tflops, usd_per_gpu_hour)\n"
           "    f['total'] /= f['utilization'] ** 2\n"
           "    f['utilization'] = 1 / f['utilization']\n"
           "    return f\n"),
    Mutant("cost", "cost_ratio_factors", "peak factor not inverted",
           "_right = cost_ratio_factors\n"
           "def cost_ratio_factors(active_params, tokens, utilization, peak_tflops, usd_per_gpu_hour):\n"
           "    f = _right(active_params, tokens, utilization, peak_tflops, usd_per_gpu_hour)\n"
           "    f['total'] /= f['peak'] ** 2\n"
           "    f['peak'] = 1 / f['peak']\n"
           "    return f\n"),
    Mutant("cost", "cost_ratio_factors", "factors added, not multiplied",
           "_right = cost_ratio_factors\n"
           "def cost_ratio_factors(active_params, tokens, utilization, peak_tflops, usd_per_gpu_hour):\n"
           "    f = _right(active_params, tokens, utilization, peak_tflops, usd_per_gpu_hour)\n"
           "    f['total'] = sum(v for k, v in f.items() if k != 'total')\n"
           "    return f\n"),
    Mutant("cost", "cost_ratio_factors", "run B over run A",
           "_right = cost_ratio_factors\n"
           "def cost_ratio_factors(active_params, tokens, utilization, peak_tflops, usd_per_gpu_hour):\n"
           "    f = _right(active_params, tokens, utilization, peak_tflops, usd_per_gpu_hour)\n"
           "    return {k: 1 / v for k, v in f.items()}\n"),
]  # fmt: skip
