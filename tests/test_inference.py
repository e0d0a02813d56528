"""Graded tests for chapter 9, "Serving cost and prices" (topic ``inference``).

Expected values are worked by hand in the comments, counted by torch (FLOPs, cache bytes) or
brute-forced by listing tokens one by one; none is computed by the solution.
"""

import numpy as np
import pytest
import torch

from grading import check, topic_fixture

TOPIC = "inference"
POINTS = {
    "blended_price": 2,
    "price_ratio": 3,
    "flops_per_generated_token": 3,
    "kv_bytes_per_token_mha": 2,
    "kv_bytes_per_token_mla": 3,
    "kv_tokens_that_fit": 2,
    "step_seconds": 2,
}
inference = topic_fixture(TOPIC)

R1 = [0.55, 0.14, 2.19]  # USD per million tokens: input miss, input hit, output
O1 = [15.0, 7.50, 60.0]


# --- blended_price -------------------------------------------------------------------------


@pytest.mark.exercise("blended_price")
def test_blended_price_of_one_kind_is_its_price(inference):
    # A mix of output tokens only costs the output price, whatever the number of tokens.
    for mix, expected in (([0, 0, 1], 2.19), ([0, 5, 0], 0.14), ([7, 0, 0], 0.55)):
        check.close(
            inference.blended_price(R1, mix),
            expected,
            what=f"blended_price({R1}, {mix})",
            hint="prices are (input miss, input hit, output); a mix of one kind costs that kind's price",
        )


@pytest.mark.exercise("blended_price")
def test_blended_price_weights_by_tokens_and_normalises(inference):
    # 3M input (miss) and 1M output tokens of R1: (3 × 0.55 + 1 × 2.19) / 4 = 3.84 / 4 = 0.96.
    # (The plain mean of the three prices, 2.88 / 3, happens to be 0.96 too; the next mix
    # tells the two apart.)
    check.close(
        inference.blended_price(R1, [3, 0, 1]),
        0.96,
        what=f"blended_price({R1}, [3, 0, 1])",
        hint="the bill Σ price × tokens divided by the total tokens Σ tokens",
    )
    # 1 miss, 2 hits, 1 output: (0.55 + 0.28 + 2.19) / 4 = 3.02 / 4 = 0.755.
    check.close(
        inference.blended_price(R1, [1, 2, 1]),
        0.755,
        what=f"blended_price({R1}, [1, 2, 1])",
        hint="divide by the total number of tokens (here 4), so counts and shares give the same answer",
    )
    # the same mix as shares gives the same price
    check.close(
        inference.blended_price(R1, [0.25, 0.5, 0.25]),
        0.755,
        what=f"blended_price({R1}, [0.25, 0.5, 0.25])",
    )


@pytest.mark.exercise("blended_price")
def test_blended_price_many_mixes_brute_force(inference):
    # Brute force: list every token of each mix with its price and take the mean.
    rng = np.random.default_rng(9)
    mixes = rng.integers(1, 20, size=(6, 3))
    expected = np.array(
        [np.mean(np.repeat(np.array(R1), row)) for row in mixes]  # one entry per token
    )
    check.arrays_close(
        inference.blended_price(R1, mixes),
        expected,
        rtol=1e-12,
        what="blended_price(R1, mixes of shape (6, 3))",
        hint="work along the last axis so that each row of the mix gives one price",
    )


# --- price_ratio -------------------------------------------------------------------------------


@pytest.mark.exercise("price_ratio")
def test_price_ratio_of_one_kind(inference):
    # Output only: 60 / 2.19 = 27.3972603; cache hits only: 7.5 / 0.14 = 53.5714286.
    check.close(
        inference.price_ratio(R1, O1, [0, 0, 1]),
        60 / 2.19,
        rel=1e-12,
        what="price_ratio(R1, O1, [0, 0, 1])",
        hint="expensive price / cheap price: a number above 1",
    )
    check.close(
        inference.price_ratio(R1, O1, [0, 1, 0]),
        7.5 / 0.14,
        rel=1e-12,
        what="price_ratio(R1, O1, [0, 1, 0])",
        hint="the second price in each list is the cache-hit price",
    )


