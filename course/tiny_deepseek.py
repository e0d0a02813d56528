"""A small DeepSeek-V3-shaped model in torch, built to be counted.

The modules mirror the parameter layout of Hugging Face's ``modeling_deepseek_v3`` (names
included: ``q_a_proj``, ``kv_a_proj_with_mqa``, ``e_score_correction_bias``, ...) so that
``sum(p.numel() for p in model.parameters())`` is an independent check of a parameter-count
formula. The forward pass is complete enough to show the shapes fit together (multi-head latent
attention with a decoupled RoPE part, shared + routed experts, sigmoid routing with a selection
bias), but leaves out what has no parameters and does not change a count: the rotation of RoPE
itself, group-limited routing, caching and the multi-token-prediction module.

Not an exercise: the tests of the ``params`` chapter use it as their reference.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

Config = dict[str, Any]


class RMSNorm(nn.Module):
    """Root-mean-square normalisation with one learned scale per channel (``width`` parameters)."""

    def __init__(self, width: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(width))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: [..., width] → same shape."""
        return self.weight * x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps)


def _linear(n_in: int, n_out: int) -> nn.Linear:
    """A bias-free projection: weight [n_out, n_in] (DeepSeek-V3 has no biases)."""
    return nn.Linear(n_in, n_out, bias=False)


