"""Plausible wrong answers to the ``inference`` exercises (see checks/mutants/__init__.py)."""

from checks.mutants import Mutant

# The MLA mutants subclass the solution's MLA and change one step of its forward pass.
_FORWARD = """
class MLA(MLA):
    def forward(self, hidden, *, absorb=False):
        b, t, _ = hidden.shape
        if self.max_position_embeddings is not None and t > self.max_position_embeddings:
            raise ValueError(f"{{t}} tokens: longer than max_position_embeddings")
        h, dn, dr, dv = self.num_heads, self.qk_nope_head_dim, self.qk_rope_head_dim, self.v_head_dim
        if self.q_lora_rank is None:
            q = self.q_proj(hidden)
        else:
            q = self.q_b_proj({q_norm}(self.q_a_proj(hidden)))
        q = q.view(b, t, h, dn + dr).transpose(1, 2)
        q_nope, q_rope = q.split([dn, dr], dim=-1)
        q_rope = _rotate_pairs(q_rope, self.rope_theta)
        latent, rope_key = self.kv_cache(hidden)
        up = self.kv_b_proj.weight.view(h, dn + dv, self.kv_lora_rank)
        up_k, up_v = up[:, :dn], up[:, dn:]
        rope_scores = q_rope @ rope_key.unsqueeze(1).transpose(-1, -2)
        if absorb:
            q_latent = {q_latent}
            scores = {absorbed_scores}
        else:
            keys = torch.einsum("bsr,hnr->bhsn", latent, up_k)
            {plain_keys}
            scores = q_nope @ keys.transpose(-1, -2) + rope_scores
        future = torch.ones(t, t, dtype=torch.bool).triu(1)
        scores = {masked}
        weights = scores.softmax(dim=-1)
        if absorb:
            out = {absorbed_out}
        else:
            out = weights @ torch.einsum("bsr,hvr->bhsv", latent, up_v)
        return self.o_proj(out.transpose(1, 2).reshape(b, t, h * dv))
"""
_FORWARD_RIGHT = dict(
    q_norm="self.q_a_layernorm",
    q_latent='torch.einsum("bhtn,hnr->bhtr", q_nope, up_k)',
    absorbed_scores="q_latent @ latent.unsqueeze(1).transpose(-1, -2) + rope_scores",
    plain_keys="",
    masked='(scores * self.softmax_scale).masked_fill(future, float("-inf"))',
    absorbed_out='torch.einsum("bhtr,hvr->bhtv", weights @ latent.unsqueeze(1), up_v)',
)


def _forward(**wrong: str) -> str:
    return _FORWARD.format(**{**_FORWARD_RIGHT, **wrong})


