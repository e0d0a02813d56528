"""The mechanism pictures of ``course/drawings.py`` compute what they draw correctly."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np

from course import drawings
from course.formats import E4M3, E5M2

AFFINITY = np.array([0.9, 0.2, 0.3, 0.3, 0.7, 0.6, 0.1, 0.1, 0.8, 0.45, 0.1, 0.1])
SMALL = dict(n_group=3, topk_group=2, top_k=3, routed_scaling_factor=2.5)


def test_router_steps_by_hand():
    values = drawings.router_step_values(AFFINITY, np.zeros(12), **SMALL)
    assert np.allclose(values["group_score"], [1.2, 1.3, 1.25])
    assert values["kept"].tolist() == [False, True, True]  # the best expert's group drops out
    assert values["chosen"].tolist() == [4, 5, 8]
    assert np.allclose(values["gates"], 2.5 * np.array([0.7, 0.6, 0.8]) / 2.1)


def test_bias_chooses_but_does_not_weigh():
    bias = np.zeros(12)
    bias[9] = 0.3
    values = drawings.router_step_values(AFFINITY, bias, **SMALL)
    assert values["chosen"].tolist() == [4, 8, 9]
    assert np.allclose(values["gates"], 2.5 * np.array([0.7, 0.8, 0.45]) / 1.95)


def test_pictures_draw():
    figures = [
        drawings.router_steps(AFFINITY, np.zeros(12), **SMALL),
        drawings.fp8_bit_patterns([("448", E4M3, 0x7E), ("inf", E5M2, 0x7C)]),
        drawings.all_to_all(np.array([3, 5, 12, 40]), n_nodes=8),
    ]
    # 8 bit boxes per row, 12 x 5 cells plus 3 group cells for the router
    assert len(figures[1].axes[0].patches) == 16
    assert len(figures[0].axes[0].patches) == 12 * 5 + 3
    # all-to-all from GPU 0: IB to GPU 8 (node 1) and GPU 40 (node 5, which holds an expert
    # itself); NVLink 0 → 3, 0 → 5 and 8 → 12
    arrows = [p for p in figures[2].axes[0].patches if type(p).__name__ == "FancyArrowPatch"]
    assert len(arrows) == 2 + 3
    for figure in figures:
        plt.close(figure)
