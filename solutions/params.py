"""Counting a transformer's parameters from its configuration, and the FLOPs a token costs.

Topic module ``params`` (chapter 7). A configuration is a dict with the key names of Hugging
Face's ``DeepseekV3Config`` (see ``course.params_reference``). Every projection is a bias-free
matrix, so a projection from ``a`` to ``b`` channels holds ``a · b`` parameters; an RMSNorm over
``w`` channels holds ``w``. Counts are exact Python ints; FLOPs are floats.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

Config = Mapping[str, Any]


def mha_params(hidden_size: int, num_heads: int, head_dim: int) -> int:
    """Parameters of one standard multi-head attention block, without biases.

    Four projections: queries, keys and values each map ``hidden_size`` to
    ``num_heads · head_dim`` channels, and the output projection maps them back.

    Args:
        hidden_size: width of the residual stream, d.
        num_heads: number of attention heads.
        head_dim: width of one head's queries, keys and values.

    Returns:
        4 · hidden_size · num_heads · head_dim, an int.
    """
    return 4 * hidden_size * num_heads * head_dim


def mla_params(config: Config) -> int:
    """Parameters of one multi-head latent attention (MLA) block, as in DeepSeek-V2/V3.

    With h = num_attention_heads, d = hidden_size and a query/key head width of
    qk_nope_head_dim + qk_rope_head_dim, the block holds:

    - queries: ``q_a_proj`` [d → q_lora_rank], ``q_a_layernorm`` [q_lora_rank] and
      ``q_b_proj`` [q_lora_rank → h · qk head width]; when ``q_lora_rank`` is None there is no
      compression, just ``q_proj`` [d → h · qk head width];
    - ``kv_a_proj_with_mqa`` [d → kv_lora_rank + qk_rope_head_dim]: the key-value latent plus
      the one RoPE key all heads share;
    - ``kv_a_layernorm`` [kv_lora_rank];
    - ``kv_b_proj`` [kv_lora_rank → h · (qk_nope_head_dim + v_head_dim)]: per-head keys (their
      non-RoPE part) and values, rebuilt from the latent;
    - ``o_proj`` [h · v_head_dim → d].

    Args:
        config: a dict with the Hugging Face DeepseekV3Config keys named above.

    Returns:
        The parameter count of one block, an int.
    """
    d, heads = config["hidden_size"], config["num_attention_heads"]
    nope, rope, v_dim = config["qk_nope_head_dim"], config["qk_rope_head_dim"], config["v_head_dim"]
    kv_rank, q_rank = config["kv_lora_rank"], config["q_lora_rank"]
    q_width = heads * (nope + rope)
    query = d * q_width if q_rank is None else d * q_rank + q_rank + q_rank * q_width
    key_value = d * (kv_rank + rope) + kv_rank + kv_rank * heads * (nope + v_dim)
    output = heads * v_dim * d
    return query + key_value + output


def ffn_params(hidden_size: int, intermediate_size: int) -> int:
    """Parameters of one gated (SwiGLU) feed-forward network, without biases.

    Three matrices: ``gate_proj`` and ``up_proj`` [hidden → intermediate] and ``down_proj``
    [intermediate → hidden]. (An ungated FFN would have two.)

    Args:
        hidden_size: width of the residual stream, d.
        intermediate_size: width of the hidden layer of the FFN.

    Returns:
        3 · hidden_size · intermediate_size, an int.
    """
    return 3 * hidden_size * intermediate_size


def moe_params(config: Config) -> dict[str, int]:
    """Parameters of one Mixture-of-Experts FFN layer: stored, and used by one token.

    The layer holds ``n_routed_experts`` routed experts and ``n_shared_experts`` shared ones,
    each a gated FFN of width ``moe_intermediate_size``, plus a router with one centroid per
    routed expert (weight [n_routed_experts, hidden_size]) and one selection bias per routed
    expert (``e_score_correction_bias``, [n_routed_experts]). A token runs every shared expert,
    the router, and ``num_experts_per_tok`` of the routed experts.

    Args:
        config: a dict with Hugging Face DeepseekV3Config keys (hidden_size,
            moe_intermediate_size, n_routed_experts, n_shared_experts, num_experts_per_tok).

    Returns:
        A dict of ints: "routed" (all routed experts), "shared" (all shared experts),
        "router" (weight and bias), "total" (their sum) and "active" (router + shared
        experts + the num_experts_per_tok routed experts a token uses).
    """
    expert = ffn_params(config["hidden_size"], config["moe_intermediate_size"])
    n_routed = config["n_routed_experts"]
    routed = n_routed * expert
    shared = config["n_shared_experts"] * expert
    router = n_routed * config["hidden_size"] + n_routed
    return {
        "routed": routed,
        "shared": shared,
        "router": router,
        "total": routed + shared + router,
        "active": router + shared + config["num_experts_per_tok"] * expert,
    }


def count_params(config: Config) -> dict[str, int]:
    """Parameters of a DeepSeek-V3-style model, stored and activated per token.

    The main model only (no multi-token-prediction module): the token embedding
    [vocab_size, d]; ``num_hidden_layers`` decoder layers, each with two RMSNorms [d], an MLA
    block and an FFN, the first ``first_k_dense_replace`` of them a dense gated FFN of width
    ``intermediate_size`` and the rest MoE layers; a final RMSNorm [d]; and the output head
    [d, vocab_size], which is the embedding matrix itself (counted once) when
    ``tie_word_embeddings`` is true.

    "active" counts the parameters that multiply a token's activations: everything except the
    routed experts the token is not sent to and the embedding table, whose one looked-up row
    is a copy, not a matrix multiplication. The output head is a matrix multiplication and
    counts as active. This is the convention of DeepSeek's weight documentation. When the
    head is tied to the embedding, the shared matrix is used as the head and counts once.

    Args:
        config: a dict with Hugging Face DeepseekV3Config keys.

    Returns:
        A dict of ints with "total" and "active", and the stored parameters by part:
        "embedding", "attention", "dense_ffn", "routed_experts", "shared_experts", "routers",
        "norms" (the decoder layers' and the final RMSNorms; MLA's own norms are in
        "attention") and "output_head" (0 when tied). The parts add up to "total".
        "routed_experts_active" is the routed-expert share of "active".
    """
    d, layers = config["hidden_size"], config["num_hidden_layers"]
    n_dense = config["first_k_dense_replace"]
    n_moe = layers - n_dense
    moe = moe_params(config)
    embedding = config["vocab_size"] * d
    routed_active = moe["active"] - moe["router"] - moe["shared"]
    parts = {
        "embedding": embedding,
        "attention": layers * mla_params(config),
        "dense_ffn": n_dense * ffn_params(d, config["intermediate_size"]),
        "routed_experts": n_moe * moe["routed"],
        "shared_experts": n_moe * moe["shared"],
        "routers": n_moe * moe["router"],
        "norms": (2 * layers + 1) * d,
        "output_head": 0 if config["tie_word_embeddings"] else embedding,
    }
    total = sum(parts.values())
    idle_experts = parts["routed_experts"] - n_moe * routed_active
    lookup_only = 0 if config["tie_word_embeddings"] else embedding  # tied: used as the head
    return {
        **parts,
        "routed_experts_active": n_moe * routed_active,
        "total": total,
        "active": total - idle_experts - lookup_only,
    }


def attention_context_flops(config: Config, context_len: float) -> float:
    """Forward FLOPs one token spends on attention's context-dependent part, whole model.

    In every layer and head the token's query meets ``context_len`` keys (a dot product of
    qk_nope_head_dim + qk_rope_head_dim multiply-adds each) and takes a weighted sum of as many
    values (v_head_dim multiply-adds each). A multiply-add is 2 FLOPs. Softmax and scaling
    are left out (a few FLOPs per score, not per channel).

    Args:
        config: a dict with Hugging Face DeepseekV3Config keys (num_hidden_layers,
            num_attention_heads, qk_nope_head_dim, qk_rope_head_dim, v_head_dim).
        context_len: positions the token attends to (itself included); averaged over a
            causal training sequence of length S it is about S / 2.

    Returns:
        2 · layers · heads · (qk head width + v_head_dim) · context_len, in FLOPs (float).
    """
    qk_dim = config["qk_nope_head_dim"] + config["qk_rope_head_dim"]
    per_position = config["num_attention_heads"] * (qk_dim + config["v_head_dim"])
    return 2.0 * config["num_hidden_layers"] * per_position * float(context_len)


def training_flops_per_token(active_params: float, context_flops: float = 0.0) -> float:
    """Training FLOPs per token: forward plus backward pass.

    The forward pass costs 2 FLOPs per used weight (one multiply-add) plus the attention
    context term; the backward pass costs about twice the forward (gradients with respect to
    both activations and weights), so training costs three forward passes.

    Args:
        active_params: weights that multiply activations for one token (parameters).
        context_flops: forward FLOPs of attention's context-dependent part per token (see
            ``attention_context_flops``); 0 to leave attention's context out.

    Returns:
        3 · (2 · active_params + context_flops) = 6 · active_params + 3 · context_flops,
        in FLOPs per token (float).
    """
    return 3.0 * (2.0 * float(active_params) + float(context_flops))
