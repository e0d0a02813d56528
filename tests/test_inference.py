"""Graded tests for chapter 10, "Serving cost and prices" (topic ``inference``).

Expected values are worked by hand in the comments, counted by torch (FLOPs, cache bytes) or
brute-forced by listing tokens one by one; none is computed by the solution.
"""

import math

import numpy as np
import pytest
import torch

from grading import check, scenario, topic_fixture

TOPIC = "inference"
POINTS = {
    "blended_price": 2,
    "price_ratio": 3,
    "flops_per_generated_token": 3,
    "kv_bytes_per_token_mha": 2,
    "kv_bytes_per_token_mla": 3,
    "kv_tokens_that_fit": 2,
    "step_seconds": 2,
    "tokens_per_step": 2,
    "expected_tokens_per_step": 2,
    "MLA": 10,
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


# --- tokens_per_step / expected_tokens_per_step --------------------------------------------------


@pytest.mark.exercise("tokens_per_step")
def test_tokens_per_step_one_draft(inference):
    # One draft: accepted → the draft and the main model's next token (2); rejected → 1.
    got = inference.tokens_per_step(np.array([[True], [False], [True]]))
    check.arrays_equal(
        np.asarray(got),
        np.array([2, 1, 2]),
        what="tokens_per_step([[True], [False], [True]])",
        hint="a step always emits the main model's own token, plus each accepted draft",
    )


@pytest.mark.exercise("tokens_per_step")
def test_tokens_per_step_stops_at_the_first_rejection(inference):
    # Three drafts per step, counted by hand: the run of accepted drafts from the first one.
    accepted = np.array(
        [
            [True, True, True],  # 3 kept + 1 = 4
            [True, False, True],  # the third is right but comes after a rejection: 1 + 1 = 2
            [False, True, True],  # 0 + 1 = 1
            [False, False, False],  # 1
            [True, True, False],  # 3
        ]
    )
    check.arrays_equal(
        np.asarray(inference.tokens_per_step(accepted)),
        np.array([4, 2, 1, 1, 3]),
        what="tokens_per_step(5 steps × 3 drafts)",
        hint="count accepted drafts only up to the first rejected one; a draft after it is "
        "built on a wrong token and is thrown away",
    )
    check.equal(
        int(inference.tokens_per_step(np.array([True, False]))),
        2,
        what="tokens_per_step([True, False]) (one step)",
    )


@pytest.mark.exercise("expected_tokens_per_step")
def test_expected_tokens_per_step_closed_form(inference):
    # One draft: 1 + p. At the report's 85% and 90%: 1.85 and 1.9.
    for p, expected in ((0.85, 1.85), (0.9, 1.9), (0.0, 1.0), (1.0, 2.0)):
        check.close(
            inference.expected_tokens_per_step(p),
            expected,
            rel=1e-12,
            what=f"expected_tokens_per_step({p})",
            hint="one drafted token: the main model's token always, the draft with probability p",
        )
    # Three drafts at p = 0.5: 1 + 0.5 + 0.25 + 0.125 = 1.875 (not 1 + 3 × 0.5 = 2.5)
    check.close(
        inference.expected_tokens_per_step(0.5, 3),
        1.875,
        rel=1e-12,
        what="expected_tokens_per_step(0.5, 3)",
        hint="the k-th draft counts only if every draft before it was accepted too: p^k",
    )
    check.close(
        inference.expected_tokens_per_step(1.0, 4),
        5.0,
        rel=1e-12,
        what="expected_tokens_per_step(1.0, 4)",
        hint="with p = 1 every draft is kept: n_draft + 1 tokens",
    )


@pytest.mark.exercise("expected_tokens_per_step")
def test_expected_tokens_per_step_matches_a_simulation(inference):
    # 200,000 simulated steps of two drafts at p = 0.7, counted in a Python-free way here:
    # the standard error of the mean is below 0.002, so 0.01 is a safe tolerance.
    rng = np.random.default_rng(3)
    draws = rng.random((200_000, 2)) < 0.7
    simulated = 1 + draws[:, 0] + (draws[:, 0] & draws[:, 1])
    check.close(
        inference.expected_tokens_per_step(0.7, 2),
        float(simulated.mean()),
        rel=0.0,
        abs_tol=0.01,
        what="expected_tokens_per_step(0.7, 2) against 200,000 simulated steps",
    )
    ps = np.array([0.1, 0.5, 0.85])
    check.arrays_close(
        np.asarray(inference.expected_tokens_per_step(ps), dtype=float),
        1 + ps,
        rtol=1e-12,
        what="expected_tokens_per_step([0.1, 0.5, 0.85])",
        hint="work elementwise so an array of acceptance rates gives an array",
    )


# --- MLA ------------------------------------------------------------------------------------------
# An independent reference written from the formulas of the DeepSeek-V2/V3 reports, one head and
# one query position at a time; RoPE through complex numbers (adjacent dimensions (2i, 2i+1) are
# the real and imaginary parts of one number turned by e^{i t θ^(-2i/d)}).


def rms_norm(x, weight, eps=1e-6):
    return weight * x / torch.sqrt((x * x).mean(dim=-1, keepdim=True) + eps)


def rope_complex(x, theta):
    """x: [T, d] at positions 0..T−1 → rotated [T, d]."""
    n, d = x.shape
    pairs = torch.view_as_complex(x.reshape(n, d // 2, 2).clone())
    freqs = 1.0 / theta ** (torch.arange(0, d, 2, dtype=torch.float64) / d)
    turn = torch.polar(
        torch.ones(n, d // 2, dtype=torch.float64),
        torch.outer(torch.arange(n, dtype=torch.float64), freqs),
    )
    return torch.view_as_real(pairs * turn.to(pairs.dtype)).reshape(n, d)


def reference_mla(cfg, w, x):
    """Output [B, T, d] and the cache (latent [B, T, r], rope key [B, T, dr]) from weights w."""
    h, dn, dr, dv = (
        cfg[k]
        for k in ("num_attention_heads", "qk_nope_head_dim", "qk_rope_head_dim", "v_head_dim")
    )
    r, theta = cfg["kv_lora_rank"], cfg["rope_theta"]
    outputs, latents, rope_keys = [], [], []
    for seq in x:
        n = seq.shape[0]
        if cfg["q_lora_rank"] is None:
            q = seq @ w["q_proj.weight"].T
        else:
            q = (
                rms_norm(seq @ w["q_a_proj.weight"].T, w["q_a_layernorm.weight"])
                @ w["q_b_proj.weight"].T
            )
        down = seq @ w["kv_a_proj_with_mqa.weight"].T
        latent = rms_norm(down[:, :r], w["kv_a_layernorm.weight"])
        rope_key = rope_complex(down[:, r:], theta)
        up = latent @ w["kv_b_proj.weight"].T  # [T, H (dn + dv)]
        heads = []
        for head in range(h):
            qh = q[:, head * (dn + dr) : (head + 1) * (dn + dr)]
            q_nope, q_rope = qh[:, :dn], rope_complex(qh[:, dn:], theta)
            kv = up[:, head * (dn + dv) : (head + 1) * (dn + dv)]
            k_nope, v = kv[:, :dn], kv[:, dn:]
            rows = []
            for t in range(n):  # query t sees keys 0..t
                s = (k_nope[: t + 1] @ q_nope[t] + rope_key[: t + 1] @ q_rope[t]) / math.sqrt(
                    dn + dr
                )
                rows.append(torch.softmax(s, dim=0) @ v[: t + 1])
            heads.append(torch.stack(rows))
        outputs.append(torch.cat(heads, dim=1) @ w["o_proj.weight"].T)
        latents.append(latent)
        rope_keys.append(rope_key)
    return torch.stack(outputs), torch.stack(latents), torch.stack(rope_keys)


def mla_config(q_lora_rank=6, **changes):
    cfg = dict(
        hidden_size=16,
        num_attention_heads=3,
        q_lora_rank=q_lora_rank,
        kv_lora_rank=5,
        qk_nope_head_dim=4,
        qk_rope_head_dim=6,
        v_head_dim=3,
        rope_theta=100.0,  # a small base, so that positions turn visibly within a few tokens
        max_position_embeddings=32,
    )
    return {**cfg, **changes}


def mla_shapes(cfg):
    """The state_dict of Hugging Face's DeepseekV3Attention for cfg, written out by hand."""
    h, d = cfg["num_attention_heads"], cfg["hidden_size"]
    qk = cfg["qk_nope_head_dim"] + cfg["qk_rope_head_dim"]
    r, dr = cfg["kv_lora_rank"], cfg["qk_rope_head_dim"]
    shapes = {
        "kv_a_proj_with_mqa.weight": (r + dr, d),
        "kv_a_layernorm.weight": (r,),
        "kv_b_proj.weight": (h * (cfg["qk_nope_head_dim"] + cfg["v_head_dim"]), r),
        "o_proj.weight": (d, h * cfg["v_head_dim"]),
    }
    if cfg["q_lora_rank"] is None:
        shapes["q_proj.weight"] = (h * qk, d)
    else:
        q = cfg["q_lora_rank"]
        shapes |= {
            "q_a_proj.weight": (q, d),
            "q_a_layernorm.weight": (q,),
            "q_b_proj.weight": (h * qk, q),
        }
    return shapes


def mla_weights(cfg, seed):
    """Random float64 weights of the right shapes; norm weights away from 1 so they matter."""
    g = torch.Generator().manual_seed(seed)
    weights = {}
    for key, shape in sorted(mla_shapes(cfg).items()):
        if "layernorm" in key:
            weights[key] = 0.5 + torch.rand(shape, generator=g, dtype=torch.float64)
        else:
            weights[key] = torch.randn(shape, generator=g, dtype=torch.float64) / math.sqrt(
                shape[-1]
            )
    return weights


@scenario
def mla_state_shapes(inference, cfg):
    """The state_dict keys and shapes of a freshly built MLA."""
    return {key: tuple(t.shape) for key, t in inference.MLA(cfg).state_dict().items()}


@scenario
def mla_run(inference, cfg, weights, x):
    """Load ``weights`` into an MLA (float64), run it both ways and return outputs and cache."""
    layer = inference.MLA(cfg).double()
    layer.load_state_dict(weights)
    with torch.no_grad():
        plain = layer(x)
        absorbed = layer(x, absorb=True)
        latent, rope_key = layer.kv_cache(x)
    return {"plain": plain, "absorbed": absorbed, "latent": latent, "rope_key": rope_key}


@scenario
def mla_errors(inference, cfg, bad_configs, weights, long_x):
    """The (exception type, message) of each bad use, or None when nothing was raised."""

    def attempt(action):
        try:
            action()
        except Exception as error:
            return [type(error).__name__, str(error)]
        return None

    inference.MLA(cfg)  # a good configuration first: an unfinished MLA stops here, not implemented
    found = {name: attempt(lambda c=c: inference.MLA(c)) for name, c in bad_configs.items()}
    found["long"] = attempt(lambda: inference.MLA(cfg).double()(long_x))
    found["other_weights"] = attempt(lambda: inference.MLA(cfg).double().load_state_dict(weights))
    return found


def check_mla(inference, cfg, seed, shape, what):
    weights = mla_weights(cfg, seed)
    x = torch.randn(
        *shape,
        cfg["hidden_size"],
        generator=torch.Generator().manual_seed(seed + 100),
        dtype=torch.float64,
    )
    run = mla_run(inference, cfg, weights, x)
    expected, latent, rope_key = reference_mla(cfg, weights, x)
    for name, hint in (
        (
            "plain",
            "decompress per head, RoPE on adjacent pairs of the rotary part, causal softmax "
            "scaled by (qk_nope_head_dim + qk_rope_head_dim)^-1/2",
        ),
        (
            "absorbed",
            "absorb=True must give the same output: fold kv_b_proj's key rows into the "
            "query and apply its value rows after the weighted sum of latents",
        ),
    ):
        check.arrays_close(
            run[name].numpy(),
            expected.numpy(),
            rtol=1e-5,  # float64 weights; RoPE angles computed in float32 are still accepted
            atol=1e-6,
            what=f"{what}, absorb={name == 'absorbed'}",
            hint=hint,
        )
    return run, latent, rope_key


@pytest.mark.exercise("MLA")
def test_mla_state_dict_matches_deepseek_v3_attention(inference):
    for q_rank in (6, None):
        cfg = mla_config(q_rank)
        check.equal(
            mla_state_shapes(inference, cfg),
            mla_shapes(cfg),
            what=f"MLA(config with q_lora_rank={q_rank}).state_dict() keys and shapes",
            hint="the names and shapes of Hugging Face's DeepseekV3Attention, no biases; "
            "q_lora_rank=None uses one q_proj",
        )


@pytest.mark.exercise("MLA")
def test_mla_with_query_compression(inference):
    check_mla(inference, mla_config(6), 0, (2, 7), "MLA with q_lora_rank=6, x of shape [2, 7, 16]")


@pytest.mark.exercise("MLA")
def test_mla_without_query_compression(inference):
    check_mla(
        inference, mla_config(None), 1, (1, 9), "MLA with q_lora_rank=None, x of shape [1, 9, 16]"
    )


@pytest.mark.exercise("MLA")
def test_mla_other_sizes_and_one_token(inference):
    cfg = mla_config(
        4,
        hidden_size=12,
        num_attention_heads=2,
        kv_lora_rank=7,
        qk_nope_head_dim=5,
        qk_rope_head_dim=4,
        v_head_dim=6,
        rope_theta=10000.0,
    )
    check_mla(inference, cfg, 2, (3, 5), "MLA with 2 heads, kv_lora_rank=7, rope_theta=10000")
    check_mla(inference, cfg, 3, (2, 1), "MLA on one token")


@pytest.mark.exercise("MLA")
def test_mla_is_causal(inference):
    # Changing the last token must not change any earlier output (and the reference agrees).
    cfg = mla_config(6)
    weights = mla_weights(cfg, 4)
    x = torch.randn(1, 6, 16, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    y = x.clone()
    y[0, -1] += 3.0
    first, second = mla_run(inference, cfg, weights, x), mla_run(inference, cfg, weights, y)
    for name in ("plain", "absorbed"):
        check.arrays_close(
            second[name][0, :-1].numpy(),
            first[name][0, :-1].numpy(),
            rtol=1e-12,
            atol=1e-13,
            what=f"MLA outputs 0..4 after changing token 5 (absorb={name == 'absorbed'})",
            hint="a token attends to itself and earlier tokens only: mask the future",
        )


@pytest.mark.exercise("MLA")
def test_mla_cache_is_one_latent_and_one_rope_key_per_token(inference):
    cfg = mla_config(6)
    run, latent, rope_key = check_mla(
        inference, cfg, 6, (2, 5), "MLA with q_lora_rank=6, x of shape [2, 5, 16]"
    )
    check.equal(
        tuple(run["latent"].shape),
        (2, 5, 5),
        what="kv_cache(x)[0].shape",
        hint="the latent is [B, T, kv_lora_rank]: one per token, none per head",
    )
    check.equal(
        tuple(run["rope_key"].shape),
        (2, 5, 6),
        what="kv_cache(x)[1].shape",
        hint="the RoPE key is [B, T, qk_rope_head_dim], shared by all heads",
    )
    # Bytes cached per token for this layer in float64: (5 + 6) × 8 = 88.
    per_token = sum(t.numel() * t.element_size() for t in (run["latent"], run["rope_key"])) / 10
    check.close(per_token, 88.0, what="bytes cached per token (float64)")
    check.arrays_close(
        run["latent"].numpy(),
        latent.numpy(),
        rtol=1e-5,
        atol=1e-6,
        what="kv_cache(x)[0], the normalised latent",
        hint="the first kv_lora_rank outputs of kv_a_proj_with_mqa, through kv_a_layernorm",
    )
    check.arrays_close(
        run["rope_key"].numpy(),
        rope_key.numpy(),
        rtol=1e-5,
        atol=1e-6,
        what="kv_cache(x)[1], the rotated shared key",
        hint="the last qk_rope_head_dim outputs of kv_a_proj_with_mqa, rotated by position",
    )


@pytest.mark.exercise("MLA")
def test_mla_bad_input_names_the_field(inference):
    cfg = mla_config(6)
    bad = {
        "qk_rope_head_dim": mla_config(6, qk_rope_head_dim=5),
        "kv_lora_rank": {k: v for k, v in cfg.items() if k != "kv_lora_rank"},
        "num_attention_heads": mla_config(6, num_attention_heads=0),
    }
    other = mla_weights(mla_config(6, kv_lora_rank=8), 0)  # a model with a wider latent
    long_x = torch.zeros(1, 33, 16, dtype=torch.float64)  # max_position_embeddings is 32
    found = mla_errors(inference, cfg, bad, other, long_x)
    expected_words = {
        **{k: k for k in bad},
        "long": "max_position_embeddings",
        "other_weights": "kv_",
    }
    for name, word in expected_words.items():
        got = found[name]
        if got is None or got[0] == "NotImplementedError" or word not in got[1]:
            check.fail(
                f"the error for a bad {name}",
                f"an exception whose message names {word!r}",
                got,
                hint="check the configuration in __init__, the sequence length in forward, and "
                "the shapes in load_state_dict, and say which field is wrong",
            )