@pytest.mark.exercise("price_ratio")
def test_price_ratio_is_a_ratio_of_bills_not_an_average_of_ratios(inference):
    # Half cache hits, half output, 1M tokens each:
    # o1 bill 7.5 + 60 = 67.5; R1 bill 0.14 + 2.19 = 2.33; 67.5 / 2.33 = 28.969957...
    # (the mean of the two ratios, (53.571 + 27.397) / 2 = 40.48, is a different, wrong answer)
    check.close(
        inference.price_ratio(R1, O1, [0, 1, 1]),
        67.5 / 2.33,
        rel=1e-12,
        what="price_ratio(R1, O1, [0, 1, 1])",
        hint="divide the two bills for the same tokens; do not average the per-kind ratios",
    )


@pytest.mark.exercise("price_ratio")
def test_price_ratio_many_mixes(inference):
    # Bills worked token by token: 4 miss + 1 output, and 1 of each.
    # o1: 4 × 15 + 60 = 120; R1: 4 × 0.55 + 2.19 = 4.39 → 27.3348519...
    # o1: 15 + 7.5 + 60 = 82.5; R1: 0.55 + 0.14 + 2.19 = 2.88 → 28.6458333...
    mixes = np.array([[4, 0, 1], [1, 1, 1]])
    check.arrays_close(
        inference.price_ratio(R1, O1, mixes),
        np.array([120 / 4.39, 82.5 / 2.88]),
        rtol=1e-12,
        what="price_ratio(R1, O1, [[4, 0, 1], [1, 1, 1]])",
        hint="one ratio per row of the mix",
    )


# --- flops_per_generated_token -----------------------------------------------------------------


# One decoding step, counted by hand: 2 FLOPs per weight (one multiply-add each), and in every
# layer and head one query against the cached keys (context × qk_dim multiply-adds) and the
# attention weights against the cached values (context × v_dim multiply-adds).
#   (1000, 7, 3, 2, 5, 4): 2 × 1000 + 3 × 2 × (2 × 7 × 5 + 2 × 7 × 4) = 2000 + 6 × 126 = 2756
#   (64, 1, 1, 1, 3, 2):   2 × 64 + 1 × 1 × (2 × 1 × 3 + 2 × 1 × 2) = 128 + 10 = 138
# torch's FlopCounterMode gives the same counts for the same operations: checks/test_references.py
# verifies this table against it.
DECODE_FLOPS = {(1000, 7, 3, 2, 5, 4): 2756, (64, 1, 1, 1, 3, 2): 138}
"""(active_params, context_len, n_layers, n_heads, qk_dim, v_dim) → FLOPs of one decoding step."""


@pytest.mark.exercise("flops_per_generated_token")
def test_flops_per_generated_token_small_models(inference):
    for (active, context, layers, heads, qk, v), expected in DECODE_FLOPS.items():
        check.close(
            inference.flops_per_generated_token(
                active, context, n_layers=layers, n_heads=heads, qk_head_dim=qk, v_head_dim=v
            ),
            float(expected),
            what=f"flops_per_generated_token({active}, {context}, n_layers={layers}, "
            f"n_heads={heads}, qk_head_dim={qk}, v_head_dim={v})",
            hint="forward only: 2 per weight, plus 2 per multiply-add of query·keys and "
            "weights·values in every layer and head",
        )


@pytest.mark.exercise("flops_per_generated_token")
def test_flops_per_generated_token_deepseek_v3(inference):
    # 37B active, 61 layers × 128 heads × (192 + 128) at a context of 4,096:
    # 2 × 37e9 = 74e9; 2 × 61 × 128 × 320 × 4096 = 20,468,203,520; sum 94,468,203,520.
    check.close(
        inference.flops_per_generated_token(
            37e9, 4096, n_layers=61, n_heads=128, qk_head_dim=192, v_head_dim=128
        ),
        94_468_203_520.0,
        what="flops_per_generated_token(37e9, 4096, n_layers=61, n_heads=128, ...)",
        hint="2 · N_active (not 6: generating has no backward pass) plus attention over all "
        "4,096 cached positions",
    )


