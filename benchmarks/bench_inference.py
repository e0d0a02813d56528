"""Time the serving chapter's ``inference.MLA`` next to torch's fused attention on the same shapes.

Run: ``.venv/bin/python benchmarks/bench_inference.py [--heads H] [--tokens T]``. Builds MLA with
DeepSeek-V3's widths (hidden 7,168, query latent 1,536, key-value latent 512, RoPE key 64, head
widths 128 + 64 and 128) and a few heads, in float32 on the CPU, and prints the median time of
one causal forward pass over T tokens, plain and absorbed, beside the attention core alone
(``scaled_dot_product_attention`` on the decompressed per-head queries, keys and values that
the plain path builds). Goal: the plain path within a few times the fused core (it also runs the
projections); the absorbed path slower for a whole sequence (it does more FLOPs per cached token,
which pays only when decoding reads a long cache); both under 2 s at T = 512 on 2 cores.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import impl
import torch
import torch.nn.functional as F

from course.params_reference import deepseek_v3_config

REPEATS = 5


def median_seconds(run: Callable[[], object], repeats: int = REPEATS) -> float:
    run()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = impl.parser(__doc__.splitlines()[0])
    parser.add_argument("--heads", type=int, default=16)
    parser.add_argument("--tokens", type=int, default=512)
    args = parser.parse_args()
    MLA = impl.load("inference", args.impl).MLA
    v3 = deepseek_v3_config()
    keys = ("hidden_size", "q_lora_rank", "kv_lora_rank", "qk_nope_head_dim")
    keys += ("qk_rope_head_dim", "v_head_dim")
    config = {k: v3[k] for k in keys} | {"num_attention_heads": args.heads}
    torch.manual_seed(0)
    layer = MLA(config).eval()
    x = torch.randn(1, args.tokens, v3["hidden_size"])
    h, t = args.heads, args.tokens
    qk = v3["qk_nope_head_dim"] + v3["qk_rope_head_dim"]
    q, k = torch.randn(1, h, t, qk), torch.randn(1, h, t, qk)
    v = torch.randn(1, h, t, v3["v_head_dim"])
    with torch.no_grad():
        rows = [
            ("MLA forward, plain", median_seconds(lambda: layer(x))),
            ("MLA forward, absorbed", median_seconds(lambda: layer(x, absorb=True))),
            ("MLA kv_cache only", median_seconds(lambda: layer.kv_cache(x))),
            (
                "fused attention core (SDPA)",
                median_seconds(lambda: F.scaled_dot_product_attention(q, k, v, is_causal=True)),
            ),
        ]
    print(
        f"MLA at V3's widths, {h} heads, {t} tokens, float32, CPU, "
        f"{torch.get_num_threads()} threads, median of {REPEATS}"
    )
    for name, seconds in rows:
        print(f"{name:<30}{seconds * 1e3:>10.1f} ms")


if __name__ == "__main__":
    raise SystemExit(impl.run(main))
