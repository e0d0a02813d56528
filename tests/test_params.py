"""Graded tests for chapter 7, "Counting parameters and FLOPs" (topic ``params``).

The references are independent of the solution: small DeepSeek-V3-shaped modules built in
torch (``course.tiny_deepseek``, counted with ``numel()``), torch's own attention module, and
counts worked by hand in the comments.
"""

import pytest
import torch
from torch import nn

from course import tiny_deepseek
from course.params_reference import deepseek_v3_config, tiny_config
from grading import check, topic_fixture

TOPIC = "params"
POINTS = {
    "mha_params": 1,
    "mla_params": 3,
    "ffn_params": 1,
    "moe_params": 3,
    "count_params": 5,
    "attention_context_flops": 2,
    "training_flops_per_token": 2,
}
params = topic_fixture(TOPIC)

# Small configurations that each change one thing DeepSeek-V3 has (or lacks).
TINY_CONFIGS = {
    "tiny": tiny_config(),
    "no query compression": tiny_config(q_lora_rank=None),
    "tied embeddings": tiny_config(tie_word_embeddings=True),
    "two shared experts, three active": tiny_config(n_shared_experts=2, num_experts_per_tok=3),
    "all layers dense": tiny_config(first_k_dense_replace=4),
    "no dense layer": tiny_config(first_k_dense_replace=0, num_hidden_layers=3),
}