@pytest.mark.exercise("flops_per_generated_token")
def test_flops_per_generated_token_grows_linearly_with_context(inference):
    # With no weights the cost is pure attention: doubling the context doubles it.
    def f(context):
        return inference.flops_per_generated_token(
            0, context, n_layers=2, n_heads=3, qk_head_dim=4, v_head_dim=5
        )

    # 2 × 2 × 3 × (4 + 5) = 108 FLOPs per position
    check.close(f(10), 1080.0, what="flops_per_generated_token(0, 10, 2 layers, 3 heads, 4, 5)")
    check.close(f(20), 2160.0, what="flops_per_generated_token(0, 20, 2 layers, 3 heads, 4, 5)")


# --- kv_bytes_per_token_mha / _mla ---------------------------------------------------------------


@pytest.mark.exercise("kv_bytes_per_token_mha")
def test_kv_bytes_per_token_mha_matches_a_torch_cache(inference):
    # A cache for 10 tokens: [layers, keys and values, heads, tokens, head_dim] in bf16.
    layers, heads, head_dim, tokens = 3, 4, 5, 10
    cache = torch.empty(layers, 2, heads, tokens, head_dim, dtype=torch.bfloat16)
    expected = cache.numel() * cache.element_size() / tokens  # 3 × 2 × 4 × 5 × 2 = 240 bytes
    check.close(
        inference.kv_bytes_per_token_mha(layers, heads, head_dim, 2),
        expected,
        what="kv_bytes_per_token_mha(3, 4, 5, 2)",
        hint="a key AND a value per head per layer, each head_dim numbers of bytes_per_value",
    )


@pytest.mark.exercise("kv_bytes_per_token_mha")
def test_kv_bytes_per_token_mha_deepseek_v3_dimensions(inference):
    # 2 × 61 × 128 × 128 × 2 bytes = 3,997,696 bytes (about 4 MB per token)
    check.close(
        inference.kv_bytes_per_token_mha(61, 128, 128, 2),
        3_997_696.0,
        what="kv_bytes_per_token_mha(61, 128, 128, 2)",
        hint="2 × layers × heads × head_dim × bytes",
    )
    # FP8: 1 byte per number halves it
    check.close(
        inference.kv_bytes_per_token_mha(61, 128, 128, 1),
        1_998_848.0,
        what="kv_bytes_per_token_mha(61, 128, 128, 1)",
        hint="bytes_per_value multiplies the count of numbers",
    )


@pytest.mark.exercise("kv_bytes_per_token_mla")
def test_kv_bytes_per_token_mla_matches_a_torch_cache(inference):
    # Per layer one latent [tokens, rank] and one shared RoPE key [tokens, rope], in bf16.
    layers, rank, rope, tokens = 3, 7, 2, 10  # with any number of heads
    latent = torch.empty(layers, tokens, rank, dtype=torch.bfloat16)
    rope_key = torch.empty(layers, tokens, rope, dtype=torch.bfloat16)
    cached = latent.numel() * latent.element_size() + rope_key.numel() * rope_key.element_size()
    expected = cached / tokens  # 3 × (7 + 2) × 2 = 54 bytes; no factor for the heads
    check.close(
        inference.kv_bytes_per_token_mla(layers, rank, rope, 2),
        expected,
        what="kv_bytes_per_token_mla(3, 7, 2, 2)",
        hint="one latent and one shared RoPE key per layer: no per-head copies, no separate "
        "keys and values",
    )


@pytest.mark.exercise("kv_bytes_per_token_mla")
def test_kv_bytes_per_token_mla_deepseek_v3_dimensions(inference):
    # 61 × (512 + 64) × 2 bytes = 70,272 bytes per token (about 69 KiB)
    check.close(
        inference.kv_bytes_per_token_mla(61, 512, 64, 2),
        70_272.0,
        what="kv_bytes_per_token_mla(61, 512, 64, 2)",
        hint="layers × (kv_lora_rank + qk_rope_head_dim) × bytes; the RoPE key is shared by all heads",
    )
    # and in FP8, 1 byte per number: 35,136 bytes
    check.close(
        inference.kv_bytes_per_token_mla(61, 512, 64, 1),
        35_136.0,
        what="kv_bytes_per_token_mla(61, 512, 64, 1)",
    )


