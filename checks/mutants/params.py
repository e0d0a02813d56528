"""Plausible wrong answers to the ``params`` exercises (see checks/mutants/__init__.py)."""

from checks.mutants import Mutant

_MOE = "def moe_params(config):\n    d, w = config['hidden_size'], config['moe_intermediate_size']\n    e, s, k = config['n_routed_experts'], config['n_shared_experts'], config['num_experts_per_tok']\n    x = 3 * d * w\n"
_COUNT = "_right_count = count_params\n\ndef count_params(config):\n    c = dict(config)\n"

MUTANTS = [
    Mutant("params", "mha_params", "output projection forgotten",
           "def mha_params(hidden_size, num_heads, head_dim):\n    return 3 * hidden_size * num_heads * head_dim\n"),
    Mutant("params", "mha_params", "square d × d matrices whatever the heads",
           "def mha_params(hidden_size, num_heads, head_dim):\n    return 4 * hidden_size * hidden_size\n"),
    Mutant("params", "mla_params", "RoPE key dimensions left out of kv_a_proj_with_mqa",
           "_right_mla = mla_params\n\ndef mla_params(config):\n"
           "    return _right_mla(config) - config['hidden_size'] * config['qk_rope_head_dim']\n"),
    Mutant("params", "mla_params", "kv_b_proj sized with the query/key head width for values too",
           "_right_mla = mla_params\n\ndef mla_params(config):\n"
           "    extra = config['num_attention_heads'] * (config['qk_rope_head_dim'] + config['qk_nope_head_dim'] - config['v_head_dim'])\n"
           "    return _right_mla(config) + config['kv_lora_rank'] * extra\n"),
    Mutant("params", "mla_params", "the two RMSNorms inside MLA forgotten",
           "_right_mla = mla_params\n\ndef mla_params(config):\n"
           "    return _right_mla(config) - (config['q_lora_rank'] or 0) - config['kv_lora_rank']\n"),
    Mutant("params", "mla_params", "query compression assumed even when q_lora_rank is None",
           "_right_mla = mla_params\n\ndef mla_params(config):\n"
           "    return _right_mla(dict(config, q_lora_rank=config['q_lora_rank'] or 1536))\n"),
    Mutant("params", "mla_params", "standard multi-head attention instead of MLA",
           "def mla_params(config):\n    h, d = config['num_attention_heads'], config['hidden_size']\n"
           "    return 4 * d * h * (config['qk_nope_head_dim'] + config['qk_rope_head_dim'])\n"),
    Mutant("params", "ffn_params", "ungated FFN: two matrices",
           "def ffn_params(hidden_size, intermediate_size):\n    return 2 * hidden_size * intermediate_size\n"),
    Mutant("params", "moe_params", "shared expert forgotten",
           _MOE + "    r = e * d + e\n    return {'routed': e * x, 'shared': 0, 'router': r, 'total': e * x + r, 'active': k * x + r}\n"),
    Mutant("params", "moe_params", "every expert counted as active",
           _MOE + "    r = e * d + e\n    t = (e + s) * x + r\n    return {'routed': e * x, 'shared': s * x, 'router': r, 'total': t, 'active': t}\n"),
    Mutant("params", "moe_params", "router's correction bias forgotten",
           _MOE + "    r = e * d\n    return {'routed': e * x, 'shared': s * x, 'router': r, 'total': (e + s) * x + r, 'active': (k + s) * x + r}\n"),
    Mutant("params", "moe_params", "router left out of the active count",
           _MOE + "    r = e * d + e\n    return {'routed': e * x, 'shared': s * x, 'router': r, 'total': (e + s) * x + r, 'active': (k + s) * x}\n"),
    Mutant("params", "count_params", "shared expert forgotten",
           _COUNT + "    right, wrong = _right_count(c), _right_count(dict(c, n_shared_experts=0))\n"
           "    return wrong\n"),
    Mutant("params", "count_params", "every expert counted as active",
           _COUNT + "    out = _right_count(c)\n    return dict(out, active=out['total'])\n"),
    Mutant("params", "count_params", "output head omitted",
           _COUNT + "    out = _right_count(c)\n    if c['tie_word_embeddings']:\n        return out\n"
           "    head = c['vocab_size'] * c['hidden_size']\n"
           "    return dict(out, total=out['total'] - head, active=out['active'] - head)\n"),
    Mutant("params", "count_params", "dense layers omitted: every layer an MoE layer",
           _COUNT + "    return _right_count(dict(c, first_k_dense_replace=0))\n"),
    Mutant("params", "count_params", "output head counted even when tied to the embedding",
           _COUNT + "    return _right_count(dict(c, tie_word_embeddings=False))\n"),
    Mutant("params", "count_params", "embedding and head left out of the active count",
           _COUNT + "    out = _right_count(c)\n"
           "    return dict(out, active=out['active'] - out['embedding'] - out['output_head'])\n"),
    Mutant("params", "count_params", "the embedding lookup counted as active",
           _COUNT + "    out = _right_count(c)\n"
           "    if c['tie_word_embeddings']:\n        return out\n"
           "    return dict(out, active=out['active'] + out['embedding'])\n"),
    Mutant("params", "count_params", "the output head left out of the active count",
           _COUNT + "    out = _right_count(c)\n"
           "    return dict(out, active=out['active'] - out['output_head'])\n"),
    Mutant("params", "count_params", "final norm and per-layer norms forgotten",
           _COUNT + "    out = _right_count(c)\n"
           "    return dict(out, total=out['total'] - out['norms'], active=out['active'] - out['norms'])\n"),
    Mutant("params", "attention_context_flops", "one FLOP per multiply-add",
           "_right_attn = attention_context_flops\n\ndef attention_context_flops(config, context_len):\n"
           "    return _right_attn(config, context_len) / 2\n"),
    Mutant("params", "attention_context_flops", "scores counted, weighted sum of values forgotten",
           "def attention_context_flops(config, context_len):\n"
           "    qk = config['qk_nope_head_dim'] + config['qk_rope_head_dim']\n"
           "    return 2.0 * config['num_hidden_layers'] * config['num_attention_heads'] * qk * context_len\n"),
    Mutant("params", "attention_context_flops", "one layer only",
           "_right_attn = attention_context_flops\n\ndef attention_context_flops(config, context_len):\n"
           "    return _right_attn(dict(config, num_hidden_layers=1), context_len)\n"),
    Mutant("params", "training_flops_per_token", "2·N: the forward pass only",
           "def training_flops_per_token(active_params, context_flops=0.0):\n"
           "    return 2.0 * active_params + context_flops\n"),
    Mutant("params", "training_flops_per_token", "attention context not paid in the backward pass",
           "def training_flops_per_token(active_params, context_flops=0.0):\n"
           "    return 6.0 * active_params + context_flops\n"),
    Mutant("params", "training_flops_per_token", "4·N: backward as cheap as forward",
           "def training_flops_per_token(active_params, context_flops=0.0):\n"
           "    return 2.0 * (2.0 * active_params + context_flops)\n"),
]  # fmt: skip
