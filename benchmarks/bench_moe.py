"""How much does DeepSeek-V3's group-limited routing cost next to a plain top-k?

Routes 65,536 tokens over 256 experts with DeepSeek-V3's settings (8 groups, keep 4, top-8) on
the CPU and prints a small table: the median time of the group-limited selection and of a plain
``torch.topk`` over the same scores, and their ratio; then the same for the whole router
(matrix product, sigmoid, selection, gate weights) against matrix product + sigmoid + top-k.
Last, one training step (forward and backward) of ``moe.MoELayer`` on 4,096 tokens, 64 routed
experts, top-8, against the same layer computed densely (every expert on every token, the
unchosen ones weighted 0): the sparse layer should take a fraction of the dense time.

Run: ``.venv/bin/python benchmarks/bench_moe.py``
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import impl
import torch

N_TOKENS, N_EXPERTS, D_MODEL = 65_536, 256, 256
V3 = dict(n_group=8, topk_group=4, top_k=8)
REPEATS = 7


def median_seconds(run: Callable[[], object], repeats: int = REPEATS) -> float:
    """Median wall time of ``run()`` over ``repeats`` calls, after one warm-up call."""
    run()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def plain_route(hidden: torch.Tensor, weight: torch.Tensor, top_k: int) -> torch.Tensor:
    """The baseline router: sigmoid scores, top-k over all experts, normalised weights."""
    scores = torch.sigmoid(hidden @ weight.T)
    chosen, _ = scores.topk(top_k, dim=-1)
    return chosen / chosen.sum(dim=-1, keepdim=True)


def main() -> None:
    args = impl.parser(__doc__.splitlines()[0]).parse_args()
    moe = impl.load("moe", args.impl)
    torch.manual_seed(0)
    hidden = torch.randn(N_TOKENS, D_MODEL)
    weight = torch.randn(N_EXPERTS, D_MODEL) / D_MODEL**0.5
    bias = 0.01 * torch.randn(N_EXPERTS)
    scores = torch.sigmoid(hidden @ weight.T) + bias

    rows = []
    # The selection alone is a private helper of the solution; another implementation may
    # not have it, and is then timed as a whole router only.
    if hasattr(moe, "_group_limited_topk"):
        rows.append(
            (
                "selection from scores",
                median_seconds(lambda: scores.topk(V3["top_k"], dim=-1)),
                median_seconds(lambda: moe._group_limited_topk(scores, **V3)),
            )
        )
    rows.append(
        (
            f"whole router (d = {D_MODEL})",
            median_seconds(lambda: plain_route(hidden, weight, V3["top_k"])),
            median_seconds(
                lambda: moe.deepseek_v3_route(hidden, weight, bias, **V3, routed_scaling_factor=2.5)
            ),
        )
    )
    print(
        f"{N_TOKENS:,} tokens x {N_EXPERTS} experts, float32, CPU, "
        f"{torch.get_num_threads()} threads, median of {REPEATS}"
    )
    print(f"{'step':<26}{'torch.topk':>12}{'V3 grouped':>12}{'ratio':>8}")
    for name, plain, grouped in rows:
        print(f"{name:<26}{plain * 1e3:>10.1f}ms{grouped * 1e3:>10.1f}ms{grouped / plain:>7.2f}x")
    layer_step(moe.MoELayer)


def dense_forward(layer: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The layer's output with every expert run on every token (unchosen experts weighted 0)."""
    layer(x)  # routes the tokens and records last_indices and last_scores
    indices = layer.last_indices
    scores = layer.last_scores
    chosen = scores.gather(1, indices)
    gates = layer.routed_scaling_factor * chosen / chosen.sum(dim=-1, keepdim=True)
    dense = torch.zeros_like(scores).scatter(1, indices, gates)
    out = layer.shared(x) if layer.shared is not None else torch.zeros_like(x)
    for e, expert in enumerate(layer.experts):
        out = out + dense[:, e, None] * expert(x)
    return out


def layer_step(MoELayer: type[torch.nn.Module]) -> None:
    """One forward and backward pass, sparse against dense."""
    torch.manual_seed(0)
    layer = MoELayer(256, 64, 64, 1, n_group=8, topk_group=4, top_k=8, routed_scaling_factor=2.5)
    x = torch.randn(4096, 256)
    sparse = median_seconds(lambda: layer(x).square().mean().backward(), repeats=5)
    dense = median_seconds(lambda: dense_forward(layer, x).square().mean().backward(), repeats=5)
    print(f"{'MoELayer step (4,096 tokens, 64 experts, top-8)':<50}")
    print(f"{'  dense, every expert':<26}{dense * 1e3:>10.1f}ms")
    print(f"{'  sparse, chosen only':<26}{sparse * 1e3:>10.1f}ms{sparse / dense:>7.2f}x")


if __name__ == "__main__":
    raise SystemExit(impl.run(main))
