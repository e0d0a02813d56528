"""Pictures of mechanisms, drawn with matplotlib for the chapters (one call per figure).

Each function draws on the axes it is given (or on a new figure) and returns the figure. The
numbers drawn are computed here from the inputs, in plain numpy, so that a picture never depends
on a learner's unfinished exercise; the chapters check them against the exercises where they can.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.patches import FancyArrowPatch, Rectangle

from course.formats import FloatFormat
from course.moe_layer import select_experts
from course.style import PALETTE

FIELD_COLOURS = {
    "sign": PALETTE["orange"],
    "exponent": PALETTE["sky"],
    "fraction": PALETTE["green"],
}


def _cell(ax, x, y, text, colour, *, w=1.0, h=0.8, alpha=1.0, bold=False, size=9):
    ax.add_patch(Rectangle((x, y), w, h, facecolor=colour, edgecolor="white", lw=1.5, alpha=alpha))
    ax.text(
        x + w / 2,
        y + h / 2,
        text,
        ha="center",
        va="center",
        fontsize=size,
        fontweight="bold" if bold else "normal",
    )


def fp8_bit_patterns(
    examples: list[tuple[str, FloatFormat, int]], ax: plt.Axes | None = None
) -> plt.Figure:
    """One row of eight bit boxes per (label, format, code), coloured by field.

    ``examples``: label text, an 8-bit format of ``course.formats`` and a uint8 code (0..255).
    The bits are written most significant first; the label goes to the right of the row.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 0.55 * len(examples) + 0.6))
    for row, (label, fmt, code) in enumerate(examples):
        y = len(examples) - 1 - row
        bits = f"{int(code):08b}"
        fields = ["sign"] + ["exponent"] * fmt.exponent_bits + ["fraction"] * fmt.mantissa_bits
        for i, (bit, field) in enumerate(zip(bits, fields, strict=True)):
            _cell(ax, i, y, bit, FIELD_COLOURS[field], bold=True)
        ax.text(-0.3, y + 0.4, fmt.name.upper(), ha="right", va="center", fontsize=10)
        ax.text(8.3, y + 0.4, label, ha="left", va="center", fontsize=10)
    handles = [Rectangle((0, 0), 1, 1, color=c) for c in FIELD_COLOURS.values()]
    ax.legend(
        handles,
        list(FIELD_COLOURS),
        loc="lower center",
        ncol=3,
        bbox_to_anchor=(0.3, 1.0),
        fontsize=9,
    )
    ax.set_xlim(-1.6, 16)
    ax.set_ylim(-0.2, len(examples))
    ax.axis("off")
    return ax.figure


def router_step_values(
    affinity: np.ndarray,
    bias: np.ndarray,
    *,
    n_group: int,
    topk_group: int,
    top_k: int,
    routed_scaling_factor: float,
) -> dict[str, np.ndarray]:
    """The intermediate values of DeepSeek-V3's router for one token (what ``router_steps`` draws).

    ``affinity`` [E] sigmoid affinities, ``bias`` [E] selection biases. Returns ``choice`` [E]
    (affinity + bias), ``group_score`` [n_group] (sum of each group's two best choice scores),
    ``kept`` [n_group] bool, ``chosen`` [top_k] expert indices in increasing order, and
    ``gates`` [top_k] (their affinities / sum × ``routed_scaling_factor``), with the inputs.
    """
    affinity, bias = np.asarray(affinity, float), np.asarray(bias, float)
    size = affinity.size // n_group
    choice = affinity + bias
    group_score = np.sort(choice.reshape(n_group, size), axis=1)[:, -2:].sum(axis=1)
    kept = np.zeros(n_group, bool)
    kept[np.argsort(-group_score, kind="stable")[:topk_group]] = True
    picked = select_experts(
        torch.as_tensor(choice)[None], n_group=n_group, topk_group=topk_group, top_k=top_k
    )
    chosen = np.sort(picked[0].numpy())
    gates = affinity[chosen] / affinity[chosen].sum() * routed_scaling_factor
    return {
        "affinity": affinity,
        "bias": bias,
        "choice": choice,
        "group_score": group_score,
        "kept": kept,
        "chosen": chosen,
        "gates": gates,
    }