def numel(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def moe_numel(config) -> tuple[int, int]:
    """(total, active) parameters of the torch MoE layer for ``config``: a token runs the
    router, the shared experts and num_experts_per_tok routed experts."""
    layer = tiny_deepseek.MoE(config)
    total = numel(layer)
    idle = config["n_routed_experts"] - config["num_experts_per_tok"]
    return total, total - idle * numel(layer.experts[0])


def model_numel(config) -> tuple[int, int]:
    """(total, active) parameters of the torch model for ``config``."""
    model = tiny_deepseek.build(config)
    return tiny_deepseek.count_numel(model), tiny_deepseek.count_active_numel(model, config)


# The torch modules are built once, when the file is imported (the same for every submission
# graded), with torch's random state left as it was.
with torch.random.fork_rng(devices=[]):
    MHA_NUMEL = numel(nn.MultiheadAttention(12, 3, bias=False))
    MLA_NUMEL = {
        name: numel(tiny_deepseek.MultiHeadLatentAttention(TINY_CONFIGS[name]))
        for name in ("tiny", "no query compression")
    }
    MLP_NUMEL = numel(tiny_deepseek.MLP(24, 40))  # 3 · 24 · 40 = 2,880
    MOE_NUMEL = {
        name: moe_numel(TINY_CONFIGS[name]) for name in ("tiny", "two shared experts, three active")
    }
    MODEL_NUMEL = {name: model_numel(config) for name, config in TINY_CONFIGS.items()}


def as_int(value):
    """Python int for exact comparison (a learner may return a numpy integer)."""
    return int(value) if hasattr(value, "__index__") else value


# ---------------------------------------------------------------- standard attention


@pytest.mark.exercise("mha_params")
def test_mha_params_matches_torch_multihead_attention(params):
    # torch's own block: in_proj [3·12, 12] and out_proj [12, 12] = 4 · 144 = 576.
    check.equal(
        as_int(params.mha_params(12, 3, 4)),
        MHA_NUMEL,
        what="mha_params(12, 3, 4)",
        hint="queries, keys, values and the output projection: four d × (heads · head_dim) matrices",
    )


@pytest.mark.exercise("mha_params")
def test_mha_params_when_heads_do_not_fill_the_width(params):
    # hidden 10, 3 heads of 4: q, k, v are 10 × 12 each and o is 12 × 10: 4 · 120 = 480.
    check.equal(
        as_int(params.mha_params(10, 3, 4)),
        480,
        what="mha_params(10, 3, 4)",
        hint="use num_heads · head_dim for the projected width, not hidden_size",
    )


# ---------------------------------------------------------------- multi-head latent attention


@pytest.mark.exercise("mla_params")
@pytest.mark.parametrize("name", list(MLA_NUMEL))
def test_mla_params_match_the_torch_block(params, name):
    check.equal(
        as_int(params.mla_params(dict(TINY_CONFIGS[name]))),
        MLA_NUMEL[name],
        what=f"mla_params({name} config)",
        hint="q_a_proj, q_a_layernorm, q_b_proj (or q_proj when q_lora_rank is None), "
        "kv_a_proj_with_mqa (kv_lora_rank + qk_rope_head_dim outputs), kv_a_layernorm, "
        "kv_b_proj (heads · (qk_nope_head_dim + v_head_dim) outputs), o_proj",
    )


@pytest.mark.exercise("mla_params")
def test_mla_params_deepseek_v3(params):
    # d = 7168, 128 heads, query/key head 128 + 64 = 192, value head 128:
    #   q_a_proj 7168·1536 = 11,010,048; q_a_layernorm 1,536; q_b_proj 1536·128·192 = 37,748,736
    #   kv_a_proj_with_mqa 7168·(512+64) = 4,128,768; kv_a_layernorm 512
    #   kv_b_proj 512·128·(128+128) = 16,777,216; o_proj 128·128·7168 = 117,440,512
    #   sum 187,107,328
    check.equal(
        as_int(params.mla_params(deepseek_v3_config())),
        187_107_328,
        what="mla_params(DeepSeek-V3)",
        hint="every projection is a bias-free matrix; count the two RMSNorms inside the block too",
    )


@pytest.mark.exercise("mla_params")
def test_mla_params_without_query_compression(params):
    # q_lora_rank None: q_proj 7168·128·192 = 176,160,768 replaces q_a_proj, its norm and q_b_proj;
    # the rest is 4,128,768 + 512 + 16,777,216 + 117,440,512 = 138,347,008; sum 314,507,776.
    config = deepseek_v3_config() | {"q_lora_rank": None}
    check.equal(
        as_int(params.mla_params(config)),
        314_507_776,
        what="mla_params(DeepSeek-V3 with q_lora_rank=None)",
        hint="with no query compression, one q_proj maps hidden_size to heads · (nope + rope)",
    )


# ---------------------------------------------------------------- feed-forward networks


@pytest.mark.exercise("ffn_params")
def test_ffn_params_match_a_torch_swiglu_mlp(params):
    check.equal(
        as_int(params.ffn_params(24, 40)),
        MLP_NUMEL,
        what="ffn_params(24, 40)",
        hint="a gated FFN has three matrices: gate_proj, up_proj and down_proj",
    )


@pytest.mark.exercise("ffn_params")
def test_ffn_params_deepseek_v3_dense_and_expert(params):
    # dense: 3 · 7168 · 18432 = 396,361,728; one expert: 3 · 7168 · 2048 = 44,040,192.
    check.equal(as_int(params.ffn_params(7168, 18432)), 396_361_728, what="ffn_params(7168, 18432)")
    check.equal(as_int(params.ffn_params(7168, 2048)), 44_040_192, what="ffn_params(7168, 2048)")


# ---------------------------------------------------------------- Mixture-of-Experts layer


@pytest.mark.exercise("moe_params")
@pytest.mark.parametrize("name", list(MOE_NUMEL))
def test_moe_params_match_the_torch_layer(params, name):
    total, active = MOE_NUMEL[name]
    got = params.moe_params(dict(TINY_CONFIGS[name]))
    check.equal(
        as_int(got["total"]),
        total,
        what=f"moe_params({name} config)['total']",
        hint="routed experts + shared experts + the router's weight [E, d] and bias [E]",
    )
    check.equal(
        as_int(got["active"]),
        active,
        what=f"moe_params({name} config)['active']",
        hint="a token uses the router, every shared expert and num_experts_per_tok routed experts",
    )


@pytest.mark.exercise("moe_params")
def test_moe_params_deepseek_v3(params):
    # One expert 44,040,192; router 256·7168 + 256 = 1,835,264.
    #   total  = 257 · 44,040,192 + 1,835,264 = 11,318,329,344 + 1,835,264 = 11,320,164,608
    #   active =   9 · 44,040,192 + 1,835,264 =    396,361,728 + 1,835,264 =    398,196,992
    got = params.moe_params(deepseek_v3_config())
    check.equal(
        as_int(got["total"]),
        11_320_164_608,
        what="moe_params(DeepSeek-V3)['total']",
        hint="256 routed + 1 shared expert, and the router (weight and correction bias)",
    )
    check.equal(
        as_int(got["active"]),
        398_196_992,
        what="moe_params(DeepSeek-V3)['active']",
        hint="8 routed + 1 shared expert per token, plus the router; not all 256 experts",
    )


@pytest.mark.exercise("moe_params")
def test_moe_params_parts_add_up(params):
    # Parts of the tiny layer by hand: expert 3·24·6 = 432; routed 8·432 = 3,456;
    # shared 432; router 8·24 + 8 = 200; total 4,088.
    got = params.moe_params(tiny_config())
    for key, expected in (("routed", 3456), ("shared", 432), ("router", 200), ("total", 4088)):
        check.equal(
            as_int(got[key]),
            expected,
            what=f"moe_params(tiny config)[{key!r}]",
            hint="expert = 3 · hidden · moe_intermediate_size; router = E · hidden + E",
        )


# ---------------------------------------------------------------- the whole model


@pytest.mark.exercise("count_params")
@pytest.mark.parametrize("name", list(TINY_CONFIGS))
def test_count_params_matches_the_torch_model(params, name):
    total, active = MODEL_NUMEL[name]
    got = params.count_params(dict(TINY_CONFIGS[name]))
    check.equal(
        as_int(got["total"]),
        total,
        what=f"count_params({name} config)['total']",
        hint="embedding, every layer (two RMSNorms, attention, dense FFN or MoE), final norm, "
        "output head (once only when tied to the embedding)",
    )
    check.equal(
        as_int(got["active"]),
        active,
        what=f"count_params({name} config)['active']",
        hint="everything that multiplies the token: not the routed experts it is not sent to, "
        "and not the embedding table, which is only looked up (unless tied to the head)",
    )


@pytest.mark.exercise("count_params")
def test_count_params_deepseek_v3_exact(params):
    # Per layer: attention 187,107,328 and two norms 2·7168 = 14,336.
    #   dense layer: 187,107,328 + 396,361,728 + 14,336 = 583,483,392; × 3 = 1,750,450,176
    #   MoE layer: 187,107,328 + 11,320,164,608 + 14,336 = 11,507,286,272; × 58 = 667,422,603,776
    #   embedding + output head 2 · 129,280 · 7,168 = 1,853,358,080, final norm 7,168
    #   total = 1,750,450,176 + 667,422,603,776 + 1,853,365,248 = 671,026,419,200
    # Active MoE layer: 187,107,328 + 398,196,992 + 14,336 = 585,318,656; × 58 = 33,948,482,048
    #   active = 33,948,482,048 + 1,750,450,176 + output head 926,679,040 + final norm 7,168
    #          = 36,625,618,432 (the embedding lookup multiplies nothing and is not counted)
    got = params.count_params(deepseek_v3_config())
    check.equal(
        as_int(got["total"]),
        671_026_419_200,
        what="count_params(DeepSeek-V3)['total']",
        hint="3 dense + 58 MoE layers, embedding and a separate output head, no MTP module",
    )
    check.equal(
        as_int(got["active"]),
        36_625_618_432,
        what="count_params(DeepSeek-V3)['active']",
        hint="1 shared + 8 routed experts per MoE layer; the output head counts, the embedding "
        "lookup does not",
    )


@pytest.mark.exercise("count_params")
def test_count_params_deepseek_v3_reproduces_the_report(params):
    # The report gives 671B and 37B, rounded to whole billions; DeepSeek's weight
    # documentation gives 36.6B activated, including the 0.9B output head and not the
    # embedding lookup. Tolerances:
    # - total: the rounding itself, ±0.5e9 (0.075%); every plausible slip moves it by far more
    #   (omitting the output head: −0.93e9; making all 61 layers MoE: +33e9).
    # - active: the documentation's rounding, ±0.05e9. Counting the embedding table as active
    #   (37.55B), leaving the head out (35.70B) or forgetting the shared expert fall outside.
    got = params.count_params(deepseek_v3_config())
    check.close(
        float(got["total"]),
        671e9,
        rel=0.0,
        abs_tol=0.5e9,
        what="count_params(DeepSeek-V3)['total']",
        hint="the main model without the multi-token-prediction module is about 671B",
    )
    check.close(
        float(got["active"]),
        36.6e9,
        rel=0.0,
        abs_tol=0.05e9,
        what="count_params(DeepSeek-V3)['active']",
        hint="about 36.6B multiply each token: attention, dense layers, 9 experts per MoE layer, "
        "the output head; the embedding is a lookup and is not counted",
    )


# ---------------------------------------------------------------- FLOPs


@pytest.mark.exercise("attention_context_flops")
def test_attention_context_flops_tiny_model(params):
    # tiny config: 4 layers, 3 heads, query/key head 5 + 2 = 7, value head 4, context 8.
    # Per layer and head: scores 8 keys · 7 multiply-adds, weighted sum 8 values · 4 of them,
    # so 8 · 11 = 88 multiply-adds = 176 FLOPs; × 3 heads × 4 layers = 2,112 FLOPs.
    # (The chapter checks the same count against torch's FLOP counter on the torch model.)
    check.close(
        params.attention_context_flops(tiny_config(), 8),
        2112.0,
        rel=1e-12,
        what="attention_context_flops(tiny config, 8)",
        hint="per layer and head: 2 · (qk_nope + qk_rope) FLOPs per key for the scores and "
        "2 · v_head_dim per value for the weighted sum",
    )


@pytest.mark.exercise("attention_context_flops")
def test_attention_context_flops_deepseek_v3_at_4k(params):
    # 2 · 61 layers · 128 heads · (192 + 128) · 4096 = 2 · 61 · 40,960 · 4096 = 20,468,203,520.
    check.close(
        params.attention_context_flops(deepseek_v3_config(), 4096),
        20_468_203_520.0,
        rel=1e-12,
        what="attention_context_flops(DeepSeek-V3, 4096)",
        hint="count all layers, and 2 FLOPs per multiply-add",
    )


@pytest.mark.exercise("attention_context_flops")
def test_attention_context_flops_grow_linearly_with_context(params):
    config = deepseek_v3_config()
    short = params.attention_context_flops(config, 1000)
    check.close(
        params.attention_context_flops(config, 3000),
        3 * short,
        rel=1e-12,
        what="attention_context_flops(DeepSeek-V3, 3000)",
        hint="each extra position in the context costs the same: the term is proportional",
    )
    check.close(
        params.attention_context_flops(config, 0),
        0.0,
        abs_tol=1e-9,
        what="attention_context_flops(DeepSeek-V3, 0)",
        hint="no context, no scores",
    )


@pytest.mark.exercise("training_flops_per_token")
def test_training_flops_per_token_of_one_layer_by_hand(params):
    # One bias-free 32 → 48 layer (1,536 weights) inside a network, per token:
    #   forward  y = x·Wᵀ       1,536 multiply-adds
    #   backward dx = dy·W      1,536 multiply-adds (the gradient the layer below needs)
    #            dW += dyᵀ·x    1,536 multiply-adds (the weight gradient)
    # 3 · 1,536 multiply-adds = 4,608 = 9,216 FLOPs: 6 per weight.
    # (The chapter measures the same with torch's FLOP counter.)
    check.close(
        params.training_flops_per_token(32 * 48),
        9216.0,
        rel=1e-12,
        what="training_flops_per_token(1536)",
        hint="forward 2 FLOPs per weight, backward twice that: 6 per weight, not 2",
    )


@pytest.mark.exercise("training_flops_per_token")
def test_training_flops_per_token_deepseek_v3_scale(params):
    # 6 · 37e9 = 2.22e11; with 2e10 forward FLOPs of attention context: + 3 · 2e10 = 2.82e11.
    check.close(
        params.training_flops_per_token(37e9),
        2.22e11,
        rel=1e-12,
        what="training_flops_per_token(37e9)",
        hint="6 · N_active per token for training (2 forward + 4 backward)",
    )
    check.close(
        params.training_flops_per_token(37e9, 2e10),
        2.82e11,
        rel=1e-12,
        what="training_flops_per_token(37e9, 2e10)",
        hint="the attention term is paid in the backward pass too: 3 × the forward FLOPs",
    )