_ROPE_HALVES = """
def _rotate_pairs(x, theta):
    d, n = x.shape[-1], x.shape[-2]
    inverse = theta ** (-torch.arange(0, d, 2, dtype=torch.float64) / d)
    angle = torch.arange(n, dtype=torch.float64)[:, None] * inverse[None, :]
    cos, sin = angle.cos().to(x.dtype), angle.sin().to(x.dtype)
    first, second = x[..., : d // 2], x[..., d // 2 :]
    return torch.cat((first * cos - second * sin, first * sin + second * cos), dim=-1)
"""
_ROPE_FROM_ONE = """
_right_rotate = _rotate_pairs


def _rotate_pairs(x, theta):
    padded = torch.cat([torch.zeros_like(x[..., :1, :]), x], dim=-2)
    return _right_rotate(padded, theta)[..., 1:, :]
"""
_ROPE_BASE_IGNORED = """
_right_rotate = _rotate_pairs


def _rotate_pairs(x, theta):
    return _right_rotate(x, 10000.0)
"""
_CACHE_PER_HEAD = """
class MLA(MLA):
    def kv_cache(self, hidden):
        latent, rope_key = super().kv_cache(hidden)
        return latent, rope_key.unsqueeze(1).expand(-1, self.num_heads, -1, -1)

    def forward(self, hidden, *, absorb=False):
        shared = MLA.kv_cache
        try:
            MLA.kv_cache = lambda self, x: super(MLA, self).kv_cache(x)
            return super().forward(hidden, absorb=absorb)
        finally:
            MLA.kv_cache = shared
"""
_CACHE_NOT_NORMALISED = """
class MLA(MLA):
    def kv_cache(self, hidden):
        compressed = self.kv_a_proj_with_mqa(hidden)
        latent, rope_key = compressed.split([self.kv_lora_rank, self.qk_rope_head_dim], dim=-1)
        return latent, _rotate_pairs(rope_key, self.rope_theta)
"""
_NO_CHECKS = """
class MLA(MLA):
    def __init__(self, config):
        config = dict(config)
        for field in ("hidden_size", "num_attention_heads", "kv_lora_rank", "qk_nope_head_dim",
                      "qk_rope_head_dim", "v_head_dim"):
            config.setdefault(field, 4)
        config["qk_rope_head_dim"] += config["qk_rope_head_dim"] % 2
        config["num_attention_heads"] = max(1, config["num_attention_heads"])
        super().__init__(config)
"""
_NO_LENGTH_CHECK = """
class MLA(MLA):
    def forward(self, hidden, *, absorb=False):
        limit, self.max_position_embeddings = self.max_position_embeddings, None
        try:
            return super().forward(hidden, absorb=absorb)
        finally:
            self.max_position_embeddings = limit
"""
_PLAIN_LOAD = """
class MLA(MLA):
    def load_state_dict(self, state_dict, strict=True, assign=False):
        try:
            return torch.nn.Module.load_state_dict(self, state_dict, strict=strict, assign=assign)
        except RuntimeError as error:
            raise RuntimeError("the weights do not fit") from error
"""

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
    Mutant("inference", "tokens_per_step", "every accepted draft counts, even after a rejection",
           "def tokens_per_step(accepted):\n"
           "    return (1 + np.asarray(accepted, dtype=bool).sum(axis=-1)).astype(np.int64)\n"),
    Mutant("inference", "tokens_per_step", "the main model's own token forgotten",
           "def tokens_per_step(accepted):\n"
           "    a = np.asarray(accepted, dtype=bool)\n"
           "    return np.cumprod(a, axis=-1).sum(axis=-1).astype(np.int64)\n"),
    Mutant("inference", "tokens_per_step", "counts along the wrong axis",
           "def tokens_per_step(accepted):\n"
           "    a = np.asarray(accepted, dtype=bool)\n"
           "    return (1 + np.cumprod(a, axis=0).sum(axis=0)).astype(np.int64)\n"),
    Mutant("inference", "expected_tokens_per_step", "drafts independent of each other: 1 + n p",
           "def expected_tokens_per_step(p, n_draft=1):\n"
           "    return 1 + n_draft * np.asarray(p, dtype=float)\n"),
    Mutant("inference", "expected_tokens_per_step", "drafted tokens only, without the main model's",
           "def expected_tokens_per_step(p, n_draft=1):\n"
           "    p = np.asarray(p, dtype=float)\n"
           "    return sum(p**k for k in range(1, n_draft + 1))\n"),
    Mutant("inference", "expected_tokens_per_step", "geometric series without the last term",
           "def expected_tokens_per_step(p, n_draft=1):\n"
           "    p = np.asarray(p, dtype=float)\n"
           "    return sum(p**k for k in range(n_draft))\n"),
    Mutant("inference", "MLA", "RoPE on the two halves instead of adjacent pairs", _ROPE_HALVES),
    Mutant("inference", "MLA", "positions counted from 1", _ROPE_FROM_ONE),
    Mutant("inference", "MLA", "rope_theta ignored (base 10000)", _ROPE_BASE_IGNORED),
    Mutant("inference", "MLA", "softmax scale from qk_nope_head_dim only",
           _forward(masked='(scores * self.qk_nope_head_dim**-0.5).masked_fill(future, float("-inf"))')),
    Mutant("inference", "MLA", "scores not scaled",
           _forward(masked='scores.masked_fill(future, float("-inf"))')),
    Mutant("inference", "MLA", "not causal", _forward(masked="scores * self.softmax_scale")),
    Mutant("inference", "MLA", "RoPE applied to the position-free part too",
           _forward(plain_keys="keys = _rotate_pairs(keys, self.rope_theta); "
                               "q_nope = _rotate_pairs(q_nope, self.rope_theta)")),
    Mutant("inference", "MLA", "query latent not normalised", _forward(q_norm="")),
    Mutant("inference", "MLA", "absorbed: the shared RoPE scores left out",
           _forward(absorbed_scores="q_latent @ latent.unsqueeze(1).transpose(-1, -2)")),
    Mutant("inference", "MLA", "absorbed: value up-projection summed over heads",
           _forward(absorbed_out='torch.einsum("bhtr,gvr->bhtv", weights @ latent.unsqueeze(1), up_v)')),
    Mutant("inference", "MLA", "absorbed: each head folds in another head's key rows",
           _forward(q_latent='torch.einsum("bhtn,hnr->bhtr", q_nope, up_k.flip(0))')),
    Mutant("inference", "MLA", "rotary key cached once per head", _CACHE_PER_HEAD),
    Mutant("inference", "MLA", "latent cached before its RMSNorm", _CACHE_NOT_NORMALISED),
    Mutant("inference", "MLA", "bad configurations accepted silently", _NO_CHECKS),
    Mutant("inference", "MLA", "no check of the sequence length", _NO_LENGTH_CHECK),
    Mutant("inference", "MLA", "a state_dict of another model: error without the key", _PLAIN_LOAD),
]  # fmt: skip