def router_steps(
    affinity: np.ndarray,
    bias: np.ndarray,
    *,
    n_group: int,
    topk_group: int,
    top_k: int,
    routed_scaling_factor: float,
    ax: plt.Axes | None = None,
) -> plt.Figure:
    """DeepSeek-V3's router on one token, one row per step.

    ``affinity`` [E] are the sigmoid affinities s, ``bias`` [E] the selection biases b. Rows:
    affinities s; choice scores s + b; group scores (sum of the two best choice scores of each
    group); kept groups (the ``topk_group`` best; the others masked); the ``top_k`` chosen
    experts; their gate weights s / Σs × ``routed_scaling_factor``.
    """
    v = router_step_values(
        affinity,
        bias,
        n_group=n_group,
        topk_group=topk_group,
        top_k=top_k,
        routed_scaling_factor=routed_scaling_factor,
    )
    affinity, bias, choice = v["affinity"], v["bias"], v["choice"]
    group_score, kept, chosen, gates = v["group_score"], v["kept"], v["chosen"], v["gates"]
    n = affinity.size
    size = n // n_group

    if ax is None:
        _, ax = plt.subplots(figsize=(9, 4.6))
    rows = [
        "1. affinity s = σ(logit)",
        "2. choice score s + b",
        "3. group score (top-2 sum)",
        "4. kept groups",
        f"5. top-{top_k} experts",
        f"6. gate = s / Σs × {routed_scaling_factor:g}",
    ]
    grey, light = PALETTE["grey"], "#EEEEEE"
    for r, label in enumerate(rows):
        y = len(rows) - 1 - r
        ax.text(-0.4, y + 0.4, label, ha="right", va="center", fontsize=9)
        for e in range(n):
            g = e // size
            x = e + 0.3 * g
            if r == 0:
                _cell(ax, x, y, f"{affinity[e]:g}", PALETTE["sky"], alpha=0.25 + 0.75 * affinity[e])
            elif r == 1:
                boosted = bias[e] != 0
                text = f"{choice[e]:.2f}".rstrip("0").rstrip(".")
                _cell(ax, x, y, text, PALETTE["orange"] if boosted else light, bold=boosted)
            elif r == 3:
                colour = PALETTE["green"] if kept[g] else grey
                _cell(ax, x, y, "" if kept[g] else "−∞", colour, alpha=0.35 if kept[g] else 0.5)
            elif r == 4:
                hit = e in chosen
                _cell(
                    ax,
                    x,
                    y,
                    str(e) if hit else "",
                    PALETTE["vermillion"] if hit else light,
                    bold=hit,
                )
            elif r == 5:
                if e in chosen:
                    weight = gates[list(chosen).index(e)]
                    _cell(ax, x, y, f"{weight:.2f}", PALETTE["vermillion"], alpha=0.6)
                else:
                    _cell(ax, x, y, "", light)
        if r == 2:
            for g in range(n_group):
                x = g * size + 0.3 * g
                best = kept[g]
                _cell(
                    ax,
                    x,
                    y,
                    f"group {g}: {group_score[g]:.2f}",
                    PALETTE["green"] if best else grey,
                    w=size,
                    alpha=0.5 if best else 0.35,
                )
    for e in range(n):
        ax.text(e + 0.3 * (e // size) + 0.5, len(rows) + 0.05, str(e), ha="center", fontsize=9)
    ax.text(n / 2, len(rows) + 0.45, "expert", ha="center", fontsize=9)
    ax.set_xlim(-5.2, n + 0.3 * n_group)
    ax.set_ylim(-0.2, len(rows) + 0.8)
    ax.axis("off")
    return ax.figure


def all_to_all(
    expert_gpus: np.ndarray,
    *,
    n_nodes: int,
    gpus_per_node: int = 8,
    source_gpu: int = 0,
    ax: plt.Axes | None = None,
) -> plt.Figure:
    """One token's dispatch: an IB copy per destination node, then NVLink inside each node.

    ``expert_gpus`` [k] are the global GPU indices that hold the token's chosen experts; the
    token starts on global GPU ``source_gpu``. Each node other than the token's own gets one IB
    copy, to its GPU with the same in-node index as the source; that GPU forwards it over NVLink
    to the node's other GPUs that hold chosen experts (one copy per GPU).
    """
    expert_gpus = np.asarray(expert_gpus)
    holders, counts = np.unique(expert_gpus, return_counts=True)
    src_node, src_local = divmod(source_gpu, gpus_per_node)
    per_row = min(n_nodes, 4)
    if ax is None:
        _, ax = plt.subplots(figsize=(10, 2.2 * -(-n_nodes // per_row) + 0.8))

    def place(gpu: int) -> tuple[float, float]:
        node, local = divmod(gpu, gpus_per_node)
        col, row = node % per_row, node // per_row
        return col * (gpus_per_node + 1.5) + local, -row * 3.4

    for node in range(n_nodes):
        x0, y0 = place(node * gpus_per_node)
        ax.add_patch(
            Rectangle(
                (x0 - 0.2, y0 - 0.15),
                gpus_per_node + 0.4,
                1.0,
                facecolor="none",
                edgecolor=PALETTE["grey"],
                lw=1,
            )
        )
        ax.text(x0 + gpus_per_node / 2, y0 - 0.75, f"node {node}", ha="center", fontsize=9)
        for local in range(gpus_per_node):
            gpu = node * gpus_per_node + local
            x, y = place(gpu)
            if gpu == source_gpu:
                _cell(ax, x, y, "T", PALETTE["black"], alpha=0.8, bold=True, w=0.9, h=0.7)
                ax.texts[-1].set_color("white")
            elif gpu in holders:
                n = int(counts[list(holders).index(gpu)])
                _cell(ax, x, y, str(n), PALETTE["vermillion"], alpha=0.7, bold=True, w=0.9, h=0.7)
            else:
                _cell(ax, x, y, "", "#EEEEEE", w=0.9, h=0.7)

    def arrow(a: int, b: int, colour: str, rad: float, lw: float) -> None:
        (xa, ya), (xb, yb) = place(a), place(b)
        ax.add_patch(
            FancyArrowPatch(
                (xa + 0.45, ya + 0.7),
                (xb + 0.45, yb + 0.7),
                arrowstyle="-|>",
                mutation_scale=10,
                color=colour,
                lw=lw,
                connectionstyle=f"arc3,rad={rad}",
            )
        )

    for node in sorted({int(g) // gpus_per_node for g in holders}):
        relay = node * gpus_per_node + src_local
        if node != src_node:
            arrow(source_gpu, relay, PALETTE["blue"], -0.15, 2.0)
        for gpu in holders:
            if int(gpu) // gpus_per_node == node and gpu != relay:
                arrow(relay, int(gpu), PALETTE["green"], -0.5, 1.2)
    handles = [
        Rectangle((0, 0), 1, 1, color=PALETTE["black"], alpha=0.8),
        Rectangle((0, 0), 1, 1, color=PALETTE["vermillion"], alpha=0.7),
        plt.Line2D([], [], color=PALETTE["blue"], lw=2),
        plt.Line2D([], [], color=PALETTE["green"], lw=1.2),
    ]
    ax.legend(
        handles,
        [
            "the token's GPU (T)",
            "GPU with n of its experts",
            "IB copy (one per node)",
            "NVLink copy (one per GPU)",
        ],
        loc="upper center",
        bbox_to_anchor=(0.5, -0.06),
        ncol=2,
        fontsize=10,
    )
    ax.set_aspect("equal")
    ax.autoscale_view()
    ax.axis("off")
    return ax.figure