class MLP(nn.Module):
    """Gated SwiGLU feed-forward: down(silu(gate(x)) * up(x)); 3 · hidden · width weights."""

    def __init__(self, hidden_size: int, width: int) -> None:
        super().__init__()
        self.gate_proj = _linear(hidden_size, width)
        self.up_proj = _linear(hidden_size, width)
        self.down_proj = _linear(width, hidden_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: [..., hidden] → [..., hidden]."""
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class MultiHeadLatentAttention(nn.Module):
    """DeepSeek's multi-head latent attention (MLA), parameter layout as in Hugging Face.

    Queries pass through a low-rank bottleneck of ``q_lora_rank`` (or one full projection
    ``q_proj`` when it is None); keys and values are rebuilt from one shared latent of
    ``kv_lora_rank`` channels, and ``kv_a_proj_with_mqa`` also emits a ``qk_rope_head_dim``-wide
    key part that all heads share (the decoupled RoPE key).
    """

    def __init__(self, config: Config) -> None:
        super().__init__()
        d, heads = config["hidden_size"], config["num_attention_heads"]
        self.heads = heads
        self.nope, self.rope = config["qk_nope_head_dim"], config["qk_rope_head_dim"]
        self.v_dim, self.kv_rank = config["v_head_dim"], config["kv_lora_rank"]
        qk_dim = self.nope + self.rope
        if config["q_lora_rank"] is None:
            self.q_proj = _linear(d, heads * qk_dim)
        else:
            self.q_a_proj = _linear(d, config["q_lora_rank"])
            self.q_a_layernorm = RMSNorm(config["q_lora_rank"])
            self.q_b_proj = _linear(config["q_lora_rank"], heads * qk_dim)
        self.kv_a_proj_with_mqa = _linear(d, self.kv_rank + self.rope)
        self.kv_a_layernorm = RMSNorm(self.kv_rank)
        self.kv_b_proj = _linear(self.kv_rank, heads * (self.nope + self.v_dim))
        self.o_proj = _linear(heads * self.v_dim, d)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: [batch, seq, hidden] → [batch, seq, hidden], causal."""
        b, t, _ = x.shape
        if hasattr(self, "q_proj"):
            q = self.q_proj(x)
        else:
            q = self.q_b_proj(self.q_a_layernorm(self.q_a_proj(x)))
        q = q.view(b, t, self.heads, self.nope + self.rope).transpose(1, 2)
        latent, k_rope = self.kv_a_proj_with_mqa(x).split([self.kv_rank, self.rope], dim=-1)
        kv = self.kv_b_proj(self.kv_a_layernorm(latent))
        kv = kv.view(b, t, self.heads, self.nope + self.v_dim).transpose(1, 2)
        k_nope, v = kv.split([self.nope, self.v_dim], dim=-1)
        k_rope = k_rope.view(b, 1, t, self.rope).expand(b, self.heads, t, self.rope)
        k = torch.cat([k_nope, k_rope], dim=-1)
        out = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self.o_proj(out.transpose(1, 2).reshape(b, t, self.heads * self.v_dim))


class TopkRouter(nn.Module):
    """Sigmoid router: one centroid per routed expert, weight [E, hidden], and a bias [E].

    The bias ``e_score_correction_bias`` shifts the scores used to *choose* experts; it is
    stored in the checkpoint but set by the load-balancing rule, not by gradients, so it is a
    parameter with ``requires_grad=False``.
    """

    def __init__(self, config: Config) -> None:
        super().__init__()
        experts, d = config["n_routed_experts"], config["hidden_size"]
        self.top_k = config["num_experts_per_tok"]
        self.scale = config.get("routed_scaling_factor", 1.0)
        self.weight = nn.Parameter(torch.randn(experts, d) / d**0.5)
        self.e_score_correction_bias = nn.Parameter(torch.zeros(experts), requires_grad=False)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x: [tokens, hidden] → (expert indices [tokens, k] int64, gate weights [tokens, k])."""
        scores = torch.sigmoid(x @ self.weight.T)
        chosen = (scores + self.e_score_correction_bias).topk(self.top_k, dim=-1).indices
        gates = scores.gather(-1, chosen)
        return chosen, self.scale * gates / gates.sum(-1, keepdim=True)


class MoE(nn.Module):
    """Shared experts (one MLP of width n_shared · expert width) plus routed experts."""

    def __init__(self, config: Config) -> None:
        super().__init__()
        d, width = config["hidden_size"], config["moe_intermediate_size"]
        self.experts = nn.ModuleList(MLP(d, width) for _ in range(config["n_routed_experts"]))
        self.gate = TopkRouter(config)
        self.shared_experts = MLP(d, width * config["n_shared_experts"])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: [batch, seq, hidden] → same shape; each token runs only its k routed experts."""
        flat = x.reshape(-1, x.shape[-1])
        chosen, gates = self.gate(flat)
        routed = torch.zeros_like(flat)
        for slot in range(chosen.shape[1]):
            for expert in chosen[:, slot].unique().tolist():
                rows = chosen[:, slot] == expert
                routed[rows] += gates[rows, slot, None] * self.experts[expert](flat[rows])
        return (routed + self.shared_experts(flat)).view_as(x)


class DecoderLayer(nn.Module):
    """Pre-norm block: x + attn(norm(x)), then + ffn(norm(x)); dense FFN or MoE."""

    def __init__(self, config: Config, layer_index: int) -> None:
        super().__init__()
        d = config["hidden_size"]
        self.input_layernorm = RMSNorm(d)
        self.self_attn = MultiHeadLatentAttention(config)
        self.post_attention_layernorm = RMSNorm(d)
        if layer_index < config["first_k_dense_replace"]:
            self.mlp: nn.Module = MLP(d, config["intermediate_size"])
        else:
            self.mlp = MoE(config)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: [batch, seq, hidden] → same shape."""
        x = x + self.self_attn(self.input_layernorm(x))
        return x + self.mlp(self.post_attention_layernorm(x))


class TinyDeepseekV3(nn.Module):
    """Embedding, ``num_hidden_layers`` decoder layers, final norm and output head."""

    def __init__(self, config: Config) -> None:
        super().__init__()
        vocab, d = config["vocab_size"], config["hidden_size"]
        self.embed_tokens = nn.Embedding(vocab, d)
        self.layers = nn.ModuleList(
            DecoderLayer(config, i) for i in range(config["num_hidden_layers"])
        )
        self.norm = RMSNorm(d)
        self.lm_head = _linear(d, vocab)
        if config["tie_word_embeddings"]:
            self.lm_head.weight = self.embed_tokens.weight

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """tokens: [batch, seq] int64 → logits [batch, seq, vocab]."""
        x = self.embed_tokens(tokens)
        for layer in self.layers:
            x = layer(x)
        return self.lm_head(self.norm(x))


def build(config: Config, seed: int = 0) -> TinyDeepseekV3:
    """The model for ``config``, initialised from a fixed seed (small configs only)."""
    torch.manual_seed(seed)
    return TinyDeepseekV3(config)


def count_numel(model: nn.Module) -> int:
    """Stored parameters: the sum of ``numel()`` over distinct parameters (tied ones once)."""
    return sum(p.numel() for p in model.parameters())


def count_active_numel(model: TinyDeepseekV3, config: Config) -> int:
    """Parameters that multiply one token's activations, counted from the modules.

    The stored total minus, in every MoE layer, the ``numel()`` of the
    ``n_routed_experts − num_experts_per_tok`` experts that stay idle, and minus the embedding
    table, which is only looked up (when the output head is tied to it, the shared matrix
    multiplies as the head and stays counted).
    """
    idle = 0
    for layer in model.layers:
        if isinstance(layer.mlp, MoE):
            sizes = [count_numel(expert) for expert in layer.mlp.experts]
            idle += sum(sizes[config["num_experts_per_tok"] :])
    lookup_only = 0 if config["tie_word_embeddings"] else model.embed_tokens.weight.numel()
    return count_numel(model) - idle - lookup_only
