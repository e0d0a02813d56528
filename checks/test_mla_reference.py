"""Instructor self-check: ``solutions.inference.MLA`` against Hugging Face's ``DeepseekV3Attention``.

Not a graded test (grading installs no ``transformers``). The same random weights go into both
modules through ``load_state_dict``; the outputs must agree with and without absorption, and the
latent the solution caches must equal the one Hugging Face's cache keeps. Skipped when
``transformers`` is not installed (it is pinned in requirements.txt).
"""

from __future__ import annotations

import pytest
import torch

from solutions import inference

transformers = pytest.importorskip("transformers")
from transformers import DeepseekV3Config  # noqa: E402
from transformers.cache_utils import DynamicCache  # noqa: E402
from transformers.models.deepseek_v3.modeling_deepseek_v3 import (  # noqa: E402
    DeepseekV3Attention,
    DeepseekV3RotaryEmbedding,
)

CONFIGS = {
    "query compression": dict(
        hidden_size=32, num_attention_heads=4, q_lora_rank=12, kv_lora_rank=10,
        qk_nope_head_dim=6, qk_rope_head_dim=8, v_head_dim=5, rope_theta=50.0,
    ),
    "no query compression": dict(
        hidden_size=24, num_attention_heads=3, q_lora_rank=None, kv_lora_rank=7,
        qk_nope_head_dim=4, qk_rope_head_dim=4, v_head_dim=6, rope_theta=10000.0,
    ),
}  # fmt: skip


def hugging_face(cfg: dict):
    config = DeepseekV3Config(
        **{k: v for k, v in cfg.items() if k != "rope_theta"},
        num_key_value_heads=cfg["num_attention_heads"],
        rope_parameters={"rope_type": "default", "rope_theta": cfg["rope_theta"]},
        rope_interleave=True,
        attention_bias=False,
        max_position_embeddings=64,
        num_hidden_layers=1,
    )
    config._attn_implementation = "eager"
    return config, DeepseekV3Attention(config, layer_idx=0).double().eval()


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_mla_matches_hugging_face(name):
    cfg = CONFIGS[name]
    config, reference = hugging_face(cfg)
    torch.manual_seed(0)
    with torch.no_grad():
        for key, tensor in reference.state_dict().items():
            tensor.copy_(
                0.5 + torch.rand_like(tensor)
                if "layernorm" in key
                else torch.randn_like(tensor) / tensor.shape[-1] ** 0.5
            )
    ours = inference.MLA({**cfg, "max_position_embeddings": 64}).double()
    assert {k: tuple(v.shape) for k, v in ours.state_dict().items()} == {
        k: tuple(v.shape) for k, v in reference.state_dict().items()
    }
    ours.load_state_dict(reference.state_dict())

    batch, length = 2, 9
    x = torch.randn(batch, length, cfg["hidden_size"], dtype=torch.float64)
    positions = torch.arange(length)[None].expand(batch, -1)
    cos, sin = DeepseekV3RotaryEmbedding(config)(x, positions)
    future = torch.ones(length, length, dtype=torch.bool).triu(1)
    mask = torch.zeros(batch, 1, length, length, dtype=torch.float64).masked_fill(
        future, float("-inf")
    )
    cache = DynamicCache(config=config)
    with torch.no_grad():
        expected, _ = reference(x, (cos.double(), sin.double()), mask, past_key_values=cache)
        plain, absorbed = ours(x), ours(x, absorb=True)
        latent, rope_key = ours.kv_cache(x)
    # Hugging Face computes the RoPE angles in float32: agreement to about 1e-6, not 1e-12.
    torch.testing.assert_close(plain, expected, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(absorbed, expected, rtol=1e-5, atol=1e-6)
    hf_latent, hf_rope = cache.layers[0].keys, cache.layers[0].values
    # its RMSNorm also works in float32
    torch.testing.assert_close(latent, hf_latent[:, 0], rtol=1e-5, atol=1e-6)
    # Hugging Face stores the rotated key with the even dimensions first, then the odd ones.
    torch.testing.assert_close(
        torch.cat([rope_key[..., 0::2], rope_key[..., 1::2]], -1),
        hf_rope[:, 0],
        rtol=1e-5,
        atol=1e-6,
    )
