"""Reference values that graded tests hold as tables are checked here against the library that
produced them, so a graded run never pays for the library (torch's FLOP counter takes seconds
to load its machinery, in every process that uses it)."""

from __future__ import annotations

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from checks.test_contract import graded_test_module

DECODE_FLOPS = graded_test_module("inference").DECODE_FLOPS


def torch_decode_flops(
    active_params: int, context_len: int, n_layers: int, n_heads: int, qk_dim: int, v_dim: int
) -> int:
    """torch's count of one decoding step's FLOPs: a weight matrix of ``active_params`` entries
    applied to one token, and per layer one query attending to the cached keys and values."""
    counter = FlopCounterMode(display=False)
    weights = torch.zeros(active_params, 1)
    query = torch.zeros(n_heads, 1, qk_dim)
    keys = torch.zeros(n_heads, context_len, qk_dim)
    values = torch.zeros(n_heads, context_len, v_dim)
    with torch.no_grad(), counter:
        torch.zeros(1, 1) @ weights.T  # [1, 1] @ [1, N]: N multiply-adds
        for _ in range(n_layers):
            scores = torch.softmax(query @ keys.transpose(1, 2), dim=-1)
            scores @ values
    return counter.get_total_flops()


@pytest.mark.parametrize("case", list(DECODE_FLOPS), ids=str)
def test_hand_counted_decode_flops_match_torch(case):
    assert torch_decode_flops(*case) == DECODE_FLOPS[case]
