"""Plausible wrong answers to the ``inference`` exercises (see checks/mutants/__init__.py)."""

from checks.mutants import Mutant

MUTANTS = [
    Mutant("inference", "blended_price", "plain mean of the three prices",
           "def blended_price(prices, mix):\n    return np.mean(np.asarray(prices, dtype=float))\n"),
    Mutant("inference", "blended_price", "bill not divided by the number of tokens",
           "def blended_price(prices, mix):\n"
           "    return np.asarray(mix, dtype=float) @ np.asarray(prices, dtype=float)\n"),
    Mutant("inference", "blended_price", "cache hits charged at the cache-miss price",
           "def blended_price(prices, mix):\n"
           "    p = np.asarray(prices, dtype=float).copy()\n    p[1] = p[0]\n"
           "    mix = np.asarray(mix, dtype=float)\n    return (mix @ p) / mix.sum(axis=-1)\n"),
    Mutant("inference", "blended_price", "sums over the wrong axis for many mixes",
           "def blended_price(prices, mix):\n"
           "    mix = np.asarray(mix, dtype=float)\n"
           "    return (mix @ np.asarray(prices, dtype=float)) / mix.sum()\n"),
    Mutant("inference", "price_ratio", "inverted",
           "def price_ratio(cheap_prices, expensive_prices, mix):\n"
           "    return blended_price(cheap_prices, mix) / blended_price(expensive_prices, mix)\n"),
    Mutant("inference", "price_ratio", "token-weighted mean of the per-kind ratios",
           "def price_ratio(cheap_prices, expensive_prices, mix):\n"
           "    ratios = np.asarray(expensive_prices, dtype=float) / np.asarray(cheap_prices, dtype=float)\n"
           "    return blended_price(ratios, mix)\n"),
    Mutant("inference", "price_ratio", "plain mean of the per-kind ratios",
           "def price_ratio(cheap_prices, expensive_prices, mix):\n"
           "    return float(np.mean(np.asarray(expensive_prices) / np.asarray(cheap_prices)))\n"),
    Mutant("inference", "flops_per_generated_token", "6 N (training) instead of 2 N",
           "def flops_per_generated_token(active_params, context_len, *, n_layers, n_heads,"
           " qk_head_dim, v_head_dim):\n"
           "    return 6.0 * active_params + 2.0 * n_layers * n_heads * (qk_head_dim + v_head_dim)"
           " * context_len\n"),
    Mutant("inference", "flops_per_generated_token", "attention over the context left out",
           "def flops_per_generated_token(active_params, context_len, *, n_layers, n_heads,"
           " qk_head_dim, v_head_dim):\n    return 2.0 * active_params\n"),
    Mutant("inference", "flops_per_generated_token", "scores only, values forgotten",
           "def flops_per_generated_token(active_params, context_len, *, n_layers, n_heads,"
           " qk_head_dim, v_head_dim):\n"
           "    return 2.0 * active_params + 2.0 * n_layers * n_heads * qk_head_dim * context_len\n"),
    Mutant("inference", "flops_per_generated_token", "multiply-adds counted as 1 FLOP in attention",
           "def flops_per_generated_token(active_params, context_len, *, n_layers, n_heads,"
           " qk_head_dim, v_head_dim):\n"
           "    return 2.0 * active_params + n_layers * n_heads * (qk_head_dim + v_head_dim)"
           " * context_len\n"),
    Mutant("inference", "flops_per_generated_token", "causal average: half the context",
           "def flops_per_generated_token(active_params, context_len, *, n_layers, n_heads,"
           " qk_head_dim, v_head_dim):\n"
           "    return 2.0 * active_params + 2.0 * n_layers * n_heads * (qk_head_dim + v_head_dim)"
           " * (context_len + 1) / 2\n"),
    Mutant("inference", "kv_bytes_per_token_mha", "keys only (factor 2 forgotten)",
           "def kv_bytes_per_token_mha(n_layers, n_heads, head_dim, bytes_per_value):\n"
           "    return float(n_layers * n_heads * head_dim * bytes_per_value)\n"),
    Mutant("inference", "kv_bytes_per_token_mha", "bits, not bytes",
           "def kv_bytes_per_token_mha(n_layers, n_heads, head_dim, bytes_per_value):\n"
           "    return 2.0 * n_layers * n_heads * head_dim * bytes_per_value * 8\n"),
    Mutant("inference", "kv_bytes_per_token_mha", "one layer only",
           "def kv_bytes_per_token_mha(n_layers, n_heads, head_dim, bytes_per_value):\n"
           "    return 2.0 * n_heads * head_dim * bytes_per_value\n"),
    Mutant("inference", "kv_bytes_per_token_mla", "latent cached as separate keys and values",
           "def kv_bytes_per_token_mla(n_layers, kv_lora_rank, qk_rope_head_dim, bytes_per_value):\n"
           "    return float(n_layers * (2 * kv_lora_rank + qk_rope_head_dim)) * bytes_per_value\n"),
    Mutant("inference", "kv_bytes_per_token_mla", "RoPE key forgotten",
           "def kv_bytes_per_token_mla(n_layers, kv_lora_rank, qk_rope_head_dim, bytes_per_value):\n"
           "    return float(n_layers * kv_lora_rank) * bytes_per_value\n"),
    Mutant("inference", "kv_bytes_per_token_mla", "whole cache doubled like MHA's keys and values",
           "def kv_bytes_per_token_mla(n_layers, kv_lora_rank, qk_rope_head_dim, bytes_per_value):\n"
           "    return 2.0 * n_layers * (kv_lora_rank + qk_rope_head_dim) * bytes_per_value\n"),
    Mutant("inference", "kv_bytes_per_token_mla", "bytes per value ignored",
           "def kv_bytes_per_token_mla(n_layers, kv_lora_rank, qk_rope_head_dim, bytes_per_value):\n"
           "    return float(n_layers * (kv_lora_rank + qk_rope_head_dim))\n"),
    Mutant("inference", "kv_tokens_that_fit", "rounded to nearest, not down",
           "def kv_tokens_that_fit(memory_bytes, weight_bytes, kv_bytes_per_token):\n"
           "    return max(0, round((memory_bytes - weight_bytes) / kv_bytes_per_token))\n"),
    Mutant("inference", "kv_tokens_that_fit", "weights not subtracted",
           "def kv_tokens_that_fit(memory_bytes, weight_bytes, kv_bytes_per_token):\n"
           "    return math.floor(memory_bytes / kv_bytes_per_token)\n"),
    Mutant("inference", "kv_tokens_that_fit", "negative when the weights do not fit",
           "def kv_tokens_that_fit(memory_bytes, weight_bytes, kv_bytes_per_token):\n"
           "    return math.floor((memory_bytes - weight_bytes) / kv_bytes_per_token)\n"),
    Mutant("inference", "kv_tokens_that_fit", "a float, not an int",
           "def kv_tokens_that_fit(memory_bytes, weight_bytes, kv_bytes_per_token):\n"
           "    return max(0.0, (memory_bytes - weight_bytes) / kv_bytes_per_token // 1)\n"),
    Mutant("inference", "step_seconds", "memory and compute times added",
           "def step_seconds(bytes_moved, flops, bandwidth, peak_flops):\n"
           "    return np.asarray(bytes_moved) / bandwidth + np.asarray(flops) / peak_flops\n"),
    Mutant("inference", "step_seconds", "the faster of the two",
           "def step_seconds(bytes_moved, flops, bandwidth, peak_flops):\n"
           "    return np.minimum(np.asarray(bytes_moved) / bandwidth, np.asarray(flops) / peak_flops)\n"),
    Mutant("inference", "step_seconds", "memory time only",
           "def step_seconds(bytes_moved, flops, bandwidth, peak_flops):\n"
           "    return np.asarray(bytes_moved) / bandwidth\n"),
]  # fmt: skip