# --- kv_tokens_that_fit ---------------------------------------------------------------------------


@pytest.mark.exercise("kv_tokens_that_fit")
def test_kv_tokens_that_fit_rounds_down(inference):
    # 1,000 bytes, 100 of weights: 900 free; 900 / 70 = 12.86 → 12 whole tokens (not 13)
    got = inference.kv_tokens_that_fit(1000, 100, 70)
    if not isinstance(got, int | np.integer):
        check.fail(
            "kv_tokens_that_fit(1000, 100, 70)",
            "an int",
            type(got).__name__,
            hint="a count of tokens is a whole number: return an int (math.floor gives one)",
        )
    check.equal(
        got,
        12,
        what="kv_tokens_that_fit(1000, 100, 70)",
        hint="subtract the weights, divide by the bytes per token, round DOWN to a whole int",
    )


@pytest.mark.exercise("kv_tokens_that_fit")
def test_kv_tokens_that_fit_exact_and_none(inference):
    # 640 GB free of 80 GB × 16 GPUs after 640 GB of weights; exactly 10 tokens of 64 GB
    check.equal(
        inference.kv_tokens_that_fit(1280e9, 640e9, 64e9),
        10,
        what="kv_tokens_that_fit(1280e9, 640e9, 64e9)",
        hint="an int, exact when the free memory divides evenly",
    )
    # the weights alone (100 bytes) do not fit in 80: no room for any token
    check.equal(
        inference.kv_tokens_that_fit(80, 100, 1),
        0,
        what="kv_tokens_that_fit(80, 100, 1)",
        hint="no room is 0 tokens, never a negative number",
    )


@pytest.mark.exercise("kv_tokens_that_fit")
def test_kv_tokens_that_fit_brute_force(inference):
    # Add tokens one by one until the next one would not fit.
    for memory, weights, per_token in ((10_000, 2_345, 67), (999, 0, 1000), (5_000, 4_999, 1)):
        tokens = 0
        while weights + (tokens + 1) * per_token <= memory:
            tokens += 1
        check.equal(
            inference.kv_tokens_that_fit(memory, weights, per_token),
            tokens,
            what=f"kv_tokens_that_fit({memory}, {weights}, {per_token})",
            hint="the largest whole number of tokens whose cache fits beside the weights",
        )


# --- step_seconds ------------------------------------------------------------------------------------


@pytest.mark.exercise("step_seconds")
def test_step_seconds_memory_bound(inference):
    # 37 GB at 3.35 TB/s = 0.0110448 s; 74 GFLOP at 989 TFLOP/s = 0.0000748 s: memory wins
    check.close(
        inference.step_seconds(37e9, 74e9, 3.35e12, 989e12),
        37e9 / 3.35e12,
        what="step_seconds(37e9, 74e9, 3.35e12, 989e12)",
        hint="the step lasts as long as the slower of reading (bytes / bandwidth) and "
        "computing (FLOPs / peak); they overlap, so do not add them",
    )


@pytest.mark.exercise("step_seconds")
def test_step_seconds_compute_bound_and_arrays(inference):
    # 1 byte at 1 B/s = 1 s; 10 FLOPs at 2 FLOP/s = 5 s → 5 s (compute-bound)
    check.close(
        inference.step_seconds(1.0, 10.0, 1.0, 2.0),
        5.0,
        what="step_seconds(1.0, 10.0, 1.0, 2.0)",
        hint="the larger of the two times, not the smaller",
    )
    # many steps at once: [4/2, 1/2] vs [3/1, 0/1] → [3, 0.5]
    check.arrays_close(
        inference.step_seconds(np.array([4.0, 1.0]), np.array([3.0, 0.0]), 2.0, 1.0),
        np.array([3.0, 0.5]),
        rtol=1e-12,
        what="step_seconds([4, 1], [3, 0], 2.0, 1.0)",
        hint="elementwise: use np.maximum, not max()",
    )
