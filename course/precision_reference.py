"""Training recipes described as data: which number format holds each per-parameter state.

A recipe names the format of the four things a training step keeps for every parameter:

- ``weights``: the copy of the weights that the matrix multiplications (GEMMs) read;
- ``master_weights``: a higher-precision copy that the optimizer updates, or ``None`` when the
  GEMM copy is itself the master (plain FP32 training);
- ``gradients``: the weight gradients, kept until the optimizer step;
- ``adam_moments``: the format of *each* of Adam's two moments (first and second), so a recipe
  stores two values of this format per parameter.

Format names are those of ``course.formats`` ("fp32", "bf16", "fp16", "e4m3", "e5m2"). The
"Precision in training" chapter turns a recipe into bytes per parameter; later chapters reuse
the recipes below.
"""

from __future__ import annotations

from dataclasses import dataclass

from course.formats import get_format

ADAM_MOMENTS = 2  # Adam keeps a first moment (mean) and a second moment (uncentred variance)


@dataclass(frozen=True)
class Recipe:
    """The number format of each per-parameter state of a training recipe.

    Attributes:
        name: a label for tables and figures.
        weights: format of the weight copy the GEMMs read ("fp32", "bf16", "e4m3", ...).
        master_weights: format of the optimizer's copy of the weights, or None when the GEMM
            copy is the master (nothing extra is stored).
        gradients: format of the stored weight gradients.
        adam_moments: format of each of Adam's two moments.
    """

    name: str
    weights: str
    master_weights: str | None
    gradients: str
    adam_moments: str

    def __post_init__(self) -> None:
        """Reject unknown format names early, naming the known ones."""
        for state in (self.weights, self.gradients, self.adam_moments, self.master_weights):
            if state is not None:
                get_format(state)


FP32_TRAINING = Recipe(
    "FP32 training",
    weights="fp32",
    master_weights=None,
    gradients="fp32",
    adam_moments="fp32",
)
BF16_MIXED = Recipe(
    "BF16 mixed precision",
    weights="bf16",
    master_weights="fp32",
    gradients="bf16",
    adam_moments="fp32",
)
DEEPSEEK_V3 = Recipe(
    "DeepSeek-V3 (FP8)",
    weights="e4m3",
    master_weights="fp32",
    gradients="fp32",
    adam_moments="bf16",
)
ALL_FP8 = Recipe(
    "every value in FP8 (the headline)",
    weights="e4m3",
    master_weights=None,
    gradients="e4m3",
    adam_moments="e4m3",
)

RECIPES: tuple[Recipe, ...] = (FP32_TRAINING, BF16_MIXED, DEEPSEEK_V3, ALL_FP8)
