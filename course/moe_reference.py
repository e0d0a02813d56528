"""Building blocks for Mixture-of-Experts layers that are given, not exercises.

``Expert`` is the feed-forward block that both a dense transformer layer and every expert of a
DeepSeek-style MoE layer use: a gated (SwiGLU) FFN with three weight matrices and no biases, as
in the Hugging Face implementation of DeepSeek-V3 (``DeepseekV3MLP``). The MoE chapter builds its
layer from it, and a later chapter counts its parameters.
"""

from __future__ import annotations

import torch
from torch import nn


class Expert(nn.Module):
    """A gated feed-forward network: ``down(silu(gate(x)) * up(x))``.

    Args:
        d_model: width of the token vectors it reads and writes.
        d_hidden: width of its hidden layer (the "intermediate size").

    Attributes:
        gate: ``nn.Linear(d_model, d_hidden, bias=False)``.
        up: ``nn.Linear(d_model, d_hidden, bias=False)``.
        down: ``nn.Linear(d_hidden, d_model, bias=False)``.
    """

    def __init__(self, d_model: int, d_hidden: int) -> None:
        super().__init__()
        self.gate = nn.Linear(d_model, d_hidden, bias=False)
        self.up = nn.Linear(d_model, d_hidden, bias=False)
        self.down = nn.Linear(d_hidden, d_model, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` of shape ``[..., d_model]`` → the same shape."""
        return self.down(nn.functional.silu(self.gate(x)) * self.up(x))


def expert_parameters(d_model: int, d_hidden: int) -> int:
    """Weights of one ``Expert``: three matrices of ``d_model × d_hidden`` (no biases)."""
    return 3 * d_model * d_hidden
