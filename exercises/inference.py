"""Serving arithmetic and the mechanisms that make serving cheap.

Topic module ``inference``: list prices for a usage mix, FLOPs and bytes per generated token,
speculative decoding with drafted tokens, and multi-head latent attention (MLA). Prices are in USD per million tokens and always come
in the order of the price lists: (input on a cache miss, input on a cache hit, output). A usage
mix is a number of tokens (or a share of them) of each of those three kinds, in the same order.
Memory is counted in bytes (1 GB = 10⁹ bytes), compute in FLOPs (one multiply-add is 2 FLOPs)
and time in seconds.

Exercises: replace each `raise NotImplementedError` with your implementation.
Check your work with `make grade` or `pytest tests/test_inference.py`.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from numpy.typing import ArrayLike

KINDS = ("input (cache miss)", "input (cache hit)", "output")  # the order of prices and mixes


def blended_price(prices: ArrayLike, mix: ArrayLike) -> float | np.ndarray:
    """Average price per million tokens of a usage mix.

    Args:
        prices: shape [3], USD per million tokens for (input on a cache miss, input on a cache
            hit, output).
        mix: shape [3] or [..., 3], how many tokens of each kind (any unit: counts, millions or
            shares); it need not sum to 1. Each row must contain at least one token.

    Returns:
        The total bill divided by the total number of tokens, in USD per million tokens:
        Σ prices · mix / Σ mix over the last axis. A float for one mix, shape [...] for many.
    """
    raise NotImplementedError


def price_ratio(
    cheap_prices: ArrayLike, expensive_prices: ArrayLike, mix: ArrayLike
) -> float | np.ndarray:
    """How many times cheaper one price list is than another for the same usage mix.

    The ratio of the two bills, not an average of the three per-kind ratios: the expensive
    list's blended price divided by the cheap list's (see ``blended_price``).

    Args:
        cheap_prices: shape [3], USD per million tokens (miss, hit, output) of the cheaper model.
        expensive_prices: shape [3], the same for the more expensive model.
        mix: shape [3] or [..., 3], tokens of each kind (see ``blended_price``).

    Returns:
        blended(expensive) / blended(cheap): a number above 1 when the cheap list is cheaper.
        A float for one mix, shape [...] for many.
    """
    raise NotImplementedError


def flops_per_generated_token(
    active_params: float,
    context_len: float,
    *,
    n_layers: int,
    n_heads: int,
    qk_head_dim: int,
    v_head_dim: int,
) -> float:
    """Forward FLOPs to generate one token that attends to ``context_len`` earlier positions.

    Generating is a forward pass only (no backward pass): 2 FLOPs per used weight (one
    multiply-add), plus attention over the cache. In every layer and head the new token's query
    is dotted with ``context_len`` keys (qk_head_dim multiply-adds each) and the softmax weights
    sum as many values (v_head_dim multiply-adds each). Softmax and scaling are left out.

    Args:
        active_params: weights that multiply the token's activations (parameters).
        context_len: positions the token attends to (tokens already in the cache).
        n_layers: transformer layers.
        n_heads: attention heads per layer.
        qk_head_dim: width of one head's queries and keys.
        v_head_dim: width of one head's values.

    Returns:
        2 · active_params + 2 · n_layers · n_heads · (qk_head_dim + v_head_dim) · context_len,
        in FLOPs (float).
    """
    raise NotImplementedError


def kv_bytes_per_token_mha(
    n_layers: int, n_heads: int, head_dim: int, bytes_per_value: float
) -> float:
    """Bytes of key-value cache one token adds under standard multi-head attention.

    Every layer keeps the token's key and its value for every head: two vectors of
    ``head_dim`` numbers per head.

    Args:
        n_layers: transformer layers.
        n_heads: attention heads per layer (key-value heads: no sharing between heads).
        head_dim: width of one head's key (and of its value).
        bytes_per_value: storage of one number: 2 for BF16/FP16, 1 for FP8, 4 for FP32.

    Returns:
        2 · n_layers · n_heads · head_dim · bytes_per_value, in bytes per token.
    """
    raise NotImplementedError


def kv_bytes_per_token_mla(
    n_layers: int, kv_lora_rank: int, qk_rope_head_dim: int, bytes_per_value: float
) -> float:
    """Bytes of cache one token adds under multi-head latent attention (DeepSeek-V2/V3).

    Every layer keeps one compressed latent of ``kv_lora_rank`` numbers, from which all heads'
    keys and values are rebuilt, plus the one decoupled RoPE key of ``qk_rope_head_dim``
    numbers that all heads share. Nothing is kept per head.

    Args:
        n_layers: transformer layers.
        kv_lora_rank: width of the key-value latent.
        qk_rope_head_dim: width of the shared RoPE key.
        bytes_per_value: storage of one number: 2 for BF16/FP16, 1 for FP8, 4 for FP32.

    Returns:
        n_layers · (kv_lora_rank + qk_rope_head_dim) · bytes_per_value, in bytes per token.
    """
    raise NotImplementedError


def kv_tokens_that_fit(memory_bytes: float, weight_bytes: float, kv_bytes_per_token: float) -> int:
    """How many tokens of key-value cache fit beside the weights in a given memory.

    Args:
        memory_bytes: memory of the GPUs serving the model, in bytes.
        weight_bytes: bytes the model's weights occupy in that memory.
        kv_bytes_per_token: cache bytes per token (see the ``kv_bytes_per_token_*`` functions).

    Returns:
        The whole number of tokens whose cache fits in what the weights leave free (rounded
        down: a token's cache is all or nothing), 0 if the weights alone do not fit. An int.
    """
    raise NotImplementedError


def step_seconds(
    bytes_moved: ArrayLike, flops: ArrayLike, bandwidth: float, peak_flops: float
) -> float | np.ndarray:
    """Roofline time of one step that reads ``bytes_moved`` and computes ``flops``.

    A GPU streams memory and computes at the same time, so a step takes as long as the slower
    of the two: reading everything at full bandwidth, or computing everything at peak speed.
    A real step is slower; this is the floor.

    Args:
        bytes_moved: bytes read from memory in the step (weights and cache), scalar or array.
        flops: FLOPs computed in the step, same shape as ``bytes_moved`` (or broadcastable).
        bandwidth: memory bandwidth, in bytes per second (3.35 TB/s is 3.35e12).
        peak_flops: peak throughput, in FLOP per second (989 TFLOP/s is 9.89e14).

    Returns:
        max(bytes_moved / bandwidth, flops / peak_flops), in seconds; a float, or an array of
        the broadcast shape.
    """
    raise NotImplementedError


# --- multi-token prediction as speculative decoding ---------------------------------------------


def tokens_per_step(accepted: ArrayLike) -> np.ndarray:
    """Tokens each decoding step emits when the model checks its own drafted tokens.

    In every step the model has drafted ``n_draft`` extra tokens (DeepSeek-V3 drafts one, with
    its multi-token-prediction module). One forward pass of the main model over the drafts gives
    its own choice at every drafted position: drafts are kept from the first one up to the first
    that disagrees, and the main model's own token at that position comes for free. So a step
    emits 1 + (the number of leading accepted drafts) tokens; a draft after a rejected one is
    thrown away even if it happened to be right.

    Args:
        accepted: bool, shape [n_draft] or [steps, n_draft]: whether each draft agrees with what
            the main model would have chosen at its position.

    Returns:
        int64 array of shape [] or [steps]: tokens emitted by each step, from 1 to n_draft + 1.
    """
    raise NotImplementedError


def expected_tokens_per_step(p: ArrayLike, n_draft: int = 1) -> float | np.ndarray:
    """Expected tokens per decoding step when each draft is accepted with probability ``p``.

    Drafts are accepted independently with the same probability, and a step emits 1 plus its
    leading accepted drafts (see ``tokens_per_step``): the k-th draft counts only if it and all
    the drafts before it are accepted, with probability p^k.

    Args:
        p: acceptance probability of one draft, in [0, 1]; a float or an array.
        n_draft: drafted tokens per step (0: plain decoding).

    Returns:
        1 + p + p² + … + p^n_draft (= 1 + p for one draft); a float, or an array shaped like p.
    """
    raise NotImplementedError


# --- multi-head latent attention ---------------------------------------------------------------

# Which configuration fields set the shape of each weight (for error messages).
_SHAPE_FIELDS = {
    "q_proj.weight": "num_attention_heads, qk_nope_head_dim, qk_rope_head_dim, hidden_size",
    "q_a_proj.weight": "q_lora_rank, hidden_size",
    "q_a_layernorm.weight": "q_lora_rank",
    "q_b_proj.weight": "num_attention_heads, qk_nope_head_dim, qk_rope_head_dim, q_lora_rank",
    "kv_a_proj_with_mqa.weight": "kv_lora_rank, qk_rope_head_dim, hidden_size",
    "kv_a_layernorm.weight": "kv_lora_rank",
    "kv_b_proj.weight": "num_attention_heads, qk_nope_head_dim, v_head_dim, kv_lora_rank",
    "o_proj.weight": "hidden_size, num_attention_heads, v_head_dim",
}


class MLA(torch.nn.Module):
    """Multi-head latent attention (DeepSeek-V2/V3), one layer, causal, positions 0..T−1.

    Every token is compressed to a key-value latent of ``kv_lora_rank`` numbers (RMS-normalised)
    and one rotary key of ``qk_rope_head_dim`` numbers shared by all heads: these two are what a
    server caches. Each head rebuilds its keys (``qk_nope_head_dim``) and values (``v_head_dim``)
    from the latent with ``kv_b_proj``. Queries are compressed to ``q_lora_rank`` numbers and
    expanded again (or made directly with ``q_proj`` when ``q_lora_rank`` is None); each head's
    query has a part without position (matched against the rebuilt keys) and a rotary part
    (matched against the shared rotary key). RoPE turns pairs of adjacent dimensions, base
    ``rope_theta``. Scores are scaled by (qk_nope_head_dim + qk_rope_head_dim)^−½.

    The parameters (no biases) and their ``state_dict`` keys and shapes are those of Hugging
    Face's ``DeepseekV3Attention``; the two latent RMSNorms use eps 1e-6.

    Args:
        config: dict with Hugging Face ``DeepseekV3Config`` names: ``hidden_size``,
            ``num_attention_heads``, ``q_lora_rank`` (an int or None), ``kv_lora_rank``,
            ``qk_nope_head_dim``, ``qk_rope_head_dim`` (even), ``v_head_dim``, ``rope_theta``
            (default 10000) and optionally ``max_position_embeddings`` (the longest sequence).

    Raises:
        ValueError naming the field: a missing or non-positive size, an odd
        ``qk_rope_head_dim`` (RoPE turns pairs), a sequence longer than
        ``max_position_embeddings``, or a ``state_dict`` whose keys or shapes do not fit.
    """

    def __init__(self, config: dict):
        raise NotImplementedError

    def load_state_dict(self, state_dict, strict: bool = True, assign: bool = False):
        """Load weights as ``torch.nn.Module.load_state_dict`` does, with errors naming the field.

        Raises:
            ValueError: a key is missing or unexpected (with ``strict``), or a weight's shape is
                not the one this configuration gives it; the message names the key and the
                configuration fields that set its shape.
        """
        raise NotImplementedError

    def kv_cache(self, hidden: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """What a server keeps for each token: the normalised latent and the rotated shared key.

        Args:
            hidden: [B, T, hidden_size], tokens at positions 0..T−1.

        Returns:
            (latent [B, T, kv_lora_rank], rope_key [B, T, qk_rope_head_dim]), in the dtype of
            ``hidden``: one of each per token, none per head.
        """
        raise NotImplementedError

    def forward(self, hidden: torch.Tensor, *, absorb: bool = False) -> torch.Tensor:
        """Causal attention of every token over itself and the tokens before it.

        Args:
            hidden: [B, T, hidden_size], positions 0..T−1.
            absorb: False rebuilds every head's keys and values from the cached latent; True
                never rebuilds them: the key up-projection is folded into the queries (scores
                are taken against the latent itself) and the value up-projection is applied after
                the weighted sum of latents. Both give the same output, up to rounding.

        Returns:
            [B, T, hidden_size].
        """
        raise NotImplementedError
