"""Model configurations for counting parameters: DeepSeek-V3's, and small ones for checks.

A configuration is a plain dict with the key names of Hugging Face's ``DeepseekV3Config``
(``hidden_size``, ``moe_intermediate_size``, ``q_lora_rank``, ...), so the same dict can be
handed to ``params.count_params`` and to ``course.tiny_deepseek.TinyDeepseekV3``.
DeepSeek-V3's values live in ``course/data/deepseek_v3_config.yaml`` with their source.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

import yaml

Config = dict[str, Any]

# The keys a configuration must have for the parameter count (the routing keys n_group,
# topk_group and routed_scaling_factor do not change it, and are optional).
COUNT_KEYS = (
    "vocab_size",
    "hidden_size",
    "intermediate_size",
    "moe_intermediate_size",
    "num_hidden_layers",
    "first_k_dense_replace",
    "n_routed_experts",
    "n_shared_experts",
    "num_experts_per_tok",
    "num_attention_heads",
    "q_lora_rank",
    "kv_lora_rank",
    "qk_nope_head_dim",
    "qk_rope_head_dim",
    "v_head_dim",
    "tie_word_embeddings",
)


@cache
def _v3_config() -> Config:
    text = (
        resources.files("course")
        .joinpath("data/deepseek_v3_config.yaml")
        .read_text(encoding="utf-8")
    )
    return yaml.safe_load(text)


def deepseek_v3_config() -> Config:
    """DeepSeek-V3's published configuration (a fresh copy, safe to modify)."""
    return dict(_v3_config())


def tiny_config(**overrides: Any) -> Config:
    """A DeepSeek-V3-shaped configuration small enough to build in torch in milliseconds.

    Every width is different from every other, so a formula that uses the wrong one gives a
    wrong count. Keyword arguments replace single entries, e.g. ``tiny_config(q_lora_rank=None)``.
    """
    config: Config = {
        "vocab_size": 97,
        "hidden_size": 24,
        "intermediate_size": 40,
        "moe_intermediate_size": 6,
        "num_hidden_layers": 4,
        "first_k_dense_replace": 1,
        "n_routed_experts": 8,
        "n_shared_experts": 1,
        "num_experts_per_tok": 2,
        "n_group": 4,
        "topk_group": 2,
        "routed_scaling_factor": 2.5,
        "num_attention_heads": 3,
        "q_lora_rank": 10,
        "kv_lora_rank": 7,
        "qk_nope_head_dim": 5,
        "qk_rope_head_dim": 2,
        "v_head_dim": 4,
        "tie_word_embeddings": False,
        "num_nextn_predict_layers": 0,
    }
    unknown = set(overrides) - set(config)
    if unknown:
        raise KeyError(f"unknown configuration keys {sorted(unknown)}; known: {sorted(config)}")
    config.update(overrides)
    return config
